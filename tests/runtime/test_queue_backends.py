"""The configured queue: on Redis, workers blocked in their claims never take every connection
the gate needs (a pool no larger than the workers answered 503 to every inbound message)."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from bot.runtime.queue_backends import open_queue
from bot.runtime.queue_redis import RedisWorkQueue
from bot.settings import FIELDS, Settings


async def test_the_gate_enqueues_while_the_most_workers_block_in_claims(redis_url: str) -> None:
    settings = Settings(_env_file=None, redis_url=redis_url, workers=FIELDS["workers"].le)
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    queue = open_queue(settings)
    assert isinstance(queue, RedisWorkQueue)
    prefix = f"test-{uuid.uuid4().hex}"
    stop = asyncio.Event()

    async def worker(n: int) -> None:
        while not stop.is_set():
            for job in await queue.claim(f"worker-{n}", block_ms=300):
                await queue.ack(job)

    workers = [asyncio.create_task(worker(n)) for n in range(settings.workers)]
    try:
        await asyncio.sleep(0.5)  # every worker is inside a blocking claim
        for n in range(5):
            job_id = await asyncio.wait_for(
                queue.enqueue_once(b"From: a@b.example\r\n\r\nhi\r\n", f"{prefix}:once:{n}", 60),
                timeout=8,  # the pool's own wait is 10 s: a starved gate fails here first
            )
            assert job_id is not None
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
        client = aioredis.from_url(redis_url)
        await client.flushdb()  # the private test server: the default stream and the keys
        await client.aclose()
        await queue.close()
