"""What ships: the wheel carries its data files; the image runs non-root with a health check."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_package_data(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "bot", "handlers"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)  # build outside the checkout: no build/ left there
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("deskguard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"bot/data/confusables.txt", "bot/py.typed", "handlers/__init__.py"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "deskguard = bot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


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
