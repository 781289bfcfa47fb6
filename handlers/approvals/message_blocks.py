"""The flow's messages: the requester's DMs (posted, outcome) and the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.approvals.audit import AuditEvent
from bot.approvals.machine import MAX_SUMMARY, Request, State
from bot.registry import display_phone
from handlers.approvals.pieces import KIND_LABEL, context, section, user
from handlers.blocks import MAX_SECTION, escape, safe

MAX_AUDIT_EVENTS = 40


def outcome_text(request: Request) -> str:
    """The requester's DM once a request is final (escaped mrkdwn)."""
    what = f"Your high-risk request `{request.id}` ({KIND_LABEL[request.kind]} for " + (
        f"{escape(request.vendor_name)})"
    )
    if request.state is State.CLEARED and request.technical and request.vendor_manager:
        return (
            f":white_check_mark: {what} is *cleared*: approved by {user(request.technical.user_id)}"
            f" (technical) and {user(request.vendor_manager.user_id)} (vendor manager), each after "
            "calling the vendor back. You may go ahead."
        )
    if request.state is State.DENIED:
        reason = f": {escape(request.close_reason)}" if request.close_reason else ""
        who = user(request.closed_by) if request.closed_by else "an approver"
        return f":no_entry: {what} was *denied* by {who}{reason}. Do not go ahead."
    if request.state is State.EXPIRED:
        return (
            f":alarm_clock: {what} *expired* without two approvals. Do not go ahead; open a new "
            "request if it is still needed."
        )
    return f"{what} is now {request.state.value.replace('_', ' ')}."


def opened_text(request: Request, channel: str) -> str:
    """The requester's confirmation that the card was posted."""
    return (
        f"Your high-risk request `{request.id}` ({KIND_LABEL[request.kind]} for "
        f"{escape(request.vendor_name)}) is posted in <#{escape(channel)}>. It needs a technical "
        "approver and a vendor manager, each after calling the vendor back; you will get a "
        "message here with the outcome."
    )


def message_blocks(text: str) -> list[Block]:
    """One section of already-escaped mrkdwn."""
    return [section(text)]


def _event_line(event: AuditEvent, keep: frozenset[str]) -> str:
    stamp = event.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    change = event.to_state if not event.from_state else f"{event.from_state} → {event.to_state}"
    line = f"• {stamp}: *{escape(event.event)}* by {user(event.actor_id)} ({change})"
    evidence = dict(event.evidence)
    shown = []
    if evidence.get("callback_phone"):
        shown.append(f"called {display_phone(evidence['callback_phone'])}")
    elif evidence.get("callback"):
        shown.append("callback attested")
    if evidence.get("proof") and evidence["proof"] != "none":
        shown.append(f"vendor proof: {escape(evidence['proof'])}")
    if shown:
        line += "; " + ", ".join(shown)
    if event.note:
        line += f"\n    _{safe(event.note, keep, 300)}_"
    return line


def audit_blocks(
    request: Request, events: Sequence[AuditEvent], *, keep: frozenset[str] = frozenset()
) -> list[Block]:
    """``/verify-vendor audit <id>``: the request and its trail, oldest first."""
    head = (
        f"*Audit trail of request `{escape(request.id)}`*: {escape(request.vendor_name)}, "
        f"{KIND_LABEL[request.kind]}, now *{request.state.value.replace('_', ' ')}*\n"
        f"*What is asked:* {safe(request.summary, keep, MAX_SUMMARY)}"
    )
    blocks: list[Block] = [section(head)]
    lines = [_event_line(e, keep) for e in events[-MAX_AUDIT_EVENTS:]]
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > MAX_SECTION - 50:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if len(events) > MAX_AUDIT_EVENTS:
        blocks.append(context(f"Only the last {MAX_AUDIT_EVENTS} events are shown."))
    blocks.append(context("The full trail: `deskguard audit export`."))
    return blocks[:50]
