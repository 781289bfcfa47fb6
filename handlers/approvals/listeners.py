"""The flow's Bolt listeners: buttons, the shortcut and the modals, wired to the flow's steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.services import Services
from handlers import blocks as bk
from handlers import ids
from handlers.approvals.deciding import click, submit_approval, submit_denial
from handlers.approvals.forms import json_object
from handlers.approvals.opening import open_modal, submit_request, verification_summary
from handlers.approvals.ui import ApprovalsUi
from handlers.reply import Destination


def register_approvals(app: AsyncApp, services: Services) -> None:
    """Register the flow's listeners; without an approval service, cards' buttons say so."""
    if services.approvals is None:

        async def not_enabled(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            text = "High-risk requests are not enabled on this deskguard; nothing was changed."
            await _reply(client, body).send(text, bk.problem_blocks(text))

        app.action(ids.ACTION_APPROVE)(not_enabled)
        app.action(ids.ACTION_DENY)(not_enabled)
        return
    ui = ApprovalsUi(services, services.approvals, app.client)

    @app.action(ids.ACTION_START_REQUEST)
    async def start_from_report(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        user_id = str(body["user"]["id"])
        value = json_object(action.get("value"))
        entry_id, target = value.get("entry"), value.get("target")
        entry = services.history.find(user_id, entry_id) if isinstance(entry_id, str) else None
        vendor_id = value.get("vendor_id")
        verification = verification_summary(entry.report) if entry else None
        metadata = {
            "entry": entry_id if isinstance(entry_id, str) else None,
            "target": target[:300] if isinstance(target, str) else None,
        }
        reply = _reply(ui.cards, body)
        await open_modal(
            ui,
            str(body["trigger_id"]),
            reply,
            vendor_id=vendor_id if isinstance(vendor_id, str) else None,
            verification=verification,
            metadata=metadata,
        )

    @app.shortcut(ids.SHORTCUT_NEW_REQUEST)
    async def new_request(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await open_modal(ui, str(body.get("trigger_id") or ""), _reply(ui.cards, body))

    @app.view(ids.VIEW_NEW_REQUEST)
    async def request_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await submit_request(ui, ack, body, view)

    @app.action(ids.ACTION_APPROVE)
    async def approve_clicked(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await click(ui, body, action, approve=True)

    @app.action(ids.ACTION_DENY)
    async def deny_clicked(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await click(ui, body, action, approve=False)

    @app.view(ids.VIEW_APPROVE)
    async def approval_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await submit_approval(ui, ack, body, view)

    @app.view(ids.VIEW_DENY)
    async def denial_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await submit_denial(ui, ack, body, view)


def _reply(client: AsyncWebClient, body: Mapping[str, Any]) -> Destination:
    """Where to answer a button or shortcut: its response_url, else a DM."""
    user_id = str(body["user"]["id"])
    response_url = body.get("response_url")
    if isinstance(response_url, str) and response_url:
        return Destination(client, user_id, response_url=response_url)
    return Destination(client, user_id, channel=user_id, ephemeral=False)
