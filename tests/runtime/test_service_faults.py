"""The service under faults, as real ``deskguard serve`` processes: a worker killed between
Slack's answer and recording the card, Redis losing its data, 16 unsigned 25 MB uploads."""

from __future__ import annotations

import asyncio
import json
import re
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

SECRET = "faults-secret"
MESSAGE = (
    b"From: Dana Whitfield <dana.whitfield@northwind-software.com>\r\n"
    b"To: helpdesk@corp.example\r\nSubject: Patch tonight\r\n"
    b"Message-ID: <faults@northwind-software.com>\r\n\r\nPlease install the patch.\r\n"
)


def _gate_env(dns: TestDNSServer, redis_url: str | None) -> dict[str, str]:
    env = {
        "DESKGUARD_INBOUND_SECRET": SECRET,
        "DESKGUARD_TRIAGE_CHANNEL": "CTRIAGE",
        "DESKGUARD_DNS_NAMESERVERS": dns.nameserver,
        "DESKGUARD_DNS_TIMEOUT": "2",
        "DESKGUARD_QUEUE_VISIBILITY_SECONDS": "1",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


async def _send(serve: ServeProcess, body: bytes = MESSAGE) -> str:
    ts = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, body)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{serve.base}/inbound/email", data=body, headers=headers) as resp,
    ):
        assert resp.status == 202, await resp.text()
        return str((await resp.json())["id"])


async def _queue_depth(serve: ServeProcess) -> float:
    _, text = await serve.get("/metrics")
    match = re.search(r"^deskguard_queue_depth (\S+)$", text, re.M)
    assert match, text
    return float(match.group(1))


@pytest.fixture(params=["sqlite", "redis"])
def backend(request) -> str | None:
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("private_redis").url)


async def test_a_worker_killed_after_slack_posted_finds_the_card(tmp_path, dns_server, backend):
    async with SlackApiRecorder() as slack:
        first = await start_serve(tmp_path, slack.base_url, **_gate_env(dns_server, backend))
        try:
            await first.wait_http("/readyz", 200)
            slack.delays["chat.postMessage"] = 60  # Slack posts the card, its answer never comes
            job_id = await _send(first)
            (card,) = await slack.wait_for("chat.postMessage", within=30)
            assert job_id in card.text()
            first.process.send_signal(signal.SIGKILL)  # dies before recording the card
            await first.process.wait()
        finally:
            if first.process.returncode is None:
                first.process.kill()
                await first.process.wait()
        slack.delays.clear()
        second = await start_serve(tmp_path, slack.base_url, **_gate_env(dns_server, backend))
        try:
            await second.wait_http("/readyz", 200)
            (history,) = await slack.wait_for("conversations.history", within=30)
            assert history.data["channel"] == "CTRIAGE"
            for _ in range(400):
                if await _queue_depth(second) == 0:
                    break
                await asyncio.sleep(0.05)
            assert await _queue_depth(second) == 0  # acknowledged, with the card it found
            assert len(slack.find("chat.postMessage")) == 1
        finally:
            assert await second.stop() == 0


async def test_redis_losing_its_data_is_recovered(tmp_path, dns_server, private_redis):
    async with SlackApiRecorder() as slack:
        serve = await start_serve(
            tmp_path, slack.base_url, **_gate_env(dns_server, private_redis.url)
        )
        client = aioredis.from_url(private_redis.url)
        try:
            await serve.wait_http("/readyz", 200)
            await client.flushall()  # the stream and its consumer group are gone
            first = await _send(serve)
            (card,) = await slack.wait_for("chat.postMessage", within=30)
            assert first in card.text()

            private_redis.kill()
            body = json.loads(await serve.wait_http("/readyz", 503))
            assert body["checks"]["queue"].startswith("unreachable")
            private_redis.start()  # same port, no AOF: empty
            await serve.wait_http("/readyz", 200)
            second = await _send(serve)
            cards = await slack.wait_for("chat.postMessage", count=2, within=30)
            assert second in cards[1].text()
        finally:
            await client.aclose()
            assert await serve.stop() == 0
        assert "NOGROUP" not in serve.stderr or "recreating" in serve.stderr


def _peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.M)
    assert match, status
    return int(match.group(1))


async def test_unsigned_uploads_are_not_read(tmp_path, dns_server):
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc (Linux only)")
    async with SlackApiRecorder() as slack:
        serve = await start_serve(tmp_path, slack.base_url, **_gate_env(dns_server, None))
        try:
            await serve.wait_http("/readyz", 200)
            before = _peak_rss_kb(serve.process.pid)
            upload = b"x" * (25 * 1024 * 1024)

            async def unsigned(session: aiohttp.ClientSession) -> int:
                url = f"{serve.base}/inbound/email"
                try:
                    async with session.post(url, data=upload) as resp:
                        return resp.status
                except aiohttp.ClientError:
                    return 0  # the server closed while the client was still sending

            async with aiohttp.ClientSession() as session:
                statuses = await asyncio.gather(*(unsigned(session) for _ in range(16)))
            assert set(statuses) <= {401, 0} and 401 in statuses
            grown_mb = (_peak_rss_kb(serve.process.pid) - before) / 1024
            # Reading all 16 bodies first (as before) grew the process by about 400 MB.
            assert grown_mb < 100, f"peak memory grew {grown_mb:.0f} MB"
        finally:
            assert await serve.stop() == 0
