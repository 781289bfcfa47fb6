"""The vendor watch in ``deskguard serve``: once per period across replicas, post what changed.

Posted: a vendor domain whose posture weakened (DMARC p=reject → none, SPF -all → ~all/+all, a
DKIM key removed), and each newly registered lookalike that can send mail, with its records and
the imitated vendor's callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.dns import Resolver
from bot.registry import Registry, display_phone
from bot.watch.drift import Change, carry_forward, posture_changes
from bot.watch.lookalikes import (
    Finding,
    WatchStats,
    find_registered,
    new_findings,
    to_store,
    vendor_permutations,
)
from bot.watch.posture import PostureRow, check_registry_posture
from bot.watch.snapshots import LOOKALIKES, POSTURE, SnapshotStore

log = logging.getLogger("deskguard.watch")

FirstUse = Callable[[str], Awaitable[bool]]
PostText = Callable[[str], Awaitable[None]]


@dataclass
class WatchRun:
    """What one run of both watches found (``None`` lists: the first run, a baseline)."""

    rows: list[PostureRow] = field(default_factory=list)
    changes: list[Change] | None = None
    findings: list[Finding] = field(default_factory=list)
    new: list[Finding] | None = None
    stats: WatchStats = field(default_factory=WatchStats)


def period_key(now: dt.datetime, hours: float) -> str:
    """The id of the watch period ``now`` falls in."""
    return f"vendor-watch:{hours:g}h:{int(now.timestamp() // (hours * 3600))}"


async def posture_run(
    registry: Registry,
    resolver: Resolver,
    store: SnapshotStore,
    *,
    qps: float,
    vendor_ids: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[PostureRow], list[Change] | None]:
    """Check, compare with the stored snapshot, store the new one; None changes on the first run."""
    rows = await check_registry_posture(
        registry, resolver, qps=qps, vendor_ids=vendor_ids, progress=progress
    )
    stored = await store.load(POSTURE)
    before = [PostureRow.from_json(r) for r in stored or ()]
    chosen = set(vendor_ids)
    in_scope = [r for r in before if not chosen or r.vendor in chosen]
    others = [r for r in before if chosen and r.vendor not in chosen]
    changes = None if stored is None else posture_changes(in_scope, rows)
    keep = [*others, *carry_forward(in_scope, rows)]
    await store.save(POSTURE, [r.to_json() for r in keep])
    return rows, changes


async def lookalike_run(
    registry: Registry,
    resolver: Resolver,
    store: SnapshotStore,
    *,
    qps: float,
    vendor_ids: Sequence[str] = (),
    fuzzers: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Finding], list[Finding] | None, WatchStats]:
    """Permute, resolve, compare with the stored run, store; None new findings on the first run."""
    vendors = [v for v in registry.vendors if not vendor_ids or v.id in vendor_ids]
    permutations = [p for v in vendors for p in vendor_permutations(v, registry, fuzzers=fuzzers)]
    findings, stats = await find_registered(permutations, resolver, qps=qps, progress=progress)
    stored = await store.load(LOOKALIKES)
    before = [Finding.from_json(r) for r in stored or ()]
    chosen = set(vendor_ids)
    in_scope = [f for f in before if not chosen or f.vendor in chosen]
    others = [f for f in before if chosen and f.vendor not in chosen]
    new = None if stored is None else new_findings(in_scope, findings)
    keep = [*others, *to_store(in_scope, findings, stats.failed)]
    await store.save(LOOKALIKES, [f.to_json() for f in keep])
    return findings, new, stats


def change_text(change: Change, registry: Registry) -> str:
    """One line about a weakened vendor domain."""
    vendor = registry.get(change.vendor)
    name = vendor.name if vendor else change.vendor
    field_name = {"dmarc_policy": "DMARC policy", "spf_all": "SPF all"}.get(
        change.field, change.field.replace("dkim:", "DKIM key at selector ")
    )
    return (
        f"{name}: {change.domain} weakened: {field_name} {change.before or 'none'} → "
        f"{change.after or 'none'}. Mail forged as {change.domain} is now easier to pass off."
    )


def finding_text(finding: Finding, registry: Registry) -> str:
    """One line about a newly registered lookalike that can send mail."""
    vendor = registry.get(finding.vendor)
    name = vendor.name if vendor else finding.vendor
    records = []
    if finding.mx:
        records.append("MX " + ", ".join(finding.mx[:3]))
    if finding.a:
        records.append("A " + ", ".join(finding.a[:3]))
    if finding.spf:
        records.append("publishes SPF")
    callback = (
        f" If anyone contacts you from it, call {name} back on "
        f"{display_phone(vendor.callback.phone)}."
        if vendor
        else ""
    )
    return (
        f"New lookalike of {name} ({finding.vendor_domain}) registered: {finding.domain} "
        f"({finding.trick}); it can send mail ({'; '.join(records)}).{callback}"
    )


def alert_lines(run: WatchRun, registry: Registry) -> list[str]:
    """What to post: weakened postures and new lookalikes that can send mail."""
    lines = [change_text(c, registry) for c in run.changes or () if c.weakened]
    lines += [finding_text(f, registry) for f in run.new or () if f.can_send_mail]
    return lines


async def run_once(
    registry: Registry,
    resolver: Resolver,
    store: SnapshotStore,
    *,
    qps: float,
    fuzzers: Sequence[str] = (),
) -> WatchRun:
    """Both watches, one after the other."""
    rows, changes = await posture_run(registry, resolver, store, qps=qps)
    findings, new, stats = await lookalike_run(registry, resolver, store, qps=qps, fuzzers=fuzzers)
    return WatchRun(rows, changes, findings, new, stats)


async def run_schedule(
    stop: asyncio.Event,
    registry: Callable[[], Registry],
    resolver: Resolver,
    store: SnapshotStore,
    *,
    interval_hours: float,
    qps: float,
    first_use: FirstUse,
    post: PostText,
    fuzzers: Sequence[str] = (),
    on_run: Callable[[WatchRun], None] | None = None,
    check_every: float = 600.0,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """Run both watches once per period (the replica that claims the period), until ``stop``."""
    while not stop.is_set():
        try:
            if await first_use(period_key(now(), interval_hours)):
                current = registry()
                run = await run_once(current, resolver, store, qps=qps, fuzzers=fuzzers)
                if on_run is not None:
                    on_run(run)
                for line in alert_lines(run, current):
                    await post(line)
        except Exception:
            log.exception("vendor watch failed; will try again next period")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=check_every)
