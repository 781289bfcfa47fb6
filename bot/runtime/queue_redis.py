"""The work queue on Redis: a Stream with a consumer group, attempts and dead letters."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from bot.errors import StoreError
from bot.redis_options import connection_options
from bot.runtime.queue import (
    ERROR_CHARS,
    POST_RECORD_SECONDS,
    DeadLetter,
    Job,
    PostRecord,
    new_job_id,
)

log = logging.getLogger("deskguard.queue")


_RETRY_SCRIPT = """
local body = redis.call('HGET', KEYS[2], 'body')
if not body then return 0 end
local received = redis.call('HGET', KEYS[2], 'received_at')
redis.call('XADD', KEYS[3], '*', 'id', ARGV[1], 'body', body, 'received_at', received)
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[2])
return 1
"""


# Record that a worker is posting a job's card, unless a record exists (then return it), in one
# round trip.
_BEGIN_POST_SCRIPT = """
if redis.call('HSETNX', KEYS[1], 'state', 'pending') == 1 then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return false
end
return redis.call('HGETALL', KEYS[1])
"""
# Acknowledge a job (recording its card's ts first, when given) in one command: what the MULTI
# pipeline of HSET, XACK, XDEL, HDEL did, at a fraction of the client's cost. As in that
# transaction (Redis does not roll one back), every step runs even when one fails, and the first
# error is then returned.
_ACK_SCRIPT = """
local replies = {}
if ARGV[5] == '1' then
  replies[#replies + 1] = redis.pcall('HSET', KEYS[1], 'state', 'posted', 'ts', ARGV[2])
end
replies[#replies + 1] = redis.pcall('XACK', KEYS[2], ARGV[3], ARGV[1])
replies[#replies + 1] = redis.pcall('XDEL', KEYS[2], ARGV[1])
replies[#replies + 1] = redis.pcall('HDEL', KEYS[3], ARGV[4])
for _, reply in ipairs(replies) do
  if type(reply) == 'table' and reply.err then return reply end
end
return 1
"""
# The gate's replay guard and the enqueue in one step: the signature's key is set (NX, with its
# expiry) and, only when it was new, the message is added to the stream. One round trip instead
# of two, and a key is never burned for a message that was not queued.
_ENQUEUE_ONCE_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return false
end
local added = redis.pcall(
  'XADD', KEYS[2], '*', 'id', ARGV[2], 'body', ARGV[3], 'received_at', ARGV[4])
if type(added) == 'table' and added.err then
  redis.call('DEL', KEYS[1])
  return added
end
return 1
"""
AUTOCLAIM_EVERY = 1.0  # seconds between looks for stale jobs while new ones keep coming


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _is_nogroup(exc: Exception) -> bool:
    return isinstance(exc, aioredis.ResponseError) and "NOGROUP" in str(exc)


class RedisWorkQueue:
    """A Redis Stream with a consumer group; XAUTOCLAIM takes back what crashed workers held.

    Redis that lost its data (FLUSHALL, a restart without AOF, a failover to an empty replica) has
    no consumer group: ``claim`` and ``ping`` recreate it (from the start of the stream, so what
    was queued since is consumed) instead of failing on ``NOGROUP`` forever.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "deskguard",
        visibility: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis: Any = client  # redis-py's response types are too loose to help here
        self.stream = f"{prefix}:inbound"
        self.group = "workers"
        self.posts = f"{prefix}:inbound:posts"
        self.errors = f"{prefix}:inbound:errors"
        self.dead = f"{prefix}:inbound:dead"
        self.visibility = visibility
        self._clock = clock
        self._group_ready = False
        self._begin_post = client.register_script(_BEGIN_POST_SCRIPT)
        self._ack_script = client.register_script(_ACK_SCRIPT)
        self._enqueue_once = client.register_script(_ENQUEUE_ONCE_SCRIPT)
        self._last_autoclaim = float("-inf")  # time.monotonic() of the last XAUTOCLAIM

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 64, **kwargs: Any) -> RedisWorkQueue:
        """Connect lazily to ``url``.

        The pool blocks (up to 10 s) for a free connection instead of failing, as the approval
        store's does: a burst of inbound requests queues rather than erroring with "Too many
        connections" (redis-py's plain pool refuses past 100).
        """
        # a Redis that stops answering raises (StoreError) instead of hanging the gate; the
        # claim's blocking read (under a second) stays well inside the socket timeout
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=10,
            socket_connect_timeout=5,
            socket_timeout=10,
            **connection_options(),
        )
        return cls(aioredis.Redis(connection_pool=pool), **kwargs)

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _recreate_group(self) -> None:
        log.warning(
            "the inbound queue's consumer group is missing (Redis lost its data?); recreating it"
        )
        self._group_ready = False
        await self._ensure_group()

    async def enqueue(self, body: bytes) -> str:
        """Store a message durably; return its id (StoreError when Redis is unreachable)."""
        job_id = new_job_id()
        try:
            await self._ensure_group()
            await self.redis.xadd(
                self.stream, {"id": job_id, "body": body, "received_at": repr(self._clock())}
            )
        except aioredis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from None
        return job_id

    async def enqueue_once(self, body: bytes, once_key: str, ttl: float) -> str | None:
        """Store a message durably unless ``once_key`` was set within ``ttl`` seconds; return its
        id, or None for a replay (StoreError when Redis is unreachable).

        What ``use_once`` on the key (SET NX PX, as RedisStore does) followed by :meth:`enqueue`
        did, in one script: a replay queues nothing, and a message that could not be queued
        leaves its key unset (a retry of the same request is not refused as a replay).
        """
        job_id = new_job_id()
        try:
            await self._ensure_group()
            added = await self._enqueue_once(
                keys=[once_key, self.stream],
                args=[max(1, int(ttl * 1000)), job_id, body, repr(self._clock())],
            )
        except aioredis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from None
        return job_id if added else None

    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1000) -> list[Job]:
        """Take back stale jobs first, then new ones (blocking up to ``block_ms``)."""
        await self._ensure_group()
        try:
            return await self._claim(consumer, count, block_ms)
        except aioredis.ResponseError as exc:
            if not _is_nogroup(exc):
                raise
        await self._recreate_group()
        return await self._claim(consumer, count, block_ms)

    async def _claim(self, consumer: str, count: int, block_ms: int) -> list[Job]:
        # Stale jobs (a worker died, or gave one back) are looked for at most once a second
        # while new ones keep coming, and whenever none came: not one more round trip per job.
        looked = False
        if time.monotonic() - self._last_autoclaim >= AUTOCLAIM_EVERY:
            stale = await self._stale(consumer, count)
            looked = True
            if stale:
                return stale
        reply = await self.redis.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=block_ms or None
        )
        jobs = [
            _job(entry_id, fields)  # a first delivery: attempt 1, no error recorded yet
            for _, stream_entries in reply or []
            for entry_id, fields in stream_entries
            if fields
        ]
        if jobs or looked:
            return jobs
        return await self._stale(consumer, count)

    async def _stale(self, consumer: str, count: int) -> list[Job]:
        """Take over jobs idle past the visibility timeout, with their attempts and errors."""
        self._last_autoclaim = time.monotonic()
        _, stale, _ = await self.redis.xautoclaim(
            self.stream,
            self.group,
            consumer,
            min_idle_time=int(self.visibility * 1000),
            start_id="0-0",
            count=count,
        )
        jobs = []
        for entry_id, fields in stale:
            if not fields:
                continue
            pending = await self.redis.xpending_range(
                self.stream, self.group, min=entry_id, max=entry_id, count=1
            )
            attempts = int(pending[0]["times_delivered"]) if pending else 1
            error = await self.redis.hget(self.errors, fields[b"id"].decode())
            jobs.append(
                _job(
                    entry_id, fields, attempts, error.decode("utf-8", "replace") if error else None
                )
            )
        return jobs

    async def ack(self, job: Job) -> None:
        """Done: acknowledge and delete the entry (the body is not kept)."""
        await self._ack(job, None)

    async def finish_and_ack(self, job: Job, ts: str) -> None:
        """Record the posted card's timestamp and acknowledge ``job``, in one transaction."""
        await self._ack(job, ts)

    async def _ack(self, job: Job, ts: str | None) -> None:
        try:
            await self._ack_script(
                keys=[f"{self.posts}:{job.id}", self.stream, self.errors],
                args=[job.handle, ts or "", self.group, job.id, "0" if ts is None else "1"],
            )
        except aioredis.ResponseError as exc:
            if not _is_nogroup(exc):
                raise
            await self._recreate_group()  # the entry went with the lost data

    async def _reclaim(self, job: Job, consumer: str, idle_ms: int) -> None:
        """Hand ``job`` to ``consumer`` as idle for ``idle_ms``, not counting this delivery."""
        try:
            await self.redis.xclaim(
                self.stream,
                self.group,
                consumer,
                min_idle_time=0,
                message_ids=[job.handle],
                idle=idle_ms,
                retrycount=max(job.attempts - 1, 0),
            )
        except aioredis.ResponseError as exc:
            if not _is_nogroup(exc):
                raise
            await self._recreate_group()

    async def release(self, job: Job) -> None:
        """Give a job back at once (graceful shutdown): another consumer may claim it now."""
        await self._reclaim(job, "released", int(self.visibility * 1000) + 1)
        self._last_autoclaim = float("-inf")

    async def fail(self, job: Job, error: str, *, counts: bool = True) -> None:
        """Record why this attempt failed; the job is claimed again after ``visibility``.

        ``counts=False`` (Slack could not be reached: not the message's fault) gives the attempt
        back.
        """
        await self.redis.hset(self.errors, job.id, error[:ERROR_CHARS])
        if not counts:
            await self._reclaim(job, "backoff", 0)
        self._last_autoclaim = float("-inf")

    async def dead_letter(self, job: Job, error: str) -> None:
        """Move ``job`` out of the stream into the dead-letter list, in one transaction."""
        now = self._clock()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(
                    f"{self.dead}:{job.id}",
                    mapping={
                        "body": job.body,
                        "received_at": repr(job.received_at),
                        "failed_at": repr(now),
                        "attempts": str(job.attempts),
                        "error": error[:ERROR_CHARS],
                    },
                )
                pipe.zadd(self.dead, {job.id: now})
                pipe.xack(self.stream, self.group, job.handle)
                pipe.xdel(self.stream, job.handle)
                pipe.hdel(self.errors, job.id)
                await pipe.execute()
        except aioredis.ResponseError as exc:
            if not _is_nogroup(exc):
                raise
            await self._recreate_group()

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters, oldest first."""
        ids = await self.redis.zrange(self.dead, 0, limit - 1)
        letters = []
        for raw_id in ids:
            job_id = raw_id.decode()
            data = await self.redis.hgetall(f"{self.dead}:{job_id}")
            if not data:
                continue
            letters.append(
                DeadLetter(
                    id=job_id,
                    received_at=float(data[b"received_at"]),
                    failed_at=float(data[b"failed_at"]),
                    attempts=int(data[b"attempts"]),
                    error=data[b"error"].decode("utf-8", "replace"),
                )
            )
        return letters

    async def dead_letter_count(self) -> int:
        """How many messages wait in the dead-letter list."""
        return int(await self.redis.zcard(self.dead))

    async def retry(self, job_id: str) -> str | None:
        """Queue a dead letter again under a new id (returned); None when there is no such id."""
        new_id = new_job_id()
        try:
            await self._ensure_group()
            moved = await self.redis.eval(
                _RETRY_SCRIPT, 3, self.dead, f"{self.dead}:{job_id}", self.stream, new_id, job_id
            )
        except aioredis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from None
        return new_id if moved else None

    async def depth(self) -> int:
        """Messages not yet acknowledged."""
        await self._ensure_group()
        return int(await self.redis.xlen(self.stream))

    async def oldest_age(self) -> float:
        """Seconds since the oldest unacknowledged message arrived (0 when empty)."""
        await self._ensure_group()
        first = await self.redis.xrange(self.stream, count=1)
        if not first:
            return 0.0
        return max(0.0, self._clock() - float(first[0][1][b"received_at"]))

    async def begin_post(self, job_id: str, owner: str) -> PostRecord | None:
        """Record that ``owner`` is posting; return the existing record if one exists."""
        key = f"{self.posts}:{job_id}"
        found = await self._begin_post(keys=[key], args=[owner, POST_RECORD_SECONDS])
        if not found:
            return None
        data = dict(zip(found[::2], found[1::2], strict=True))
        return PostRecord(
            state=data.get(b"state", b"pending").decode(),
            ts=data[b"ts"].decode() if b"ts" in data else None,
            owner=data[b"owner"].decode() if b"owner" in data else None,
        )

    async def finish_post(self, job_id: str, ts: str) -> None:
        """Record the posted card's timestamp."""
        await self.redis.hset(f"{self.posts}:{job_id}", mapping={"state": "posted", "ts": ts})

    async def ping(self) -> None:
        """Raise StoreError when Redis does not answer or the queue cannot be consumed.

        A missing consumer group (Redis lost its data) is recreated here; readiness stays red
        only while that fails.
        """
        try:
            await self.redis.ping()
            groups = await self.redis.xinfo_groups(self.stream)
            names = {_text(g["name"]) for g in groups}
            if self.group not in names:
                await self._recreate_group()
        except aioredis.ResponseError as exc:
            if "no such key" not in str(exc).lower():
                raise StoreError(f"redis: {exc}") from None
            try:
                await self._recreate_group()
            except aioredis.RedisError as again:
                raise StoreError(f"redis: the queue cannot be consumed: {again}") from None
        except aioredis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from None

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()


def _job(
    entry_id: Any, fields: dict[bytes, bytes], attempts: int = 1, error: str | None = None
) -> Job:
    return Job(
        id=fields[b"id"].decode(),
        body=fields[b"body"],
        received_at=float(fields[b"received_at"]),
        attempts=attempts,
        handle=entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id),
        last_error=error,
    )
