"""Redis-only behaviour: a private redis-server killed with SIGKILL mid-flow (bad input #25)."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.approvals.machine import Event, State
from bot.approvals.store_redis import RedisStore
from bot.errors import StoreError
from tests.approvals.conftest import ALICE, CARMEN, T0, new_request

HOUR = dt.timedelta(hours=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server on a free loopback port, AOF fsync on every write, data in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.argv = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--appendonly", "yes",
            "--appendfsync", "always", "--dir", str(workdir), "--save", "", "--daemonize", "no",
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
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown, no final save
        self.proc.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()


async def test_acknowledged_approval_survives_kill_9(private_redis: PrivateRedis) -> None:
    store = await RedisStore.connect(private_redis.url)
    try:
        request = await store.create_request(new_request(), T0)
        partial = await store.apply(request.id, Event.APPROVE_TECHNICAL, ALICE, T0 + HOUR)
        assert partial.state is State.PARTIALLY_APPROVED

        private_redis.kill()
        # while Redis is down nobody is told anything succeeded
        with pytest.raises(StoreError):
            await store.apply(request.id, Event.APPROVE_VENDOR_MANAGER, CARMEN, T0 + HOUR)

        private_redis.start()
        assert await store.get(request.id) == partial
        cleared = await store.apply(request.id, Event.APPROVE_VENDOR_MANAGER, CARMEN, T0 + HOUR)
        assert cleared.state is State.CLEARED
        events = await store.audit_events(request_id=request.id)
        assert [e.event for e in events] == ["open", "approve_technical", "approve_vendor_manager"]
        assert [e.seq for e in events] == [1, 2, 3]
    finally:
        await store.close()


async def test_unreachable_redis_fails_loudly() -> None:
    with pytest.raises(StoreError, match="unreachable"):
        await RedisStore.connect(f"redis://127.0.0.1:{free_port()}/0")


async def test_bad_redis_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="REDIS_URL"):
        await RedisStore.connect("http://not-redis")
