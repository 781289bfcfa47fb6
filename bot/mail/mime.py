"""A bounded MIME walker over raw bytes.

Parts are sliced out of the original bytes (not re-serialized), so a forwarded message found in an
attachment keeps the exact bytes its DKIM signatures cover. The walk never descends into a
``message/rfc822`` part: each forwarded level is handled by the caller, one at a time.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value
from functools import lru_cache
from itertools import islice

from bot.mail.htmltext import html_to_text
from bot.mail.rawheaders import HeaderScan, decode_bytes, header_end

MAX_DEPTH = 16
MAX_PARTS = 500
MAX_TEXT_CHARS = 200_000
# A part's header block as the stdlib may see it: its parameter parser is quadratic in the number
# of ';' inside an open quote, so each field is cut to a length no real one reaches.
MAX_PART_FIELD_BYTES = 4096
MAX_PART_FIELDS = 100
MAX_PART_BLOCK_BYTES = 1 << 20
MAX_PART_LINES = MAX_PART_FIELDS * 8  # lines of a part's header block read for its fields
MAX_TOP_LINES = 20_000  # the message's own: long Received, ARC and signature chains come first
MAX_CACHED_HEAD = 2048  # longer Content-* blocks are read every time, not kept
HEAD_CACHE_SIZE = 256
_FORWARDED_TYPES = ("message/rfc822", "message/global")
# email.feedparser's headerRE: a line that does not match ends the stdlib's header block.
_STDLIB_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
_LONE_CR = re.compile(rb"\r(?!\n)")
_NEXT_FIELD = re.compile(rb"\n(?![ \t])")  # the line break before a line that starts a field


class PartFields:
    """What the walk's readers take from a part's headers, each read once: shared (through
    :func:`_head`) by every part with the same Content-* block, as its Message is."""

    __slots__ = ("_charset", "disposition", "encoding", "headers")

    def __init__(self, headers: Message) -> None:
        self.headers = headers
        self.disposition = header_text(headers, "Content-Disposition").split(";")[0].strip().lower()
        self.encoding = header_text(headers, "Content-Transfer-Encoding").strip().lower()
        self._charset: str | None = None  # read when the text is: only text parts need it

    @property
    def charset(self) -> str:
        """The declared charset, ``us-ascii`` when there is none or it cannot be read."""
        if self._charset is None:
            try:
                self._charset = self.headers.get_content_charset() or "us-ascii"
            except Exception:  # hostile parameters: read as UTF-8
                self._charset = "us-ascii"
        return self._charset


@dataclass(frozen=True)
class Part:
    """One leaf MIME part: its headers, content type, filename and still-encoded body."""

    headers: Message
    content_type: str
    filename: str | None
    body: bytes
    read: PartFields | None = field(default=None, repr=False, compare=False)

    @property
    def fields(self) -> PartFields:
        """What is read from the headers (``read`` when the walk had it)."""
        return self.read if self.read is not None else PartFields(self.headers)

    @property
    def is_attachment(self) -> bool:
        """True when the part is marked (or named) as an attachment."""
        return self.fields.disposition == "attachment" or self.filename is not None

    @property
    def is_forwarded_message(self) -> bool:
        """A message/rfc822 part, or an attached ``.eml`` file."""
        if self.content_type in _FORWARDED_TYPES:
            return True
        return self.filename is not None and self.filename.lower().endswith(".eml")


def _capped_block(block: bytes, *, top: bool = False, scan: HeaderScan | None = None) -> bytes:
    """The Content-* fields the stdlib would read from ``block`` (:func:`content_fields`), each
    capped; a lone CR keeps the first :data:`MAX_PART_FIELDS` fields whatever their names.
    ``top``: the message's own header block, read as far as :data:`MAX_TOP_LINES` lines.
    ``scan``: the header scan of ``block`` when the message parse has it (see
    :func:`_scanned_content_fields`)."""
    # A lone CR in the capped fields is a CR that the block has without an LF after it (the
    # fields are its lines, trailing CRs stripped, cut and joined by CRLF): only then are they read.
    lone = b"\r" in block and block.count(b"\r") != block.count(b"\r\n")
    if lone:
        capped = capped_fields(block)
        if any(_LONE_CR.search(f) for f in capped):  # the stdlib reads a lone CR as a line break
            return b"\r\n".join(bytes(f) for f in capped)
    # Content-* fields wherever they stand: a mail client finds a Content-Type after a hundred
    # Received and ARC fields, and so must the content checks
    lines = MAX_TOP_LINES if top else MAX_PART_LINES
    if scan is not None and not lone:
        scanned = _scanned_content_fields(block, scan, lines)
        if scanned is not None:
            return b"\r\n".join(scanned)
    return b"\r\n".join(bytes(f) for f in content_fields(block, lines))


def _scanned_content_fields(block: bytes, scan: HeaderScan, max_lines: int) -> list[bytes] | None:
    """:func:`content_fields` read off the header scan of ``block``, or None when they could
    differ. They agree when the block has no lone CR (the caller's check) and the scan is
    regular (every line opened a ``Name:`` field or continued one: the stdlib reads them all),
    every line is read (no more than ``max_lines``), every name ends before the cut of a line
    (so its colon is seen) and no Content-* field is longer than the cut: a field's raw bytes
    are then its lines without their CR, joined by CRLF, as the capped reading has them."""
    if not scan.regular or scan.size != len(block) or block.count(b"\n") >= max_lines:
        return None
    kept: list[bytes] = []
    for item in scan.fields:
        if len(item.name) >= MAX_PART_FIELD_BYTES:
            return None
        if item.key.startswith("content-") and len(kept) < MAX_PART_FIELDS:
            if len(item.raw) > MAX_PART_FIELD_BYTES:
                return None
            kept.append(item.raw)
    return kept


def capped_fields(block: bytes) -> list[bytearray]:
    """At most :data:`MAX_PART_FIELDS` fields of at most :data:`MAX_PART_FIELD_BYTES` each."""
    return list(islice(_iter_fields(block, MAX_PART_LINES), MAX_PART_FIELDS))


def _iter_fields(block: bytes, max_lines: int) -> Iterator[bytearray]:
    """The fields in the first ``max_lines`` lines of ``block``, each cut at
    :data:`MAX_PART_FIELD_BYTES`; one forward pass (a line is found with ``find``)."""
    field: bytearray | None = None
    pos, size = 0, len(block)
    for _ in range(max_lines):
        if pos >= size:
            break
        nl = block.find(b"\n", pos)
        end = size if nl < 0 else nl
        line = block[pos:end].rstrip(b"\r")[:MAX_PART_FIELD_BYTES]
        pos = end + 1
        if line[:1] in (b" ", b"\t") and field is not None:
            if len(field) < MAX_PART_FIELD_BYTES:
                field += b"\r\n" + line[: MAX_PART_FIELD_BYTES - len(field)]
            continue
        if field is not None:
            yield field
        field = bytearray(line)
    if field is not None:
        yield field


def content_fields(block: bytes, max_lines: int) -> list[bytearray]:
    """The first :data:`MAX_PART_FIELDS` Content-* fields among the fields of the first
    ``max_lines`` lines of ``block`` (as :func:`_iter_fields` cuts them), up to where the stdlib's
    parser would stop reading headers: only those are ever read from a part (the top-level block
    also holds the signature, Received and ARC fields, which the stdlib would parse for nothing).

    A field at a time, not a line: its end is found with one search and its lines counted with
    one ``count``; only a Content-* field is assembled line by line (by :func:`_iter_fields`).
    A field's first line decides both whether the stdlib reads on (``_STDLIB_HEADER_LINE``
    cannot match past a line break) and whether it is a Content-* field."""
    kept: list[bytearray] = []
    pos, size, line = 0, len(block), 0
    while pos < size and line < max_lines:
        following = _NEXT_FIELD.search(block, pos)
        stop = size if following is None else following.start()  # the LF that ends the field
        first_end = block.find(b"\n", pos, stop)
        first = block[pos : stop if first_end < 0 else first_end].rstrip(b"\r")
        first = first[:MAX_PART_FIELD_BYTES]
        if not _STDLIB_HEADER_LINE.match(first):
            break  # the stdlib's header block ends at this line
        count = 1 + (block.count(b"\n", pos, stop) if first_end >= 0 else 0)
        if first[:8].lower() == b"content-":
            kept.append(next(_iter_fields(block[pos:stop], min(count, max_lines - line))))
            if len(kept) >= MAX_PART_FIELDS:
                break
        line += count
        pos = stop + 1
    return kept


def _headers(block: bytes) -> Message:
    """A part's headers as a compat32 Message whose values are always ``str``.

    The block is decoded as UTF-8 (undecodable bytes replaced) before the stdlib sees it: from
    raw bytes it would hand back ``Header`` objects for non-ASCII values.
    """
    text = _capped_block(block).decode("utf-8", "replace")
    return HeaderParser(policy=compat32).parsestr(text + "\r\n\r\n")


# headers, content type, filename, boundary, and the fields read from them
_Head = tuple[Message, str, str | None, str | None, PartFields]


def _read_head(text: str) -> _Head:
    """What the walk reads from a part's Content-* fields (``text``: the decoded capped block)."""
    headers = HeaderParser(policy=compat32).parsestr(text + "\r\n\r\n")
    content_type = headers.get_content_type()
    boundary = _boundary(headers) if content_type.startswith("multipart/") else None
    return headers, content_type, _filename(headers), boundary, PartFields(headers)


