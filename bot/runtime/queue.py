"""The durable work queue behind the inbound gate: a Redis Stream or a SQLite table.

At-least-once: a job is claimed by one worker, and only acknowledged after its card is posted.
A job a crashed worker held is claimed again once it has been idle for ``visibility`` seconds
(XAUTOCLAIM on Redis, a claimed_at deadline on SQLite). Posting is made idempotent with a
per-job post record: ``begin_post`` / ``finish_post`` (one card per message even when reprocessed).

Attempts are counted per job (a delivery given back with ``release`` or ``fail(counts=False)`` does
not count). A job that keeps failing is moved to a dead-letter list with its last error
(``dead_letter``); ``dead_letters`` lists them and ``retry`` puts one back under a new id.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import redis.asyncio as aioredis

from bot.errors import StoreError
from bot.settings import Settings

log = logging.getLogger("deskguard.queue")

ERROR_CHARS = 500  # the last error kept per job (it reaches a Slack card and the CLI)


@dataclass(frozen=True, slots=True)
class Job:
    """One queued message."""

    id: str
    body: bytes
    received_at: float
    attempts: int
    handle: str  # backend handle (stream entry id or row id)
    last_error: str | None = None  # why the previous attempt failed, when it said


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be processed: kept with its last error until retried."""

    id: str
    received_at: float
    failed_at: float
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class PostRecord:
    """What is known about a job's Slack card."""

    state: str  # "pending" (a worker began posting) or "posted"
    ts: str | None
    owner: str | None


class WorkQueue(Protocol):
    """What workers and the gate need from a queue."""

    async def enqueue(self, body: bytes) -> str: ...
    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1000) -> list[Job]: ...
    async def ack(self, job: Job) -> None: ...
    async def release(self, job: Job) -> None: ...
    async def depth(self) -> int: ...
    async def oldest_age(self) -> float: ...
    async def begin_post(self, job_id: str, owner: str) -> PostRecord | None: ...
    async def finish_post(self, job_id: str, ts: str) -> None: ...
    async def fail(self, job: Job, error: str, *, counts: bool = True) -> None: ...
    async def dead_letter(self, job: Job, error: str) -> None: ...
    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...
    async def dead_letter_count(self) -> int: ...
    async def retry(self, job_id: str) -> str | None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def new_job_id() -> str:
    """A sortable, unguessable id: millisecond time plus 64 random bits."""
    return f"{int(time.time() * 1000):013d}-{secrets.token_hex(8)}"


