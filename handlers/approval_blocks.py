"""Pure Block Kit builders for the countersign flow: the request card, modals, DMs, the audit.

Nothing here calls Slack. Every piece of text a person typed (what is asked, the ticket, reasons)
goes through :func:`handlers.blocks.safe` (defanged, ``&<>`` escaped) or into ``plain_text``;
user ids come from the store, which only keeps Slack-shaped identifiers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.approvals.audit import AuditEvent
from bot.approvals.machine import MAX_NOTE, MAX_SUMMARY, Request, RequestKind, Slot, State
from bot.registry import Ed25519Token, TotpToken, Vendor, display_phone
from handlers import ids
from handlers.blocks import MAX_SECTION, escape, escape_entities, safe

MAX_SELECT_OPTIONS = 100  # Slack's limit for a static_select
MAX_TICKET = 64
MAX_CONTACT = 100
MAX_PROOF = 200
MAX_AUDIT_EVENTS = 40

KIND_LABEL = {
    RequestKind.CREDENTIAL_RESET: "Credential reset",
    RequestKind.MFA_RESET: "MFA reset",
    RequestKind.SYSTEM_ACCESS: "System access",
    RequestKind.SOFTWARE_INSTALL: "Software install",
    RequestKind.OTHER: "Other",
}
SLOT_LABEL = {Slot.TECHNICAL: "Technical approval", Slot.VENDOR_MANAGER: "Vendor manager approval"}
ROLE_LABEL = {Slot.TECHNICAL: "technical approver", Slot.VENDOR_MANAGER: "vendor manager"}
STATE_LABEL = {
    State.PENDING: ":hourglass_flowing_sand: *Pending*: needs a technical approval and a vendor "
    "manager approval, from two different people.",
    State.PARTIALLY_APPROVED: ":hourglass_flowing_sand: *One approval of two*",
    State.CLEARED: ":white_check_mark: *Cleared*",
    State.DENIED: ":no_entry: *Denied*",
    State.EXPIRED: ":alarm_clock: *Expired* without two approvals",
    State.CANCELLED: ":heavy_multiplication_x: *Cancelled* by the requester",
}
_VERDICT_MARK = {
    "verified": ":white_check_mark: Verified",
    "unverified": ":grey_question: Unverified",
    "suspicious": ":warning: Suspicious",
    "spoofed": ":no_entry: Spoofed",
}


def _plain(text: str, limit: int = 75) -> PlainTextObject:
    return PlainTextObject(text=text if len(text) <= limit else text[: limit - 1] + "…", emoji=True)


def _section(text: str) -> SectionBlock:
    if len(text) > MAX_SECTION:
        text = text[: MAX_SECTION - 1] + "…"
    return SectionBlock(text=MarkdownTextObject(text=text))


def _context(text: str) -> ContextBlock:
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


# --- the request card -------------------------------------------------------------------------


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
        f"*Vendor:* {escape(request.vendor_name)} "
        f"(registry id `{escape_entities(request.vendor_id)}`)",
        f"*Requested by:* {user(request.requester_id)}, {when(request.created_at)}",
        f"*What is asked:* {safe(request.summary, keep, MAX_SUMMARY)}",
    ]
    if isinstance(ticket, str) and ticket:
        facts.append(f"*Ticket:* {safe(ticket, keep, MAX_TICKET)}")
    facts.append(verification_line(request.verification, keep))
    blocks: list[Block] = [
        HeaderBlock(text=_plain(f"High-risk request: {KIND_LABEL[request.kind]}", 150)),
        _section("\n".join(facts)),
        _section(callback_lines(vendor)),
        DividerBlock(),
    ]
    for slot in Slot:
        blocks.append(_section(_slot_line(request, slot)))
        open_slot = request.state.is_open and request.slot(slot) is None
        challenge = challenges.get(slot)
        if open_slot and challenge:
            blocks.append(
                _context(f"Challenge for the vendor to sign: `{escape_entities(challenge)}`")
            )
        if open_slot:
            blocks.append(
                ActionsBlock(
                    block_id=f"slot_{slot.value}",
                    elements=[
                        ButtonElement(
                            text=_plain("Approve"),
                            action_id=ids.ACTION_APPROVE,
                            value=slot_value(request.id, slot),
                            style="primary",
                        ),
                        ButtonElement(
                            text=_plain("Deny"),
                            action_id=ids.ACTION_DENY,
                            value=slot_value(request.id, slot),
                            style="danger",
                        ),
                    ],
                )
            )
    blocks.append(DividerBlock())
    blocks.append(_section(_status_line(request, keep)))
    blocks.append(
        _context(f"Request `{escape_entities(request.id)}`: `/verify-vendor audit {request.id}`")
    )
    return blocks


# --- modals -----------------------------------------------------------------------------------


def _metadata(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"))
    return text if len(text) <= 3000 else "{}"


def request_modal(
    vendors: Sequence[Vendor],
    *,
    vendor_id: str | None = None,
    verification: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    keep: frozenset[str] = frozenset(),
) -> View:
    """The "New high-risk request" modal: vendor, request type, ticket, what is asked."""
    blocks: list[Block] = [
        _section(
            "A high-risk request is cleared only after a *technical approver* and a *vendor "
            "manager*, two different people, have each called the vendor back on the registry "
            "number and approved."
        )
    ]
    if verification:
        blocks.append(_context(verification_line(verification, keep)))
    ordered = sorted(vendors, key=lambda v: v.name.lower())
    if len(ordered) <= MAX_SELECT_OPTIONS:
        options = [Option(text=_plain(v.name), value=v.id) for v in ordered]
        initial = next(
            (o for o, v in zip(options, ordered, strict=True) if v.id == vendor_id), None
        )
        vendor_element: StaticSelectElement | PlainTextInputElement = StaticSelectElement(
            action_id=ids.INPUT_VENDOR,
            placeholder=_plain("Choose the vendor"),
            options=options,
            initial_option=initial,
        )
    else:
        vendor_element = PlainTextInputElement(
            action_id=ids.INPUT_VENDOR,
            placeholder=_plain("Vendor name or registry id"),
            initial_value=vendor_id or None,
            max_length=100,
        )
    kinds = [Option(text=_plain(label), value=kind.value) for kind, label in KIND_LABEL.items()]
    blocks += [
        InputBlock(
            block_id=ids.BLOCK_VENDOR,
            label=_plain("Vendor (from the registry)"),
            element=vendor_element,
        ),
        InputBlock(
            block_id=ids.BLOCK_KIND,
            label=_plain("Request type"),
            element=StaticSelectElement(
                action_id=ids.INPUT_KIND, placeholder=_plain("What kind of request"), options=kinds
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_TICKET,
            label=_plain("Ticket reference"),
            optional=True,
            element=PlainTextInputElement(
                action_id=ids.INPUT_TICKET,
                placeholder=_plain("INC-12345"),
                max_length=MAX_TICKET,
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_SUMMARY,
            label=_plain("What exactly is requested"),
            hint=_plain("Who asked, for which account or system, and what should be done.", 150),
            element=PlainTextInputElement(
                action_id=ids.INPUT_SUMMARY, multiline=True, max_length=MAX_SUMMARY
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.VIEW_NEW_REQUEST,
        title=_plain("High-risk request", 24),
        submit=_plain("Post for approval", 24),
        close=_plain("Cancel", 24),
        private_metadata=_metadata(metadata or {}),
        blocks=blocks,
    )


def _numbers(vendor: Vendor) -> list[Option]:
    options = [
        Option(
            text=_plain(f"{display_phone(vendor.callback.phone)} (callback line)"),
            value=vendor.callback.phone,
        )
    ]
    seen = {vendor.callback.phone}
    for contact in vendor.contacts:
        if contact.phone and contact.phone not in seen:
            seen.add(contact.phone)
            label = f"{display_phone(contact.phone)} ({contact.name})"
            options.append(Option(text=_plain(label), value=contact.phone))
    return options[:MAX_SELECT_OPTIONS]


def approve_modal(
    request: Request,
    slot: Slot,
    vendor: Vendor,
    *,
    challenge: str | None = None,
    keep: frozenset[str] = frozenset(),
) -> View:
    """The confirmation: which registry number was called, who answered, a reason, the proof."""
    numbers = _numbers(vendor)
    proof_kind = vendor.token.type if vendor.token is not None else None
    contacts = ", ".join(f"{c.name} ({c.role})" for c in vendor.contacts) or "none on file"
    blocks: list[Block] = [
        _section(
            f"*{SLOT_LABEL[slot]}* for *{escape(vendor.name)}*: {KIND_LABEL[request.kind]}\n"
            f"*What is asked:* {safe(request.summary, keep, MAX_SUMMARY)}"
        ),
        _section(callback_lines(vendor)),
        InputBlock(
            block_id=ids.BLOCK_PHONE,
            label=_plain("Registry number you called"),
            element=StaticSelectElement(
                action_id=ids.INPUT_PHONE, options=numbers, initial_option=numbers[0]
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_CONTACT,
            label=_plain("Who you spoke with"),
            hint=_plain(f"Named contacts: {contacts}", 150),
            element=PlainTextInputElement(action_id=ids.INPUT_CONTACT, max_length=MAX_CONTACT),
        ),
        InputBlock(
            block_id=ids.BLOCK_CALLED,
            label=_plain(
                f"Callback: I called the registry number chosen above (the callback line is "
                f"{display_phone(vendor.callback.phone)}) and spoke with the person I named",
                2000,
            ),
            element=CheckboxesElement(
                action_id=ids.INPUT_CALLED,
                options=[
                    Option(
                        text=_plain("I called back and spoke with them"),
                        description=_plain("Not on a number given in the request or email."),
                        value="called_back",
                    )
                ],
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_REASON,
            label=_plain("Reason"),
            hint=_plain(
                "What the vendor confirmed on the call, and why this should go ahead.", 150
            ),
            element=PlainTextInputElement(
                action_id=ids.INPUT_REASON, multiline=True, max_length=MAX_NOTE - MAX_CONTACT - 20
            ),
        ),
    ]
    if isinstance(vendor.token, TotpToken):
        blocks.append(
            InputBlock(
                block_id=ids.BLOCK_PROOF,
                label=_plain("Vendor's one-time code"),
                hint=_plain(
                    f"Ask the vendor on the call for the current {vendor.token.digits}-digit code "
                    "from their token. A code works once.",
                    150,
                ),
                element=PlainTextInputElement(action_id=ids.INPUT_PROOF, max_length=16),
            )
        )
    elif isinstance(vendor.token, Ed25519Token):
        if challenge:
            blocks.append(
                _section(f"*Challenge for the vendor to sign:*\n`{escape_entities(challenge)}`")
            )
        blocks.append(
            InputBlock(
                block_id=ids.BLOCK_PROOF,
                label=_plain("Vendor's signature over the challenge"),
                hint=_plain("Read the challenge to the vendor; paste their signature.", 150),
                element=PlainTextInputElement(
                    action_id=ids.INPUT_PROOF, multiline=True, max_length=MAX_PROOF
                ),
            )
        )
    return View(
        type="modal",
        callback_id=ids.VIEW_APPROVE,
        title=_plain("Approve request", 24),
        submit=_plain("Approve", 24),
        close=_plain("Cancel", 24),
        private_metadata=_metadata({"r": request.id, "s": slot.value, "p": proof_kind}),
        blocks=blocks,
    )


def deny_modal(request: Request, *, keep: frozenset[str] = frozenset()) -> View:
    """Deny needs a reason."""
    return View(
        type="modal",
        callback_id=ids.VIEW_DENY,
        title=_plain("Deny request", 24),
        submit=_plain("Deny", 24),
        close=_plain("Cancel", 24),
        private_metadata=_metadata({"r": request.id}),
        blocks=[
            _section(
                f"Deny the request for *{escape(request.vendor_name)}* "
                f"({KIND_LABEL[request.kind]}): {safe(request.summary, keep, MAX_SUMMARY)}"
            ),
            InputBlock(
                block_id=ids.BLOCK_REASON,
                label=_plain("Reason (required)"),
                element=PlainTextInputElement(
                    action_id=ids.INPUT_REASON, multiline=True, max_length=MAX_NOTE
                ),
            ),
        ],
    )


# --- messages ---------------------------------------------------------------------------------


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
        f"{escape(request.vendor_name)}) is posted in <#{escape_entities(channel)}>. It needs a "
        "technical approver and a vendor manager, each after calling the vendor back; you will "
        "get a message here with the outcome."
    )


def message_blocks(text: str) -> list[Block]:
    """One section of already-escaped mrkdwn."""
    return [_section(text)]


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
        f"*Audit trail of request `{escape_entities(request.id)}`*: {escape(request.vendor_name)}, "
        f"{KIND_LABEL[request.kind]}, now *{request.state.value.replace('_', ' ')}*\n"
        f"*What is asked:* {safe(request.summary, keep, MAX_SUMMARY)}"
    )
    blocks: list[Block] = [_section(head)]
    lines = [_event_line(e, keep) for e in events[-MAX_AUDIT_EVENTS:]]
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > MAX_SECTION - 50:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    if len(events) > MAX_AUDIT_EVENTS:
        blocks.append(_context(f"Only the last {MAX_AUDIT_EVENTS} events are shown."))
    blocks.append(_context("The full trail: `deskguard audit export`."))
    return blocks[:50]
