"""The raw header block, read byte by byte: what Python's ``email`` parser hides.

``email`` keeps only the first of two From headers, reads `` From:`` as a continuation line and
silently accepts control characters. This scanner sees every field as written, unfolds and decodes
it (RFC 2047), and records each structural oddity as a :class:`Defect`.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from email.header import decode_header

MAX_FIELDS = 5000
MAX_FIELD_BYTES = 100_000

_SPLIT = re.compile(rb"\r?\n\r?\n")
# used with match(): anchored at the position given
_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)([ \t]*):")
_MBOX_FROM = re.compile(rb"^From ")
_LONE_CR = re.compile(rb"\r(?!\n)")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# A continuation line that reads like a header of its own: how a leading " From:" looks once a
# mail server has put its Received header on top. Signature headers (``h=from : to``) are skipped.
_HIDDEN = re.compile(
    rb"^[ \t]+(from|sender|reply-to|to|subject|date|message-id|return-path|received|"
    rb"dkim-signature|authentication-results|arc-[a-z-]{1,40})[ \t]*:[ \t]",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD_END = re.compile(rb"\n(?![ \t])")
MAX_LINE_DEFECTS = 10
MAX_STRAY_LINES = 1000

# Raw byte sequences that have no business in a header, with a human name for each.
_BAD_BYTES: tuple[tuple[bytes, str], ...] = (
    (b"\x00", "NUL byte"),
    (b"\x0b", "vertical tab (VT)"),
    (b"\x0c", "form feed (FF)"),
    (b"\xc2\xa0", "no-break space (U+00A0)"),
    (b"\xe2\x80\xa8", "line separator (U+2028)"),
    (b"\xe2\x80\xa9", "paragraph separator (U+2029)"),
)
_OTHER_CONTROL = re.compile(rb"[\x01-\x08\x0e-\x1f\x7f]")
# Printable ASCII, TAB, CR and LF: a field of nothing else holds no bad byte and no control.
_PLAIN_BYTES = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F)])
# Fields RFC 5322 section 3.6 allows at most once (From has its own check: multiple_from).
SINGLE_INSTANCE = (
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
)
_SINGLE_KEYS = tuple((name, name.lower()) for name in SINGLE_INSTANCE)
# What a header must not hold, found in one linear scan: Cc (C0, DEL, C1) except TAB, no-break
# space, and the Zl / Zp separators (the only characters of those categories).
_HEADER_FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u00a0\u2028\u2029]")
# Codecs that are not plain charsets: slow on hostile input (punycode is quadratic), raise
# errors other than UnicodeDecodeError, or decode escapes rather than text.
_REFUSED_CODECS = frozenset(
    {"punycode", "idna", "undefined", "unicode_escape", "raw_unicode_escape", "mbcs", "oem"}
)
MAX_CHARSET_CHARS = 40


@dataclass(frozen=True)
class Defect:
    """Something wrong with a message's structure: never verified, and why."""

    code: str
    message: str


@dataclass(frozen=True)
class RawField:
    """One header field as written: name, raw bytes (name to end, folds kept), the unfolded text
    and the decoded value (RFC 2047)."""

    name: str
    raw: bytes
    unfolded: str
    value: str
    folded: bool
    key: str = ""  # the name in lowercase, for look-ups

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.name.lower())


@dataclass
class HeaderScan:
    """Every field of a header block in order, plus defects and notes found on the way."""

    fields: list[RawField] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hidden_from: int = 0
    # Every line of the block (``size`` bytes) opened a field with no space before its colon or
    # continued one: no mbox line, stray or indented first line, blank line, and no cap reached.
    regular: bool = field(default=True, repr=False, compare=False)
    size: int = field(default=-1, repr=False, compare=False)
    _duplicates: tuple[int, dict[str, list[str]]] | None = field(
        default=None, repr=False, compare=False
    )

    def values(self, name: str) -> list[str]:
        """Decoded values of every field called ``name`` (case-insensitive), in order."""
        lowered = name.lower()
        return [f.value for f in self.fields if f.key == lowered]

    def unfolded(self, name: str) -> list[str]:
        """Unfolded, not yet decoded values of every field called ``name``, in order."""
        lowered = name.lower()
        return [f.unfolded for f in self.fields if f.key == lowered]