_RETRY_SCRIPT = """
local body = redis.call('HGET', KEYS[2], 'body')
if not body then return 0 end
local received = redis.call('HGET', KEYS[2], 'received_at')
redis.call('XADD', KEYS[3], '*', 'id', ARGV[1], 'body', body, 'received_at', received)
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[2])
return 1
"""


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

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisWorkQueue:
        """Connect lazily to ``url``."""
        return cls(aioredis.from_url(url), **kwargs)

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
        _, stale, _ = await self.redis.xautoclaim(
            self.stream,
            self.group,
            consumer,
            min_idle_time=int(self.visibility * 1000),
            start_id="0-0",
            count=count,
        )
        entries = [(entry_id, fields) for entry_id, fields in stale if fields]
        if not entries:
            reply = await self.redis.xreadgroup(
                self.group, consumer, {self.stream: ">"}, count=count, block=block_ms or None
            )
            for _, stream_entries in reply or []:
                entries.extend(entry for entry in stream_entries if entry[1])
        jobs = []
        for entry_id, fields in entries:
            pending = await self.redis.xpending_range(
                self.stream, self.group, min=entry_id, max=entry_id, count=1
            )
            attempts = int(pending[0]["times_delivered"]) if pending else 1
            job_id = fields[b"id"].decode()
            error = await self.redis.hget(self.errors, job_id)
            jobs.append(
                Job(
                    id=job_id,
                    body=fields[b"body"],
                    received_at=float(fields[b"received_at"]),
                    attempts=attempts,
                    handle=entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id),
                    last_error=error.decode("utf-8", "replace") if error else None,
                )
            )
        return jobs

    async def ack(self, job: Job) -> None:
        """Done: acknowledge and delete the entry (the body is not kept)."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xack(self.stream, self.group, job.handle)
                pipe.xdel(self.stream, job.handle)
                pipe.hdel(self.errors, job.id)
                await pipe.execute()
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

    async def fail(self, job: Job, error: str, *, counts: bool = True) -> None:
        """Record why this attempt failed; the job is claimed again after ``visibility``.

        ``counts=False`` (Slack could not be reached: not the message's fault) gives the attempt
        back.
        """
        await self.redis.hset(self.errors, job.id, error[:ERROR_CHARS])
        if not counts:
            await self._reclaim(job, "backoff", 0)

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
        created = await self.redis.hsetnx(key, "state", "pending")
        if created:
            await self.redis.hset(key, mapping={"owner": owner})
            await self.redis.expire(key, 7 * 86400)
            return None
        data = await self.redis.hgetall(key)
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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbound_queue (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    claimed_by TEXT,
    claimed_until REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbound_queue_due ON inbound_queue (claimed_until, received_at);
CREATE TABLE IF NOT EXISTS inbound_posts (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    ts TEXT,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS inbound_dead (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    failed_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL
);
"""


class SqliteWorkQueue:
    """A table in the SQLite store; claims are leases that expire after ``visibility`` seconds."""

    def __init__(
        self,
        path: Path | str,
        *,
        visibility: float = 60.0,
        poll_interval: float = 0.05,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.visibility = visibility
        self.poll_interval = poll_interval
        self._clock = clock
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            conn = self._connection()
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(inbound_queue)")}
            if "last_error" not in columns:  # a database from before attempts were counted
                conn.execute("ALTER TABLE inbound_queue ADD COLUMN last_error TEXT")
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from None

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from None

    async def _call(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return await asyncio.to_thread(self._run, fn)

    async def enqueue(self, body: bytes) -> str:
        """Store a message durably; return its id."""
        job_id = new_job_id()
        now = self._clock()
        await self._call(
            lambda c: c.execute(
                "INSERT INTO inbound_queue (id, body, received_at) VALUES (?, ?, ?)",
                (job_id, body, now),
            )
        )
        return job_id

    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1000) -> list[Job]:
        """Lease up to ``count`` due jobs, polling until ``block_ms`` passes."""
        deadline = time.monotonic() + block_ms / 1000
        while True:
            jobs: list[Job] = await self._call(lambda c: self._lease(c, consumer, count))
            if jobs or time.monotonic() >= deadline:
                return jobs
            await asyncio.sleep(self.poll_interval)

    def _lease(self, conn: sqlite3.Connection, consumer: str, count: int) -> list[Job]:
        now = self._clock()
        rows = conn.execute(
            "SELECT id, body, received_at, attempts, last_error FROM inbound_queue "
            "WHERE claimed_until <= ? ORDER BY received_at LIMIT ?",
            (now, count),
        ).fetchall()
        jobs = []
        for job_id, body, received_at, attempts, error in rows:
            conn.execute(
                "UPDATE inbound_queue SET claimed_by = ?, claimed_until = ?, attempts = ? "
                "WHERE id = ?",
                (consumer, now + self.visibility, attempts + 1, job_id),
            )
            jobs.append(Job(job_id, bytes(body), received_at, attempts + 1, job_id, error))
        return jobs

    async def ack(self, job: Job) -> None:
        """Done: delete the job."""
        await self._call(lambda c: c.execute("DELETE FROM inbound_queue WHERE id = ?", (job.id,)))

    async def release(self, job: Job) -> None:
        """Give a job back at once; this delivery does not count as an attempt."""
        await self._call(
            lambda c: c.execute(
                "UPDATE inbound_queue SET claimed_by = NULL, claimed_until = 0, "
                "attempts = MAX(attempts - 1, 0) WHERE id = ?",
                (job.id,),
            )
        )

    async def fail(self, job: Job, error: str, *, counts: bool = True) -> None:
        """Record why this attempt failed; the job is claimed again after ``visibility``.

        ``counts=False`` (Slack could not be reached: not the message's fault) gives the attempt
        back.
        """
        undo = 0 if counts else 1
        await self._call(
            lambda c: c.execute(
                "UPDATE inbound_queue SET last_error = ?, attempts = MAX(attempts - ?, 0) "
                "WHERE id = ?",
                (error[:ERROR_CHARS], undo, job.id),
            )
        )

    async def dead_letter(self, job: Job, error: str) -> None:
        """Move ``job`` into the dead-letter table, in one transaction."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO inbound_dead "
                "(id, body, received_at, failed_at, attempts, error) VALUES (?, ?, ?, ?, ?, ?)",
                (job.id, job.body, job.received_at, now, job.attempts, error[:ERROR_CHARS]),
            )
            conn.execute("DELETE FROM inbound_queue WHERE id = ?", (job.id,))

        await self._call(run)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters, oldest first."""
        rows = await self._call(
            lambda c: c.execute(
                "SELECT id, received_at, failed_at, attempts, error FROM inbound_dead "
                "ORDER BY failed_at, id LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return [DeadLetter(*row) for row in rows]

    async def dead_letter_count(self) -> int:
        """How many messages wait in the dead-letter table."""
        row = await self._call(lambda c: c.execute("SELECT COUNT(*) FROM inbound_dead").fetchone())
        return int(row[0])

    async def retry(self, job_id: str) -> str | None:
        """Queue a dead letter again under a new id (returned); None when there is no such id."""
        new_id = new_job_id()

        def run(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT body, received_at FROM inbound_dead WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "INSERT INTO inbound_queue (id, body, received_at) VALUES (?, ?, ?)",
                (new_id, row[0], row[1]),
            )
            conn.execute("DELETE FROM inbound_dead WHERE id = ?", (job_id,))
            return new_id

        result: str | None = await self._call(run)
        return result

    async def depth(self) -> int:
        """Messages not yet acknowledged."""
        row = await self._call(lambda c: c.execute("SELECT COUNT(*) FROM inbound_queue").fetchone())
        return int(row[0])

    async def oldest_age(self) -> float:
        """Seconds since the oldest unacknowledged message arrived (0 when empty)."""
        row = await self._call(
            lambda c: c.execute("SELECT MIN(received_at) FROM inbound_queue").fetchone()
        )
        return 0.0 if row[0] is None else max(0.0, self._clock() - float(row[0]))

    async def begin_post(self, job_id: str, owner: str) -> PostRecord | None:
        """Record that ``owner`` is posting; return the existing record if one exists."""

        def run(conn: sqlite3.Connection) -> PostRecord | None:
            row = conn.execute(
                "SELECT state, ts, owner FROM inbound_posts WHERE id = ?", (job_id,)
            ).fetchone()
            if row is not None:
                return PostRecord(row[0], row[1], row[2])
            conn.execute(
                "INSERT INTO inbound_posts (id, state, owner) VALUES (?, 'pending', ?)",
                (job_id, owner),
            )
            return None

        result: PostRecord | None = await self._call(run)
        return result

    async def finish_post(self, job_id: str, ts: str) -> None:
        """Record the posted card's timestamp."""
        await self._call(
            lambda c: c.execute(
                "UPDATE inbound_posts SET state = 'posted', ts = ? WHERE id = ?", (ts, job_id)
            )
        )

    async def ping(self) -> None:
        """Raise StoreError when the database cannot be opened."""
        await self._call(lambda c: c.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def open_queue(settings: Settings) -> WorkQueue:
    """The Redis Stream when ``REDIS_URL`` is set, else a table in the SQLite database."""
    visibility = settings.queue_visibility_seconds
    if settings.redis_url:
        return RedisWorkQueue.from_url(settings.redis_url, visibility=visibility)
    return SqliteWorkQueue(settings.database, visibility=visibility)