# Most parts carry one of a few Content-* blocks: each is read once. The Message is then shared
# by every Part that has it, which only ever reads it.
_head = lru_cache(maxsize=HEAD_CACHE_SIZE)(_read_head)


def header_text(headers: Message, name: str) -> str:
    """The first ``name`` header of a part as text ('' when absent)."""
    value = headers.get(name)
    return "" if value is None else str(value)


def _filename(headers: Message) -> str | None:
    try:
        name = headers.get_filename()
    except Exception:  # hostile parameters: no name rather than a crash
        return None
    if not name:
        return None
    return str(name).strip()[:200] or None


def _boundary(headers: Message) -> str | None:
    try:
        value = headers.get_param("boundary")
        if value is None:
            return None
        text = collapse_rfc2231_value(value) if isinstance(value, tuple) else str(value)
    except Exception:  # hostile parameters: treated as a single part rather than a crash
        return None
    return text[:200] or None


def iter_parts(raw: bytes, *, scan: HeaderScan | None = None) -> Iterator[Part]:
    """Leaf parts of a raw message in order, at most :data:`MAX_PARTS`, multipart nesting at
    most :data:`MAX_DEPTH` deep."""
    for count, part in enumerate(_walk(raw, 0, scan), start=1):
        yield part
        if count >= MAX_PARTS:
            return


