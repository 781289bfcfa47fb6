"""Review reminders: once per period, a list of vendors whose review is overdue.

Several replicas may run the schedule; ``first_use`` (a shared single-use key store) makes sure
exactly one of them posts for each period.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.registry import Registry, Vendor

log = logging.getLogger("deskguard.reminders")

FirstUse = Callable[[str], Awaitable[bool]]
Post = Callable[[str, list[Vendor]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """The period a reminder belongs to and the vendors it lists."""

    period_key: str
    overdue: list[Vendor]


def period_key(now: dt.datetime, period_days: float) -> str:
    """The id of the period ``now`` falls in (periods count from the Unix epoch)."""
    index = int(now.timestamp() // (period_days * 86400))
    return f"review-reminder:{period_days:g}d:{index}"


def plan(
    registry: Registry, now: dt.datetime, *, interval_days: int, period_days: float
) -> ReminderPlan:
    """What a reminder for ``now`` would say."""
    return ReminderPlan(period_key(now, period_days), registry.overdue(now.date(), interval_days))


def reminder_text(overdue: list[Vendor], interval_days: int) -> str:
    """The plain-text body of the reminder."""
    lines = [f"Vendor reviews overdue (older than {interval_days} days):"]
    for vendor in overdue:
        lines.append(
            f"- {vendor.name} ({vendor.id}): last reviewed {vendor.last_reviewed.isoformat()}, "
            f"owner {vendor.owner}"
        )
    return "\n".join(lines)


async def send_if_due(
    registry: Registry,
    now: dt.datetime,
    *,
    interval_days: int,
    period_days: float,
    first_use: FirstUse,
    post: Post,
) -> bool:
    """Post this period's reminder unless another replica already did; True when posted."""
    current = plan(registry, now, interval_days=interval_days, period_days=period_days)
    if not current.overdue:
        return False
    if not await first_use(current.period_key):
        return False
    await post(reminder_text(current.overdue, interval_days), current.overdue)
    return True


async def run_schedule(
    stop: asyncio.Event,
    registry: Callable[[], Registry],
    *,
    interval_days: int,
    period_days: float,
    first_use: FirstUse,
    post: Post,
    check_every: float = 3600.0,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """Check hourly (by default) whether this period's reminder is due, until ``stop`` is set."""
    while not stop.is_set():
        try:
            await send_if_due(
                registry(),
                now(),
                interval_days=interval_days,
                period_days=period_days,
                first_use=first_use,
                post=post,
            )
        except Exception:
            log.exception("review reminder failed; will try again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=check_every)