def split_message(data: bytes) -> tuple[bytes, bytes]:
    """Split raw bytes at the first empty line into (header block, body)."""
    start, end = header_end(data)
    return data[:start], data[end:]


def header_end(data: bytes | memoryview) -> tuple[int, int]:
    """(end of the header block, start of the body) in raw bytes; both ``len(data)`` when there
    is no empty line. The same split as ``_SPLIT.search`` (its first match)."""
    if not isinstance(data, bytes):
        match = _SPLIT.search(data)
        return (len(data), len(data)) if match is None else (match.start(), match.end())
    # The match starts at the first LF followed by LF or CRLF (with the CR before it, if any):
    # two C-level finds, the second bounded by the first, instead of a regex tried at every byte.
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n", 0, crlf + 2 if crlf >= 0 else len(data))
    if lf >= 0 and (crlf < 0 or lf < crlf):
        first, end = lf, lf + 2
    elif crlf >= 0:
        first, end = crlf, crlf + 3
    else:
        return len(data), len(data)
    start = first - 1 if first > 0 and data[first - 1] == 0x0D else first
    return start, end


def header_block(data: bytes) -> bytes:
    """The header block of raw bytes (up to the first empty line), without copying the body."""
    return data[: header_end(data)[0]]


def control_name(text: str) -> str | None:
    """The name of the first character in ``text`` that a header must not hold, if any."""
    match = _HEADER_FORBIDDEN.search(text)
    if match is None:
        return None
    ch = match.group(0)
    if ch == "\u00a0":
        return "no-break space (U+00A0)"
    if ch in "\u2028\u2029":
        return f"{unicodedata.name(ch, 'separator').lower()} (U+{ord(ch):04X})"
    return _describe_control(ch)


def _describe_control(ch: str) -> str:
    names = {"\x00": "NUL byte", "\x0b": "vertical tab (VT)", "\x0c": "form feed (FF)"}
    return names.get(ch, f"control character U+{ord(ch):04X}")


def decode_words(value: str) -> tuple[str, list[str]]:
    """Decode RFC 2047 encoded words; unknown or wrong charsets are decoded with replacement
    characters and reported in the returned notes, never raised."""
    if "=?" not in value:
        return value, []
    notes: list[str] = []
    try:
        chunks = decode_header(value)
    except Exception as exc:  # any parser failure means "keep the raw text"
        return value, [f"could not decode encoded words ({exc}); shown as written"]
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        out.append(decode_bytes(chunk, charset, notes))
    return "".join(out), notes


def text_codec(charset: str | None) -> str | None:
    """The codec name for a MIME ``charset`` when it is a plain text charset, else None."""
    name = str(charset or "utf-8").strip().lower() or "utf-8"
    if len(name) > MAX_CHARSET_CHARS or not name.isprintable():
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None, notes: list[str]) -> str:
    """Decode ``data`` in ``charset`` (UTF-8 when unknown), replacing what does not decode.

    Never raises: an unknown, refused or broken charset is a note, and the text is read as UTF-8.
    """
    shown = str(charset)[:MAX_CHARSET_CHARS] if charset else "UTF-8"
    codec = text_codec(charset)
    if codec is None:
        notes.append(f"unknown charset {shown!r}: decoded as UTF-8 with replacement characters")
        return data.decode("utf-8", "replace")
    try:
        return data.decode(codec)
    except (UnicodeError, ValueError, LookupError, TypeError):
        notes.append(f"text is not valid {shown}: undecodable bytes replaced")
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, ValueError, LookupError, TypeError):
        return data.decode("utf-8", "replace")


