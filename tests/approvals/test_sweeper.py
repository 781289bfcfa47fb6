"""The expiry sweeper on a real SQLite store: expires what is due, refreshes each card once,
survives a failing card update and a failing store, and stops when told."""

from __future__ import annotations

import asyncio

import pytest

from bot.approvals.machine import Request, State
from bot.approvals.store_sqlite import SQLiteStore
from bot.approvals.sweeper import run_expiry_sweeper, sweep_once
from bot.errors import StoreError
from tests.approvals.conftest import T0, TTL, new_request


class Service:
    """The one method the sweeper uses, on a real store with a settable clock."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.now = T0
        self.broken = False

    async def expire_due(self) -> list[Request]:
        if self.broken:
            raise StoreError("the store is down")
        return await self.store.expire_due(self.now)


async def test_sweep_expires_due_requests_and_updates_each_card(
    sqlite_store: SQLiteStore,
) -> None:
    service = Service(sqlite_store)
    due = await sqlite_store.create_request(new_request(), T0)
    later = await sqlite_store.create_request(new_request(expires=T0 + 2 * TTL), T0)
    updated: list[Request] = []

    async def update(request: Request) -> None:
        updated.append(request)

    service.now = T0 + TTL
    expired = await sweep_once(service, update)
    assert [r.id for r in expired] == [due.id] == [r.id for r in updated]
    assert updated[0].state is State.EXPIRED
    assert (await sqlite_store.get(later.id)).state is State.PENDING  # type: ignore[union-attr]
    assert await sweep_once(service, update) == []
    assert len(updated) == 1


async def test_a_failing_card_update_neither_stops_the_sweep_nor_undoes_expiry(
    sqlite_store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    service = Service(sqlite_store)
    first = await sqlite_store.create_request(new_request(), T0)
    second = await sqlite_store.create_request(new_request(), T0)
    seen: list[str] = []

    async def update(request: Request) -> None:
        seen.append(request.id)
        if request.id == first.id:
            raise RuntimeError("Slack is down")

    service.now = T0 + TTL
    expired = await sweep_once(service, update)
    assert {r.id for r in expired} == {first.id, second.id} == set(seen)
    for request in (first, second):
        stored = await sqlite_store.get(request.id)
        assert stored is not None and stored.state is State.EXPIRED
    assert f"could not refresh the card of expired request {first.id}" in caplog.text


async def test_the_sweeper_runs_until_stopped_and_outlives_store_failures(
    sqlite_store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    service = Service(sqlite_store)
    service.broken = True
    request = await sqlite_store.create_request(new_request(), T0)
    service.now = T0 + TTL
    stop = asyncio.Event()
    updated: list[str] = []

    async def update(expired: Request) -> None:
        updated.append(expired.id)
        stop.set()

    task = asyncio.create_task(run_expiry_sweeper(stop, service, update, interval=0.01))
    for _ in range(200):
        if "expiry sweep failed: the store is down" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "expiry sweep failed: the store is down" in caplog.text
    service.broken = False
    await asyncio.wait_for(task, 5)
    assert updated == [request.id]


async def test_a_stopped_sweeper_returns_at_once(sqlite_store: SQLiteStore) -> None:
    stop = asyncio.Event()
    stop.set()
    calls: list[Request] = []

    async def update(request: Request) -> None:
        calls.append(request)

    await asyncio.wait_for(run_expiry_sweeper(stop, Service(sqlite_store), update, 3600), 1)
    assert calls == []
