"""``deskguard queue dead-letters`` / ``deskguard queue retry ID`` on both queues (real CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.runtime.queue import RedisWorkQueue, SqliteWorkQueue, WorkQueue

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("DESKGUARD_")}
    full.pop("REDIS_URL", None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "queue", *args],
        capture_output=True, text=True, env=full, cwd=ROOT, timeout=60,
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite3"
        queue: WorkQueue = SqliteWorkQueue(path)
        yield queue, {"DESKGUARD_DATABASE": str(path)}
        await queue.close()
        return
    server = request.getfixturevalue("private_redis")
    queue = RedisWorkQueue(aioredis.from_url(server.url))
    yield queue, {"REDIS_URL": server.url}
    await queue.close()


async def _dead_letter(queue: WorkQueue, body: bytes, error: str) -> str:
    job_id = await queue.enqueue(body)
    (job,) = await queue.claim("w1", block_ms=500)
    await queue.dead_letter(job, error)
    return job_id


async def test_dead_letters_are_listed_and_one_is_retried(backend):
    queue, env = backend
    first = await _dead_letter(queue, b"m1", "RuntimeError: charset\n'undefined'")
    second = await _dead_letter(queue, b"m2", "ValueError: bad header")

    listed = _cli("dead-letters", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [first, second]
    _, received, attempts, error = lines[0].split("\t")
    assert received.endswith("+00:00") and received[:2] == "20" and attempts == "1"
    assert error == "RuntimeError: charset 'undefined'"  # one line per dead letter

    as_json = [
        json.loads(line) for line in _cli("dead-letters", "--json", env=env).stdout.splitlines()
    ]
    assert [d["id"] for d in as_json] == [first, second]
    assert as_json[1]["error"] == "ValueError: bad header"

    retried = _cli("retry", first, env=env)
    assert retried.returncode == 0, retried.stderr
    new_id = retried.stdout.split()[-1]
    assert new_id != first and f"{first} is queued again as {new_id}" in retried.stdout
    (job,) = await queue.claim("w2", block_ms=1000)
    assert job.id == new_id and job.body == b"m1"
    assert [d.id for d in await queue.dead_letters()] == [second]

    again = _cli("retry", first, env=env)
    assert again.returncode == 2
    assert again.stderr.strip() == f"deskguard: no dead letter with id '{first}'"


def test_no_dead_letters_and_no_database(tmp_path):
    missing = _cli("dead-letters", env={"DESKGUARD_DATABASE": str(tmp_path / "none.sqlite3")})
    assert missing.returncode == 2 and "DESKGUARD_DATABASE" in missing.stderr
    assert not (tmp_path / "none.sqlite3").exists()
    SqliteWorkQueue(tmp_path / "empty.sqlite3")
    empty = _cli("dead-letters", env={"DESKGUARD_DATABASE": str(tmp_path / "empty.sqlite3")})
    assert empty.returncode == 0 and empty.stdout.strip() == "no dead letters"
