"""Approvals under concurrent clicks: 1,000 requests, each slot clicked several times at once.

Run by hand: ``.venv/bin/python bench/bench_approvals.py [--requests 1000] [--clicks 3]
[--parallel 32] [--redis redis://127.0.0.1:6379/0]``. For each store it prints successful
transitions per second, click throughput and click latency (p50 / p99), and checks that every
request was cleared exactly once with exactly three audit events.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from bot.approvals.machine import Actor, Event, NewRequest, RequestKind, Role, Slot, State
from bot.approvals.store import ApprovalStore
from bot.approvals.store_redis import RedisStore
from bot.approvals.store_sqlite import SQLiteStore
from bot.errors import TransitionRefused

TEAM = "T0001"
NOW = dt.datetime.now(dt.UTC)
REQUESTER = Actor("UREQ", TEAM)
TECH = Actor("UALICE", TEAM, roles=frozenset({Role.TECHNICAL_APPROVER}))
MANAGER = Actor("UCARMEN", TEAM, roles=frozenset({Role.VENDOR_MANAGER}))


def new_request() -> NewRequest:
    return NewRequest(
        vendor_id="northwind",
        vendor_name="Northwind Software",
        kind=RequestKind.MFA_RESET,
        summary="Reset MFA for j.doe",
        requester=REQUESTER,
        expires_at=NOW + dt.timedelta(hours=24),
        challenges={s.value: secrets.token_hex(16) for s in Slot},
        verification={"verdict": "verified"},
    )


async def run(store: ApprovalStore, requests: int, clicks: int, parallel: int) -> dict[str, float]:
    ids = [(await store.create_request(new_request(), NOW)).id for _ in range(requests)]
    latencies: list[float] = []
    outcomes = {"ok": 0, "refused": 0, "cleared": 0}
    gate = asyncio.Semaphore(parallel)

    async def click(request_id: str, event: Event, actor: Actor) -> None:
        start = time.perf_counter()
        try:
            after = await store.apply(request_id, event, actor, NOW)
            outcomes["ok"] += 1
            outcomes["cleared"] += after.state is State.CLEARED
        except TransitionRefused:
            outcomes["refused"] += 1
        latencies.append(time.perf_counter() - start)

    async def approve_twice(request_id: str) -> None:
        async with gate:
            burst = [click(request_id, Event.APPROVE_TECHNICAL, TECH) for _ in range(clicks)]
            burst += [
                click(request_id, Event.APPROVE_VENDOR_MANAGER, MANAGER) for _ in range(clicks)
            ]
            await asyncio.gather(*burst)

    start = time.perf_counter()
    await asyncio.gather(*(approve_twice(request_id) for request_id in ids))
    wall = time.perf_counter() - start
    assert outcomes["ok"] == 2 * requests, outcomes
    assert outcomes["cleared"] == requests, outcomes
    for request_id in ids[:: max(1, requests // 50)]:
        events = await store.audit_events(request_id=request_id)
        assert [e.event for e in events].count("open") == 1 and len(events) == 3, events
    latencies.sort()
    return {
        "wall_s": wall,
        "transitions_per_s": outcomes["ok"] / wall,
        "clicks_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "clicks": len(latencies),
        "refused": outcomes["refused"],
    }


def show(name: str, result: dict[str, float]) -> None:
    print(
        f"{name:7s} {int(result['clicks']):6d} clicks ({int(result['refused'])} refused) in "
        f"{result['wall_s']:.2f} s: {result['transitions_per_s']:8.0f} transitions/s, "
        f"{result['clicks_per_s']:8.0f} clicks/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clicks", type=int, default=3, help="concurrent clicks per slot")
    parser.add_argument("--parallel", type=int, default=32, help="requests in flight at once")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print(
        f"{args.requests} requests x 2 slots x {args.clicks} concurrent clicks, "
        f"{args.parallel} requests in flight"
    )
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = await SQLiteStore.open(Path(tmp) / "bench.sqlite3")
        try:
            show("sqlite", await run(sqlite, args.requests, args.clicks, args.parallel))
        finally:
            await sqlite.close()
    redis = await RedisStore.connect(args.redis, prefix=f"bench:{secrets.token_hex(4)}:")
    try:
        show("redis", await run(redis, args.requests, args.clicks, args.parallel))
    finally:
        keys = [k async for k in redis.client.scan_iter(match=f"{redis.prefix}*", count=1000)]
        if keys:
            await redis.client.delete(*keys)
        await redis.close()


if __name__ == "__main__":
    asyncio.run(main())
