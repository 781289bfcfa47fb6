"""Review reminders: sent once per period even with two replicas sharing the store."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from bot.approvals.store_redis import RedisStore
from bot.approvals.store_sqlite import SQLiteStore
from bot.runtime.reminders import period_key, reminder_text, send_if_due

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "redis"])
async def two_replicas(request, tmp_path):
    if request.param == "sqlite":
        stores = [await SQLiteStore.open(tmp_path / "state.sqlite3") for _ in range(2)]
    else:
        prefix = f"test-rem-{uuid.uuid4().hex}:"
        stores = [
            await RedisStore.connect(request.getfixturevalue("redis_url"), prefix=prefix)
            for _ in range(2)
        ]
    yield stores
    for store in stores:
        await store.close()


async def test_reminder_sent_once_per_period_with_two_replicas(two_replicas, registry):
    posts: list[str] = []

    async def post(text, overdue):
        posts.append(text)

    def replica(store):
        async def first_use(key: str) -> bool:
            return await store.use_once("reminder", key, ttl=14 * 86400)

        return first_use

    async def run(store, now):
        return await send_if_due(
            registry, now, interval_days=90, period_days=7, first_use=replica(store), post=post
        )

    sent = await asyncio.gather(*(run(s, NOW) for s in two_replicas for _ in range(5)))
    assert sent.count(True) == 1 and len(posts) == 1
    assert "Contoso Payroll (contoso-payroll)" in posts[0] and "Finance systems team" in posts[0]
    # later the same week: nothing; the next week: one more
    assert not await run(two_replicas[1], NOW + dt.timedelta(days=1, hours=1))
    next_week = NOW + dt.timedelta(days=7)
    assert period_key(next_week, 7) != period_key(NOW, 7)
    results = await asyncio.gather(*(run(s, next_week) for s in two_replicas))
    assert sorted(results) == [False, True] and len(posts) == 2


async def test_nothing_overdue_posts_nothing(registry):
    async def never(key):
        raise AssertionError("no lock needed")

    async def post(text, overdue):
        raise AssertionError("nothing to post")

    early = dt.datetime(2019, 6, 1, tzinfo=dt.UTC)
    assert not await send_if_due(
        registry, early, interval_days=3650, period_days=7, first_use=never, post=post
    )


def test_reminder_text_lists_owner_and_date(registry):
    text = reminder_text(registry.overdue(NOW.date(), 90), 90)
    assert text.splitlines()[0] == "Vendor reviews overdue (older than 90 days):"
    assert "last reviewed 2020-01-01, owner Finance systems team" in text
