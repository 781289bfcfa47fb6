"""Open the configured approval store: Redis when ``REDIS_URL`` is set, else SQLite."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.approvals.store import ApprovalStore
    from bot.settings import Settings


async def open_store(settings: Settings) -> ApprovalStore:
    """Redis when ``REDIS_URL`` is set (multi-replica), else the SQLite file ``database``."""
    if settings.redis_url:
        from bot.approvals.store_redis import RedisStore

        return await RedisStore.connect(settings.redis_url)
    from bot.approvals.store_sqlite import SQLiteStore

    return await SQLiteStore.open(settings.database)
