"""Strict email parsing: the message to verify, its author, and every defect on the way.

Input is hostile. Bytes that are not a message raise :class:`bot.errors.InputError`; anything
else odd about a message (two authors, control characters, a hidden From) becomes a
:class:`Defect`, which means "cannot verify", never "pass". Messages attached as
``message/rfc822`` (or ``.eml``) are listed in :attr:`ParsedMessage.attached`;
:func:`open_attached` opens one level (at most :data:`MAX_FORWARD_DEPTH`) with its exact bytes.
Whether a forward may be unwrapped is the verifier's decision (only the organization's own
forwards are), so :func:`parse_message` returns the message that arrived unless asked to
``unwrap``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.errors import InputError, TooLargeError
from bot.mail.addresses import (
    MAX_FIELD_CHARS,
    Author,
    read_author,
    read_reply_to,
    read_return_path,
    unique_defects,
)
from bot.mail.fastscan import compile_search
from bot.mail.htmltext import html_to_text
from bot.mail.mime import MAX_TEXT_CHARS, text_and_forwarded
from bot.mail.outlook import MSG_NOTE, is_ole, read_msg
from bot.mail.rawheaders import (
    Defect,
    HeaderScan,
    control_name,
    decode_words,
    duplicated_fields,
    header_block,
    scan_headers,
    split_message,
)
from bot.names import Address

__all__ = [
    "MAX_FORWARD_DEPTH",
    "Attached",
    "Defect",
    "HeadersOnly",
    "ParsedMessage",
    "open_attached",
    "parse_headers_only",
    "parse_message",
]

MAX_FORWARD_DEPTH = 3
MAX_ATTACHED = 5
THE_MESSAGE = "the message itself"
INLINE_NOTE = (
    "the original email was forwarded inline and lost its headers: cannot verify the original: "
    "forward it as an attachment"
)
HEADERS_NOTE = (
    "only the headers and text of this email were available: SPF, DKIM and DMARC cannot be "
    "checked; forward the original as an attachment (.eml) to verify it"
)

# The part of the header block searched for a field every email has (_require_message).
_REQUIRE_SCAN_BYTES = 200_000
_KNOWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "mime-version",
        "sender",
        "reply-to",
        "dkim-signature",
        "authentication-results",
        "arc-seal",
        "delivered-to",
        "content-type",
        "in-reply-to",
        "references",
        "x-mailer",
    }
)
# Every quantifier is bounded and no two overlap, so a search costs at most a constant per
# position (``-{3,}\s*`` on a run of dashes, or ``^\s*`` on blank lines, was quadratic).
_INLINE_MARKERS = re.compile(
    r"-{3}\s{0,20}(?:forwarded|original) message\s{0,20}-{3}"
    r"|^\s{0,40}begin forwarded message\s{0,20}:",
    re.IGNORECASE | re.MULTILINE,
)
_INLINE_MARKERS_FAST = compile_search(_INLINE_MARKERS)  # the same search, by RE2
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Attached:
    """An email attached to a message: its attachment name, exact bytes and claimed author."""

    name: str | None
    raw: bytes
    from_header: str | None
    from_address: Address | None

    @property
    def shown(self) -> str:
        """How the attachment is named in reports."""
        return f"attachment {self.name!r}" if self.name else "a forwarded attachment"


@dataclass
class ParsedMessage:
    """A message ready to verify: its author, text, defects, and where it came from."""

    raw: bytes
    headers: list[tuple[str, str]]
    from_header: str | None
    from_address: Address | None
    from_display_name: str | None
    reply_to: list[Address]
    return_path: Address | None
    subject: str
    body_text: str
    defects: list[Defect] = field(default_factory=list)
    forward_depth: int = 0
    part_path: str = THE_MESSAGE
    source_format: str = "eml"
    authenticatable: bool = True
    notes: list[str] = field(default_factory=list)
    inline_forward: bool = False
    attached: list[Attached] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    # The scan of ``raw``'s header block, for DKIM and ARC to take its fields from (one parse).
    scan: HeaderScan | None = field(default=None, repr=False, compare=False)

    def header_values(self, name: str) -> list[str]:
        """Decoded values of every header called ``name`` (case-insensitive), top first."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]


@dataclass
class HeadersOnly:
    """An email known only by its headers and text (Slack's forwarded-email file, pasted text)."""

    from_: str
    subject: str = ""
    reply_to: str | None = None
    text: str = ""
    date: str | None = None
    message_id: str | None = None
    to: str | None = None


