"""bot/redis_options.py: redis-py's driver info is made once, not for every new connection."""

from __future__ import annotations

import asyncio
from importlib import metadata
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.utils

from bot.approvals.store_redis import RedisStore
from bot.redis_options import connection_options
from bot.runtime.queue_redis import RedisWorkQueue
from bot.watch.snapshots import RedisSnapshots


async def _open_connections(client: aioredis.Redis, count: int) -> list[Any]:
    """Hold ``count`` pool connections at once (each a new one), then give them back."""
    pool = client.connection_pool
    held = [await pool.get_connection() for _ in range(count)]
    for connection in held:
        await connection.connect()
    await asyncio.gather(*(c.send_command("PING") for c in held))
    for connection in held:
        await connection.read_response()
        await pool.release(connection)
    return held


@pytest.mark.parametrize("kind", ["queue", "store", "snapshots"])
async def test_new_connections_do_not_look_the_library_version_up_again(
    redis_url: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection_options()  # made once per process, before any pool
    looked_up: list[int] = []
    real = redis.utils.get_lib_version

    def counting() -> str:
        looked_up.append(1)
        return str(real())

    monkeypatch.setattr(redis.utils, "get_lib_version", counting)
    if kind == "queue":
        client = RedisWorkQueue.from_url(redis_url).redis
    elif kind == "store":
        client = (await RedisStore.connect(redis_url)).client
    else:
        client = RedisSnapshots(redis_url).client
    try:
        opened = await _open_connections(client, 5)
    finally:
        await client.aclose()
    assert looked_up == []
    for connection in opened:  # still what CLIENT SETINFO tells Redis (7.2 and later)
        assert connection.driver_info.formatted_name == "redis-py"
        assert connection.driver_info.lib_version == metadata.version("redis")