def _walk(raw: bytes | memoryview, depth: int, scan: HeaderScan | None = None) -> Iterator[Part]:
    # A view over the parent's bytes: a multipart body and its parts are not copied; only a
    # leaf's body is, when it is reached.
    end, body_start = header_end(raw)
    block = bytes(raw[: min(end, MAX_PART_BLOCK_BYTES)])
    if scan is not None and end > MAX_PART_BLOCK_BYTES:
        scan = None  # the scan read more of the block than the walk does
    text = _capped_block(block, top=depth == 0, scan=scan).decode("utf-8", "replace")
    head = _head(text) if len(text) <= MAX_CACHED_HEAD else _read_head(text)
    headers, content_type, filename, boundary, read = head
    if boundary is None or depth >= MAX_DEPTH:
        yield Part(headers, content_type, filename, bytes(raw[body_start:]), read)
        return
    body = memoryview(raw)[body_start:]
    for start, stop in _part_spans(body, boundary):
        yield from _walk(body[start:stop], depth + 1)


def split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The parts between ``--boundary`` delimiter lines (preamble and epilogue dropped)."""
    return [body[start:stop] for start, stop in _part_spans(body, boundary)]


def _part_spans(body: bytes | memoryview, boundary: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each part between ``--boundary`` delimiter lines, at most
    :data:`MAX_PARTS`.

    A delimiter is ``--boundary`` at the start of the body or after a line break (CRLF or LF,
    which belongs to it). The search looks for the literal ``--boundary`` and checks the line
    break before it here, where a pattern starting with the optional line break would be tried
    at every byte (seconds on a large body, at every nesting level)."""
    delimiter = re.compile(
        rb"--" + re.escape(boundary.encode("utf-8", "replace")) + rb"(--)?[ \t]*(?:\r?\n|$)"
    )
    count = 0
    start: int | None = None
    taken = 0  # where the previous delimiter ended: its line break is not the next one's
    for match in delimiter.finditer(body):
        at = match.start()
        if at:
            if body[at - 1] != 0x0A:
                continue  # not at the start of a line
            at -= 2 if at >= 2 and body[at - 2] == 0x0D else 1
            if at < taken:  # that line break ended the previous delimiter
                if body[at] == 0x0D and at + 1 >= taken:
                    at += 1  # only its CR did: the LF is this delimiter's
                else:
                    continue
        taken = match.end()
        if start is not None:
            yield start, at
            count += 1
            if count >= MAX_PARTS:
                return
        if match.group(1):
            return
        start = match.end()
    if start is not None:
        yield start, len(body)


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_JUNK = bytes(b for b in range(256) if b not in _B64_ALPHABET)
# Bytes of decoded text read for the body: UTF-8 takes at most 4 bytes a character.
TEXT_BYTES = MAX_TEXT_CHARS * 4
HTML_BYTES = MAX_TEXT_CHARS * 16
_CHUNK = 1 << 20


