"""Hostile request metadata and slow or unsigned bodies, on the real aiohttp app.

Malformed metadata is a 400 (never a 500 with a traceback); the gate refuses unsigned, stale and
oversized requests before it reads a byte of the body; bodies are read in bounded slots and
within a deadline on every listener (a trickled body is a 408).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.registry import Registry
from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER
from bot.runtime.metrics import Metrics
from bot.runtime.queue import SqliteWorkQueue
from bot.runtime.server import Mode, build_bolt_app, build_web_app, start_web_app
from bot.runtime.services import build_services
from bot.runtime.web_ops import OpsContext, add_ops_routes
from tests.support import slack_signing as sig
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import app_settings

SECRET = "gate-secret"


@dataclass
class App:
    port: int
    queue: SqliteWorkQueue
    session: aiohttp.ClientSession

    @property
    def events(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def raw(self, head: str, body: bytes = b"", *, wait: float = 20.0) -> bytes:
        """Send ``head`` (and ``body``) on a socket, do not finish, return the response's first
        line (or b"" when the server closed without one)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body)
            await writer.drain()
            return await asyncio.wait_for(reader.readline(), wait)
        finally:
            writer.close()


@pytest.fixture
async def app(resolver, registry: Registry, tmp_path: Path) -> AsyncIterator[App]:
    async with SlackApiRecorder() as slack:
        settings = app_settings(
            slack,
            inbound_secret=SECRET,
            max_message_bytes=1024 * 1024,
            inbound_max_concurrent_reads=1,
            body_read_timeout_seconds=1.5,
        )
        services = build_services(settings, resolver=resolver, registry=registry)
        web_app = build_web_app(services, build_bolt_app(services, Mode.HTTP))
        queue = SqliteWorkQueue(tmp_path / "q.sqlite3")

        async def use_once(scope: str, key: str, ttl: float) -> bool:
            return True

        async def ping() -> None:
            return None

        ops = OpsContext(settings, services.registry, Metrics(), queue, use_once, ping)
        add_ops_routes(web_app, ops)
        runner, port = await start_web_app(web_app, "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as session:
                yield App(port, queue, session)
        finally:
            await runner.cleanup()
            await queue.close()


def _slack_headers(body: bytes, timestamp: str) -> dict[str, str]:
    mac = hmac.new(sig.SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + mac.hexdigest(),
    }


@pytest.mark.parametrize("timestamp", ["abc", "1e3", "\u00b2", "-5", "1_700_000_000"])
async def test_a_malformed_slack_timestamp_is_400(app: App, timestamp: str):
    body = sig.command_body("help", response_url="http://127.0.0.1:9/r", user="U1").encode()
    headers = _slack_headers(body, timestamp)
    async with app.session.post(app.events, data=body, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "bad_timestamp"


async def test_a_non_utf8_slack_body_is_400(app: App):
    body = b"command=%2Fverify-vendor&text=\xff\xfe\xc3("
    headers = _slack_headers(body, str(int(time.time())))
    async with app.session.post(app.events, data=body, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "bad_encoding"


async def test_a_correct_slack_request_still_passes(app: App):
    body = sig.command_body("help", response_url="http://127.0.0.1:9/r", user="U1").encode()
    headers = _slack_headers(body, str(int(time.time())))
    async with app.session.post(app.events, data=body, headers=headers) as resp:
        assert resp.status == 200


@pytest.mark.parametrize("timestamp", ["\u00b2", "1e3", "abc"])
async def test_a_malformed_gate_timestamp_is_400(app: App, timestamp: str):
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: "v1=" + "0" * 64}
    url = f"http://127.0.0.1:{app.port}/inbound/email"
    async with app.session.post(url, data=b"From: a@b.example\r\n\r\nx", headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "bad_timestamp"


def _gate_head(length: int, extra: str = "") -> str:
    return (
        "POST /inbound/email HTTP/1.1\nHost: deskguard\nContent-Type: message/rfc822\n"
        f"Content-Length: {length}\n{extra}"
    )


async def test_the_gate_refuses_before_reading_the_body(app: App):
    # A 25 MB upload announced, not a byte of it sent: the answer comes anyway (no body read).
    assert (await app.raw(_gate_head(25 * 1024 * 1024))).startswith(b"HTTP/1.1 401")
    stale = f"{TIMESTAMP_HEADER}: {int(time.time()) - 3600}\n{SIGNATURE_HEADER}: v1=00\n"
    assert (await app.raw(_gate_head(25 * 1024 * 1024, stale))).startswith(b"HTTP/1.1 401")
    fresh = f"{TIMESTAMP_HEADER}: {int(time.time())}\n{SIGNATURE_HEADER}: v1=00\n"
    assert (await app.raw(_gate_head(25 * 1024 * 1024, fresh))).startswith(b"HTTP/1.1 413")


async def test_a_trickled_body_times_out_on_the_gate_and_on_slack_events(app: App):
    fresh = f"{TIMESTAMP_HEADER}: {int(time.time())}\n{SIGNATURE_HEADER}: v1=00\n"
    line = await app.raw(_gate_head(1000, fresh), b"From: a")
    assert line.startswith(b"HTTP/1.1 408")
    head = (
        "POST /slack/events HTTP/1.1\nHost: deskguard\n"
        "Content-Type: application/x-www-form-urlencoded\nContent-Length: 1000\n"
        f"X-Slack-Request-Timestamp: {int(time.time())}\nX-Slack-Signature: v0=00\n"
    )
    assert (await app.raw(head, b"command=")).startswith(b"HTTP/1.1 408")


async def test_body_reads_are_bounded(app: App):
    # One slot (DESKGUARD_INBOUND_MAX_CONCURRENT_READS=1): a second body is not read while a
    # slow one holds it, so the second answer comes only after the first one's 408.
    fresh = f"{TIMESTAMP_HEADER}: {int(time.time())}\n{SIGNATURE_HEADER}: v1=00\n"
    answered: list[str] = []

    async def slow() -> None:
        await app.raw(_gate_head(1000, fresh), b"From: a")
        answered.append("slow")

    async def quick() -> None:
        await asyncio.sleep(0.3)
        body = b"From: a@b.example\r\n\r\nhi"
        line = await app.raw(_gate_head(len(body), fresh), body)
        assert line.startswith((b"HTTP/1.1 401", b"HTTP/1.1 503"))
        answered.append("quick")

    await asyncio.gather(slow(), quick())
    assert answered == ["slow", "quick"]
    assert await app.queue.depth() == 0
