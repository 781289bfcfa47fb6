"""Outlook ``.msg`` files (OLE compound documents), read with extract-msg.

A ``.msg`` keeps the transport headers Outlook chose to store and the body, never the raw message:
DKIM cannot be checked on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.errors import InputError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MSG_NOTE = (
    "DKIM cannot be checked on a .msg: in Outlook use File > Save As > .eml, or forward as "
    "attachment"
)


@dataclass(frozen=True)
class OutlookMessage:
    """What a .msg holds: the transport header text (if kept) and the fields Outlook stored."""

    header_text: str | None
    sender: str | None
    to: str | None
    subject: str | None
    body: str
    html_body: str | None
    message_id: str | None
    date: str | None


def is_ole(data: bytes) -> bool:
    """True when ``data`` starts with the OLE compound document signature."""
    return data[:4] == OLE_MAGIC[:4]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def read_msg(data: bytes) -> OutlookMessage:
    """Read an Outlook .msg from bytes; raise InputError when it is not one extract-msg reads."""
    import extract_msg

    logging.getLogger("extract_msg").setLevel(logging.ERROR)
    try:
        msg = extract_msg.openMsg(data, strict=False, delayAttachments=True)
    except Exception as exc:  # extract-msg raises many types on bad files
        raise InputError(
            f"this looks like an Outlook file but could not be read ({type(exc).__name__}): "
            "save the email as .eml (or forward it as an attachment) and send that"
        ) from None
    try:
        return OutlookMessage(
            header_text=_safe(msg, "headerText"),
            sender=_safe(msg, "sender"),
            to=_safe(msg, "to"),
            subject=_safe(msg, "subject"),
            body=_safe(msg, "body") or "",
            html_body=_safe(msg, "htmlBody"),
            message_id=_safe(msg, "messageId"),
            date=_safe(msg, "date"),
        )
    finally:
        msg.close()


def _safe(msg: Any, attribute: str) -> str | None:
    try:
        return _text(getattr(msg, attribute, None))
    except Exception:  # a damaged stream loses one field, not the whole file
        return None
