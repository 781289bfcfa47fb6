"""Pure Block Kit builders for "Check a caller": the modal and the answer's caller lines."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.registry import Vendor, display_phone
from bot.report import Report
from handlers import ids
from handlers.blocks import _plain, vendor_chooser
from handlers.text import escape, safe

MAX_NAME = 100
MAX_NUMBER = 64
MAX_REQUEST = 1000


def caller_modal(vendors: Sequence[Vendor], private_metadata: str = "") -> View:
    """The "Check a caller" modal: claimed vendor, caller's name, number, what they ask for."""
    vendor_element = vendor_chooser(ids.INPUT_CALLER_VENDOR, vendors)
    return View(
        type="modal",
        callback_id=ids.VIEW_CHECK_CALLER,
        title=_plain("Check a caller", 24),
        submit=_plain("Check", 24),
        close=_plain("Cancel", 24),
        private_metadata=private_metadata[:3000],
        blocks=[
            InputBlock(
                block_id=ids.BLOCK_CALLER_VENDOR,
                label=_plain("Claims to be from"),
                element=vendor_element,
            ),
            InputBlock(
                block_id=ids.BLOCK_CALLER_NAME,
                label=_plain("Caller's name"),
                optional=True,
                element=PlainTextInputElement(
                    action_id=ids.INPUT_CALLER_NAME,
                    placeholder=_plain("Sam Okafor"),
                    max_length=MAX_NAME,
                ),
            ),
            InputBlock(
                block_id=ids.BLOCK_CALLER_NUMBER,
                label=_plain("The number they called from or gave"),
                element=PlainTextInputElement(
                    action_id=ids.INPUT_CALLER_NUMBER,
                    placeholder=_plain("+1 206 555 0142"),
                    max_length=MAX_NUMBER,
                ),
            ),
            InputBlock(
                block_id=ids.BLOCK_CALLER_REQUEST,
                label=_plain("What they ask for"),
                optional=True,
                hint=_plain("A password or MFA reset, access, an install, a payment change…", 150),
                element=PlainTextInputElement(
                    action_id=ids.INPUT_CALLER_REQUEST, multiline=True, max_length=MAX_REQUEST
                ),
            ),
        ],
    )


def caller_context(
    report: Report, vendor: Vendor, name: str | None, request: str | None, keep: frozenset[str]
) -> list[Block]:
    """Who called, from which number, claiming which vendor, asking what (all escaped)."""
    parts = [
        f"*Caller:* {safe(name, keep, MAX_NAME) if name else '_no name given_'}",
        f"*Number:* {display_phone(report.target)}",
        f"*Claims to be from:* {escape(vendor.name)}",
    ]
    text = "   ".join(parts)
    if request:
        text += f"\n*Asks for:* {safe(request, keep, 500)}"
    return [ContextBlock(elements=[MarkdownTextObject(text=text)])]


def request_summary(report: Report, vendor: Vendor, name: str | None, request: str | None) -> str:
    """The high-risk request's pre-filled text: the caller, their number, what they ask."""
    who = name or "a caller who gave no name"
    text = f"{who} ({display_phone(report.target)}) says they are from {vendor.name}."
    if request:
        text += f" They ask: {request}"
    return text
