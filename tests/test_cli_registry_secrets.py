"""`deskguard registry check` warns about registry secrets (token.secret_env) that are not set in
the environment or in .env (which is read the same way as for every other setting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES


def tokened_registry(directory: Path) -> Path:
    """tests/fixtures/vendors.yml with TOTP tokens for northwind and contoso-payroll."""
    text = (FIXTURES / "vendors.yml").read_text()
    for after, name in (
        ("    dkim_selectors: [s1]\n", "DG_TEST_TOTP_NORTHWIND"),
        ("    owner: Finance systems team\n", "DG_TEST_TOTP_CONTOSO"),
    ):
        text = text.replace(after, f"{after}    token: {{type: totp, secret_env: {name}}}\n")
    path = directory / "vendors.yml"
    path.write_text(text)
    return path


def _check(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKGUARD_", "DG_TEST_"))}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "bot", "registry", "check", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def test_registry_check_reads_dotenv_and_warns_for_unset_secrets(tmp_path: Path) -> None:
    registry = tokened_registry(tmp_path)
    (tmp_path / ".env").write_text(
        f"DESKGUARD_REGISTRY={registry}\nDG_TEST_TOTP_NORTHWIND=JBSWY3DPEHPK3PXP\n"
    )
    done = _check([], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "valid, 3 vendor(s)" in done.stdout
    (warning,) = done.stderr.splitlines()
    assert warning.startswith("deskguard: warning: vendor 'contoso-payroll': DG_TEST_TOTP_CONTOSO")
    data = json.loads(_check(["--json"], tmp_path).stdout)
    assert len(data["warnings"]) == 1 and "DG_TEST_TOTP_CONTOSO" in data["warnings"][0]

    both = _check([str(registry)], tmp_path, DG_TEST_TOTP_CONTOSO="JBSWY3DPEHPK3PXP")
    assert both.returncode == 0 and both.stderr == ""
