"""SQLite work in batches: each caller's work in its own savepoint, answered after the commit."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from pathlib import Path

import pytest

from bot.sqlitebatch import BatchWriter, connect


def _writer(tmp_path: Path) -> tuple[BatchWriter, str]:
    path = str(tmp_path / "t.sqlite3")
    conn = connect(path, busy_timeout=5)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    conn.close()
    return BatchWriter(path, busy_timeout=5, name="test"), path


def test_concurrent_work_shares_commits_and_each_gets_its_answer(tmp_path: Path) -> None:
    writer, path = _writer(tmp_path)

    def insert(conn: sqlite3.Connection, i: int) -> int:
        conn.execute("INSERT INTO t VALUES (?, ?)", (f"k{i}", i))
        return i * 10

    async def main() -> list[int]:
        return await asyncio.gather(
            *(writer.run(functools.partial(insert, i=i)) for i in range(300))
        )

    assert asyncio.run(main()) == [i * 10 for i in range(300)]
    assert 1 <= writer.batches < 300  # shared transactions
    check = sqlite3.connect(path)
    assert check.execute("SELECT COUNT(*), SUM(v) FROM t").fetchone() == (300, sum(range(300)))
    writer.close()


def test_a_failing_piece_is_rolled_back_alone(tmp_path: Path) -> None:
    writer, path = _writer(tmp_path)

    def good(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('a', 1)")

    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('b', 2)")
        raise ValueError("no")

    def duplicate(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('a', 3)")

    async def main() -> tuple[object, ...]:
        return await asyncio.gather(
            writer.run(good), writer.run(half_then_fail), writer.run(duplicate),
            return_exceptions=True,
        )  # fmt: skip

    first, second, third = asyncio.run(main())
    assert first is None
    assert isinstance(second, ValueError)
    assert isinstance(third, sqlite3.IntegrityError)
    rows = sqlite3.connect(path).execute("SELECT k, v FROM t ORDER BY k").fetchall()
    assert rows == [("a", 1)]  # 'b' rolled back with its piece; the duplicate refused
    writer.close()


def test_closed_writer_refuses_and_a_missing_database_is_an_error(tmp_path: Path) -> None:
    writer, _ = _writer(tmp_path)

    def read(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT COUNT(*) FROM t").fetchone()[0])

    assert asyncio.run(writer.run(read)) == 0
    writer.close()
    with pytest.raises(sqlite3.ProgrammingError):
        asyncio.run(writer.run(read))
    nowhere = BatchWriter(str(tmp_path / "no" / "such" / "dir.sqlite3"), busy_timeout=1)
    with pytest.raises(sqlite3.OperationalError):
        asyncio.run(nowhere.run(read))
    nowhere.close()


def test_one_shared_writer_per_file_until_the_last_holder_gives_it_back(tmp_path: Path) -> None:
    _, path = _writer(tmp_path)
    queue = BatchWriter.shared(path)
    keys = BatchWriter.shared(str(tmp_path / "." / "t.sqlite3"))  # the same file
    assert keys is queue

    def insert(conn: sqlite3.Connection, key: str) -> None:
        conn.execute("INSERT INTO t VALUES (?, 1)", (key,))

    async def both() -> None:
        await asyncio.gather(
            queue.run(functools.partial(insert, key="q")),
            keys.run(functools.partial(insert, key="k")),
        )

    asyncio.run(both())
    keys.release()
    assert asyncio.run(queue.run(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()[0])) == 2
    queue.release()
    with pytest.raises(sqlite3.ProgrammingError):
        asyncio.run(queue.run(lambda c: None))
    again = BatchWriter.shared(path)
    assert again is not queue
    again.release()


def test_work_that_need_not_survive_a_power_cut_runs_at_once_when_the_lock_is_free(
    tmp_path: Path,
) -> None:
    writer, path = _writer(tmp_path)

    def insert(conn: sqlite3.Connection, key: str) -> str:
        conn.execute("INSERT INTO t VALUES (?, 1)", (key,))
        return key

    assert asyncio.run(writer.run(functools.partial(insert, key="a"), durable=False)) == "a"
    assert writer.inline == 1 and writer.batches == 0  # no hand-over to the thread
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    async def blocked() -> str:
        task = asyncio.ensure_future(writer.run(functools.partial(insert, key="b"), durable=False))
        await asyncio.sleep(0.2)
        assert not task.done()  # the batch thread waits for the lock; the loop does not
        other.execute("COMMIT")
        return await task

    assert asyncio.run(blocked()) == "b"
    assert writer.inline == 1 and writer.batches == 1
    with pytest.raises(sqlite3.IntegrityError):  # the work's own error, from either path
        asyncio.run(writer.run(functools.partial(insert, key="a"), durable=False))
    rows = sqlite3.connect(path).execute("SELECT k FROM t ORDER BY k").fetchall()
    assert rows == [("a",), ("b",)]
    writer.close()