def scan_headers(block: bytes, *, strict: bool = True) -> HeaderScan:
    """Read every field of a raw header block.

    With ``strict`` (the message being verified), structural oddities become defects; for MIME
    part headers only the fields are wanted. Work and memory are linear in the block: a field's
    continuation lines are found with one search (never a list of lines), at most
    :data:`MAX_LINE_DEFECTS` stray lines are reported one by one, and after
    :data:`MAX_STRAY_LINES` of them the rest of the block is not read (the message is already
    malformed).
    """
    scan = HeaderScan(size=len(block))
    first_end = block.find(b"\n")
    first = block if first_end < 0 else block[:first_end]
    pos, size, index = 0, len(block), 0
    if _MBOX_FROM.match(first) and not _FIELD.match(first):
        scan.regular = False
        pos, index = (size if first_end < 0 else first_end + 1), 1
        scan.notes.append("skipped an mbox 'From ' separator line before the headers")
    first_indented = False
    stray = 0
    while pos < size:
        nl = block.find(b"\n", pos)
        line_end = size if nl < 0 else nl
        hi = line_end - 1 if line_end > pos and block[line_end - 1] == 0x0D else line_end
        start: int | None = None
        opened = None
        if block[pos : pos + 1] in (b" ", b"\t"):  # indented, with no field open
            scan.regular = False
            line = block[pos:hi]
            if line.strip():
                first_indented = True
                if strict:
                    shown = line[:200].decode("utf-8", "replace").strip()[:60]
                    scan.defects.append(
                        Defect(
                            "malformed_message",
                            f"the first header line starts with a space ({shown!r}): mail "
                            "programs disagree on whether it is a header",
                        )
                    )
                start = hi - len(line.lstrip(b" \t"))
        elif pos < hi and (opened := _FIELD.match(block, pos, hi)) is None:
            scan.regular = False
            stray += 1
            if strict and stray <= MAX_LINE_DEFECTS:
                shown = block[pos : min(hi, pos + 200)].decode("utf-8", "replace")[:60]
                scan.defects.append(
                    Defect(
                        "malformed_message",
                        f"header line {index + 1} is not a 'Name: value' field: {shown!r}",
                    )
                )
            if stray > MAX_STRAY_LINES:
                break
        elif pos < hi:
            if len(scan.fields) >= MAX_FIELDS:
                scan.regular = False
                scan.defects.append(
                    Defect("malformed_message", f"more than {MAX_FIELDS} header fields")
                )
                break
            start = pos
        if start is None:
            scan.regular = False
            pos, index = line_end + 1, index + 1
            continue
        # the field runs to the first line break not followed by a space or a tab
        following = _FIELD_END.search(block, line_end) if line_end < size else None
        stop = size if following is None else following.start()
        lines = 1 + (block.count(b"\n", line_end, stop) if line_end < stop else 0)
        end = stop - 1 if stop > start and block[stop - 1] == 0x0D else stop
        _finish(scan, block[start:end], lines, strict=strict, opened=opened)
        pos, index = stop + 1, index + lines
    if strict and stray > MAX_LINE_DEFECTS:
        more = "; the rest of the header block was not read" if stray > MAX_STRAY_LINES else ""
        scan.defects.append(
            Defect(
                "malformed_message",
                f"{stray} header lines are not 'Name: value' fields{more}",
            )
        )
    if strict:
        _check_from(scan, first_indented)
        _check_single(scan)
    return scan


def _finish(
    scan: HeaderScan, raw: bytes, count: int, *, strict: bool, opened: re.Match[bytes] | None
) -> None:
    """Record the field ``raw`` (``count`` lines). ``opened``: ``_FIELD`` matched where ``raw``
    starts in the block, when the scan has that match (the name and the colon are on the first
    line, which folding does not change)."""
    if count > 1:  # every line break as CRLF (C-level: no object per line)
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if opened is None:
        match = _FIELD.match(raw)
        if match is None:  # an indented first line that does not read 'Name: value'
            return
        name_bytes, spaced, colon = match.group(1), match.group(2), match.end()
    else:
        name_bytes, spaced = opened.group(1, 2)
        colon = opened.end() - opened.start()
    name = name_bytes.decode("ascii")
    key = name.lower()
    if spaced:
        scan.regular = False
    if strict and spaced:
        scan.defects.append(
            Defect(
                "malformed_message",
                f"space before the colon in the {name!r} header ('{name} :'): mail programs "
                "disagree on whether it is a header",
            )
        )
    body = raw[colon:]
    if len(body) > MAX_FIELD_BYTES:
        if strict:
            scan.defects.append(
                Defect("malformed_message", f"the {name} header is {len(body)} bytes long")
            )
        body = body[:MAX_FIELD_BYTES]
    if strict:
        odd = bool(raw.translate(None, _PLAIN_BYTES))  # only then can a bad byte or a control be
        if odd or b"\r" in raw:  # there; without a CR there is no lone one
            _check_bytes(scan, name, raw, odd)
        tag_list = count == 1 or key.endswith(("signature", "seal"))
        hidden = () if tag_list else _HIDDEN.finditer(raw)
        for shown_count, looks in enumerate(hidden):
            shown = looks.group(1).decode("ascii")
            scan.hidden_from += shown.lower() == "from"
            if shown_count < MAX_LINE_DEFECTS:
                scan.defects.append(
                    Defect(
                        "malformed_message",
                        f"a '{shown}:' header hidden as a continuation line of the {name} "
                        "header: mail programs disagree on whether it is a header",
                    )
                )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        scan.notes.append(f"the {name} header holds bytes that are not UTF-8: replaced")
    if count > 1:  # every line break is CRLF here: _FOLD.sub("", text) at C level
        text = text.replace("\r\n ", " ").replace("\r\n\t", "\t")
    unfolded = text.strip(" \t\r\n")
    value = unfolded
    if "=?" in unfolded:  # else decode_words has nothing to decode
        value, notes = decode_words(unfolded)
        scan.notes.extend(f"{name} header: {note}" for note in notes)
        if strict:
            bad = control_name(value.replace("\u00a0", " "))
            if bad is not None:
                scan.defects.append(
                    Defect("malformed_message", f"{bad} hidden in an encoded word in {name} header")
                )
    scan.fields.append(_raw_field(name, raw, unfolded, value, count > 1, key))


