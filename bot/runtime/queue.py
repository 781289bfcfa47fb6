"""The durable work queue behind the inbound gate: a Redis Stream or a SQLite table.

At-least-once: a job is claimed by one worker, and only acknowledged after its card is posted.
A job a crashed worker held is claimed again once it has been idle for ``visibility`` seconds
(XAUTOCLAIM on Redis, a claimed_at deadline on SQLite). Posting is made idempotent with a
per-job post record: ``begin_post`` / ``finish_post`` (one card per message even when reprocessed).
"""

from __future__ import annotations

import asyncio
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


@dataclass(frozen=True, slots=True)
class Job:
    """One queued message."""

    id: str
    body: bytes
    received_at: float
    attempts: int
    handle: str  # backend handle (stream entry id or row id)


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
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def new_job_id() -> str:
    """A sortable, unguessable id: millisecond time plus 64 random bits."""
    return f"{int(time.time() * 1000):013d}-{secrets.token_hex(8)}"


class RedisWorkQueue:
    """A Redis Stream with a consumer group; XAUTOCLAIM takes back what crashed workers held."""

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
                entries.extend(stream_entries)
        jobs = []
        for entry_id, fields in entries:
            pending = await self.redis.xpending_range(
                self.stream, self.group, min=entry_id, max=entry_id, count=1
            )
            attempts = int(pending[0]["times_delivered"]) if pending else 1
            jobs.append(
                Job(
                    id=fields[b"id"].decode(),
                    body=fields[b"body"],
                    received_at=float(fields[b"received_at"]),
                    attempts=attempts,
                    handle=entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id),
                )
            )
        return jobs

    async def ack(self, job: Job) -> None:
        """Done: acknowledge and delete the entry (the body is not kept)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, job.handle)
            pipe.xdel(self.stream, job.handle)
            await pipe.execute()

    async def release(self, job: Job) -> None:
        """Give a job back at once (graceful shutdown): another consumer may claim it now."""
        await self.redis.xclaim(
            self.stream,
            self.group,
            "released",
            min_idle_time=0,
            message_ids=[job.handle],
            idle=int(self.visibility * 1000) + 1,
        )

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
        """Raise StoreError when Redis does not answer."""
        try:
            await self.redis.ping()
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
            self._connection().executescript(_SCHEMA)
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
            "SELECT id, body, received_at, attempts FROM inbound_queue "
            "WHERE claimed_until <= ? ORDER BY received_at LIMIT ?",
            (now, count),
        ).fetchall()
        jobs = []
        for job_id, body, received_at, attempts in rows:
            conn.execute(
                "UPDATE inbound_queue SET claimed_by = ?, claimed_until = ?, attempts = ? "
                "WHERE id = ?",
                (consumer, now + self.visibility, attempts + 1, job_id),
            )
            jobs.append(Job(job_id, bytes(body), received_at, attempts + 1, job_id))
        return jobs

    async def ack(self, job: Job) -> None:
        """Done: delete the job."""
        await self._call(lambda c: c.execute("DELETE FROM inbound_queue WHERE id = ?", (job.id,)))

    async def release(self, job: Job) -> None:
        """Give a job back at once."""
        await self._call(
            lambda c: c.execute(
                "UPDATE inbound_queue SET claimed_by = NULL, claimed_until = 0 WHERE id = ?",
                (job.id,),
            )
        )

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
