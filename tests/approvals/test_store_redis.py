"""Redis-only behaviour: a private redis-server killed with SIGKILL mid-flow (bad input #25)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.approvals.machine import Event, State
from bot.approvals.store_redis import RedisStore
from bot.errors import StoreError
from tests.approvals.conftest import ALICE, CARMEN, T0, new_request
from tests.support.redis_server import PrivateRedis, free_port, skip_or_fail

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    try:
        server = PrivateRedis(tmp_path, durable=True)
    except FileNotFoundError as exc:
        skip_or_fail(str(exc))
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
