"""Approval test fixtures: both stores (a private real Redis, SQLite in tmp_path)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.approvals.machine import Actor, NewRequest, RequestKind, Role, Slot
from bot.approvals.store import ApprovalStore
from bot.approvals.store_redis import RedisStore
from bot.approvals.store_sqlite import SQLiteStore

TEAM = "T0001"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(hours=24)

TECH = frozenset({Role.TECHNICAL_APPROVER})
MGR = frozenset({Role.VENDOR_MANAGER})
BOTH = TECH | MGR

REQUESTER = Actor("UREQ", TEAM)
ALICE = Actor("UALICE", TEAM, roles=TECH)  # technical approver
BRUNO = Actor("UBRUNO", TEAM, roles=TECH)  # second technical approver
CARMEN = Actor("UCARMEN", TEAM, roles=MGR)  # vendor manager
DAVID = Actor("UDAVID", TEAM, roles=BOTH)  # holds both roles


def new_request(requester: Actor = REQUESTER, expires: dt.datetime = T0 + TTL) -> NewRequest:
    """A pending northwind MFA reset."""
    return NewRequest(
        vendor_id="northwind",
        vendor_name="Northwind Software",
        kind=RequestKind.MFA_RESET,
        summary="Reset MFA for j.doe",
        requester=requester,
        expires_at=expires,
        challenges={s.value: secrets.token_hex(16) for s in Slot},
        verification={"verdict": "verified", "reasons": ["registered_vendor"]},
    )


async def make_redis_store(url: str) -> RedisStore:
    """A RedisStore on the private server under a unique prefix (fails loudly if unreachable)."""
    return await RedisStore.connect(url, prefix=f"test:{secrets.token_hex(6)}:")


async def drop_redis_keys(store: RedisStore) -> None:
    """Delete every key under the store's prefix."""
    keys = [key async for key in store.client.scan_iter(match=f"{store.prefix}*", count=500)]
    if keys:
        await store.client.delete(*keys)


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = await make_redis_store(redis_url)
    try:
        yield store
    finally:
        await drop_redis_keys(store)
        await store.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = await SQLiteStore.open(tmp_path / "approvals.sqlite3")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApprovalStore]:
    """Each contract test runs once per store."""
    if request.param == "redis":
        redis = await make_redis_store(request.getfixturevalue("redis_url"))
        try:
            yield redis
        finally:
            await drop_redis_keys(redis)
            await redis.close()
    else:
        sqlite = await SQLiteStore.open(tmp_path / "approvals.sqlite3")
        try:
            yield sqlite
        finally:
            await sqlite.close()
