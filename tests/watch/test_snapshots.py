"""Watch snapshots: one contract on SQLite (the default) and Redis (``REDIS_URL``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.watch.snapshots import LOOKALIKES, POSTURE, SnapshotStore, open_snapshots


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SnapshotStore]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings = Settings(_env_file=None, redis_url=url)
    else:
        settings = Settings(_env_file=None, database=tmp_path / "state.sqlite3")
    snapshots = open_snapshots(settings)
    prefix = f"test-{tmp_path.name}:"
    if hasattr(snapshots, "prefix"):
        snapshots.prefix = prefix  # keep parallel tests apart on the shared server
    try:
        yield snapshots
    finally:
        await snapshots.close()


async def test_nothing_before_the_first_run_then_the_last_run_replaces(
    store: SnapshotStore,
) -> None:
    assert await store.load(POSTURE) is None
    await store.save(POSTURE, [{"vendor": "a", "domain": "a.example"}])
    await store.save(POSTURE, [{"vendor": "b", "domain": "b.example", "dkim": {"s1": "ok"}}])
    assert await store.load(POSTURE) == [
        {"vendor": "b", "domain": "b.example", "dkim": {"s1": "ok"}}
    ]
    assert await store.load(LOOKALIKES) is None  # kinds are kept apart
    await store.save(LOOKALIKES, [])
    assert await store.load(LOOKALIKES) == []
