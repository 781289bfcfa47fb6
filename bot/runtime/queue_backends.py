"""Open the configured work queue: Redis when ``REDIS_URL`` is set, else SQLite."""

from __future__ import annotations

from bot.runtime.queue import WorkQueue
from bot.runtime.queue_redis import RedisWorkQueue
from bot.runtime.queue_sqlite import SqliteWorkQueue
from bot.settings import Settings


def open_queue(settings: Settings) -> WorkQueue:
    """The Redis Stream when ``REDIS_URL`` is set, else a table in the SQLite database."""
    visibility = settings.queue_visibility_seconds
    if settings.redis_url:
        return RedisWorkQueue.from_url(settings.redis_url, visibility=visibility)
    return SqliteWorkQueue(settings.database, visibility=visibility)
