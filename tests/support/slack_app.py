"""The real deskguard app in HTTP mode on a free port, wired to the recording Slack server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.dns import Resolver
from bot.registry import Registry
from bot.runtime.server import Mode, build_bolt_app, build_web_app, start_web_app
from bot.runtime.services import Services, build_services
from bot.settings import Settings
from tests.support import slack_signing as sig
from tests.support.slack_api import SlackApiRecorder

BOT_TOKEN = "xoxb-1111-2222-testtoken"


def app_settings(slack: SlackApiRecorder, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": sig.SECRET,
        "slack_api_url": slack.base_url,
        "host": "127.0.0.1",
        "port": 3000,
        "dns_timeout": 0.5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Harness:
    """A running app and a client session to talk to it like Slack does."""

    url: str
    slack: SlackApiRecorder
    services: Services
    session: aiohttp.ClientSession

    async def post(self, body: str, **kwargs: Any) -> tuple[int, str]:
        headers = sig.signed_headers(body, **kwargs)
        async with self.session.post(self.url, data=body.encode(), headers=headers) as resp:
            return resp.status, await resp.text()

    async def command(self, text: str, *, user: str = "U111", token: str = "r1") -> int:
        body = sig.command_body(text, response_url=self.slack.response_url(token), user=user)
        status, _ = await self.post(body)
        return status

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.post(sig.interactive_body(payload))

    async def event(
        self, event: dict[str, Any], *, event_id: str = "Ev0001", retry_num: int | None = None
    ) -> int:
        body = sig.event_body(event, event_id=event_id)
        status, _ = await self.post(body, content_type="application/json", retry_num=retry_num)
        return status


@asynccontextmanager
async def running_app(
    resolver: Resolver, registry: Registry, **overrides: Any
) -> AsyncIterator[Harness]:
    """Start the recording Slack server and the app (HTTP mode); yield the harness."""
    async with SlackApiRecorder() as slack:
        settings = app_settings(slack, **overrides)
        services = build_services(settings, resolver=resolver, registry=registry)
        bolt = build_bolt_app(services, Mode.HTTP)
        runner, port = await start_web_app(build_web_app(services, bolt), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{port}/slack/events"
                yield Harness(url, slack, services, session)
        finally:
            await runner.cleanup()
