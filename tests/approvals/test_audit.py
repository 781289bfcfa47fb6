"""The audit export: JSON Lines and CSV, the since filter, spreadsheet-safe cells, the CLI hook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.approvals.audit import AuditEvent
from bot.approvals.audit_export import CSV_FIELDS, export_audit, run_audit_export
from bot.approvals.machine import Event
from bot.approvals.store_sqlite import SQLiteStore
from bot.settings import Settings
from tests.approvals.conftest import ALICE, CARMEN, T0, new_request

HOUR = dt.timedelta(hours=1)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = await SQLiteStore.open(tmp_path / "audit.sqlite3")
    yield store
    await store.close()


async def filled(store: SQLiteStore) -> str:
    request = await store.create_request(new_request(), T0)
    await store.apply(
        request.id, Event.APPROVE_TECHNICAL, ALICE, T0 + HOUR, evidence={"proof": "totp"}
    )
    await store.apply(request.id, Event.DENY, CARMEN, T0 + 2 * HOUR, note='=HYPERLINK("x")')
    return request.id


async def test_jsonl_export_round_trips(sqlite_store: SQLiteStore) -> None:
    request_id = await filled(sqlite_store)
    out = io.StringIO()
    assert await export_audit(sqlite_store, None, "jsonl", out) == 3
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["open", "approve_technical", "deny"]
    assert all(r["request_id"] == request_id for r in records)
    assert records[1]["evidence"] == {"proof": "totp"}
    assert records[2]["request"]["state"] == "denied"
    assert records[0]["request"]["verification"]["verdict"] == "verified"
    events = await sqlite_store.audit_events()
    assert [AuditEvent.from_dict(r) for r in records] == events


async def test_csv_export_is_formula_safe_and_filtered(sqlite_store: SQLiteStore) -> None:
    await filled(sqlite_store)
    out = io.StringIO()
    assert await export_audit(sqlite_store, T0 + HOUR, "csv", out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r["event"] for r in rows] == ["approve_technical", "deny"]
    assert rows[0]["technical_by"] == "UALICE" and rows[1]["actor_id"] == "UCARMEN"
    assert rows[1]["note"] == '\'=HYPERLINK("x")'  # not a live formula in a spreadsheet
    assert json.loads(rows[0]["evidence"]) == {"proof": "totp"}


async def test_naive_since_is_taken_as_utc(sqlite_store: SQLiteStore) -> None:
    await filled(sqlite_store)
    out = io.StringIO()
    since = (T0 + 2 * HOUR).replace(tzinfo=None)
    assert await export_audit(sqlite_store, since, "jsonl", out) == 1


async def test_unknown_format_is_refused(sqlite_store: SQLiteStore) -> None:
    with pytest.raises(ValueError, match="xml"):
        await export_audit(sqlite_store, None, "xml", io.StringIO())


async def test_run_audit_export_opens_the_configured_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "deskguard.sqlite3"
    store = await SQLiteStore.open(path)
    await filled(store)
    await store.close()
    settings = Settings(database=path, redis_url=None)
    out = io.StringIO()
    assert await run_audit_export(settings, None, "csv", out) == 0
    assert len(out.getvalue().splitlines()) == 4  # header + 3 events
