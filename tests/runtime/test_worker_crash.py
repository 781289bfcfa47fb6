"""A worker process killed mid-message: the message is processed again and posted once.

Real processes (`python -m bot serve`), a real queue (Redis Stream, SQLite table), the test DNS
server slowed down so that the first process is surely in the middle of verifying when killed.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support.dnsserver import TestDNSServer
from tests.support.serve import ServeProcess, start_serve
from tests.support.slack_api import SlackApiRecorder

ROOT = Path(__file__).resolve().parents[2]
SECRET = "crash-secret"
MESSAGE = (
    b"From: Dana Whitfield <dana.whitfield@northwind-software.com>\r\n"
    b"To: helpdesk@corp.example\r\nSubject: Patch tonight\r\n"
    b"Message-ID: <crash@northwind-software.com>\r\n\r\nPlease install the patch.\r\n"
)


async def _start(
    tmp_path: Path, slack: SlackApiRecorder, dns: TestDNSServer, redis_url: str | None
) -> ServeProcess:
    env = {
        "DESKGUARD_INBOUND_SECRET": SECRET,
        "DESKGUARD_TRIAGE_CHANNEL": "CTRIAGE",
        "DESKGUARD_DNS_NAMESERVERS": dns.nameserver,
        "DESKGUARD_DNS_TIMEOUT": "5",
        "DESKGUARD_QUEUE_VISIBILITY_SECONDS": "1",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    serve = await start_serve(tmp_path, slack.base_url, **env)
    try:
        await serve.wait_http("/readyz", 200)
    except AssertionError:
        serve.process.kill()
        raise
    return serve


@pytest.fixture(params=["redis", "sqlite"])
async def queue_backend(request):
    if request.param == "sqlite":
        yield None
        return
    url = request.getfixturevalue("redis_url")
    client = aioredis.from_url(url)
    await client.flushdb()
    yield url
    await client.flushdb()
    await client.aclose()


async def test_killed_worker_message_is_processed_again_and_posted_once(
    tmp_path, dns_server, queue_backend
):
    async with SlackApiRecorder() as slack:
        first = await _start(tmp_path, slack, dns_server, queue_backend)
        try:
            dns_server.queries.clear()
            dns_server.delay = 1.0  # verification now takes seconds
            ts = str(int(time.time()))
            headers = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, MESSAGE)}
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{first.base}/inbound/email", data=MESSAGE, headers=headers) as resp,
            ):
                assert resp.status == 202
                job_id = (await resp.json())["id"]
            for _ in range(200):  # the worker has started verifying: it asked DNS
                if dns_server.queries:
                    break
                await asyncio.sleep(0.02)
            assert dns_server.queries
            first.process.send_signal(signal.SIGKILL)
            await first.process.wait()
        finally:
            if first.process.returncode is None:
                first.process.kill()
                await first.process.wait()
        assert slack.find("chat.postMessage") == []
        dns_server.delay = 0.0
        second = await _start(tmp_path, slack, dns_server, queue_backend)
        try:
            (card,) = await slack.wait_for("chat.postMessage", within=30)
            assert job_id in card.text()
            await asyncio.sleep(1.5)  # past another visibility period: still one card
            assert len(slack.find("chat.postMessage")) == 1
        finally:
            assert await second.stop() == 0
