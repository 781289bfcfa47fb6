"""SQLite-only behaviour: several connections at once, append-only audit, survival on disk."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bot.approvals.machine import Actor, Event, Request, State
from bot.approvals.store_sqlite import SQLiteStore
from bot.errors import StoreError, TransitionRefused
from tests.approvals.conftest import ALICE, CARMEN, DAVID, T0, TEAM, new_request

HOUR = dt.timedelta(hours=1)


async def test_hundred_clicks_over_four_connections(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    stores = [await SQLiteStore.open(path) for _ in range(4)]
    try:
        request = await stores[0].create_request(new_request(), T0)
        people = [
            Actor("UALICE", TEAM, roles=DAVID.roles),
            Actor("UCARMEN", TEAM, roles=DAVID.roles),
        ]
        events = [Event.APPROVE_TECHNICAL, Event.APPROVE_VENDOR_MANAGER]

        async def click(i: int) -> Request | str:
            try:
                return await stores[i % 4].apply(
                    request.id, events[(i // 2) % 2], people[i % 2], T0 + HOUR
                )
            except TransitionRefused as exc:
                return exc.reason

        results = await asyncio.gather(*(click(i) for i in range(100)))
        cleared = [r for r in results if isinstance(r, Request) and r.state is State.CLEARED]
        assert len(cleared) == 1
        assert sum(isinstance(r, Request) for r in results) == 2
        audit = await stores[3].audit_events(request_id=request.id)
        assert [e.event for e in audit].count("open") == 1 and len(audit) == 3
    finally:
        for store in stores:
            await store.close()


async def test_audit_table_is_append_only(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.create_request(new_request(), T0)
    conn = sqlite3.connect(sqlite_store.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit SET body = '{}'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit")
    finally:
        conn.close()
    assert len(await sqlite_store.audit_events()) == 1


async def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    first = await SQLiteStore.open(path)
    request = await first.create_request(new_request(), T0)
    await first.apply(request.id, Event.APPROVE_TECHNICAL, ALICE, T0 + HOUR)
    await first.close()
    second = await SQLiteStore.open(path)
    try:
        cleared = await second.apply(request.id, Event.APPROVE_VENDOR_MANAGER, CARMEN, T0 + HOUR)
        assert cleared.state is State.CLEARED
        assert len(await second.audit_events(request_id=request.id)) == 3
    finally:
        await second.close()


async def test_unusable_database_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="SQLite"):
        await SQLiteStore.open(tmp_path / "missing-dir" / "x.sqlite3")


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "c.sqlite3")
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.create_request(new_request(), T0)
