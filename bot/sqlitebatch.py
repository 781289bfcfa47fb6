"""SQLite work for an event loop, run by one thread in batches: one transaction, one commit.

Each piece of work is a function of the connection. Whatever is waiting when the thread is free
runs in one ``BEGIN IMMEDIATE`` transaction, each piece in its own savepoint (a piece that raises
is rolled back alone and its caller gets the exception), then one ``COMMIT``: under load many
messages share one fsync and one wake-up of the loop, instead of a thread hop and an fsync each.
A caller is answered only after the commit that made its work durable. Work that may be lost
on a power cut without harm (``durable=False``: a lease, a note that repeats itself) commits
without an fsync (WAL, ``synchronous=NORMAL``): it runs at once on the caller's own thread when
the database's write lock is free (no hand-over to the thread and back; only the log's periodic
checkpoint waits for a disk), else in the thread's next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

__all__ = ["BatchWriter", "connect"]

T = TypeVar("T")
MAX_BATCH = 128


def connect(path: str, *, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, fsync on commit."""
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


@dataclass
class _Item:
    work: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    durable: bool


_SHARED: dict[str, tuple[BatchWriter, int]] = {}  # real path -> (writer, holders)
_SHARED_LOCK = threading.Lock()


class BatchWriter:
    """Runs work on ``path`` in one thread (started by the first call), batch by batch."""

    @classmethod
    def shared(cls, path: str, *, busy_timeout: float = 30.0) -> BatchWriter:
        """The process's writer for the database at ``path``, so that everything written to one
        file (the inbound queue, the replay keys) shares batches; give it back with
        :meth:`release`."""
        key = os.path.realpath(path)
        with _SHARED_LOCK:
            writer, holders = _SHARED.get(key, (None, 0))
            if writer is None or writer._closed:
                writer, holders = cls(path, busy_timeout=busy_timeout, name="sqlite"), 0
            _SHARED[key] = (writer, holders + 1)
            return writer

    def release(self, timeout: float = 10.0) -> None:
        """Give back a writer from :meth:`shared`; the last holder closes it."""
        key = os.path.realpath(self.path)
        with _SHARED_LOCK:
            writer, holders = _SHARED.get(key, (None, 0))
            if writer is self and holders > 1:
                _SHARED[key] = (writer, holders - 1)
                return
            if writer is self:
                del _SHARED[key]
        self.close(timeout)

    def __init__(self, path: str, *, busy_timeout: float = 30.0, name: str = "sqlite") -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.name = name
        self._pending: deque[_Item] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches = 0  # committed batches so far (tests read it)
        self.inline = 0  # pieces of work run at once on the caller's thread (tests read it)
        self._sync = "FULL"  # the connection's synchronous setting (connect() sets FULL)
        self._direct: sqlite3.Connection | None = None  # for work run on the caller's thread
        self._direct_lock = threading.Lock()

    async def run(self, work: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run ``work(connection)`` in the next batch; its result once the batch is committed
        (and, when ``durable``, synced to disk).

        sqlite3.Error from the work or the commit is raised here, as are the work's own errors.
        """
        if not durable:
            done, value = self._run_direct(work)
            if done:
                return cast(T, value)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._ready:
            if self._closed:
                raise sqlite3.ProgrammingError(f"the {self.name} database is closed")
            self._pending.append(_Item(work, future, loop, durable))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name=f"deskguard-{self.name}", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return await future

    def close(self, timeout: float = 10.0) -> None:
        """Finish the work already given, then stop the thread and close its connection."""
        with self._ready:
            self._closed = True
            thread = self._thread
            self._ready.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._direct_lock:
            if self._direct is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._direct.close()
                self._direct = None

    def _run_direct(self, work: Callable[[sqlite3.Connection], Any]) -> tuple[bool, Any]:
        """Run non-durable ``work`` now in its own transaction if the write lock is free and no
        other thread is using the direct connection; (False, None) when it cannot (the batch
        thread takes it then)."""
        if self._closed or not self._direct_lock.acquire(blocking=False):
            return False, None
        try:
            conn = self._direct
            if conn is None:
                conn = sqlite3.connect(
                    self.path, timeout=0, isolation_level=None, check_same_thread=False
                )
                # no fsync on commit; the write-ahead log is still checkpointed (and the file
                # synced) every ~4 MB, so draining a backlog with no new mail keeps it bounded
                conn.execute("PRAGMA synchronous=NORMAL")
                self._direct = conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # locked by the batch thread or another process
                return False, None
            try:
                value = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self.inline += 1
            return True, value
        finally:
            self._direct_lock.release()

    # -- in the thread ----------------------------------------------------------------------

    def _serve(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                with self._ready:
                    while not self._pending and not self._closed:
                        self._ready.wait()
                    if not self._pending:
                        return
                    batch = [
                        self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))
                    ]
                if conn is None:
                    try:
                        conn = connect(self.path, busy_timeout=self.busy_timeout)
                        self._sync = "FULL"
                    except sqlite3.Error as exc:
                        _deliver([(item, False, exc) for item in batch])
                        continue
                try:
                    outcomes = self._execute(conn, batch)
                except BaseException as exc:  # nobody may wait forever
                    _deliver([(item, False, exc) for item in batch])
                    raise
                _deliver(outcomes)
        finally:
            with self._ready:
                self._thread = None  # a later call starts a new thread
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()

    def _execute(
        self, conn: sqlite3.Connection, batch: list[_Item]
    ) -> list[tuple[_Item, bool, Any]]:
        sync = "FULL" if any(item.durable for item in batch) else "NORMAL"
        try:
            if sync != self._sync:
                conn.execute(f"PRAGMA synchronous={sync}")
                self._sync = sync
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            return [(item, False, exc) for item in batch]
        outcomes: list[tuple[_Item, bool, Any]] = []
        try:
            for item in batch:
                conn.execute("SAVEPOINT item")
                try:
                    value = item.work(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    outcomes.append((item, False, exc))
                else:
                    conn.execute("RELEASE item")
                    outcomes.append((item, True, value))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:  # the transaction itself failed: nothing of it holds
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return [(item, False, exc) for item in batch]
        self.batches += 1
        return outcomes


def _deliver(outcomes: list[tuple[_Item, bool, Any]]) -> None:
    """Hand the outcomes to their loops: one wake-up per loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Item, bool, Any]]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, mine in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
            loop.call_soon_threadsafe(_settle, mine)


def _settle(outcomes: list[tuple[_Item, bool, Any]]) -> None:
    for item, ok, value in outcomes:
        if item.future.done():  # the caller stopped waiting
            continue
        if ok:
            item.future.set_result(value)
        else:
            item.future.set_exception(value)
