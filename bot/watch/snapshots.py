"""The last run of each watch: SQLite (``DESKGUARD_DATABASE``) or Redis (``REDIS_URL``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from bot.errors import StoreError
from bot.settings import Settings

POSTURE, LOOKALIKES = "posture", "lookalikes"


class SnapshotStore(Protocol):
    """Where the last snapshot of each watch lives."""

    async def load(self, kind: str) -> list[dict[str, Any]] | None:
        """The rows of the last snapshot of ``kind``, or None before the first run."""
        ...

    async def save(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Replace the snapshot of ``kind``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class SqliteSnapshots:
    """One row per watch kind in the SQLite database file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS watch_snapshots "
            "(kind TEXT PRIMARY KEY, taken_at TEXT NOT NULL, data TEXT NOT NULL)"
        )
        return conn

    def _load(self, kind: str) -> list[dict[str, Any]] | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT data FROM watch_snapshots WHERE kind = ?", (kind,)
            ).fetchone()
        return None if row is None else list(json.loads(row[0]))

    def _save(self, kind: str, rows: list[dict[str, Any]]) -> None:
        data = json.dumps(rows, sort_keys=True)
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO watch_snapshots (kind, taken_at, data) VALUES (?, ?, ?) "
                "ON CONFLICT(kind) DO UPDATE "
                "SET taken_at = excluded.taken_at, data = excluded.data",
                (kind, now, data),
            )

    async def load(self, kind: str) -> list[dict[str, Any]] | None:
        try:
            return await asyncio.to_thread(self._load, kind)
        except sqlite3.Error as exc:
            raise StoreError(f"watch snapshots in {self.path}: {exc}") from None

    async def save(self, kind: str, rows: list[dict[str, Any]]) -> None:
        try:
            await asyncio.to_thread(self._save, kind, rows)
        except sqlite3.Error as exc:
            raise StoreError(f"watch snapshots in {self.path}: {exc}") from None

    async def close(self) -> None:
        return None


class RedisSnapshots:
    """One key per watch kind."""

    def __init__(self, url: str, *, prefix: str = "deskguard:watch:") -> None:
        import redis.asyncio as aioredis

        from bot.redis_options import connection_options

        self.client = aioredis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=5,
            socket_timeout=10,
            **connection_options(),
        )
        self.prefix = prefix

    async def load(self, kind: str) -> list[dict[str, Any]] | None:
        from redis.exceptions import RedisError

        try:
            text = await self.client.get(self.prefix + kind)
        except RedisError as exc:
            raise StoreError(f"watch snapshots in Redis: {exc}") from None
        return None if text is None else list(json.loads(text))

    async def save(self, kind: str, rows: list[dict[str, Any]]) -> None:
        from redis.exceptions import RedisError

        try:
            await self.client.set(self.prefix + kind, json.dumps(rows, sort_keys=True))
        except RedisError as exc:
            raise StoreError(f"watch snapshots in Redis: {exc}") from None

    async def close(self) -> None:
        await self.client.aclose()


def open_snapshots(settings: Settings) -> SnapshotStore:
    """Redis when ``REDIS_URL`` is set, else the SQLite database file."""
    if settings.redis_url:
        return RedisSnapshots(settings.redis_url)
    return SqliteSnapshots(settings.database)
