"""`deskguard serve` as a process, as a container runs it: stderr is not a TTY, so every line is one
JSON object; each warning comes out once (never again as plain text); slack_bolt's "As you gave
`client`…" notice is gone although SLACK_BOT_TOKEN is in the environment; SIGTERM stops it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.conftest import FIXTURES
from tests.support.dnsserver import TestDNSServer
from tests.support.redis_server import free_port
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import BOT_TOKEN
from tests.support.slack_signing import SECRET


async def test_serve_logs_each_line_once_as_json_and_stops_on_sigterm(
    dns_server: TestDNSServer, tmp_path: Path
) -> None:
    async with SlackApiRecorder() as slack:
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "DESKGUARD_SLACK_API_URL": slack.base_url,
            "DESKGUARD_REGISTRY": str(FIXTURES / "vendors.yml"),
            "DESKGUARD_DATABASE": str(tmp_path / "state.sqlite3"),
            "DESKGUARD_DNS_NAMESERVERS": dns_server.nameserver,
            "DESKGUARD_HOST": "127.0.0.1",
            "DESKGUARD_PORT": str(port),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            cwd=str(tmp_path),  # no .env here
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(600):
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.05)
                else:
                    raise AssertionError("deskguard serve did not come up")
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0
    assert out == b""
    lines = err.decode().splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON: nothing in plain text
    messages = [r["msg"] for r in records]
    warnings = [m for r, m in zip(records, messages, strict=True) if r["level"] == "warning"]
    assert any("fewer than two eligible people" in m for m in warnings)  # the staffing warning
    assert len(warnings) == len(set(warnings))  # each once
    assert not any("As you gave" in m for m in messages)
    assert "Traceback" not in err.decode()
    assert messages[-1] == "deskguard shutting down"
