"""The Redis queue's acknowledgement (one Lua script) against the MULTI pipeline it replaced.

Both run on the same starting state, built at random (the post record there or not, pending or
posted, with or without a TTL; errors recorded for this job and others; the entry delivered,
delivered to someone else, already gone; other entries pending; the consumer group or the whole
stream missing), under two prefixes of one real Redis; the keys they leave and the error they
raise must be the same.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.runtime.queue import Job
from bot.runtime.queue_redis import RedisWorkQueue, _is_nogroup


async def _old_ack(queue: RedisWorkQueue, job: Job, ts: str | None) -> None:
    """The MULTI pipeline RedisWorkQueue._ack ran before the script (kept as the reference)."""
    try:
        async with queue.redis.pipeline(transaction=True) as pipe:
            if ts is not None:
                pipe.hset(f"{queue.posts}:{job.id}", mapping={"state": "posted", "ts": ts})
            pipe.xack(queue.stream, queue.group, job.handle)
            pipe.xdel(queue.stream, job.handle)
            pipe.hdel(queue.errors, job.id)
            await pipe.execute()
    except aioredis.ResponseError as exc:
        if not _is_nogroup(exc):
            raise
        await queue._recreate_group()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(redis_url)
    await redis.ping()
    yield redis
    await redis.aclose()


async def _setup(client: aioredis.Redis, prefix: str, rng: random.Random) -> tuple[Job, str | None]:
    """One random starting state under ``prefix``; the job to acknowledge and the ts to record."""
    queue = RedisWorkQueue(client, prefix=prefix)
    job_id = f"1700000000000-{rng.getrandbits(64):016x}"
    stream_exists = rng.random() < 0.9
    if rng.random() < 0.04:  # keys of the wrong type: every step still runs, one error comes back
        await client.set(rng.choice([queue.stream, queue.errors]), "not what it should be")
        stream_exists = False
    handles = [f"1-{n}" for n in range(1, rng.randint(2, 6))]
    handle = rng.choice([*handles, "9-9"])  # "9-9": an entry that is not in the stream
    if stream_exists:
        for entry in handles:
            await client.xadd(
                queue.stream,
                {"id": job_id if entry == handle else f"other-{entry}", "body": b"x"},
                id=entry,
            )
        if rng.random() < 0.85:  # else: Redis lost the group
            await client.xgroup_create(queue.stream, queue.group, id="0")
            delivered = rng.randint(0, len(handles))
            if delivered:
                await client.xreadgroup(
                    queue.group, rng.choice(["w1", "w2"]), {queue.stream: ">"}, count=delivered
                )
    posts = f"{queue.posts}:{job_id}"
    shape = rng.choice(["none", "pending", "posted", "pending-no-ttl", "wrong-type"])
    if shape == "wrong-type":
        await client.set(posts, "not a hash")
    elif shape != "none":
        await client.hset(posts, mapping={"state": shape.partition("-")[0], "owner": "w1"})
        if shape == "posted":
            await client.hset(posts, "ts", "170.1")
        if shape != "pending-no-ttl":
            await client.expire(posts, 600)
    if await client.type(queue.errors) != b"string":
        for other in rng.sample(["a", "b", job_id], rng.randint(0, 3)):
            await client.hset(queue.errors, other, f"error for {other}")
    ts = rng.choice([None, "", "1700000001.000100", "ts-with-ünïcode"])
    job = Job(id=job_id, body=b"x", received_at=1.0, attempts=1, handle=handle)
    return job, ts


async def _state(client: aioredis.Redis, prefix: str) -> dict[str, Any]:
    """Every key under ``prefix`` (renamed to a neutral prefix) with what it holds."""
    state: dict[str, Any] = {}
    async for raw in client.scan_iter(f"{prefix}:*"):
        key = raw.decode()
        name = "P" + key[len(prefix) :]
        kind = (await client.type(key)).decode()
        if kind == "hash":
            value: Any = await client.hgetall(key)
        elif kind == "stream":
            groups = await client.xinfo_groups(key)
            pending = {}
            for group in groups:
                found = await client.xpending_range(key, group["name"], min="-", max="+", count=100)
                pending[group["name"]] = sorted((p["message_id"], p["consumer"]) for p in found)
            value = (await client.xrange(key), pending)
        elif kind == "string":
            value = await client.get(key)
        else:
            value = kind
        state[name] = (kind, value, (await client.pttl(key)) > 0)
    return state


async def _cleanup(client: aioredis.Redis, prefix: str) -> None:
    keys = [k async for k in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)


async def test_the_ack_script_leaves_what_the_multi_pipeline_left(client: aioredis.Redis) -> None:
    rng = random.Random(13)
    errors = 0
    for case in range(300):
        seed = rng.getrandbits(32)
        outcomes = []
        for ack in ("old", "new"):
            prefix = f"test-ack-{uuid.uuid4().hex}"
            job, ts = await _setup(client, prefix, random.Random(seed))
            queue = RedisWorkQueue(client, prefix=prefix)
            error = None
            try:
                if ack == "old":
                    await _old_ack(queue, job, ts)
                elif ts is None and case % 2:
                    await queue.ack(job)
                else:
                    await queue._ack(job, ts)
            except aioredis.RedisError as exc:
                error = type(exc).__name__
            outcomes.append((error, await _state(client, prefix)))
            await _cleanup(client, prefix)
        assert outcomes[0] == outcomes[1], f"case {case} (seed {seed}) differs"
        errors += outcomes[0][0] is not None
    assert errors  # the failing steps were exercised


async def test_acknowledging_after_the_group_was_lost_records_the_card(
    client: aioredis.Redis,
) -> None:
    prefix = f"test-ack-{uuid.uuid4().hex}"
    queue = RedisWorkQueue(client, prefix=prefix)
    try:
        await queue.enqueue(b"m")
        (job,) = await queue.claim("w1", block_ms=200)
        await client.xgroup_destroy(queue.stream, queue.group)
        await queue.finish_and_ack(job, "171.5")
        assert await client.hgetall(f"{queue.posts}:{job.id}") == {
            b"state": b"posted",
            b"ts": b"171.5",
        }
        assert await client.xlen(queue.stream) == 0
    finally:
        await _cleanup(client, prefix)
