"""A private redis-server for the tests: on a free loopback port, its data in a folder of ours.

Tests never use a Redis that happens to run on the machine: each test session starts its own, so
two checkouts (or a user's own Redis) never share keys. Without the ``redis-server`` binary the
tests that need it skip with a reason; with ``DESKGUARD_TEST_REQUIRE_SERVICES=1`` (set by
``.ci/run``) that skip is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REQUIRE_SERVICES = "DESKGUARD_TEST_REQUIRE_SERVICES"


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def services_required() -> bool:
    """True when a missing test service must fail the run instead of skipping (CI)."""
    return os.environ.get(REQUIRE_SERVICES, "") not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip the test with ``reason``, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES} is set, so this cannot be skipped)")
    pytest.skip(reason)


class PrivateRedis:
    """A redis-server process; ``durable`` turns on AOF with fsync on every write."""

    def __init__(self, workdir: Path, *, durable: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        aof = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if durable
            else ["--appendonly", "no"]
        )
        self.argv = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", *aof,
            "--dir", str(workdir), "--save", "", "--daemonize", "no",
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.proc.stderr!r}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
