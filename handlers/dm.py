"""Direct messages to the bot: an .eml/.msg file (or plain text) is verified, answered in the
thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.services import Services
from handlers import ids
from handlers.files import answer_message
from handlers.reply import Destination

HANDLED_SUBTYPES = (None, "file_share")


def register(app: AsyncApp, services: Services) -> None:
    """Register the message listener (message.im)."""

    @app.event(ids.EVENT_MESSAGE)
    async def direct_message(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id"):
            return
        if event.get("subtype") not in HANDLED_SUBTYPES or not event.get("user"):
            return
        if not event.get("files") and not str(event.get("text") or "").strip():
            return
        destination = Destination(
            client,
            user=str(event["user"]),
            channel=str(event["channel"]),
            thread_ts=str(event.get("thread_ts") or event["ts"]),
            ephemeral=False,
        )
        await answer_message(services, event, destination)
