"""The SMTP copy listener: real aiosmtpd on loopback, real smtplib clients, a real queue."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.queue import WorkQueue
from bot.runtime.queue_redis import RedisWorkQueue
from bot.runtime.queue_sqlite import SqliteWorkQueue
from bot.runtime.server import run
from bot.runtime.smtp import client_allowed, parse_networks, start_smtp
from bot.settings import Settings
from tests.support.dnsserver import TestDNSServer
from tests.support.redis_server import free_port
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import app_settings
from tests.support.tlscert import self_signed

MESSAGE = (
    b"From: Dana <dana.whitfield@northwind-software.com>\r\n"
    b"To: helpdesk@example-corp.test\r\n"
    b"Subject: patch\r\n"
    b"Message-ID: <1@northwind-software.com>\r\n\r\n"
    b"Please install the attached patch.\r\n"
)


def _settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": 0}
    base.update(values)
    return Settings(**base)


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[SqliteWorkQueue]:
    q = SqliteWorkQueue(tmp_path / "q.sqlite3", poll_interval=0.01)
    yield q
    await q.close()


async def _serve(settings: Settings, queue: WorkQueue) -> tuple[asyncio.Server, Any, int]:
    return await start_smtp(settings, queue)


def _send(port: int, message: bytes = MESSAGE, *, tls: bool = False) -> dict[str, Any]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mx.example-corp.test")
        features = dict(client.esmtp_features)
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client.starttls(context=context)
            client.ehlo("mx.example-corp.test")
        client.sendmail("dana.whitfield@northwind-software.com", ["anyone@anywhere.test"], message)
        return features


async def test_a_copy_is_queued_before_250(queue: SqliteWorkQueue) -> None:
    server, handler, port = await _serve(_settings(), queue)
    try:
        features = await asyncio.to_thread(_send, port)
    finally:
        server.close()
        await server.wait_closed()
    assert features["size"] == str(Settings().max_message_bytes)
    assert "starttls" not in features  # no certificate configured
    (job,) = await queue.claim("w1", block_ms=200)
    assert job.body.replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")
    assert handler.accepted == 1


async def test_a_client_outside_the_allowed_networks_gets_554(queue: SqliteWorkQueue) -> None:
    server, _, port = await _serve(_settings(smtp_allowed_clients="192.0.2.0/24"), queue)
    try:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(_send, port)
    finally:
        server.close()
        await server.wait_closed()
    assert refused.value.smtp_code == 554
    assert await queue.depth() == 0


async def test_over_the_size_limit_is_552(queue: SqliteWorkQueue) -> None:
    server, _, port = await _serve(_settings(max_message_bytes=1024), queue)
    big = MESSAGE + b"x" * 2000 + b"\r\n"
    try:
        with pytest.raises(smtplib.SMTPException) as refused:
            await asyncio.to_thread(_send, port, big)
    finally:
        server.close()
        await server.wait_closed()
    assert "552" in str(refused.value)
    assert await queue.depth() == 0


async def test_store_down_is_451_so_the_sender_retries() -> None:
    dead = RedisWorkQueue.from_url(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    server, handler, port = await _serve(_settings(), dead)
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(_send, port)
    finally:
        server.close()
        await server.wait_closed()
        await dead.close()
    assert refused.value.smtp_code == 451
    assert handler.accepted == 0


async def test_draining_is_451(queue: SqliteWorkQueue) -> None:
    server, handler, port = await _serve(_settings(), queue)
    handler.draining = True
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(_send, port)
    finally:
        server.close()
        await server.wait_closed()
    assert refused.value.smtp_code == 451
    assert await queue.depth() == 0


async def test_starttls_when_a_certificate_is_set(queue: SqliteWorkQueue, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server, _, port = await _serve(_settings(smtp_tls_cert=cert, smtp_tls_key=key), queue)
    try:
        features = await asyncio.to_thread(_send, port, tls=True)
    finally:
        server.close()
        await server.wait_closed()
    assert "starttls" in features
    assert await queue.depth() == 1


def test_allowed_clients_match_cidrs_and_mapped_addresses() -> None:
    networks = parse_networks(["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"])
    assert client_allowed(("10.1.2.3", 25), networks)
    assert client_allowed(("::ffff:10.1.2.3", 25, 0, 0), networks)
    assert client_allowed(("2001:db8::1", 25, 0, 0), networks)
    assert client_allowed(("127.0.0.1", 25), networks)
    assert not client_allowed(("11.0.0.1", 25), networks)
    assert not client_allowed(("127.0.0.2", 25), networks)
    assert not client_allowed(None, networks)
    assert not client_allowed(("not-an-ip", 25), networks)


async def test_serve_accepts_smtp_copies_and_posts_one_card_each(
    dns_server: TestDNSServer, tmp_path: Path
) -> None:
    async with SlackApiRecorder() as slack:
        smtp_port = free_port()
        settings = app_settings(
            slack,
            port=free_port(),
            database=tmp_path / "state.sqlite3",
            registry=Path(__file__).parents[1] / "fixtures" / "vendors.yml",
            dns_nameservers=f"{dns_server.address[0]}:{dns_server.address[1]}",
            triage_channel="C0TRIAGE",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop))
        for _ in range(500):
            try:
                await asyncio.to_thread(_send, smtp_port)
                break
            except OSError:
                await asyncio.sleep(0.02)
        await asyncio.to_thread(_send, smtp_port, MESSAGE.replace(b"patch", b"second"))
        posts = await slack.wait_for("chat.postMessage", count=2, within=30)
        stop.set()
        assert await asyncio.wait_for(task, 20) == 0
        with pytest.raises(OSError):  # the listener is closed after shutdown
            await asyncio.to_thread(_send, smtp_port)
    assert len(slack.find("chat.postMessage")) == 2
    assert all("northwind" in call.text() for call in posts)
