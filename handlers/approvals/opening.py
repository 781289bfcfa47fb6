"""Opening a high-risk request: the request modal, its submission, the verification it keeps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.approvals.machine import MAX_SUMMARY, RequestKind, refuse
from bot.errors import StoreError
from bot.report import Report
from handlers import blocks as bk
from handlers import ids
from handlers.approvals import modal_blocks, pieces
from handlers.approvals.cards import post_card
from handlers.approvals.forms import (
    checked_text,
    choice,
    failure_text,
    private_metadata,
    state_values,
)
from handlers.approvals.slack_roles import LookupFailed
from handlers.approvals.ui import ApprovalsUi
from handlers.reply import Destination, web_call

NOT_CONFIGURED = (
    "High-risk requests need an approvals channel: set DESKGUARD_APPROVALS_CHANNEL to the channel "
    "id where request cards are posted, and invite deskguard to it."
)


def verification_summary(report: Report) -> dict[str, Any]:
    """What a request keeps of the report it was started from (no message text)."""
    return {
        "target": report.target[:300],
        "kind": report.kind.value,
        "verdict": report.verdict.value,
        "reasons": [r.code for r in report.sorted_reasons()][:10],
        "vendor_id": (report.vendor or {}).get("id"),
    }


async def open_modal(
    ui: ApprovalsUi,
    trigger_id: str,
    reply: Destination,
    *,
    vendor_id: str | None = None,
    verification: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Open the request modal (or say why not)."""
    if not ui.services.settings.approvals_channel:
        await reply.send(NOT_CONFIGURED, bk.problem_blocks(NOT_CONFIGURED))
        return
    view = modal_blocks.request_modal(
        ui.services.current_registry.vendors,
        vendor_id=vendor_id,
        verification=verification,
        metadata=metadata,
        keep=ui.keep,
    )
    await web_call(ui.cards.views_open, "views.open", trigger_id=trigger_id, view=view)


async def submit_request(
    ui: ApprovalsUi, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """The request modal's submission: check, store, acknowledge, post the card."""
    user_id = str(body["user"]["id"])
    values = state_values(view)
    errors: dict[str, str] = {}
    registry = ui.services.current_registry
    raw_vendor = choice(values, ids.BLOCK_VENDOR, ids.INPUT_VENDOR)
    vendor = (registry.get(raw_vendor) or registry.find_by_name(raw_vendor)) if raw_vendor else None
    if vendor is None:
        errors[ids.BLOCK_VENDOR] = "Choose a vendor from the registry."
    kind = choice(values, ids.BLOCK_KIND, ids.INPUT_KIND)
    if kind not in {k.value for k in RequestKind}:
        errors[ids.BLOCK_KIND] = "Choose the request type."
    ticket = checked_text(
        values, ids.BLOCK_TICKET, ids.INPUT_TICKET, pieces.MAX_TICKET, "ticket", errors
    )
    summary = checked_text(
        values, ids.BLOCK_SUMMARY, ids.INPUT_SUMMARY, MAX_SUMMARY, "request", errors
    )
    if summary is None and ids.BLOCK_SUMMARY not in errors:
        errors[ids.BLOCK_SUMMARY] = "Say exactly what is requested."
    channel = ui.services.settings.approvals_channel
    if not channel:
        errors[ids.BLOCK_VENDOR] = NOT_CONFIGURED
    if errors or vendor is None or summary is None or not channel:
        await ack(response_action="errors", errors=errors)
        return
    context = private_metadata(view)
    verification = _verification(ui, user_id, context)
    if ticket:
        verification["ticket"] = ticket
    try:
        actor = await ui.actor(user_id)
        if actor.team_id != await ui.people.home_team():
            raise refuse("wrong_workspace", "Only members of this workspace can open requests.")
        request = await ui.service.open_request(
            vendor_id=vendor.id,
            kind=kind,
            summary=summary,
            requester=actor,
            verification=verification,
            channel=channel,
        )
    except (StoreError, LookupFailed) as exc:
        await ack(response_action="errors", errors={ids.BLOCK_SUMMARY: failure_text(exc)})
        return
    await ack()
    await post_card(ui, request, channel)


def _verification(ui: ApprovalsUi, user_id: str, context: Mapping[str, Any]) -> dict[str, Any]:
    entry_id, target = context.get("entry"), context.get("target")
    entry = ui.services.history.find(user_id, entry_id) if isinstance(entry_id, str) else None
    if entry is not None:
        return verification_summary(entry.report)
    return {"target": target[:300]} if isinstance(target, str) and target else {}