def decode_transfer(part: Part, notes: list[str], *, limit: int | None = None) -> bytes:
    """The part's body with its Content-Transfer-Encoding undone; with ``limit``, at most that
    many bytes of it (only the start of a long body is decoded, never a full copy)."""
    encoding = part.fields.encoding
    if encoding == "base64" and limit is None:
        with contextlib.suppress(binascii.Error, ValueError):
            return binascii.a2b_base64(part.body)  # skips line breaks itself: no cleaned copy
    if encoding == "base64":
        cleaned = _base64_chars(part.body, None if limit is None else (limit // 3 + 1) * 4)
        if len(cleaned) % 4 == 1:
            cleaned = cleaned[:-1]
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            data = base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            notes.append("a base64 part could not be decoded")
            return b""
    elif encoding == "quoted-printable":
        data = quopri.decodestring(part.body)
    else:
        data = part.body
    if limit is not None and len(data) > limit:
        data = _cut(data, limit)
    return data


def _base64_chars(body: bytes, need: int | None) -> bytes:
    """The base64 alphabet characters of ``body`` (line breaks and junk dropped), the first
    ``need`` of them when given: read a chunk at a time, so a long body is never copied whole."""
    if need is None:
        return body.translate(None, _B64_JUNK)
    out = bytearray()
    for start in range(0, len(body), _CHUNK):
        out += body[start : start + _CHUNK].translate(None, _B64_JUNK)
        if len(out) >= need:
            break
    return bytes(out[:need])


def _cut(data: bytes, limit: int) -> bytes:
    """``data[:limit]`` without a UTF-8 character cut in half at the end."""
    cut = data[:limit]
    back = 0
    while back < 3 and cut and 0x80 <= cut[-1] <= 0xBF:
        cut, back = cut[:-1], back + 1
    if cut and cut[-1] >= 0xC0:
        cut = cut[:-1]
    return cut


def part_text(part: Part, notes: list[str], *, limit: int | None = TEXT_BYTES) -> str:
    """The decoded text of a text part (charset errors replaced and noted); with ``limit``,
    of its first ``limit`` decoded bytes."""
    data = decode_transfer(part, notes, limit=limit)
    charset = part.fields.charset
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
    raw: bytes, notes: list[str], *, limit: int = 5, scan: HeaderScan | None = None
) -> tuple[str, list[tuple[str | None, bytes]]]:
    """One walk over the parts: the readable text (as :func:`body_text`) and the forwarded
    messages attached (as :func:`forwarded_messages`, at most ``limit``). ``scan``: the header
    scan of ``raw``'s header block, when the caller has it (Content-* fields are read off it)."""
    plain: Part | None = None
    html: Part | None = None
    found: list[tuple[str | None, bytes]] = []
    for part in iter_parts(raw, scan=scan):
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
        text = part_text(html, notes, limit=HTML_BYTES)[: MAX_TEXT_CHARS * 4]
        return html_to_text(text)[:MAX_TEXT_CHARS], found
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
                if data[:1] in (b"\r", b"\n"):
                    data = data.lstrip(b"\r\n")
                found.append((part.filename, data))
                if len(found) >= limit:
                    break
    return found


def first_forwarded(raw: bytes, notes: list[str]) -> tuple[str | None, bytes] | None:
    """The first forwarded message attached to ``raw``: (attachment name, its raw bytes)."""
    found = forwarded_messages(raw, notes, limit=1)
    return found[0] if found else None
