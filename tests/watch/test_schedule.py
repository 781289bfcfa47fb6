"""The watch in the running bot: once per period across replicas, weakened postures and new
lookalikes that can send mail posted, nothing on the baseline run."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from bot.approvals.store_sqlite import SQLiteStore
from bot.dns import Resolver
from bot.registry import Registry
from bot.watch.schedule import period_key, run_schedule
from bot.watch.snapshots import SqliteSnapshots
from tests.support.dnsserver import TestDNSServer

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
FUZZERS = ("dictionary",)


def _replace(server: TestDNSServer, name: str, rtype: str, data: str) -> None:
    with server._lock:
        kept = [r for r in server.records[name] if r[0] != rtype]
        server.records[name] = [*kept, (rtype, data, 300)]


async def _period(
    replicas: list[SQLiteStore],
    registry: Registry,
    dns: TestDNSServer,
    snapshots: SqliteSnapshots,
    now: dt.datetime,
) -> list[str]:
    """Run every replica's schedule for one check and return what was posted."""
    posted: list[str] = []

    async def post(text: str) -> None:
        posted.append(text)

    async def replica(store: SQLiteStore) -> None:
        stop = asyncio.Event()

        async def first_use(key: str) -> bool:
            return await store.use_once("watch", key, 24 * 3600)

        async def post_then_stop(text: str) -> None:
            await post(text)

        task = asyncio.create_task(
            run_schedule(
                stop,
                lambda: registry,
                Resolver([dns.address], timeout=0.5),
                snapshots,
                interval_hours=24,
                qps=5000,
                fuzzers=FUZZERS,
                first_use=first_use,
                post=post_then_stop,
                check_every=3600,
                now=lambda: now,
            )
        )
        await asyncio.sleep(0)
        stop.set()
        await task

    await asyncio.gather(*(replica(s) for s in replicas))
    return posted


async def test_two_replicas_post_once_per_period(
    dns_server: TestDNSServer, registry: Registry, tmp_path: Path
) -> None:
    db = tmp_path / "state.sqlite3"
    replicas = [await SQLiteStore.open(db) for _ in range(2)]
    snapshots = SqliteSnapshots(db)
    try:
        assert await _period(replicas, registry, dns_server, snapshots, NOW) == []  # baseline
        # between periods: a vendor weakens its DMARC, a lookalike that can send mail appears
        _replace(dns_server, "_dmarc.northwind-software.com", "TXT", "v=DMARC1; p=none")
        dns_server.add("northwind-login.com", "NS", "ns1.registrar.example.")
        dns_server.add("northwind-login.com", "MX", "10 mx.northwind-login.com.")
        dns_server.add("contoso-help.com", "NS", "ns1.registrar.example.")  # no MX, no SPF
        later = NOW + dt.timedelta(hours=25)
        posted = await _period(replicas, registry, dns_server, snapshots, later)
        weakened = [p for p in posted if "weakened" in p]
        lookalikes = [p for p in posted if "New lookalike" in p]
        assert len(weakened) == 1 and "DMARC policy reject → none" in weakened[0]
        assert len(lookalikes) == 1 and "northwind-login.com" in lookalikes[0]
        assert "+1 206-555-0110" in lookalikes[0] or "call Northwind Software back" in lookalikes[0]
        assert not any("contoso-help.com" in p for p in posted)  # cannot send mail
        # the same period again, on either replica: nothing more
        assert await _period(replicas, registry, dns_server, snapshots, later) == []
    finally:
        for store in replicas:
            await store.close()


def test_period_key_changes_once_per_interval() -> None:
    assert period_key(NOW, 24) == period_key(NOW + dt.timedelta(hours=1), 24)
    assert period_key(NOW, 24) != period_key(NOW + dt.timedelta(hours=24), 24)
    assert period_key(NOW, 6) != period_key(NOW, 24)
