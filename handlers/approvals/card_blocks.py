"""The request card: who asks what of whom, the callback, both approval slots and their buttons."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, HeaderBlock

from bot.approvals.machine import MAX_SUMMARY, Request, Slot, State
from bot.registry import Vendor
from handlers import ids
from handlers.approvals.pieces import (
    KIND_LABEL,
    MAX_TICKET,
    ROLE_LABEL,
    SLOT_LABEL,
    callback_lines,
    context,
    plain,
    section,
    slot_value,
    user,
    verification_line,
    when,
)
from handlers.blocks import escape, safe

STATE_LABEL = {
    State.PENDING: ":hourglass_flowing_sand: *Pending*: needs a technical approval and a vendor "
    "manager approval, from two different people.",
    State.PARTIALLY_APPROVED: ":hourglass_flowing_sand: *One approval of two*",
    State.CLEARED: ":white_check_mark: *Cleared*",
    State.DENIED: ":no_entry: *Denied*",
    State.EXPIRED: ":alarm_clock: *Expired* without two approvals",
    State.CANCELLED: ":heavy_multiplication_x: *Cancelled* by the requester",
}


def _slot_line(request: Request, slot: Slot) -> str:
    approval = request.slot(slot)
    if approval is not None:
        who = f"{user(approval.user_id)}, {when(approval.at)}"
        return f"*{SLOT_LABEL[slot]}:* :white_check_mark: approved by {who}"
    if request.state.is_open:
        return f"*{SLOT_LABEL[slot]}:* waiting for a {ROLE_LABEL[slot]}"
    return f"*{SLOT_LABEL[slot]}:* not given"


def _status_line(request: Request, keep: frozenset[str]) -> str:
    line = STATE_LABEL[request.state]
    if request.state is State.PARTIALLY_APPROVED:
        missing = Slot.VENDOR_MANAGER if request.technical else Slot.TECHNICAL
        line += f": waiting for a {ROLE_LABEL[missing]} (someone other than the first approver)."
    elif request.state is State.CLEARED and request.closed_at:
        line += f" {when(request.closed_at)}: two people approved after calling back."
    elif request.state is State.DENIED:
        who = f" by {user(request.closed_by)}" if request.closed_by else ""
        at = f", {when(request.closed_at)}" if request.closed_at else ""
        line += f"{who}{at}"
        if request.close_reason:
            line += f": {safe(request.close_reason, keep, 500)}"
    elif request.state in (State.EXPIRED, State.CANCELLED) and request.closed_at:
        line += f", {when(request.closed_at)}"
    if request.state.is_open:
        line += f"\nExpires {when(request.expires_at)}."
    return line


def card_text(request: Request) -> str:
    """The notification text of a card."""
    kind = KIND_LABEL[request.kind]
    return f"High-risk request ({kind}) for {request.vendor_name}: {request.state.value}"


def card_blocks(
    request: Request,
    vendor: Vendor | None,
    *,
    challenges: Mapping[Slot, str | None] | None = None,
    keep: frozenset[str] = frozenset(),
) -> list[Block]:
    """The request card: who asks what of whom, the callback, both slots and their buttons.

    ``challenges`` holds, per slot, the text an Ed25519 vendor signs (shown while the slot is
    open). Buttons appear only while the request is open, and only on unsigned slots.
    """
    challenges = challenges or {}
    ticket = request.verification.get("ticket")
    facts = [
        f"*Vendor:* {escape(request.vendor_name)} (registry id `{escape(request.vendor_id)}`)",
        f"*Requested by:* {user(request.requester_id)}, {when(request.created_at)}",
        f"*What is asked:* {safe(request.summary, keep, MAX_SUMMARY)}",
    ]
    if isinstance(ticket, str) and ticket:
        facts.append(f"*Ticket:* {safe(ticket, keep, MAX_TICKET)}")
    facts.append(verification_line(request.verification, keep))
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"High-risk request: {KIND_LABEL[request.kind]}", 150)),
        section("\n".join(facts)),
        section(callback_lines(vendor)),
        DividerBlock(),
    ]
    for slot in Slot:
        blocks.append(section(_slot_line(request, slot)))
        open_slot = request.state.is_open and request.slot(slot) is None
        challenge = challenges.get(slot)
        if open_slot and challenge:
            blocks.append(context(f"Challenge for the vendor to sign: `{escape(challenge)}`"))
        if open_slot:
            blocks.append(
                ActionsBlock(
                    block_id=f"slot_{slot.value}",
                    elements=[
                        ButtonElement(
                            text=plain("Approve"),
                            action_id=ids.ACTION_APPROVE,
                            value=slot_value(request.id, slot),
                            style="primary",
                        ),
                        ButtonElement(
                            text=plain("Deny"),
                            action_id=ids.ACTION_DENY,
                            value=slot_value(request.id, slot),
                            style="danger",
                        ),
                    ],
                )
            )
    blocks.append(DividerBlock())
    blocks.append(section(_status_line(request, keep)))
    blocks.append(context(f"Request `{escape(request.id)}`: `/verify-vendor audit {request.id}`"))
    return blocks
