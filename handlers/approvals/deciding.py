"""Approving and denying: the card's buttons (rules checked before a modal opens) and the
confirmation and deny modals' submissions, stored before the modal closes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.approvals.machine import MAX_NOTE, Event, Request, Slot, refuse, transition
from bot.approvals.proof import Proof
from bot.approvals.service import Attestation
from bot.errors import StoreError, TransitionRefused
from handlers import blocks as bk
from handlers import ids
from handlers.approvals import modal_blocks, pieces
from handlers.approvals.cards import after_transition
from handlers.approvals.forms import (
    WHO_FAILED,
    checked_boxes,
    checked_text,
    choice,
    failure_text,
    private_metadata,
    refusal_block,
    state_values,
    text_value,
)
from handlers.approvals.slack_roles import LookupFailed
from handlers.approvals.ui import ApprovalsUi
from handlers.reply import Destination, web_call


async def click(
    ui: ApprovalsUi, body: dict[str, Any], action: dict[str, Any], approve: bool
) -> None:
    """An Approve or Deny button: check first, then open the modal; refusals are ephemeral."""
    user_id = str(body["user"]["id"])
    channel = (body.get("channel") or {}).get("id")
    reply = Destination(ui.cards, user_id, channel=channel)
    if not channel:
        reply = Destination(ui.cards, user_id, channel=user_id, ephemeral=False)
    parsed = pieces.parse_slot_value(action.get("value"))
    if parsed is None:
        text = "That button is not a valid approval button; nothing was changed."
        await reply.send(text, bk.problem_blocks(text))
        return
    request_id, slot = parsed
    try:
        actor = await ui.actor(user_id)
        request = await ui.service.get(request_id)
        actor = actor.with_roles(await ui.service.roles.roles_of(user_id))
        event = slot.event if approve else Event.DENY
        transition(request, event, actor, ui.service.clock(), note="(check)")
        vendor = ui.vendor(request.vendor_id)
        if approve and vendor is None:
            raise refuse("unknown_vendor")
    except TransitionRefused as exc:
        text = f"{exc} Nothing was changed."
        await reply.send(text, bk.problem_blocks(text))
        return
    except LookupFailed:
        await reply.send(WHO_FAILED, bk.problem_blocks(WHO_FAILED))
        return
    await _remember_card(ui, request, body)
    if approve and vendor is not None:
        challenge = ui.service.challenge(request, slot)
        view = modal_blocks.approve_modal(request, slot, vendor, challenge=challenge, keep=ui.keep)
    else:
        view = modal_blocks.deny_modal(request, keep=ui.keep)
    await web_call(ui.cards.views_open, "views.open", trigger_id=body["trigger_id"], view=view)


async def _remember_card(ui: ApprovalsUi, request: Request, body: dict[str, Any]) -> None:
    """A card whose place was not stored (its set_card failed) is learnt from a click."""
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not (isinstance(channel, str) and isinstance(ts, str) and channel and ts):
        return
    if await ui.service.card(request.id) is None:
        await ui.service.set_card(request.id, channel, ts)


async def submit_approval(
    ui: ApprovalsUi, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """The confirmation modal: attestation, reason, proof; stored before it closes."""
    user_id = str(body["user"]["id"])
    context = private_metadata(view)
    values = state_values(view)
    try:
        request_id, slot = str(context["r"]), Slot(str(context["s"]))
    except (KeyError, ValueError):
        await ack(response_action="errors", errors={ids.BLOCK_REASON: "This form is broken."})
        return
    errors: dict[str, str] = {}
    phone = choice(values, ids.BLOCK_PHONE, ids.INPUT_PHONE)
    if not phone:
        errors[ids.BLOCK_PHONE] = "Choose the registry number you called."
    contact = checked_text(
        values, ids.BLOCK_CONTACT, ids.INPUT_CONTACT, pieces.MAX_CONTACT, "name", errors
    )
    if contact is None and ids.BLOCK_CONTACT not in errors:
        errors[ids.BLOCK_CONTACT] = "Say who you spoke with."
    if "called_back" not in checked_boxes(values, ids.BLOCK_CALLED, ids.INPUT_CALLED):
        errors[ids.BLOCK_CALLED] = "Approve only after calling back on a registry number."
    limit = MAX_NOTE - pieces.MAX_CONTACT - 20
    reason = checked_text(values, ids.BLOCK_REASON, ids.INPUT_REASON, limit, "reason", errors)
    if reason is None and ids.BLOCK_REASON not in errors:
        errors[ids.BLOCK_REASON] = "Give a reason."
    proof = _proof(values, context, errors)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    note = f"Spoke with {contact}. {reason}"
    try:
        actor = await ui.actor(user_id)
        request = await ui.service.approve(
            request_id,
            slot,
            actor,
            Attestation(called_back=True, phone=phone),
            reason=note,
            proof=proof,
        )
    except (StoreError, LookupFailed) as exc:
        block = ids.BLOCK_REASON
        if isinstance(exc, TransitionRefused):
            block = refusal_block(exc.reason, ids.BLOCK_PROOF in values)
        await ack(response_action="errors", errors={block: failure_text(exc)})
        return
    await ack()
    await after_transition(ui, request, user_id)


def _proof(
    values: Mapping[str, Any], context: Mapping[str, Any], errors: dict[str, str]
) -> Proof | None:
    """The vendor's proof, when the modal asked for one (the service checks it)."""
    if ids.BLOCK_PROOF not in values:
        return None
    text = text_value(values, ids.BLOCK_PROOF, ids.INPUT_PROOF)
    if not text:
        errors[ids.BLOCK_PROOF] = "Enter the vendor's proof."
        return None
    if len(text) > pieces.MAX_PROOF:
        errors[ids.BLOCK_PROOF] = "The proof is too long."
        return None
    return Proof("ed25519" if context.get("p") == "ed25519" else "totp", text)


async def submit_denial(
    ui: ApprovalsUi, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """The deny modal: a reason is required; stored before it closes."""
    user_id = str(body["user"]["id"])
    request_id = str(private_metadata(view).get("r") or "")
    values = state_values(view)
    errors: dict[str, str] = {}
    reason = checked_text(values, ids.BLOCK_REASON, ids.INPUT_REASON, MAX_NOTE, "reason", errors)
    if reason is None and not errors:
        errors[ids.BLOCK_REASON] = "A reason is required to deny."
    if errors or reason is None:
        await ack(response_action="errors", errors=errors)
        return
    try:
        actor = await ui.actor(user_id)
        request = await ui.service.deny(request_id, actor, reason)
    except (StoreError, LookupFailed) as exc:
        await ack(response_action="errors", errors={ids.BLOCK_REASON: failure_text(exc)})
        return
    await ack()
    await after_transition(ui, request, user_id)
