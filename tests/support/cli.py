"""Running the ``deskguard`` command line as users do: ``python -m bot`` in a subprocess, with an
environment cleared of the caller's own ``DESKGUARD_*`` settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES
from tests.support.dnsserver import TestDNSServer

ROOT = Path(__file__).resolve().parents[2]


def cli_env(
    dns_server: TestDNSServer | None = None, *, dns_timeout: str = "1", **extra: str
) -> dict[str, str]:
    """This process's environment without DESKGUARD_* settings, on the fixture registry, no colour,
    DNS asked of ``dns_server`` when given; ``extra`` last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGUARD_")}
    env["DESKGUARD_REGISTRY"] = str(FIXTURES / "vendors.yml")
    env["DESKGUARD_DNS_TIMEOUT"] = dns_timeout
    env["NO_COLOR"] = "1"
    if dns_server is not None:
        env["DESKGUARD_DNS_NAMESERVERS"] = dns_server.nameserver
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], *, cwd: Path = ROOT, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` to completion (60 s at most), text in and out."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        input=stdin,
        timeout=60,
    )
