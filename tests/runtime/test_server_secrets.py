"""`deskguard serve` warns at start-up, once per secret, about registry secrets (token.secret_env)
set neither in the environment nor in .env."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.runtime.server import run
from bot.settings import Settings
from tests.support.dnsserver import TestDNSServer
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import app_settings
from tests.test_cli_registry_secrets import tokened_registry


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_start_up_warns_about_unset_registry_secrets(
    dns_server: TestDNSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DG_TEST_TOTP_NORTHWIND", "DG_TEST_TOTP_CONTOSO"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("DG_TEST_TOTP_NORTHWIND=JBSWY3DPEHPK3PXP\n")
    records = _Records()
    logger = logging.getLogger("deskguard.server")  # survives run()'s root logging set-up
    logger.addHandler(records)
    try:
        async with SlackApiRecorder() as slack:
            port = _free_port()
            base = app_settings(
                slack,
                port=port,
                database=tmp_path / "state.sqlite3",
                registry=tokened_registry(tmp_path),
                dns_nameservers=dns_server.nameserver,
            )
            values = base.field_values()
            values["dns_nameservers"] = dns_server.nameserver
            settings = Settings(_env_file=tmp_path / ".env", **values)
            stop = asyncio.Event()
            task = asyncio.create_task(run(settings, stop))
            async with aiohttp.ClientSession() as session:
                for _ in range(500):
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.02)
            stop.set()
            assert await asyncio.wait_for(task, 10) == 0
    finally:
        logger.removeHandler(records)
    about = [m for m in records.messages if "token.secret_env" in m]
    assert len(about) == 1
    assert "DG_TEST_TOTP_CONTOSO" in about[0] and "contoso-payroll" in about[0]
