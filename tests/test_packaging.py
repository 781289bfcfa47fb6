"""What ships: the wheel carries its data files; the image runs non-root with a health check."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_package_data_is_declared_and_present():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]["bot"]
    assert "data/*" in data and "py.typed" in data
    assert (ROOT / "bot" / "data" / "confusables.txt").is_file()
    assert config["project"]["scripts"]["deskguard"] == "bot.cli:main"


def test_dockerfile_runs_non_root_with_healthcheck_and_serve():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM ", text, flags=re.M)
    assert len(stages) >= 2  # multi-stage
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*?/healthz", text, flags=re.M | re.S)
    assert 'ENTRYPOINT ["deskguard"]' in text and 'CMD ["serve"]' in text
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.M):
        assert (ROOT / source).exists(), source