_new_object = object.__new__


def _raw_field(
    name: str, raw: bytes, unfolded: str, value: str, folded: bool, key: str
) -> RawField:
    """``RawField(name=..., key=...)`` without the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` call per attribute): the attributes are set in one dict update."""
    item: RawField = _new_object(RawField)
    item.__dict__.update(name=name, raw=raw, unfolded=unfolded, value=value, folded=folded, key=key)
    return item


def _check_bytes(scan: HeaderScan, name: str, raw: bytes, odd: bool) -> None:
    """``odd``: ``raw`` holds a byte other than printable ASCII, TAB, CR and LF."""
    if odd:
        for needle, label in _BAD_BYTES:
            if needle in raw:
                scan.defects.append(Defect("malformed_message", f"{label} in {name} header"))
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):  # as _LONE_CR.search(raw)
        scan.defects.append(
            Defect("malformed_message", f"a lone carriage return (CR) in {name} header")
        )
    other = _OTHER_CONTROL.search(raw) if odd else None
    if other is not None:
        scan.defects.append(
            Defect(
                "malformed_message",
                f"control character 0x{other.group(0)[0]:02X} in {name} header",
            )
        )


def _check_from(scan: HeaderScan, first_indented: bool) -> None:
    froms = [f for f in scan.fields if f.key == "from"]
    total = len(froms) + scan.hidden_from
    if total > 1:
        hidden = first_indented or scan.hidden_from
        how = " (one of them hidden as a continuation line)" if hidden else ""
        scan.defects.append(Defect("multiple_from", f"{_count(total)} From headers{how}"))
    for item in froms:
        if item.folded:
            scan.defects.append(
                Defect(
                    "malformed_message",
                    "the From header is folded over several lines: mail programs disagree on "
                    "what it says",
                )
            )


def duplicated_fields(scan: HeaderScan) -> dict[str, list[str]]:
    """Single-instance fields (RFC 5322 section 3.6, From aside) that occur more than once, by
    their canonical name, with every decoded value in order."""
    cached = scan._duplicates
    if cached is not None and cached[0] == len(scan.fields):
        return {name: list(values) for name, values in cached[1].items()}
    by_name: dict[str, list[str]] = {}
    for item in scan.fields:
        by_name.setdefault(item.key, []).append(item.value)
    out: dict[str, list[str]] = {}
    for canonical, key in _SINGLE_KEYS:
        values = by_name.get(key, [])
        if len(values) > 1:
            out[canonical] = values
    scan._duplicates = (len(scan.fields), {name: list(values) for name, values in out.items()})
    return out


def _check_single(scan: HeaderScan) -> None:
    for name, values in duplicated_fields(scan).items():
        shown = " / ".join(repr(v[:60]) for v in values[:3])
        scan.defects.append(
            Defect(
                "malformed_message",
                f"{_count(len(values))} {name} headers ({shown}): RFC 5322 allows one, and a "
                f"signature covers only one of them, so the {name} shown could be anyone's",
            )
        )


def _count(n: int) -> str:
    return {2: "two", 3: "three"}.get(n, str(n))
