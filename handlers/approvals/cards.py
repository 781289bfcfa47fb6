"""The request card in Slack: post it, refresh it after each transition, DM the requester.

State first, then Slack: these run only after the service stored the transition. ``chat.update``
is retried on connection errors, 429 and 5xx; a Slack failure after the write is logged and told
to the person who acted, and never undoes or repeats the transition.
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.machine import Request, State
from bot.approvals.sweeper import CardUpdater
from bot.runtime.services import Services
from handlers import blocks as bk
from handlers import ids
from handlers.approvals import card_blocks, message_blocks
from handlers.approvals.ui import ApprovalsUi
from handlers.reply import DeliveryError, post_message, web_call

log = logging.getLogger("deskguard.approvals")

_FINAL_DM = (State.CLEARED, State.DENIED, State.EXPIRED)


async def update_card(ui: ApprovalsUi, request: Request) -> None:
    """Refresh the card, then DM the requester if the request is final.

    Raises DeliveryError (after retries) when Slack refused either; both are attempted.
    """
    failures: list[DeliveryError] = []
    place = await ui.service.card(request.id)
    if place is None:
        log.warning("request %s has no card to update", request.id)
    else:
        channel, ts = place
        try:
            await web_call(
                ui.cards.chat_update,
                "chat.update",
                channel=channel,
                ts=ts,
                text=card_blocks.card_text(request),
                blocks=ui.blocks(request),
            )
        except DeliveryError as exc:
            failures.append(exc)
    if request.state in _FINAL_DM:
        text = message_blocks.outcome_text(request)
        try:
            await post_message(
                ui.cards, request.requester_id, text, message_blocks.message_blocks(text)
            )
        except DeliveryError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


async def after_transition(ui: ApprovalsUi, request: Request, user_id: str) -> None:
    """State is stored: refresh Slack, and tell ``user_id`` if Slack failed."""
    try:
        await update_card(ui, request)
    except DeliveryError as exc:
        log.error(
            "request %s is %s but Slack was not updated: %s",
            request.id,
            request.state.value,
            exc,
        )
        where = await ui.service.card(request.id)
        card = f" in <#{where[0]}>" if where else ""
        text = (
            f"Recorded: request `{request.id}` is now *{request.state.value.replace('_', ' ')}*"
            f". But Slack could not be updated ({bk.escape(exc.detail)}), so the card{card} "
            "may be out of date; the record is safe and "
            f"`{ids.COMMAND} audit {request.id}` shows it."
        )
        try:
            await post_message(ui.cards, user_id, text, message_blocks.message_blocks(text))
        except DeliveryError as again:
            log.error("could not tell %s either: %s", user_id, again)


async def post_card(ui: ApprovalsUi, request: Request, channel: str) -> None:
    """Post a new request's card, remember where it is, and tell the requester."""
    try:
        posted = await post_message(
            ui.cards, channel, card_blocks.card_text(request), ui.blocks(request)
        )
    except DeliveryError as exc:
        log.error("request %s is open but its card was not posted: %s", request.id, exc)
        text = (
            f"Your request `{request.id}` is recorded, but its card could not be posted in "
            f"<#{channel}> ({bk.escape(exc.detail)}): is deskguard in that channel? Ask your "
            "deskguard admins; the approvers cannot see it yet."
        )
        await post_message(
            ui.cards, request.requester_id, text, message_blocks.message_blocks(text)
        )
        return
    ts = posted.get("ts")
    if isinstance(ts, str) and ts:
        await ui.service.set_card(request.id, str(posted.get("channel") or channel), ts)
    text = message_blocks.opened_text(request, channel)
    await post_message(ui.cards, request.requester_id, text, message_blocks.message_blocks(text))


def card_updater(client: AsyncWebClient, services: Services) -> CardUpdater:
    """What the expiry sweeper calls for each expired request."""
    if services.approvals is None:
        raise ValueError("the approval service is not configured")
    ui = ApprovalsUi(services, services.approvals, client)

    async def refresh(request: Request) -> None:
        await update_card(ui, request)

    return refresh
