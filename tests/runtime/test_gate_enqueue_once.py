"""The gate on Redis: the replay guard and the enqueue in one script (RedisWorkQueue.enqueue_once).

Differential: the store's ``use_once`` followed by ``enqueue`` (what the gate did, and still does
on SQLite) against ``enqueue_once``, over random sequences of signature keys (repeats, keys that
expire, keys set by a replica that still uses ``use_once``): the same requests accepted and
refused, the same messages queued, the same keys left. Then the real gate route, and a message
that cannot be queued: its key is left unset, so the retry is accepted.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from bot.approvals.store_redis import RedisStore
from bot.errors import StoreError
from bot.registry import Registry, RegistryHolder
from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, WINDOW_SECONDS, sign
from bot.runtime.metrics import Metrics
from bot.runtime.queue_redis import RedisWorkQueue
from bot.runtime.server import _enqueue_once
from bot.runtime.web_ops import OpsContext, add_ops_routes
from bot.settings import Settings

SECRET = "gate-secret"


@pytest.fixture
async def redis_pair(redis_url: str) -> AsyncIterator[tuple[RedisStore, RedisWorkQueue, str]]:
    prefix = f"test-{uuid.uuid4().hex}"
    store = await RedisStore.connect(redis_url, prefix=f"{prefix}:")
    queue = RedisWorkQueue.from_url(redis_url, prefix=prefix)
    yield store, queue, prefix
    keys = [k async for k in queue.redis.scan_iter(f"{prefix}:*")]
    if keys:
        await queue.redis.delete(*keys)
    await queue.close()
    await store.close()


async def _queued(queue: RedisWorkQueue) -> list[bytes]:
    return [fields[b"body"] for _, fields in await queue.redis.xrange(queue.stream)]


async def _once_keys(client: aioredis.Redis, prefix: str) -> dict[str, tuple[bytes, bool]]:
    found = {}
    async for key in client.scan_iter(f"{prefix}:once:*"):
        ttl = await client.pttl(key)
        found[key.decode()[len(prefix) :]] = (await client.get(key), 0 < ttl <= 600_000)
    return found


async def test_enqueue_once_decides_and_queues_as_use_once_then_enqueue(redis_url: str) -> None:
    rng = random.Random(7)
    for _ in range(40):
        seed = rng.getrandbits(32)
        results = []
        for way in ("old", "new"):
            prefix = f"test-{uuid.uuid4().hex}"
            store = await RedisStore.connect(redis_url, prefix=f"{prefix}:")
            queue = RedisWorkQueue.from_url(redis_url, prefix=prefix)
            steps = random.Random(seed)
            decisions = []
            try:
                for step in range(steps.randint(1, 25)):
                    key = f"v1={steps.choice('abcdef') * 64}"
                    action = steps.random()
                    if action < 0.1:  # the key expired (as after WINDOW_SECONDS * 2)
                        await queue.redis.delete(store.once_key("inbound", key))
                        continue
                    if action < 0.2:  # another replica, still on use_once, accepted it
                        decisions.append(("other", await store.use_once("inbound", key, 600)))
                        continue
                    body = f"message {step} {key}".encode()
                    if way == "old":
                        accepted = await store.use_once("inbound", key, WINDOW_SECONDS * 2)
                        if accepted:
                            await queue.enqueue(body)
                    else:
                        job_id = await queue.enqueue_once(
                            body, store.once_key("inbound", key), WINDOW_SECONDS * 2
                        )
                        accepted = job_id is not None
                    decisions.append((key, accepted))
                results.append(
                    (decisions, await _queued(queue), await _once_keys(queue.redis, prefix))
                )
            finally:
                keys = [k async for k in queue.redis.scan_iter(f"{prefix}:*")]
                if keys:
                    await queue.redis.delete(*keys)
                await queue.close()
                await store.close()
        assert results[0] == results[1], f"seed {seed}"


async def test_a_message_that_cannot_be_queued_leaves_its_key_unset(
    redis_pair: tuple[RedisStore, RedisWorkQueue, str],
) -> None:
    store, queue, _ = redis_pair
    key = store.once_key("inbound", "v1=" + "1" * 64)
    queue._group_ready = True  # the stream is replaced below, after the group check
    await queue.redis.set(queue.stream, "not a stream")
    with pytest.raises(StoreError):
        await queue.enqueue_once(b"m", key, 600)
    assert await queue.redis.exists(key) == 0
    await queue.redis.delete(queue.stream)
    queue._group_ready = False
    assert await queue.enqueue_once(b"m", key, 600) is not None
    assert await queue.enqueue_once(b"m", key, 600) is None
    assert await _queued(queue) == [b"m"]


async def _gate(ctx: OpsContext) -> tuple[web.AppRunner, str]:
    app = web.Application()
    add_ops_routes(app, ctx)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/inbound/email"


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, ts: str) -> Any:
    headers = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, body)}
    async with session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_the_gate_on_redis_queues_once_and_refuses_replays(
    redis_pair: tuple[RedisStore, RedisWorkQueue, str],
) -> None:
    store, queue, _ = redis_pair
    enqueue_once = _enqueue_once(store, queue)
    assert enqueue_once is not None
    used: list[str] = []

    async def use_once(kind: str, key: str, ttl: float) -> bool:
        used.append(kind)
        return await store.use_once(kind, key, ttl)

    async def ping() -> None:
        return None

    ctx = OpsContext(
        Settings(inbound_secret=SECRET),
        RegistryHolder(Registry([])),
        Metrics(),
        queue,
        use_once,
        ping,
        enqueue_once=enqueue_once,
    )
    runner, url = await _gate(ctx)
    ts = str(int(time.time()))
    try:
        async with aiohttp.ClientSession() as session:
            status, data = await _post(session, url, b"From: a@b.example\r\n\r\none", ts)
            assert status == 202 and data["id"]
            first_id = data["id"]
            assert await _post(session, url, b"From: a@b.example\r\n\r\none", ts) == (
                409,
                {
                    "ok": False,
                    "error": "replayed",
                    "message": "this signed request was already accepted",
                },
            )
            # a request another replica (on use_once) accepted is a replay here too
            two = b"From: a@b.example\r\n\r\ntwo"
            assert await store.use_once("inbound", sign(SECRET, ts, two), 600)
            assert (await _post(session, url, two, ts))[0] == 409
            status, data = await _post(session, url, b"not signed right", ts + "0")
            assert status == 401
    finally:
        await runner.cleanup()
    assert used == []  # the gate did not also go through use_once
    queued = await _queued(queue)
    assert queued == [b"From: a@b.example\r\n\r\none"]
    (entry,) = await queue.redis.xrange(queue.stream)
    assert entry[1][b"id"].decode() == first_id


async def test_the_gate_uses_the_combined_step_only_when_both_live_in_redis(
    redis_pair: tuple[RedisStore, RedisWorkQueue, str], tmp_path: Any
) -> None:
    from bot.approvals.store_sqlite import SQLiteStore
    from bot.runtime.queue_sqlite import SqliteWorkQueue

    store, queue, _ = redis_pair
    sqlite_queue = SqliteWorkQueue(tmp_path / "q.sqlite3")
    sqlite_store = await SQLiteStore.open(tmp_path / "s.sqlite3")
    try:
        assert _enqueue_once(sqlite_store, queue) is None
        assert _enqueue_once(store, sqlite_queue) is None
        assert _enqueue_once(store, queue) is not None
    finally:
        await sqlite_store.close()
        await sqlite_queue.close()


async def test_a_burst_past_the_pool_waits_for_a_connection(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    queue = RedisWorkQueue.from_url(redis_url, prefix=prefix, max_connections=3)
    try:
        ids = await asyncio.gather(
            *(queue.enqueue_once(b"m%d" % i, f"{prefix}:once:{i}", 600) for i in range(150)),
            *(queue.enqueue(b"plain") for _ in range(50)),
        )
        assert all(ids) and len(set(ids)) == 200
        assert await queue.depth() == 200
    finally:
        keys = [k async for k in queue.redis.scan_iter(f"{prefix}:*")]
        if keys:
            await queue.redis.delete(*keys)
        await queue.close()
