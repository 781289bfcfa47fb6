"""The expiry sweeper: expire overdue requests periodically and let the caller refresh their cards.

State first: ``service.expire_due()`` writes every expiry before ``update_card`` is called, so a
Slack failure while refreshing a card is logged and never undoes or repeats the expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.approvals.machine import Request
from bot.errors import DeskguardError

log = logging.getLogger("deskguard.approvals")

CardUpdater = Callable[[Request], Awaitable[None]]


class Expirer(Protocol):
    """What the sweeper needs from the approval service."""

    async def expire_due(self) -> list[Request]:
        """Expire every request past its expiry time; return them."""
        ...


async def sweep_once(service: Expirer, update_card: CardUpdater) -> list[Request]:
    """Expire what is due, then refresh each expired request's card; return the expired."""
    expired = await service.expire_due()
    for request in expired:
        try:
            await update_card(request)
        except Exception:  # one card's failure must not stop the others
            log.exception("could not refresh the card of expired request %s", request.id)
    return expired


async def run_expiry_sweeper(
    stop: asyncio.Event,
    service: Expirer,
    update_card: CardUpdater,
    interval: float = 60.0,
) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set (the first sweep runs at once)."""
    while not stop.is_set():
        try:
            expired = await sweep_once(service, update_card)
        except DeskguardError as exc:  # the store is unreachable: try again next round
            log.error("expiry sweep failed: %s", exc)
        else:
            if expired:
                log.info("expired %d approval request(s)", len(expired))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
