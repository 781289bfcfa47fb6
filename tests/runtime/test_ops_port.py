"""DESKGUARD_OPS_PORT: /healthz, /readyz and /metrics on their own listener, not Slack's."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.runtime.server import run
from tests.conftest import FIXTURES
from tests.support.dnsserver import TestDNSServer
from tests.support.redis_server import free_port
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import app_settings

PROBES = ("/healthz", "/readyz", "/metrics")


async def _status(session: aiohttp.ClientSession, method: str, url: str, **kw: object) -> int:
    async with session.request(method, url, **kw) as resp:  # type: ignore[arg-type]
        await resp.read()
        return resp.status


async def test_probes_move_to_the_ops_port(dns_server: TestDNSServer, tmp_path: Path) -> None:
    async with SlackApiRecorder() as slack:
        port, ops_port = free_port(), free_port()
        settings = app_settings(
            slack,
            port=port,
            ops_port=ops_port,
            registry=FIXTURES / "vendors.yml",
            database=tmp_path / "state.sqlite3",
            dns_nameservers=dns_server.nameserver,
            inbound_secret="s",
            log_format="json",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop))
        public, ops = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ops_port}"
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(300):
                    try:
                        if await _status(session, "GET", f"{ops}/healthz") == 200:
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.02)
                for path in PROBES:
                    assert await _status(session, "GET", ops + path) == 200, path
                    assert await _status(session, "GET", public + path) == 404, path
                async with session.get(f"{ops}/metrics") as resp:
                    assert "deskguard_registry_reload_failing" in await resp.text()
                # the gate stays on the public listener, and only there
                body = b"From: a@b.example\r\n\r\nhi\r\n"
                ts = str(int(time.time()))
                headers = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign("s", ts, body)}
                url = "/inbound/email"
                assert (
                    await _status(session, "POST", public + url, data=body, headers=headers) == 202
                )
                assert await _status(session, "POST", ops + url, data=body, headers=headers) in (
                    404,
                    405,
                )
                assert await _status(session, "POST", f"{public}/slack/events") == 401
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 15) == 0
