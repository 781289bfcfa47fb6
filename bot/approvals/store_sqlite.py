"""The embedded SQLite approval store (the default; one file, ``Settings.database``).

Each operation runs in a worker thread on that thread's own connection, inside
``BEGIN IMMEDIATE`` (one writer at a time, across threads and processes), in WAL mode with
``synchronous=FULL``. A transition reads the snapshot, runs the pure state machine, writes the new
snapshot and appends the audit event before ``COMMIT``. Triggers make the audit table append-only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from bot.approvals.audit import OPEN, AuditEvent
from bot.approvals.machine import (
    MAX_NOTE,
    Actor,
    Event,
    NewRequest,
    Request,
    State,
    clean_text,
    system_actor,
    to_us,
    transition,
)
from bot.approvals.machine import refuse as _refuse
from bot.approvals.store import new_request_id
from bot.errors import StoreError, TransitionRefused
from bot.sqlitebatch import BatchWriter

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    expires_at_us INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_open ON requests (state, expires_at_us);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_request ON audit (request_id, seq);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at_us);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS cards (
    request_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS once_keys (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at_us INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class SQLiteStore:
    """ApprovalStore on one SQLite file; safe across threads, processes and store instances."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        # replay keys are claimed once per inbound message: in the batches of whatever else
        # this process writes to the file (the inbound queue)
        self._once = BatchWriter.shared(self.path, busy_timeout=busy_timeout)

    @classmethod
    async def open(cls, path: Path | str) -> SQLiteStore:
        """Open (creating the schema if needed) the database at ``path``."""
        store = cls(path)
        await store._run(store._init_schema)
        return store

    # --- plumbing -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreError("the SQLite store is closed")
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=self._busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from None
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    async def _run(self, func: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(func)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store failed: {exc}") from None

    def _init_schema(self) -> None:
        self._conn().executescript(SCHEMA)

    async def close(self) -> None:
        """Close every connection the worker threads opened."""
        self._closed = True
        await asyncio.to_thread(self._once.release)
        with self._lock:
            conns, self._connections = self._connections, []
        for conn in conns:
            conn.close()

    # --- requests -------------------------------------------------------------------------

    async def create_request(self, new: NewRequest, now: dt.datetime) -> Request:
        """Store a new pending request and its ``open`` audit event."""
        return await self._run(lambda: self._create(new, now))

    def _create(self, new: NewRequest, now: dt.datetime) -> Request:
        with self._write() as conn:
            while True:
                request = new.build(new_request_id(), now)
                try:
                    conn.execute(
                        "INSERT INTO requests (id, state, expires_at_us, created_at_us, body) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (
                            request.id,
                            request.state.value,
                            to_us(request.expires_at),
                            to_us(now),
                            json.dumps(request.to_dict()),
                        ),
                    )
                except sqlite3.IntegrityError:
                    continue  # an id collision (96 random bits): draw again
                break
            self._append(conn, None, request, OPEN, new.requester.user_id, now, None, {})
        return request

    async def get(self, request_id: str) -> Request | None:
        """The current snapshot, or None."""
        return await self._run(lambda: self._get(self._conn(), request_id))

    @staticmethod
    def _get(conn: sqlite3.Connection, request_id: str) -> Request | None:
        row = conn.execute("SELECT body FROM requests WHERE id = ?", (request_id,)).fetchone()
        return Request.from_dict(json.loads(row[0])) if row else None

    async def apply(
        self,
        request_id: str,
        event: Event,
        actor: Actor,
        now: dt.datetime,
        *,
        note: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> Request:
        """Apply one event atomically (rules, snapshot, audit) or raise TransitionRefused."""
        return await self._run(lambda: self._apply(request_id, event, actor, now, note, evidence))

    def _apply(
        self,
        request_id: str,
        event: Event,
        actor: Actor,
        now: dt.datetime,
        note: str | None,
        evidence: Mapping[str, str] | None,
    ) -> Request:
        with self._write() as conn:
            current = self._get(conn, request_id)
            if current is None:
                raise _refuse("not_found")
            updated = transition(current, event, actor, now, note=note, evidence=evidence)
            conn.execute(
                "UPDATE requests SET state = ?, body = ? WHERE id = ?",
                (updated.state.value, json.dumps(updated.to_dict()), request_id),
            )
            self._append(
                conn, current.state, updated, event.value, actor.user_id, now, note, evidence or {}
            )
        return updated

    @staticmethod
    def _append(
        conn: sqlite3.Connection,
        before: State | None,
        request: Request,
        event: str,
        actor_id: str,
        now: dt.datetime,
        note: str | None,
        evidence: Mapping[str, str],
    ) -> None:
        body = {
            "at": now.isoformat(),
            "request_id": request.id,
            "event": event,
            "actor_id": actor_id,
            "from_state": before.value if before else None,
            "to_state": request.state.value,
            "note": clean_text(note, limit=MAX_NOTE, what="reason"),
            "evidence": dict(evidence),
            "request": request.to_dict(),
        }
        conn.execute(
            "INSERT INTO audit (request_id, at_us, body) VALUES (?, ?, ?)",
            (request.id, to_us(now), json.dumps(body)),
        )

    async def list_open(self) -> list[Request]:
        """Requests still pending or partially approved, oldest first."""
        return await self._run(self._list_open)

    def _list_open(self) -> list[Request]:
        rows = self._conn().execute(
            "SELECT body FROM requests WHERE state IN (?, ?) ORDER BY created_at_us, id",
            (State.PENDING.value, State.PARTIALLY_APPROVED.value),
        )
        return [Request.from_dict(json.loads(row[0])) for row in rows]

    async def expire_due(self, now: dt.datetime) -> list[Request]:
        """Expire every open request whose expiry time has passed; return them as expired."""
        rows = await self._run(
            lambda: (
                self._conn()
                .execute(
                    "SELECT id FROM requests WHERE state IN (?, ?) AND expires_at_us <= ? "
                    "ORDER BY expires_at_us",
                    (State.PENDING.value, State.PARTIALLY_APPROVED.value, to_us(now)),
                )
                .fetchall()
            )
        )
        expired = []
        for (request_id,) in rows:
            try:
                expired.append(await self.apply(request_id, Event.EXPIRE, system_actor(), now))
            except TransitionRefused:
                continue  # decided meanwhile
        return expired

    # --- audit and single-use keys --------------------------------------------------------

    async def audit_events(
        self, *, request_id: str | None = None, since: dt.datetime | None = None
    ) -> list[AuditEvent]:
        """Audit events in order (of one request, or at/after ``since``, or all)."""
        sql = "SELECT seq, body FROM audit WHERE 1 = 1"
        args: list[str | int] = []
        if request_id is not None:
            sql += " AND request_id = ?"
            args.append(request_id)
        if since is not None:
            sql += " AND at_us >= ?"
            args.append(to_us(since))
        sql += " ORDER BY seq"
        rows = await self._run(lambda: self._conn().execute(sql, args).fetchall())
        return [AuditEvent.from_dict({**json.loads(body), "seq": seq}) for seq, body in rows]

    async def use_once(self, kind: str, key: str, ttl: float) -> bool:
        """True the first time ``(kind, key)`` is used within ``ttl`` seconds, else False."""
        if self._closed:
            raise StoreError("the SQLite store is closed")
        try:
            return await self._once.run(lambda conn: _use_once(conn, kind, key, ttl))
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store failed: {exc}") from None

    # --- where each request's Slack card is -----------------------------------------------

    async def set_card(self, request_id: str, channel: str, ts: str) -> None:
        """Remember the channel and message ts of the request's card."""

        def write() -> None:
            with self._write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO cards (request_id, channel, ts) VALUES (?, ?, ?)",
                    (request_id, channel, ts),
                )

        await self._run(write)

    async def card(self, request_id: str) -> tuple[str, str] | None:
        """The (channel, ts) of the request's card, or None."""
        row = await self._run(
            lambda: (
                self._conn()
                .execute("SELECT channel, ts FROM cards WHERE request_id = ?", (request_id,))
                .fetchone()
            )
        )
        return (str(row[0]), str(row[1])) if row else None


def _use_once(conn: sqlite3.Connection, kind: str, key: str, ttl: float) -> bool:
    """In the caller's transaction: claim ``(kind, key)`` unless an unexpired claim exists."""
    now_us = to_us(dt.datetime.now(dt.UTC))
    conn.execute(
        "DELETE FROM once_keys WHERE kind = ? AND key = ? AND expires_at_us <= ?",
        (kind, key, now_us),
    )
    cursor = conn.execute(
        "INSERT OR IGNORE INTO once_keys (kind, key, expires_at_us) VALUES (?, ?, ?)",
        (kind, key, now_us + int(ttl * 1_000_000)),
    )
    if cursor.rowcount == 1 and now_us % 64 == 0:
        conn.execute("DELETE FROM once_keys WHERE expires_at_us <= ?", (now_us,))
    return cursor.rowcount == 1
