"""The inbound work queue: one contract suite on real Redis and on SQLite."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.report import Kind, Report, Verdict
from bot.runtime.queue import WorkQueue
from bot.runtime.queue_redis import RedisWorkQueue
from bot.runtime.queue_sqlite import SqliteWorkQueue
from bot.runtime.worker import InboundWorker


@pytest.fixture(params=["redis", "sqlite"])
async def queue(request, tmp_path) -> AsyncIterator[WorkQueue]:
    if request.param == "redis":
        client = aioredis.from_url(request.getfixturevalue("redis_url"))
        await client.ping()  # fails loudly when Redis is missing
        prefix = f"test-{uuid.uuid4().hex}"
        q: WorkQueue = RedisWorkQueue(client, prefix=prefix, visibility=0.3)
        yield q
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    else:
        yield SqliteWorkQueue(tmp_path / "q.sqlite3", visibility=0.3, poll_interval=0.01)


async def test_enqueue_claim_ack(queue):
    job_id = await queue.enqueue(b"From: a@b.example\r\n\r\nhi")
    assert await queue.depth() == 1
    (job,) = await queue.claim("w1", block_ms=200)
    assert job.id == job_id and job.body.startswith(b"From:") and job.attempts == 1
    assert await queue.claim("w2", block_ms=50) == []
    await queue.ack(job)
    assert await queue.depth() == 0
    assert await queue.oldest_age() == 0.0


async def test_a_crashed_consumer_job_is_claimed_again(queue):
    await queue.enqueue(b"m")
    (held,) = await queue.claim("dead-worker", block_ms=200)
    await asyncio.sleep(0.4)  # past the visibility timeout: the worker never came back
    (again,) = await queue.claim("w2", block_ms=200)
    assert again.id == held.id and again.attempts == 2


async def test_release_gives_the_job_back(queue):
    await queue.enqueue(b"m")
    (job,) = await queue.claim("w1", block_ms=200)
    await queue.release(job)
    (again,) = await queue.claim("w2", block_ms=500)
    assert again.id == job.id


async def test_post_record_makes_posting_idempotent(queue):
    assert await queue.begin_post("j1", "w1") is None
    pending = await queue.begin_post("j1", "w2")
    assert pending is not None and pending.state == "pending" and pending.owner == "w1"
    await queue.finish_post("j1", "171.1")
    done = await queue.begin_post("j1", "w3")
    assert done is not None and done.state == "posted" and done.ts == "171.1"


async def test_finish_and_ack_records_the_card_and_removes_the_job_together(queue):
    await queue.enqueue(b"m")
    (job,) = await queue.claim("w1", block_ms=200)
    assert await queue.begin_post(job.id, "w1") is None
    await queue.finish_and_ack(job, "172.2")
    assert await queue.depth() == 0
    done = await queue.begin_post(job.id, "w2")
    assert done is not None and done.state == "posted" and done.ts == "172.2"


def _report(body: bytes) -> Report:
    return Report(
        target=body.decode()[:20], kind=Kind.MESSAGE, verdict=Verdict.UNVERIFIED, reasons=[]
    )


async def _verify(body: bytes) -> Report:
    return _report(body)


async def test_two_workers_share_without_doubles(queue):
    # Nobody crashes here: a loaded machine must not turn a slow job into a reclaimed one.
    queue.visibility = 10.0
    posted: list[str] = []

    async def post(job, report, error) -> str:
        posted.append(job.id)
        await asyncio.sleep(0.001)
        return f"ts-{len(posted)}"

    ids = {await queue.enqueue(f"m{i}".encode()) for i in range(40)}
    stop = asyncio.Event()
    workers = [InboundWorker(queue, _verify, post, consumer=f"w{i}", block_ms=50) for i in range(2)]
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    for _ in range(400):
        if await queue.depth() == 0:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.gather(*tasks)
    assert sorted(posted) == sorted(ids)


async def test_crash_mid_message_is_processed_again_and_posted_once(queue):
    posted: list[str] = []

    async def post(job, report, error) -> str:
        posted.append(job.id)
        return "ts-1"

    job_id = await queue.enqueue(b"m")
    # A worker claims the job and dies before posting: nothing acknowledged.
    await queue.claim("dying", block_ms=200)
    await asyncio.sleep(0.4)
    worker = InboundWorker(queue, _verify, post, consumer="survivor", block_ms=100)
    (job,) = await queue.claim("survivor", block_ms=200)
    await worker.process(job)
    assert posted == [job_id]
    assert await queue.depth() == 0


async def test_crash_after_post_before_ack_does_not_post_twice(queue):
    posted: list[str] = []

    async def post(job, report, error) -> str:
        posted.append(job.id)
        return "ts-1"

    await queue.enqueue(b"m")
    first = InboundWorker(queue, _verify, post, consumer="w1")
    (job,) = await queue.claim("w1", block_ms=200)
    # w1 posts and records the card but dies before acknowledging.
    assert await queue.begin_post(job.id, "w1") is None
    await queue.finish_post(job.id, await post(job, None, None))
    await asyncio.sleep(0.4)
    (again,) = await queue.claim("w2", block_ms=200)
    await InboundWorker(queue, _verify, post, consumer="w2").process(again)
    assert posted == [job.id] and await queue.depth() == 0
    assert first.consumer == "w1"


async def test_pending_post_is_looked_up_before_posting_again(queue):
    posted: list[str] = []

    async def post(job, report, error) -> str:
        posted.append(job.id)
        return "new"

    async def find_posted(job) -> str | None:
        return "found-in-slack"

    await queue.enqueue(b"m")
    (job,) = await queue.claim("w1", block_ms=200)
    await queue.begin_post(job.id, "w1")  # died between the Slack call and recording it
    worker = InboundWorker(queue, _verify, post, consumer="w2", find_posted=find_posted)
    await worker.process(job)
    assert posted == []
    record = await queue.begin_post(job.id, "w3")
    assert record is not None and record.ts == "found-in-slack"


async def _run_until(worker: InboundWorker, done, within: float = 15.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    try:
        while not await done():
            assert loop.time() < deadline, "the worker did not get there in time"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


async def test_a_message_that_keeps_failing_is_dead_lettered_with_one_card(queue):
    cards: list[tuple[str, str | None]] = []
    verifications: list[str] = []

    async def verify(body: bytes) -> Report:
        verifications.append(body.decode())
        raise RuntimeError("charset 'undefined' cannot be decoded")

    async def post(job, report, error) -> str:
        assert report is None
        cards.append((job.id, error))
        return f"ts-{len(cards)}"

    job_id = await queue.enqueue(b"poison")
    worker = InboundWorker(queue, verify, post, consumer="w1", block_ms=50, max_attempts=3)

    async def dead() -> bool:
        return await queue.dead_letter_count() == 1

    await _run_until(worker, dead)
    assert len(verifications) == 3  # one verification per attempt, no more
    assert len(cards) == 1 and cards[0][0] == job_id
    assert "gave up after 3 attempts" in (cards[0][1] or "")
    assert "RuntimeError: charset 'undefined' cannot be decoded" in (cards[0][1] or "")
    assert await queue.depth() == 0
    (letter,) = await queue.dead_letters()
    assert letter.id == job_id and letter.attempts == 3
    assert letter.error == "RuntimeError: charset 'undefined' cannot be decoded"
    assert letter.failed_at >= letter.received_at


async def test_a_dead_letter_can_be_retried_once(queue):
    async def verify(body: bytes) -> Report:
        raise RuntimeError("boom")

    async def post(job, report, error) -> str:
        return "ts"

    job_id = await queue.enqueue(b"poison")
    (job,) = await queue.claim("w1", block_ms=200)
    await InboundWorker(queue, verify, post, consumer="w1", max_attempts=1).process_safely(job)
    assert [d.id for d in await queue.dead_letters()] == [job_id]
    new_id = await queue.retry(job_id)
    assert new_id is not None and new_id != job_id
    assert await queue.retry(job_id) is None  # already back in the queue
    assert await queue.dead_letter_count() == 0
    (again,) = await queue.claim("w2", block_ms=500)
    assert again.id == new_id and again.body == b"poison" and again.attempts == 1
    assert again.received_at == job.received_at
    assert await queue.retry("no-such-id") is None


async def test_a_job_whose_worker_keeps_dying_is_dead_lettered(queue):
    cards: list[str | None] = []

    async def post(job, report, error) -> str:
        cards.append(error)
        return "ts"

    job_id = await queue.enqueue(b"kills the worker")
    for _ in range(2):  # two workers die holding it (no error recorded)
        await queue.claim("dying", block_ms=200)
        await asyncio.sleep(0.4)
    (job,) = await queue.claim("w3", block_ms=200)
    assert job.attempts == 3 and job.last_error is None
    worker = InboundWorker(queue, _verify, post, consumer="w3", max_attempts=2)
    await worker.process_safely(job)
    assert cards == ["gave up after 2 attempts: processing stopped 2 times without finishing"]
    (letter,) = await queue.dead_letters()
    assert letter.id == job_id


async def test_last_error_is_carried_to_the_next_attempt(queue):
    await queue.enqueue(b"m")
    (job,) = await queue.claim("w1", block_ms=200)
    await queue.fail(job, "ValueError: bad header")
    await asyncio.sleep(0.4)
    (again,) = await queue.claim("w2", block_ms=200)
    assert again.attempts == 2 and again.last_error == "ValueError: bad header"


async def test_release_and_slack_failures_do_not_count_as_attempts(queue):
    from bot.errors import SlackApiError

    outcomes = ["down", "down", "ok"]
    cards: list[str] = []

    async def post(job, report, error) -> str:
        if outcomes.pop(0) == "down":
            raise SlackApiError("chat.postMessage failed: Slack could not be reached")
        cards.append(job.id)
        return "ts"

    job_id = await queue.enqueue(b"m")
    (job,) = await queue.claim("w1", block_ms=200)
    await queue.release(job)
    (job,) = await queue.claim("w1", block_ms=500)
    assert job.attempts == 1
    worker = InboundWorker(queue, _verify, post, consumer="w1", block_ms=50, max_attempts=1)
    await worker.process_safely(job)  # Slack down: the job waits, its attempt given back

    async def posted() -> bool:
        return bool(cards)

    await _run_until(worker, posted)
    assert cards == [job_id]
    assert await queue.dead_letter_count() == 0 and await queue.depth() == 0


async def test_a_card_slack_refuses_counts_and_ends_in_one_answer(queue):
    from bot.errors import SlackApiError

    refused = SlackApiError("chat.postMessage failed: Slack answered HTTP 200 invalid_blocks")
    refused.transient = False
    outcomes = ["refused", "ok"]
    cards: list[str | None] = []

    async def post(job, report, error) -> str:
        if outcomes.pop(0) == "refused":
            raise refused
        cards.append(error)
        return "ts"

    await queue.enqueue(b"m")
    (job,) = await queue.claim("w1", block_ms=200)
    worker = InboundWorker(queue, _verify, post, consumer="w1", block_ms=50, max_attempts=1)
    await worker.process_safely(job)  # not Slack being down: the attempt counts
    assert len(cards) == 1 and "invalid_blocks" in (cards[0] or "")  # the give-up card
    assert await queue.dead_letter_count() == 1 and await queue.depth() == 0


def test_an_error_is_described_on_one_printable_line():
    from bot.runtime.worker import describe

    text = describe(ValueError("bad\r\nheader \x1b[31mred\x1b[0m \u0085" + "x" * 1000))
    assert text.startswith("ValueError: bad header ?[31mred?[0m")
    assert text.isprintable() and len(text) == 300


async def test_draining_a_backlog_keeps_the_sqlite_log_bounded(tmp_path) -> None:
    # leases and acknowledgements commit without an fsync, on the caller's thread; the write-ahead
    # log must still be checkpointed when no new mail (a synced write) arrives meanwhile
    path = tmp_path / "q.sqlite3"
    queue = SqliteWorkQueue(path)
    body = bytes(range(256)) * 120  # 30 KB
    for _ in range(300):
        await queue.enqueue(body)
    for _ in range(300):
        (job,) = await queue.claim("w1", block_ms=0)
        await queue.begin_post(job.id, "w1")
        await queue.finish_and_ack(job, "1.0")
    assert await queue.depth() == 0
    assert (tmp_path / "q.sqlite3-wal").stat().st_size < 8_000_000  # ~18 MB unchecked
    await queue.close()


async def test_the_sqlite_post_records_of_old_cards_are_cleared(tmp_path) -> None:
    from bot.runtime.queue import POST_RECORD_SECONDS

    queue = SqliteWorkQueue(tmp_path / "q.sqlite3")
    old_id = f"{int((time.time() - POST_RECORD_SECONDS - 60) * 1000):013d}-{'0' * 16}"
    assert await queue.begin_post(old_id, "w0") is None  # a card from eight days ago
    await queue.enqueue(b"m")
    (job,) = await queue.claim("w1", block_ms=0)
    assert await queue.begin_post(job.id, "w1") is None
    await queue.finish_and_ack(job, "1.0")
    assert await queue.begin_post(old_id, "w2") is None  # its record was cleared
    done = await queue.begin_post(job.id, "w2")
    assert done is not None and done.ts == "1.0"  # today's stays
    await queue.close()
