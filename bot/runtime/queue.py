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

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

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
    async def finish_and_ack(self, job: Job, ts: str) -> None: ...
    async def fail(self, job: Job, error: str, *, counts: bool = True) -> None: ...
    async def dead_letter(self, job: Job, error: str) -> None: ...
    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...
    async def dead_letter_count(self) -> int: ...
    async def retry(self, job_id: str) -> str | None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


POST_RECORD_SECONDS = 7 * 86400  # how long a card's post record is kept (both backends)
PRUNE_EVERY = 64  # the SQLite queue clears out expired post records every so many cards


def new_job_id() -> str:
    """A sortable, unguessable id: millisecond time plus 64 random bits."""
    return f"{int(time.time() * 1000):013d}-{secrets.token_hex(8)}"
