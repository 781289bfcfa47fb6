"""A bounded MIME walker over raw bytes.

Parts are sliced out of the original bytes (not re-serialized), so a forwarded message found in an
attachment keeps the exact bytes its DKIM signatures cover. The walk never descends into a
``message/rfc822`` part: each forwarded level is handled by the caller, one at a time.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value

from bot.mail.htmltext import html_to_text
from bot.mail.rawheaders import decode_bytes, split_message

MAX_DEPTH = 16
MAX_PARTS = 500
MAX_TEXT_CHARS = 200_000
_FORWARDED_TYPES = ("message/rfc822", "message/global")


@dataclass(frozen=True)
class Part:
    """One leaf MIME part: its headers, content type, filename and still-encoded body."""

    headers: Message
    content_type: str
    filename: str | None
    body: bytes

    @property
    def is_attachment(self) -> bool:
        """True when the part is marked (or named) as an attachment."""
        disposition = (self.headers.get("Content-Disposition") or "").split(";")[0]
        return disposition.strip().lower() == "attachment" or self.filename is not None

    @property
    def is_forwarded_message(self) -> bool:
        """A message/rfc822 part, or an attached ``.eml`` file."""
        if self.content_type in _FORWARDED_TYPES:
            return True
        return self.filename is not None and self.filename.lower().endswith(".eml")


def _headers(block: bytes) -> Message:
    return BytesHeaderParser(policy=compat32).parsebytes(block + b"\r\n\r\n")


def _filename(headers: Message) -> str | None:
    try:
        name = headers.get_filename()
    except Exception:  # hostile parameters: no name rather than a crash
        return None
    if not name:
        return None
    return str(name).strip()[:200] or None


def _boundary(headers: Message) -> str | None:
    value = headers.get_param("boundary")
    if value is None:
        return None
    text = collapse_rfc2231_value(value) if isinstance(value, tuple) else str(value)
    return text or None


def iter_parts(raw: bytes) -> Iterator[Part]:
    """Leaf parts of a raw message in order, at most :data:`MAX_PARTS`, multipart nesting at
    most :data:`MAX_DEPTH` deep."""
    for count, part in enumerate(_walk(raw, 0), start=1):
        yield part
        if count >= MAX_PARTS:
            return


def _walk(raw: bytes, depth: int) -> Iterator[Part]:
    block, body = split_message(raw)
    headers = _headers(block)
    content_type = headers.get_content_type()
    boundary = _boundary(headers) if content_type.startswith("multipart/") else None
    if boundary is None or depth >= MAX_DEPTH:
        yield Part(headers, content_type, _filename(headers), body)
        return
    for chunk in split_multipart(body, boundary):
        yield from _walk(chunk, depth + 1)


def split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The parts between ``--boundary`` delimiter lines (preamble and epilogue dropped)."""
    delimiter = re.compile(
        rb"(?:^|\r?\n)--"
        + re.escape(boundary.encode("utf-8", "replace"))
        + rb"(--)?[ \t]*(?:\r?\n|$)"
    )
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : match.start()])
            if len(parts) >= MAX_PARTS:
                break
        if match.group(1):
            start = None
            break
        start = match.end()
    if start is not None and len(parts) < MAX_PARTS:
        parts.append(body[start:])
    return parts


def decode_transfer(part: Part, notes: list[str]) -> bytes:
    """The part's body with its Content-Transfer-Encoding undone."""
    encoding = (part.headers.get("Content-Transfer-Encoding") or "").strip().lower()
    if encoding == "base64":
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", part.body)
        if len(cleaned) % 4 == 1:
            cleaned = cleaned[:-1]
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            notes.append("a base64 part could not be decoded")
            return b""
    if encoding == "quoted-printable":
        return quopri.decodestring(part.body)
    return part.body


def part_text(part: Part, notes: list[str]) -> str:
    """The decoded text of a text part (charset errors replaced and noted)."""
    data = decode_transfer(part, notes)
    charset = part.headers.get_content_charset() or "us-ascii"
    if charset in ("us-ascii", "ascii"):
        charset = "utf-8"
    local: list[str] = []
    text = decode_bytes(data, charset, local)
    notes.extend(f"body: {note}" for note in local)
    return text


def body_text(raw: bytes, notes: list[str]) -> str:
    """The message's readable text: the first inline text/plain part, else the first text/html
    part stripped to text; at most :data:`MAX_TEXT_CHARS` characters."""
    return text_and_forwarded(raw, notes, limit=0)[0]


def text_and_forwarded(
    raw: bytes, notes: list[str], *, limit: int = 5
) -> tuple[str, list[tuple[str | None, bytes]]]:
    """One walk over the parts: the readable text (as :func:`body_text`) and the forwarded
    messages attached (as :func:`forwarded_messages`, at most ``limit``)."""
    plain: Part | None = None
    html: Part | None = None
    found: list[tuple[str | None, bytes]] = []
    for part in iter_parts(raw):
        if part.is_forwarded_message:
            if len(found) < limit:
                data = decode_transfer(part, notes)
                if data.strip():
                    found.append((part.filename, data.lstrip(b"\r\n")))
            continue
        if part.is_attachment:
            continue
        if part.content_type == "text/plain" and plain is None:
            plain = part
        elif part.content_type == "text/html" and html is None:
            html = part
        if plain is not None and limit == 0:
            break
    if plain is not None:
        return part_text(plain, notes)[:MAX_TEXT_CHARS], found
    if html is not None:
        text = html_to_text(part_text(html, notes)[: MAX_TEXT_CHARS * 4])[:MAX_TEXT_CHARS]
        return text, found
    return "", found


def forwarded_messages(
    raw: bytes, notes: list[str], *, limit: int = 5
) -> list[tuple[str | None, bytes]]:
    """The forwarded messages attached to ``raw`` (at most ``limit``): (attachment name, bytes)."""
    found: list[tuple[str | None, bytes]] = []
    for part in iter_parts(raw):
        if part.is_forwarded_message:
            data = decode_transfer(part, notes)
            if data.strip():
                found.append((part.filename, data.lstrip(b"\r\n")))
                if len(found) >= limit:
                    break
    return found


def first_forwarded(raw: bytes, notes: list[str]) -> tuple[str | None, bytes] | None:
    """The first forwarded message attached to ``raw``: (attachment name, its raw bytes)."""
    found = forwarded_messages(raw, notes, limit=1)
    return found[0] if found else None
