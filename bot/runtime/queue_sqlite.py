"""The work queue in SQLite (the embedded default): one table, claimed rows, dead letters."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.runtime.queue import (
    ERROR_CHARS,
    POST_RECORD_SECONDS,
    PRUNE_EVERY,
    DeadLetter,
    Job,
    PostRecord,
    new_job_id,
)
from bot.sqlitebatch import BatchWriter, connect

log = logging.getLogger("deskguard.queue")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbound_queue (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    claimed_by TEXT,
    claimed_until REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
);
-- oldest first, due or not: a claim walks it in order and stops at the first due row (the
-- rows it skips are the few in flight), where an index led by claimed_until needs a sort of
-- every due row on each claim
DROP INDEX IF EXISTS inbound_queue_due;
CREATE INDEX IF NOT EXISTS inbound_queue_order ON inbound_queue (received_at, claimed_until);
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
        self._writer = BatchWriter.shared(self.path, busy_timeout=30)  # with the replay keys
        self._finished = 0  # cards recorded by this queue: expired records go every PRUNE_EVERY
        try:
            conn = connect(self.path, busy_timeout=30)
            try:
                conn.executescript(_SCHEMA)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(inbound_queue)")}
                if "last_error" not in columns:  # a database from before attempts were counted
                    conn.execute("ALTER TABLE inbound_queue ADD COLUMN last_error TEXT")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from None

    async def _call(self, fn: Callable[[sqlite3.Connection], Any], *, durable: bool = False) -> Any:
        """Run ``fn`` in the writer's next transaction (shared with whatever else waits).

        Only what must survive a power cut is ``durable`` (synced before the caller hears back):
        an accepted message, a dead letter. Leases, post records and acknowledgements lost
        that way mean a message verified again (and at worst a second card), never a lost one.
        """
        try:
            return await self._writer.run(fn, durable=durable)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from None

    async def enqueue(self, body: bytes) -> str:
        """Store a message durably; return its id."""
        job_id = new_job_id()
        now = self._clock()
        await self._call(
            lambda c: c.execute(
                "INSERT INTO inbound_queue (id, body, received_at) VALUES (?, ?, ?)",
                (job_id, body, now),
            ),
            durable=True,
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
        await self._call(lambda c: _delete_job(c, job.id))

    async def finish_and_ack(self, job: Job, ts: str) -> None:
        """Record the posted card's timestamp and delete the job, in one transaction."""

        prune = self._finished % PRUNE_EVERY == 0
        self._finished += 1
        oldest = f"{int((self._clock() - POST_RECORD_SECONDS) * 1000):013d}"

        def run(conn: sqlite3.Connection) -> None:
            _record_post(conn, job.id, ts)
            _delete_job(conn, job.id)
            if prune:  # ids begin with their millisecond time: older ids sort first
                conn.execute("DELETE FROM inbound_posts WHERE id < ?", (oldest,))

        await self._call(run)

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

        await self._call(run, durable=True)

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

        result: str | None = await self._call(run, durable=True)
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
        await self._call(lambda c: _record_post(c, job_id, ts))

    async def ping(self) -> None:
        """Raise StoreError when the database cannot be opened."""
        await self._call(lambda c: c.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        """Finish the work given, then close the writer's connection."""
        await asyncio.to_thread(self._writer.release)


def _record_post(conn: sqlite3.Connection, job_id: str, ts: str) -> None:
    conn.execute("UPDATE inbound_posts SET state = 'posted', ts = ? WHERE id = ?", (ts, job_id))


def _delete_job(conn: sqlite3.Connection, job_id: str) -> None:
    conn.execute("DELETE FROM inbound_queue WHERE id = ?", (job_id,))
