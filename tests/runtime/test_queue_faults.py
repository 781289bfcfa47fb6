"""Redis that loses its data: the consumer group is recreated, nothing queued since is lost.

A private redis-server per test (these tests FLUSHALL and restart it), never the shared one.
"""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.errors import StoreError
from bot.runtime.queue import RedisWorkQueue


async def test_flushall_recreates_the_group_and_consumes_what_came_after(private_redis):
    client = aioredis.from_url(private_redis.url)
    queue = RedisWorkQueue(client, visibility=0.3)
    try:
        await queue.enqueue(b"before")
        (job,) = await queue.claim("w1", block_ms=200)
        await client.flushall()
        await queue.ack(job)  # the entry went with the data: no NOGROUP error escapes
        after = await queue.enqueue(b"after")  # the gate still accepts (XADD makes the stream)
        (again,) = await queue.claim("w1", block_ms=200)
        assert again.id == after and again.body == b"after"
        await queue.ack(again)
        assert await queue.depth() == 0
    finally:
        await client.aclose()


async def test_ping_recreates_a_missing_group_and_fails_while_redis_is_down(private_redis):
    client = aioredis.from_url(private_redis.url)
    queue = RedisWorkQueue(client, visibility=0.3)
    try:
        await queue.ping()
        await client.flushall()
        await queue.ping()  # recreated
        groups = await client.xinfo_groups(queue.stream)
        assert [g["name"] for g in groups] == [b"workers"]
        private_redis.kill()
        with pytest.raises(StoreError):
            await queue.ping()
        with pytest.raises(aioredis.ConnectionError):
            await queue.claim("w1", block_ms=50)
        private_redis.start()  # same port, empty: a restart without AOF
        await queue.ping()
        job_id = await queue.enqueue(b"m")
        (job,) = await queue.claim("w1", block_ms=200)
        assert job.id == job_id
    finally:
        await client.aclose()
