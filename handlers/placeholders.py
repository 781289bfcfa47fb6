"""Answers for Slack names that a later feature owns (the approval flow), until it is installed.

They are registered last, so a feature registered before them takes the same ids over.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.services import Services
from handlers import blocks as bk
from handlers import ids
from handlers.reply import Destination

NOT_ENABLED = (
    "High-risk requests (callback and two approvals) are not enabled on this deskguard yet: "
    "call the vendor back on the registry number and follow your desk's manual approval process."
)


def register(app: AsyncApp, services: Services) -> None:
    """Register the approval flow's button and global shortcut with a "not enabled" answer."""

    async def not_enabled(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = str(body["user"]["id"])
        response_url = body.get("response_url")
        destination = Destination(client, user, response_url=response_url, channel=user)
        if not response_url:
            destination.ephemeral = False
        await destination.send(NOT_ENABLED, bk.problem_blocks(NOT_ENABLED))

    app.action(ids.ACTION_START_REQUEST)(not_enabled)
    app.shortcut(ids.SHORTCUT_NEW_REQUEST)(not_enabled)
