"""Run examples/deskguard-inbound.sh as an MTA would: a config file, the message on stdin.

``curl``, ``openssl`` and ``logger`` are reached through wrappers that record their argv (to check
that the secret never appears on a command line) and, for ``logger``, what would go to syslog; the
wrappers then run the real ``curl`` and ``openssl``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "deskguard-inbound.sh"


@dataclass
class ScriptRun:
    """What one run of the script did."""

    status: int
    stderr: str
    argv_log: str  # every curl/openssl command line, one per line
    syslog: str  # every logger call

    def __str__(self) -> str:
        return f"exit {self.status}: {self.stderr}"


def write_config(directory: Path, *, url: str, secret: str, timeout: int = 30) -> Path:
    """A 0640 config file with ``url``, ``secret`` and ``timeout``."""
    path = directory / "inbound.conf"
    path.write_text(
        f"# deskguard inbound gate\nurl={url}\nsecret={secret}\ntimeout={timeout}\n",
        encoding="utf-8",
    )
    path.chmod(0o640)
    return path


def _wrappers(directory: Path) -> Path:
    bin_dir = directory / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = directory / "argv.log"
    for tool in ("curl", "openssl"):
        real = shutil.which(tool)
        assert real is not None, f"{tool} is needed by the inbound script"
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexec "{real}" "$@"\n')
        wrapper.chmod(0o755)
    logger = bin_dir / "logger"
    logger.write_text(f'#!/bin/sh\necho "$*" >> "{directory / "syslog.log"}"\n')
    logger.chmod(0o755)
    return bin_dir


async def run_script(directory: Path, config: Path | None, body: bytes) -> ScriptRun:
    """Run the script with ``config`` (None: pass no argument) and ``body`` on stdin."""
    directory.mkdir(parents=True, exist_ok=True)
    bin_dir = _wrappers(directory)
    for name in ("argv.log", "syslog.log"):
        (directory / name).unlink(missing_ok=True)
    args = [str(config)] if config is not None else []
    proc = await asyncio.create_subprocess_exec(
        "sh",
        str(SCRIPT),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
            "DESKGUARD_INBOUND_CONFIG": str(directory / "missing.conf"),
        },
    )
    _, err = await asyncio.wait_for(proc.communicate(body), 120)
    assert proc.returncode is not None

    def read(name: str) -> str:
        path = directory / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    return ScriptRun(
        proc.returncode, err.decode(errors="replace"), read("argv.log"), read("syslog.log")
    )
