"""The one error handler: log every failure, and tell the user by another route when possible.

A :class:`~handlers.reply.DeliveryError` (Slack refused an answer) is reported through a different
route than the one that failed; any other exception gets a short apology with a reference id that
matches the log line.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import DeskguardError
from handlers import blocks as bk
from handlers.reply import (
    ROUTE_EPHEMERAL,
    ROUTE_MESSAGE,
    ROUTE_RESPONSE_URL,
    DeliveryError,
    Destination,
)

log = logging.getLogger("deskguard.slack")


def _who(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(user, channel, response_url) of the request that failed, from any payload type."""
    event = body.get("event") if isinstance(body.get("event"), dict) else None
    if event is not None:
        return event.get("user"), event.get("channel"), None
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    response_url = body.get("response_url")
    if not response_url and body.get("response_urls"):
        response_url = body["response_urls"][0].get("response_url")
    return user, channel, response_url


def user_message(error: Exception, reference: str) -> str:
    """What the user is told."""
    if isinstance(error, DeliveryError):
        return (
            f"deskguard could not deliver its answer: {error.detail}. Try again in a minute "
            f"(reference {reference})."
        )
    if isinstance(error, DeskguardError):
        return f"deskguard could not finish: {error} (reference {reference})."
    return (
        "deskguard hit an unexpected error and did not finish the check; nothing was verified. "
        f"Try again, or tell your deskguard admins (reference {reference})."
    )


def fallback_destinations(
    body: dict[str, Any], client: AsyncWebClient, failed_route: str | None
) -> list[Destination]:
    """Routes to tell the user, best first, skipping the route that just failed."""
    user, channel, response_url = _who(body)
    if not user:
        return []
    routes: list[tuple[str, Destination]] = []
    if response_url:
        routes.append((ROUTE_RESPONSE_URL, Destination(client, user, response_url=response_url)))
    if channel:
        routes.append((ROUTE_EPHEMERAL, Destination(client, user, channel=channel)))
    routes.append((ROUTE_MESSAGE, Destination(client, user, channel=user, ephemeral=False)))
    return [d for route, d in routes if route != failed_route]


async def handle_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Log the error and tell the user, trying each fallback route once."""
    reference = secrets.token_hex(4)
    kind = body.get("type") or ("command" if body.get("command") else "unknown")
    log.error("slack handler failed", exc_info=error, extra={"reference": reference, "kind": kind})
    text = user_message(error, reference)
    failed = error.route if isinstance(error, DeliveryError) else None
    for destination in fallback_destinations(body, client, failed):
        try:
            await destination.send(text, bk.problem_blocks(text))
            return
        except DeliveryError as again:
            log.error("could not tell the user either: %s (reference %s)", again, reference)


def register(app: AsyncApp) -> None:
    """Install the app-wide error handler."""
    app.error(handle_error)
