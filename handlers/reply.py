"""Where an answer goes (response_url, an ephemeral message, a DM or thread) and how it is sent.

Every post is made with unfurling off. A failure after the retry handlers gave up raises
:class:`DeliveryError`, which the app's one error handler (handlers/errors.py) logs and reports to
the user by another route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.errors import SlackApiError
from handlers.blockjson import block_dicts

ROUTE_RESPONSE_URL = "response_url"
ROUTE_EPHEMERAL = "chat.postEphemeral"
ROUTE_MESSAGE = "chat.postMessage"


class DeliveryError(SlackApiError):
    """Slack refused or failed an answer after retries; ``route`` names the way it was sent."""

    def __init__(self, route: str, detail: str, *, transient: bool = True) -> None:
        self.route = route
        self.detail = detail
        self.transient = transient
        super().__init__(f"{route} failed: {detail}")


def retry_handlers() -> list[AsyncRetryHandler]:
    """Retry connection errors twice, and wait out a 429's Retry-After (twice at most)."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
    ]


@dataclass
class Destination:
    """Where an answer to one user goes: response_url if given, else an ephemeral message in
    ``channel``, else a message in ``channel`` (or the user's DM), in ``thread_ts`` if set."""

    client: AsyncWebClient
    user: str
    channel: str | None = None
    response_url: str | None = None
    thread_ts: str | None = None
    ephemeral: bool = True

    @property
    def shareable(self) -> bool:
        """A "Share in channel" button makes sense (the answer is private, in a channel)."""
        return self.ephemeral and bool(self.channel) and not str(self.channel).startswith("D")

    async def send(
        self, text: str, blocks: Sequence[Block], *, replace_original: bool = False
    ) -> None:
        """Send the answer; raise DeliveryError when Slack does not take it."""
        if self.response_url:
            await send_response_url(
                self.response_url, text, blocks, replace_original=replace_original
            )
        elif self.ephemeral and self.channel:
            await web_call(
                self.client.chat_postEphemeral,
                ROUTE_EPHEMERAL,
                channel=self.channel,
                user=self.user,
                text=text,
                blocks=blocks,
            )
        else:
            await post_message(
                self.client, self.channel or self.user, text, blocks, thread_ts=self.thread_ts
            )


async def web_call(method: Any, route: str, **kwargs: Any) -> dict[str, Any]:
    """Call a Web API method; turn Slack's errors and network failures into DeliveryError."""
    if kwargs.get("blocks"):
        kwargs["blocks"] = block_dicts(kwargs["blocks"])
    if route in (ROUTE_EPHEMERAL, ROUTE_MESSAGE):
        kwargs.setdefault("unfurl_links", False)
        kwargs.setdefault("unfurl_media", False)
    try:
        response = await method(**kwargs)
    except SdkApiError as exc:
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        raise DeliveryError(
            route,
            f"Slack answered HTTP {status} {error or ''}".strip(),
            transient=status == 429 or status >= 500,
        ) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(route, f"Slack could not be reached: {type(exc).__name__}") from exc
    data = response.data
    return data if isinstance(data, dict) else {}


async def post_message(
    client: AsyncWebClient,
    channel: str,
    text: str,
    blocks: Sequence[Block],
    *,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """chat.postMessage with unfurling off."""
    return await web_call(
        client.chat_postMessage,
        ROUTE_MESSAGE,
        channel=channel,
        text=text,
        blocks=blocks,
        thread_ts=thread_ts,
    )


async def send_response_url(
    url: str, text: str, blocks: Sequence[Block], *, replace_original: bool = False
) -> None:
    """An ephemeral answer through a response_url, with the same retry handlers."""
    webhook = AsyncWebhookClient(url, timeout=10, retry_handlers=retry_handlers())
    try:
        response = await webhook.send(
            text=text,
            blocks=blocks,
            response_type="ephemeral",
            replace_original=replace_original,
            unfurl_links=False,
            unfurl_media=False,
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(
            ROUTE_RESPONSE_URL, f"Slack could not be reached: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise DeliveryError(ROUTE_RESPONSE_URL, f"Slack answered HTTP {response.status_code}")
