"""Inbound workers: claim a queued message, verify it, post one card, acknowledge.

Posting is idempotent: a post record is written before the card and completed with its
timestamp after; a job found "pending" (a worker died mid-post) is first looked up in Slack
(``find_posted``) before posting again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.errors import InputError
from bot.report import Report
from bot.runtime.metrics import Metrics
from bot.runtime.queue import Job, WorkQueue

log = logging.getLogger("deskguard.worker")

Verify = Callable[[bytes], Awaitable[Report]]
PostCard = Callable[[Job, Report | None, str | None], Awaitable[str]]
FindPosted = Callable[[str], Awaitable[str | None]]


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

    async def run(self, stop: asyncio.Event) -> None:
        """Process jobs until ``stop`` is set; a job in hand is finished or released."""
        while not stop.is_set():
            try:
                jobs = await self.queue.claim(self.consumer, count=1, block_ms=self.block_ms)
            except Exception:
                log.exception("queue claim failed; retrying")
                await asyncio.sleep(1)
                continue
            for job in jobs:
                if stop.is_set():
                    await self.queue.release(job)
                    continue
                await self.process_safely(job)

    async def process_safely(self, job: Job) -> None:
        """Process one job; on failure leave it for another attempt (never lost)."""
        try:
            await self.process(job)
        except asyncio.CancelledError:
            await self.queue.release(job)
            raise
        except Exception:
            log.exception("inbound job failed; it will be retried", extra={"job_id": job.id})
            if self.metrics:
                self.metrics.queue_processed.labels("retry").inc()

    async def process(self, job: Job) -> None:
        """Verify, post once, acknowledge."""
        started = time.perf_counter()
        report: Report | None = None
        error: str | None = None
        try:
            report = await self.verify(job.body)
        except InputError as exc:
            error = str(exc)
        record = await self.queue.begin_post(job.id, self.consumer)
        if record is None or record.state == "pending":
            ts = None
            if record is not None and self.find_posted is not None:
                ts = await self.find_posted(job.id)
            if ts is None:
                ts = await self.post_card(job, report, error)
            await self.queue.finish_post(job.id, ts)
        await self.queue.ack(job)
        if self.metrics:
            verdict = report.verdict.value if report else "unusable"
            self.metrics.verifications.labels(verdict, "inbound").inc()
            self.metrics.queue_processed.labels("done").inc()
        log.info(
            "inbound message processed",
            extra={
                "job_id": job.id,
                "verdict": report.verdict.value if report else "unusable",
                "attempts": job.attempts,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
