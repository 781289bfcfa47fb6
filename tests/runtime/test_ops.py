"""The service as operators run it: inbound gate → queue → worker → triage card, health,
readiness, metrics, registry reload, graceful shutdown. The real ``run()`` in HTTP mode."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.runtime.server import run
from tests.conftest import FIXTURES
from tests.support.dnsserver import TestDNSServer
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import app_settings

SECRET = "gate-secret"
SPOOF = (
    b"From: Northwind Security <security@northwind-software.com>\r\n"
    b"To: helpdesk@corp.example\r\n"
    b"Subject: Urgent: reset the admin password\r\n"
    b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <x1@evil.example>\r\n\r\n"
    b"Please reset the password now and call us at 1-213-555-0199.\r\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    base: str
    slack: SlackApiRecorder
    session: aiohttp.ClientSession
    registry_path: Path

    async def inbound(self, body: bytes, *, ts: str | None = None, sig: str | None = None):
        ts = ts or str(int(time.time()))
        headers = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sig or sign(SECRET, ts, body)}
        async with self.session.post(f"{self.base}/inbound/email", data=body, headers=headers) as r:
            return r.status, await r.json()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(f"{self.base}{path}") as r:
            return r.status, await r.text()


@pytest.fixture
async def service(dns_server: TestDNSServer, tmp_path: Path) -> AsyncIterator[Running]:
    registry_path = tmp_path / "vendors.yml"
    shutil.copy(FIXTURES / "vendors.yml", registry_path)
    async with SlackApiRecorder() as slack:
        port = _free_port()
        settings = app_settings(
            slack,
            port=port,
            registry=registry_path,
            database=tmp_path / "state.sqlite3",
            dns_nameservers=dns_server.nameserver,
            inbound_secret=SECRET,
            triage_channel="CTRIAGE",
            max_message_bytes=64 * 1024,
            log_format="json",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop))
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(300):  # ready: Slack accepted the tokens, the workers started
                try:
                    async with session.get(f"{base}/readyz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.02)
            try:
                yield Running(base, slack, session, registry_path)
            finally:
                stop.set()
                assert await asyncio.wait_for(task, 15) == 0


async def test_signed_email_is_queued_and_its_card_reaches_triage(service: Running):
    status, data = await service.inbound(SPOOF)
    assert status == 202 and data["ok"] and data["id"]
    (call,) = await service.slack.wait_for("chat.postMessage")
    assert call.data["channel"] == "CTRIAGE"
    text = call.text()
    assert "SPOOFED" in text and "do not act on it" in text
    assert data["id"] in text
    assert call.data.get("unfurl_links") in (False, "false", "0")
    _, metrics = await service.get("/metrics")
    assert 'deskguard_verifications_total{source="inbound",verdict="spoofed"} 1.0' in metrics


async def test_gate_refusals(service: Running):
    stale = str(int(time.time()) - 400)
    assert (await service.inbound(SPOOF, ts=stale))[0] == 401
    status, data = await service.inbound(SPOOF, sig="v1=" + "0" * 64)
    assert (status, data["error"]) == (401, "bad_signature")
    assert (await service.inbound(b""))[1]["error"] == "empty_body"
    status, data = await service.inbound(b"x" * (70 * 1024))
    assert (status, data["error"]) == (413, "too_large")
    ts = str(int(time.time()))
    assert (await service.inbound(SPOOF, ts=ts))[0] == 202
    status, data = await service.inbound(SPOOF, ts=ts)
    assert (status, data["error"]) == (409, "replayed")
    await service.slack.wait_for("chat.postMessage")
    await asyncio.sleep(0.3)
    assert len(service.slack.find("chat.postMessage")) == 1


async def test_malformed_body_gets_an_unverifiable_card(service: Running):
    status, _ = await service.inbound(bytes(range(256)) * 4)
    assert status == 202
    (call,) = await service.slack.wait_for("chat.postMessage")
    assert "Could not verify" in call.text()


async def test_health_readiness_metrics(service: Running):
    assert (await service.get("/healthz"))[0] == 200
    status, body = await service.get("/readyz")
    ready = json.loads(body)
    assert status == 200 and ready["ok"] and ready["checks"]["store"] == "ok"
    assert ready["checks"]["registry"].startswith("loaded, 3 vendors")
    status, metrics = await service.get("/metrics")
    assert status == 200
    for name in (
        "deskguard_queue_depth",
        "deskguard_queue_oldest_age_seconds",
        "deskguard_queue_dead_letters",
        "deskguard_dns_lookup_seconds",
        "deskguard_slack_api_errors",
        "deskguard_approval_transitions",
    ):
        assert name in metrics


async def test_broken_registry_keeps_last_good_and_readyz_says_why(service: Running):
    service.registry_path.write_text("vendors: [\n")
    for _ in range(200):
        status, body = await service.get("/readyz")
        if status == 503:
            break
        await asyncio.sleep(0.05)
    ready = json.loads(body)
    assert status == 503 and "not valid YAML" in ready["checks"]["registry"]
    assert "last good registry in force" in ready["checks"]["registry"]
    # the last good registry still answers
    status, _ = await service.inbound(SPOOF)
    (call,) = await service.slack.wait_for("chat.postMessage")
    assert "SPOOFED" in call.text()


async def test_the_shipped_curl_script_signs_correctly(service: Running):
    script = Path(__file__).resolve().parents[2] / "examples" / "deskguard-inbound.sh"
    proc = await asyncio.create_subprocess_exec(
        "sh",
        str(script),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            "PATH": "/usr/bin:/bin",
            "DESKGUARD_INBOUND_SECRET": SECRET,
            "DESKGUARD_INBOUND_URL": f"{service.base}/inbound/email",
        },
    )
    out, err = await proc.communicate(SPOOF)
    assert proc.returncode == 0, err
    assert json.loads(out)["ok"] is True
    await service.slack.wait_for("chat.postMessage")
