"""The composition root: token checks, signatures, routes, Socket Mode, the import boundary."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web

from bot.dns import Resolver
from bot.errors import ConfigError
from bot.registry import Registry
from bot.runtime.server import (
    Mode,
    build_bolt_app,
    build_web_app,
    run,
    serve,
    slack_mode,
    start_socket_mode,
    start_web_app,
)
from bot.runtime.services import build_services
from bot.settings import Settings
from tests.support import slack_signing as sig
from tests.support.dnsserver import TestDNSServer
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import Harness, app_settings, running_app

ROOT = Path(__file__).resolve().parents[2]
APP_TOKEN = "xapp-1-A0001-1234-abcdef"


@pytest.fixture
async def app(resolver: Resolver, registry: Registry):  # type: ignore[no-untyped-def]
    async with running_app(resolver, registry) as harness:
        yield harness


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"slack_bot_token": "xoxp-user-token-1234"}, "SLACK_BOT_TOKEN does not look like"),
        (
            {"slack_bot_token": "xoxb-1111-2222-abcd", "slack_app_token": "xoxb-1-2-3-4-5-6"},
            "SLACK_APP_TOKEN does not look like",
        ),
        ({"slack_bot_token": "xoxb-1111-2222-abcd"}, "SLACK_SIGNING_SECRET is not set"),
    ],
)
def test_bad_configuration_names_the_variable_and_the_setup_steps(
    values: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        serve(_settings(**values))
    message = str(caught.value)
    assert message.startswith(variable)
    assert "manifest.yml" in message and '"Slack setup"' in message
    assert "\n" not in message


def test_mode_follows_the_app_token() -> None:
    http = _settings(slack_bot_token="xoxb-1111-2222-abcd", slack_signing_secret="s")
    socket_mode = _settings(slack_bot_token="xoxb-1111-2222-abcd", slack_app_token=APP_TOKEN)
    assert slack_mode(http) is Mode.HTTP
    assert slack_mode(socket_mode) is Mode.SOCKET


async def test_bad_signature_is_401_with_no_side_effect(app: Harness) -> None:
    body = sig.command_body("northwind.io", response_url=app.slack.response_url())
    status, _ = await app.post(body, secret="not-the-secret")
    assert status == 401
    assert app.slack.calls == []


async def test_stale_timestamp_is_401_and_a_fresh_one_is_accepted(app: Harness) -> None:
    body = sig.command_body("northwind.io", response_url=app.slack.response_url())
    status, _ = await app.post(body, timestamp=int(time.time()) - 301)
    assert status == 401
    assert app.slack.calls == []
    status, _ = await app.post(body, timestamp=int(time.time()) - 240)
    assert status == 200
    await app.slack.wait_for("response_url")


async def test_tampered_body_is_401(app: Harness) -> None:
    body = sig.command_body("northwind.io", response_url=app.slack.response_url())
    headers = sig.signed_headers(body)
    tampered = body.replace("northwind.io", "evil.example")
    async with app.session.post(app.url, data=tampered.encode(), headers=headers) as resp:
        assert resp.status == 401
    assert app.slack.calls == []


async def test_url_verification_challenge(app: Harness) -> None:
    body = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        }
    )
    status, text = await app.post(body, content_type="application/json")
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_unknown_callback_is_not_acknowledged(app: Harness) -> None:
    status, _ = await app.interact(
        {"type": "shortcut", "callback_id": "nope", "user": {"id": "U1"}}
    )
    assert status == 404


async def test_web_app_takes_more_routes(resolver: Resolver, registry: Registry) -> None:
    async with SlackApiRecorder() as slack:
        services = build_services(app_settings(slack), resolver=resolver, registry=registry)
        web_app = build_web_app(services, build_bolt_app(services, Mode.HTTP))

        async def healthz(request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        web_app.router.add_get("/healthz", healthz)
        runner, port = await start_web_app(web_app, "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200 and (await resp.json()) == {"ok": True}
                async with session.get(f"http://127.0.0.1:{port}/slack/events") as resp:
                    assert resp.status == 405
        finally:
            await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_run_serves_http_mode_until_stopped(
    dns_server: TestDNSServer, tmp_path: Path
) -> None:
    async with SlackApiRecorder() as slack:
        port = _free_port()
        settings = app_settings(
            slack,
            port=port,
            database=tmp_path / "state.sqlite3",
            registry=ROOT / "tests" / "fixtures" / "vendors.yml",
            dns_nameservers=f"{dns_server.address[0]}:{dns_server.address[1]}",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop))
        body = sig.command_body("northwind.io", response_url=slack.response_url())
        status = None
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}/slack/events",
                        data=body.encode(),
                        headers=sig.signed_headers(body),
                    ) as resp:
                        status = resp.status
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
        assert status == 200
        (call,) = await slack.wait_for("response_url")
        assert "northwind.io" in call.text()
        stop.set()
        assert await asyncio.wait_for(task, 10) == 0


async def test_socket_mode_connects_and_handles_an_envelope(
    resolver: Resolver, registry: Registry
) -> None:
    async with SlackApiRecorder() as slack:
        settings = app_settings(slack, slack_app_token=APP_TOKEN, slack_signing_secret=None)
        services = build_services(settings, resolver=resolver, registry=registry)
        bolt = build_bolt_app(services, slack_mode(settings))
        handler = start_socket_mode(services, bolt)
        await handler.connect_async()
        try:
            (opened,) = slack.find("apps.connections.open")
            assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"
            body = sig.command_body("contoso", response_url=slack.response_url("ws"))
            payload = dict(parse_qsl(body))
            await slack.send_envelope(
                {
                    "envelope_id": "env-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": payload,
                }
            )
            (ack,) = await slack.wait_for("ws_ack")
            assert ack.data["envelope_id"] == "env-1"
            (answer,) = await slack.wait_for("response_url")
            assert "Contoso Payroll" in answer.text()
        finally:
            await handler.close_async()
