"""The CLI's worker pool for email files, started by the first email."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.mail.arrival import Arrival

if TYPE_CHECKING:
    from bot.mail.arrival import Envelope
    from bot.mail.message import HeadersOnly
    from bot.report import Report
    from bot.verify.verifier import MessageRunner, Verifier


class PoolOnDemand:
    """The worker pool, started by the first email: a domain check never imports the mail engine
    or starts a process (``deskguard verify DOMAIN`` stays a fast cold start)."""

    def __init__(self, verifier: Verifier, processes: int) -> None:
        self._verifier = verifier
        self._processes = processes
        self._pool: MessageRunner | None = None
        self._close: Callable[[], None] | None = None

    def _started(self) -> MessageRunner:
        if self._pool is None:
            from bot.verify.sandbox import attach_verify_pool

            pool = attach_verify_pool(
                self._verifier, start_method="fork", processes=self._processes
            )
            self._pool, self._close = pool, pool.close
        return self._pool

    async def verify_message(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        arrival: Arrival = Arrival.FILE,
        envelope: Envelope | None = None,
    ) -> Report:
        """Verify an email in the pool (started now if it is not yet)."""
        return await self._started().verify_message(
            data, filename=filename, arrival=arrival, envelope=envelope
        )

    async def verify_headers(self, fields: HeadersOnly) -> Report:
        """Verify header fields in the pool."""
        return await self._started().verify_headers(fields)

    def close(self) -> None:
        """Stop the pool if it was started."""
        if self._close is not None:
            self._close()
