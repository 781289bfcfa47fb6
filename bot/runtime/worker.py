"""Inbound workers: claim a queued message, verify it, post one card, acknowledge.

Posting is idempotent: a post record is written before the card and completed with its
timestamp after; a job found "pending" (a worker died mid-post) is first looked up in Slack
(``find_posted``) before posting again.

Attempts are counted: a job that failed ``max_attempts`` times (or whose worker died that many
times) is moved to the dead-letter list, and one "could not be verified" card says why. A Slack
outage does not count against a message (the attempt is given back, and retried later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.errors import InputError, SlackApiError
from bot.report import Report
from bot.runtime.metrics import Metrics
from bot.runtime.queue import Job, WorkQueue

log = logging.getLogger("deskguard.worker")

Verify = Callable[[bytes], Awaitable[Report]]
PostCard = Callable[[Job, Report | None, str | None], Awaitable[str]]
FindPosted = Callable[[Job], Awaitable[str | None]]

ERROR_CHARS = 300  # how much of an exception's text reaches the card


@dataclass
class QueueHealth:
    """Whether the workers can consume the queue: the last claim's error, if it failed."""

    error: str | None = None
    failures: int = 0

    def ok(self) -> None:
        self.error, self.failures = None, 0

    def failed(self, error: str) -> None:
        self.error, self.failures = error, self.failures + 1


def describe(exc: BaseException) -> str:
    """A short, single-line account of an exception (no traceback, capped, printable only: the
    text may quote the message, and it reaches a card, the logs and an operator's terminal)."""
    text = " ".join(str(exc).split())
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:ERROR_CHARS]


@dataclass
class InboundWorker:
    """One consumer of the inbound queue."""

    queue: WorkQueue
    verify: Verify
    post_card: PostCard
    consumer: str
    find_posted: FindPosted | None = None
    metrics: Metrics | None = None
    block_ms: int = 500
    max_attempts: int = 5
    health: QueueHealth = field(default_factory=QueueHealth)

    async def run(self, stop: asyncio.Event) -> None:
        """Process jobs until ``stop`` is set; a job in hand is finished or released."""
        delay = 0.5
        while not stop.is_set():
            try:
                jobs = await self.queue.claim(self.consumer, count=1, block_ms=self.block_ms)
            except Exception as exc:  # any backend failure: report, back off, retry
                self.health.failed(describe(exc))
                log.warning(
                    "queue claim failed; retrying", extra={"error": describe(exc), "delay": delay}
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 30.0)
                continue
            self.health.ok()
            delay = 0.5
            for job in jobs:
                if stop.is_set():
                    await self.queue.release(job)
                    continue
                await self.process_safely(job)

    async def process_safely(self, job: Job) -> None:
        """Process one job; on failure leave it for another attempt, or give up on it."""
        try:
            if job.attempts > self.max_attempts:
                # Earlier attempts never finished (the worker died, or kept failing to give up).
                reason = job.last_error or (
                    f"processing stopped {job.attempts - 1} times without finishing"
                )
                await self.give_up(job, reason)
                return
            try:
                await self.process(job)
            except asyncio.CancelledError:
                raise
            except SlackApiError as exc:
                if not exc.transient:  # Slack refuses this card: it counts, and ends in give_up
                    await self._failed(job, exc)
                    return
                # Slack's fault, not the message's: not an attempt
                log.warning(
                    "inbound card not delivered; will retry",
                    extra={"job_id": job.id, "error": describe(exc)},
                )
                await self.queue.fail(job, describe(exc), counts=False)
                self._count("retry")
            except Exception as exc:  # a message must never stop the worker
                await self._failed(job, exc)
        except asyncio.CancelledError:
            await self.queue.release(job)
            raise
        except Exception as exc:  # the queue or Slack failed: the job waits
            log.warning(
                "inbound job left for a later attempt",
                extra={"job_id": job.id, "error": describe(exc)},
            )

    async def _failed(self, job: Job, exc: Exception) -> None:
        """An attempt failed: try again later, or give up after ``max_attempts``."""
        error = describe(exc)
        log.warning(
            "inbound job failed",
            extra={"job_id": job.id, "attempts": job.attempts, "error": error},
        )
        if job.attempts >= self.max_attempts:
            await self.give_up(job, error)
        else:
            await self.queue.fail(job, error)
            self._count("retry")

    async def give_up(self, job: Job, error: str) -> None:
        """Post one "could not be verified" card with ``error``, then dead-letter the job."""
        reason = f"gave up after {min(job.attempts, self.max_attempts)} attempts: {error}"
        await self._post_once(job, None, reason)
        await self.queue.dead_letter(job, error)
        self._count("dead_letter")
        log.error(
            "inbound message moved to the dead-letter list",
            extra={"job_id": job.id, "attempts": job.attempts, "error": error},
        )

    async def process(self, job: Job) -> None:
        """Verify, post once, acknowledge."""
        started = time.perf_counter()
        report: Report | None = None
        error: str | None = None
        try:
            report = await self.verify(job.body)
        except InputError as exc:
            error = str(exc)
        await self._post_once(job, report, error, ack=True)
        if self.metrics:
            verdict = report.verdict.value if report else "unusable"
            self.metrics.verifications.labels(verdict, "inbound").inc()
        self._count("done")
        log.info(
            "inbound message processed",
            extra={
                "job_id": job.id,
                "verdict": report.verdict.value if report else "unusable",
                "attempts": job.attempts,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )

    async def _post_once(
        self, job: Job, report: Report | None, error: str | None, *, ack: bool = False
    ) -> None:
        """Post the card unless it was posted; with ``ack``, record it and acknowledge the job
        in one transaction."""
        record = await self.queue.begin_post(job.id, self.consumer)
        if record is not None and record.state == "posted":
            if ack:
                await self.queue.ack(job)
            return
        ts = None
        if record is not None and self.find_posted is not None:
            # A worker began posting and never recorded the answer: the card may exist.
            ts = await self.find_posted(job)
            if ts is not None:
                log.info("inbound card found in Slack", extra={"job_id": job.id, "ts": ts})
        if ts is None:
            ts = await self.post_card(job, report, error)
        if ack:
            await self.queue.finish_and_ack(job, ts)
        else:
            await self.queue.finish_post(job.id, ts)

    def _count(self, outcome: str) -> None:
        if self.metrics:
            self.metrics.queue_processed.labels(outcome).inc()
