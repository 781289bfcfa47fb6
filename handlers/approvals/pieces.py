"""Block Kit pieces shared by the request card, the modals and the messages of the countersign flow.

Labels, times, mentions, the Approve / Deny button value, and the verification and callback lines.
Nothing here calls Slack. Every piece of text a person typed goes through
:func:`handlers.blocks.safe` (defanged, ``&<>`` escaped) or into ``plain_text``; user ids come
from the store, which only keeps Slack-shaped identifiers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.approvals.machine import Event, RequestKind, Slot, State
from bot.registry import Vendor, display_phone
from handlers.blocks import MAX_SECTION
from handlers.text import escape, escape_entities, safe

MAX_TICKET = 64  # what people type: a ticket reference, a contact's name, a proof
MAX_CONTACT = 100
MAX_PROOF = 200

KIND_LABEL = {
    RequestKind.CREDENTIAL_RESET: "Credential reset",
    RequestKind.MFA_RESET: "MFA reset",
    RequestKind.SYSTEM_ACCESS: "System access",
    RequestKind.SOFTWARE_INSTALL: "Software install",
    RequestKind.OTHER: "Other",
}
SLOT_LABEL = {Slot.TECHNICAL: "Technical approval", Slot.VENDOR_MANAGER: "Vendor manager approval"}
ROLE_LABEL = {Slot.TECHNICAL: "technical approver", Slot.VENDOR_MANAGER: "vendor manager"}
STATE_WORDS: dict[str, str] = {  # State and Event are str enums: plain strings look up
    State.PENDING: "waiting for two approvals",
    State.PARTIALLY_APPROVED: "waiting for the second approval",
    State.CLEARED: "cleared",
    State.DENIED: "denied",
    State.EXPIRED: "expired",
    State.CANCELLED: "cancelled",
}
EVENT_WORDS: dict[str, str] = {
    "open": "opened",
    Event.APPROVE_TECHNICAL: "technical approval",
    Event.APPROVE_VENDOR_MANAGER: "vendor manager approval",
    Event.DENY: "denied",
    Event.CANCEL: "cancelled",
    Event.EXPIRE: "expired",
}


def state_words(state: str) -> str:
    """A request state as people say it ("waiting for the second approval"), never its code."""
    return STATE_WORDS.get(state) or state.replace("_", " ")


def event_words(event: str) -> str:
    """An audit event as people say it ("technical approval"), never its code."""
    return EVENT_WORDS.get(event) or event.replace("_", " ")


_VERDICT_MARK = {
    "verified": ":white_check_mark: Verified",
    "unverified": ":grey_question: Unverified",
    "suspicious": ":warning: Suspicious",
    "spoofed": ":no_entry: Spoofed",
}


def plain(text: str, limit: int = 75) -> PlainTextObject:
    """Plain text cut to ``limit`` characters (Slack refuses longer labels)."""
    return PlainTextObject(text=text if len(text) <= limit else text[: limit - 1] + "…", emoji=True)


def section(text: str) -> SectionBlock:
    """A mrkdwn section cut to Slack's limit (``text`` is already escaped)."""
    if len(text) > MAX_SECTION:
        text = text[: MAX_SECTION - 1] + "…"
    return SectionBlock(text=MarkdownTextObject(text=text))


def context(text: str) -> ContextBlock:
    """A one-line mrkdwn context block (``text`` is already escaped)."""
    return ContextBlock(elements=[MarkdownTextObject(text=text[:MAX_SECTION])])


def when(moment: dt.datetime) -> str:
    """A time every reader sees in their own zone, with a UTC fallback."""
    fallback = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def user(user_id: str) -> str:
    """A user mention (ids come from the store: Slack-shaped, escaped anyway)."""
    return f"<@{escape_entities(user_id)}>"


def slot_value(request_id: str, slot: Slot) -> str:
    """The Approve / Deny button value: ``<request id>|<slot>``."""
    return f"{request_id}|{slot.value}"


def parse_slot_value(value: object) -> tuple[str, Slot] | None:
    """Inverse of :func:`slot_value`; None for anything else."""
    if not isinstance(value, str) or value.count("|") != 1:
        return None
    request_id, _, slot = value.partition("|")
    try:
        return request_id, Slot(slot)
    except ValueError:
        return None


def verification_line(verification: Mapping[str, Any], keep: frozenset[str]) -> str:
    """The verification attached to a request (from a report), or that there is none."""
    verdict = verification.get("verdict")
    target = verification.get("target")
    if not isinstance(verdict, str) or verdict not in _VERDICT_MARK:
        if isinstance(target, str) and target:
            return (
                f"*Verification:* none attached (the report on {safe(target, keep, 200)} had "
                "expired); verify the sender before approving."
            )
        return "*Verification:* none attached; verify the sender before approving."
    line = f"*Verification:* {_VERDICT_MARK[verdict]}"
    if isinstance(target, str) and target:
        line += f": {safe(target, keep, 200)}"
    reasons = verification.get("reasons")
    if isinstance(reasons, list) and reasons:
        codes = ", ".join(f"`{escape(str(code)[:40])}`" for code in reasons[:6])
        line += f" ({codes})"
    return line


def callback_lines(vendor: Vendor | None) -> str:
    """The registry's callback instructions: number, instructions, hours, named contacts."""
    if vendor is None:
        return (
            ":no_entry: *This vendor is no longer in the registry*: there is no verified number "
            "to call back, so the request cannot be approved."
        )
    callback = vendor.callback
    lines = [
        f":telephone_receiver: *Call back before approving:* {display_phone(callback.phone)}: "
        f"{escape(callback.instructions)}"
    ]
    if callback.hours:
        lines.append(f"*Hours:* {escape(callback.hours)}")
    if vendor.contacts:
        people = [
            f"• {escape(c.name)}, {escape(c.role)}"
            + (f", {display_phone(c.phone)}" if c.phone else "")
            for c in vendor.contacts
        ]
        lines.append("*Named contacts:*\n" + "\n".join(people))
    else:
        lines.append("*Named contacts:* none on file")
    lines.append("_Only call the registry's numbers: never a number from the request itself._")
    return "\n".join(lines)
