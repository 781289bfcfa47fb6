"""The flow's modals: the new request, the approval confirmation (callback, reason, proof), deny."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.approvals.machine import MAX_NOTE, MAX_SUMMARY, Request, Slot
from bot.registry import Ed25519Token, TotpToken, Vendor, display_phone
from handlers import ids
from handlers.approvals.pieces import (
    KIND_LABEL,
    MAX_CONTACT,
    MAX_PROOF,
    MAX_TICKET,
    SLOT_LABEL,
    callback_lines,
    context,
    plain,
    section,
    verification_line,
)
from handlers.blocks import MAX_SELECT_OPTIONS, vendor_chooser
from handlers.text import escape, escape_entities, safe


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
    summary: str | None = None,
) -> View:
    """The "New high-risk request" modal: vendor, request type, ticket, what is asked
    (``summary`` pre-fills it, e.g. from a caller check)."""
    blocks: list[Block] = [
        section(
            "A high-risk request is cleared only after a *technical approver* and a *vendor "
            "manager*, two different people, have each called the vendor back on the registry "
            "number and approved."
        )
    ]
    if verification:
        blocks.append(context(verification_line(verification, keep)))
    vendor_element = vendor_chooser(ids.INPUT_VENDOR, vendors, selected=vendor_id)
    kinds = [Option(text=plain(label), value=kind.value) for kind, label in KIND_LABEL.items()]
    blocks += [
        InputBlock(
            block_id=ids.BLOCK_VENDOR,
            label=plain("Vendor (from the registry)"),
            element=vendor_element,
        ),
        InputBlock(
            block_id=ids.BLOCK_KIND,
            label=plain("Request type"),
            element=StaticSelectElement(
                action_id=ids.INPUT_KIND, placeholder=plain("What kind of request"), options=kinds
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_TICKET,
            label=plain("Ticket reference"),
            optional=True,
            element=PlainTextInputElement(
                action_id=ids.INPUT_TICKET,
                placeholder=plain("INC-12345"),
                max_length=MAX_TICKET,
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_SUMMARY,
            label=plain("What exactly is requested"),
            hint=plain("Who asked, for which account or system, and what should be done.", 150),
            element=PlainTextInputElement(
                action_id=ids.INPUT_SUMMARY,
                multiline=True,
                max_length=MAX_SUMMARY,
                initial_value=summary[:MAX_SUMMARY] if summary else None,
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.VIEW_NEW_REQUEST,
        title=plain("High-risk request", 24),
        submit=plain("Post for approval", 24),
        close=plain("Cancel", 24),
        private_metadata=_metadata(metadata or {}),
        blocks=blocks,
    )


def _numbers(vendor: Vendor) -> list[Option]:
    options = [
        Option(
            text=plain(f"{display_phone(vendor.callback.phone)} (callback line)"),
            value=vendor.callback.phone,
        )
    ]
    seen = {vendor.callback.phone}
    for contact in vendor.contacts:
        if contact.phone and contact.phone not in seen:
            seen.add(contact.phone)
            label = f"{display_phone(contact.phone)} ({contact.name})"
            options.append(Option(text=plain(label), value=contact.phone))
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
        section(
            f"*{SLOT_LABEL[slot]}* for *{escape(vendor.name)}*: {KIND_LABEL[request.kind]}\n"
            f"*What is asked:* {safe(request.summary, keep, MAX_SUMMARY)}"
        ),
        section(callback_lines(vendor)),
        InputBlock(
            block_id=ids.BLOCK_PHONE,
            label=plain("Registry number you called"),
            element=StaticSelectElement(
                action_id=ids.INPUT_PHONE, options=numbers, initial_option=numbers[0]
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_CONTACT,
            label=plain("Who you spoke with"),
            hint=plain(f"Named contacts: {contacts}", 150),
            element=PlainTextInputElement(action_id=ids.INPUT_CONTACT, max_length=MAX_CONTACT),
        ),
        InputBlock(
            block_id=ids.BLOCK_CALLED,
            label=plain(
                f"Callback: I called the registry number chosen above (the callback line is "
                f"{display_phone(vendor.callback.phone)}) and spoke with the person I named",
                2000,
            ),
            element=CheckboxesElement(
                action_id=ids.INPUT_CALLED,
                options=[
                    Option(
                        text=plain("I called back and spoke with them"),
                        description=plain("Not on a number given in the request or email."),
                        value="called_back",
                    )
                ],
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_REASON,
            label=plain("Reason"),
            hint=plain("What the vendor confirmed on the call, and why this should go ahead.", 150),
            element=PlainTextInputElement(
                action_id=ids.INPUT_REASON, multiline=True, max_length=MAX_NOTE - MAX_CONTACT - 20
            ),
        ),
    ]
    if isinstance(vendor.token, TotpToken):
        blocks.append(
            InputBlock(
                block_id=ids.BLOCK_PROOF,
                label=plain("Vendor's one-time code"),
                hint=plain(
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
                section(f"*Challenge for the vendor to sign:*\n`{escape_entities(challenge)}`")
            )
        blocks.append(
            InputBlock(
                block_id=ids.BLOCK_PROOF,
                label=plain("Vendor's signature over the challenge"),
                hint=plain("Read the challenge to the vendor; paste their signature.", 150),
                element=PlainTextInputElement(
                    action_id=ids.INPUT_PROOF, multiline=True, max_length=MAX_PROOF
                ),
            )
        )
    return View(
        type="modal",
        callback_id=ids.VIEW_APPROVE,
        title=plain("Approve request", 24),
        submit=plain("Approve", 24),
        close=plain("Cancel", 24),
        private_metadata=_metadata({"r": request.id, "s": slot.value, "p": proof_kind}),
        blocks=blocks,
    )


def deny_modal(request: Request, *, keep: frozenset[str] = frozenset()) -> View:
    """Deny needs a reason."""
    return View(
        type="modal",
        callback_id=ids.VIEW_DENY,
        title=plain("Deny request", 24),
        submit=plain("Deny", 24),
        close=plain("Cancel", 24),
        private_metadata=_metadata({"r": request.id}),
        blocks=[
            section(
                f"Deny the request for *{escape(request.vendor_name)}* "
                f"({KIND_LABEL[request.kind]}): {safe(request.summary, keep, MAX_SUMMARY)}"
            ),
            InputBlock(
                block_id=ids.BLOCK_REASON,
                label=plain("Reason (required)"),
                element=PlainTextInputElement(
                    action_id=ids.INPUT_REASON, multiline=True, max_length=MAX_NOTE
                ),
            ),
        ],
    )
