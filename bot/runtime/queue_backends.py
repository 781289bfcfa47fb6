"""Open the configured work queue: Redis when ``REDIS_URL`` is set, else SQLite."""

from __future__ import annotations

from bot.runtime.queue import WorkQueue
from bot.runtime.queue_redis import RedisWorkQueue
from bot.runtime.queue_sqlite import SqliteWorkQueue
from bot.settings import Settings

# Redis connections for the gate, the reaper and the operators' commands, beside one per worker:
# each worker holds a connection through its blocking claim, so a pool no larger than the workers
# would leave the gate waiting for ever (then answering 503 to every message)
SHARED_REDIS_CONNECTIONS = 64


def open_queue(settings: Settings) -> WorkQueue:
    """The Redis Stream when ``REDIS_URL`` is set, else a table in the SQLite database."""
    visibility = settings.queue_visibility_seconds
    if settings.redis_url:
        connections = settings.workers + SHARED_REDIS_CONNECTIONS
        return RedisWorkQueue.from_url(
            settings.redis_url, visibility=visibility, max_connections=connections
        )
    return SqliteWorkQueue(settings.database, visibility=visibility)