def parse_message(
    data: bytes,
    *,
    filename: str | None = None,
    max_bytes: int = 25 * 2**20,
    unwrap: bool = False,
) -> ParsedMessage:
    """Parse a raw email (.eml or Outlook .msg): the message that arrived, with the emails attached
    to it in ``attached``; with ``unwrap``, the innermost forwarded original instead.

    Raises TooLargeError over ``max_bytes`` and InputError for empty input or bytes that are not a
    message; every other problem is recorded in ``defects`` or ``notes``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError("a message must be given as bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise TooLargeError(
            f"the message is {len(data):,} bytes, over the {max_bytes:,}-byte limit: send the "
            "original email without large attachments, or just its headers"
        )
    if not data or data.isspace():  # as ``not data.strip()``, without copying the message
        raise InputError("the file is empty: send the email saved as .eml")
    if is_ole(data):
        return _from_msg(data)
    notes: list[str] = []
    if filename and filename.lower().endswith(".msg"):
        notes.append(f"{filename!r} is named .msg but is not an Outlook file: read as a raw email")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        notes.append("removed a byte-order mark before the headers")
    block = header_block(data)
    scan: HeaderScan | None = None
    if len(block) <= _REQUIRE_SCAN_BYTES:  # one scan serves the check and the parse
        scan = scan_headers(block)
        _require_known(scan)
    else:
        _require_message(data)
    del block
    msg = _from_raw(data, notes=notes, scan=scan)
    while unwrap:
        inner = open_attached(msg)
        if inner is None:
            break
        msg = inner
    return msg


def open_attached(msg: ParsedMessage) -> ParsedMessage | None:
    """The first email attached to ``msg``, parsed as the next forward level; None when there is
    none or the levels nest deeper than :data:`MAX_FORWARD_DEPTH` (recorded as a defect)."""
    if not msg.attached:
        return None
    first = msg.attached[0]
    if msg.forward_depth >= MAX_FORWARD_DEPTH:
        msg.defects.insert(
            0,
            Defect(
                "forward_depth_exceeded",
                f"forwarded attachments nest deeper than {MAX_FORWARD_DEPTH} levels: the "
                f"message at depth {msg.forward_depth} was verified, not the original inside "
                f"{first.shown}",
            ),
        )
        return None
    depth = msg.forward_depth + 1
    path = f"{first.shown} (depth {depth})"
    notes = [n for n in msg.notes if not n.startswith(_UNWRAPPED)]
    notes.append(f"{_UNWRAPPED} {path}, not the message that carried it")
    inner = _from_raw(first.raw, notes=notes)
    inner.forward_depth = depth
    inner.part_path = path
    return inner


_UNWRAPPED = "verified the forwarded original in"


def _attached(forwarded: list[tuple[str | None, bytes]], notes: list[str]) -> list[Attached]:
    out: list[Attached] = []
    for name, inner in forwarded:
        shown = f"attachment {name!r}" if name else "a forwarded attachment"
        if not _is_message(inner):
            notes.append(f"{shown} is not an email: verified the message that carries it")
            continue
        block, _ = split_message(inner)
        froms = scan_headers(block[:200_000], strict=False).unfolded("from")
        author = read_author(froms[0][:MAX_FIELD_CHARS]) if len(froms) == 1 else Author()
        header = decode_words(froms[0][:MAX_FIELD_CHARS])[0] if froms else None
        out.append(Attached(name, inner, header, author.address))
    return out


def parse_headers_only(fields: HeadersOnly) -> ParsedMessage:
    """A ParsedMessage from headers and text only: identity and content checks, no
    authentication."""
    defects: list[Defect] = []
    notes = [HEADERS_NOTE]
    named = [
        ("From", fields.from_),
        ("To", fields.to),
        ("Subject", fields.subject),
        ("Reply-To", fields.reply_to),
        ("Date", fields.date),
        ("Message-ID", fields.message_id),
    ]
    headers: list[tuple[str, str]] = []
    for name, value in named:
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(f"the {name} field must be text")
        text = value.strip()
        if len(text) > MAX_FIELD_CHARS:
            defects.append(
                Defect("malformed_message", f"the {name} field is {len(text)} characters long")
            )
            text = text[:MAX_FIELD_CHARS]
        bad = control_name(text)
        if bad is not None:
            defects.append(Defect("malformed_message", f"{bad} in {name} field"))
        if name == "From":
            continue
        decoded, decode_notes = decode_words(text)
        notes.extend(f"{name}: {note}" for note in decode_notes)
        headers.append((name, decoded))
    author = read_author(fields.from_.strip()[:MAX_FIELD_CHARS] if fields.from_ else "")
    from_value, _ = decode_words(fields.from_.strip()[:MAX_FIELD_CHARS] if fields.from_ else "")
    if from_value:
        headers.insert(0, ("From", from_value))
    reply_to, reply_defects = read_reply_to(
        [fields.reply_to.strip()] if fields.reply_to else [], notes
    )
    text = (fields.text or "")[:MAX_TEXT_CHARS]
    subject = next((v for k, v in headers if k == "Subject"), "")
    msg = ParsedMessage(
        raw=b"",
        headers=headers,
        from_header=from_value or None,
        from_address=author.address,
        from_display_name=author.display_name,
        reply_to=reply_to,
        return_path=None,
        subject=subject,
        body_text=text,
        defects=unique_defects(defects + author.defects + reply_defects),
        source_format="headers",
        authenticatable=False,
        notes=notes,
    )
    _mark_inline_forward(msg)
    return msg


def _require_message(data: bytes) -> None:
    block = header_block(data)
    _require_known(scan_headers(block[:_REQUIRE_SCAN_BYTES], strict=False))


def _require_known(scan: HeaderScan) -> None:
    """Raise InputError unless the scan found a field every email has (From, To, ...).

    The fields a strict scan finds are those of a non-strict one: strictness adds defects only.
    """
    if not any(f.key in _KNOWN_HEADERS for f in scan.fields):
        raise InputError(
            "this is not an email: no header block with From, To, Subject, Date or Received was "
            "found at the start of the file; send the email saved as .eml"
        )


def _is_message(data: bytes) -> bool:
    try:
        _require_message(data)
    except InputError:
        return False
    return True


def _from_raw(raw: bytes, *, notes: list[str], scan: HeaderScan | None = None) -> ParsedMessage:
    if scan is None:
        scan = scan_headers(header_block(raw))  # the block copy is freed before the body is read
    notes.extend(scan.notes)
    text, forwarded = text_and_forwarded(raw, notes, limit=MAX_ATTACHED, scan=scan)
    msg = _assemble(scan, raw=raw, notes=notes, body=text)
    msg.scan = scan
    msg.attached = _attached(forwarded, notes)
    _mark_inline_forward(msg)
    return msg


def _from_msg(data: bytes) -> ParsedMessage:
    outlook = read_msg(data)
    notes = [MSG_NOTE]
    header_text = outlook.header_text or ""
    prefix = "Microsoft Mail Internet Headers Version 2.0"
    if header_text.startswith(prefix):
        header_text = header_text[len(prefix) :].lstrip()
    if header_text.strip():
        block, _ = split_message(header_text.encode("utf-8", "replace"))
        scan = scan_headers(block)
    else:
        notes.append("the .msg kept no transport headers: only the fields Outlook stored are shown")
        lines = []
        for name, value in (
            ("From", outlook.sender),
            ("To", outlook.to),
            ("Subject", outlook.subject),
            ("Date", outlook.date),
            ("Message-ID", outlook.message_id),
        ):
            if value:
                flat = value.replace("\r", " ").replace("\n", " ")
                lines.append(f"{name}: {flat}".encode())
        scan = scan_headers(b"\r\n".join(lines))
    notes.extend(scan.notes)
    body = outlook.body
    if not body.strip() and outlook.html_body:
        body = html_to_text(outlook.html_body[: MAX_TEXT_CHARS * 4])
    msg = _assemble(scan, raw=data, notes=notes, body=body[:MAX_TEXT_CHARS])
    if not msg.subject and outlook.subject:
        msg.subject = outlook.subject
    msg.source_format = "msg"
    msg.authenticatable = False
    _mark_inline_forward(msg)
    return msg


def _assemble(scan: HeaderScan, *, raw: bytes, notes: list[str], body: str) -> ParsedMessage:
    froms = [f for f in scan.fields if f.key == "from"]
    author = Author()
    if len(froms) == 1 and not scan.hidden_from:
        author = read_author(froms[0].unfolded)
    reply_to, reply_defects = read_reply_to(scan.unfolded("reply-to"), notes)
    subjects = scan.values("subject")
    duplicates = duplicated_fields(scan)
    if len(froms) > 1:
        duplicates = {"From": [f.value for f in froms], **duplicates}
    return ParsedMessage(
        raw=raw,
        headers=[(f.name, f.value) for f in scan.fields],
        from_header=froms[0].value if froms else None,
        from_address=author.address,
        from_display_name=author.display_name,
        reply_to=reply_to,
        return_path=read_return_path(scan.values("return-path"), notes),
        subject="\n".join(subjects),
        body_text=body,
        defects=unique_defects([*scan.defects, *author.defects, *reply_defects]),
        notes=notes,
        duplicates=duplicates,
    )


def has_inline_markers(text: str) -> bool:
    """Whether ``text`` holds an inline-forward marker (``_INLINE_MARKERS``)."""
    if text.isascii():
        # A marker is "---" around either phrase, or "begin forwarded message" before a ":"
        # (neither '-' nor ':' has another case); on ASCII text IGNORECASE is lower(). Most
        # text has no "---", and much of it no ":" either: then nothing is lowered.
        dashes = _has_three_dashes(text)
        if not dashes and ":" not in text:
            return False
        lowered = text.lower()
        if dashes:
            if "forwarded message" not in lowered and "original message" not in lowered:
                return False
        elif "begin forwarded message" not in lowered:
            return False
    return _INLINE_MARKERS_FAST.found(text)


def _has_three_dashes(text: str) -> bool:
    """``"---" in text``: the first dashes are visited by ``find`` (a memchr), as most text has
    few; CPython's search for the three-character needle is slow on long text."""
    at = text.find("-")
    for _ in range(16):
        if at < 0:
            return False
        if text.startswith("---", at):
            return True
        at = text.find("-", at + 1)
    return at >= 0 and text.find("---", at) >= 0


def _mark_inline_forward(msg: ParsedMessage) -> None:
    if has_inline_markers(msg.body_text[:MAX_TEXT_CHARS]):
        msg.inline_forward = True
        msg.notes.append(INLINE_NOTE)
