"""One parse of a message for DKIM and ARC: header fields, canonicalization and body hashes.

The header is split once into fields (as dkimpy's ``rfc822_parse`` does, so both agree: LF or
CRLF line ends, continuation lines kept with CRLF, an mbox ``From `` line skipped). The body is
never copied whole: it is canonicalized (RFC 6376 §3.4) in chunks of 256 KiB, without
regular expressions, and each (canonicalization, hash) is computed in one pass that also yields
the digest at every ``l=`` any signature asks for. The first body-hash request computes the hashes
every DKIM-Signature and ARC-Message-Signature of the message will need, so many signatures cost
one pass, not one each. :attr:`SignedMessage.bytes_hashed` counts the body bytes hashed.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import re2

from bot.mail.rawheaders import HeaderScan
from bot.mail.tagvalue import TagListError, parse_tag_list

CHUNK = 1 << 18
MAX_HEADER_FIELDS = 5000
MAX_PREPARED = 100  # signature fields whose body hashes are prepared in the first pass
SIGNATURE_FIELDS = (b"dkim-signature", b"arc-message-signature")
HASHES = {"rsa-sha256": "sha256", "ed25519-sha256": "sha256", "rsa-sha1": "sha1"}
_CRLF = b"\r\n"
_PRINTABLE = bytes(range(0x21, 0x7F))
_WSP = b" \t"


def _bytes_pattern(pattern: bytes) -> re2._Regexp:
    """An RE2 pattern over raw bytes (Latin-1: a byte that is not UTF-8 is a character too)."""
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    return re2.compile(pattern, options)


_RELAXED_WORK = _bytes_pattern(rb"  | \r\n")  # a run of spaces, or a space before a line break
_BARE_LF_BACKWARDS = _bytes_pattern(rb"\n[^\r]")  # in reversed bytes: an LF with no CR before it

# The constructors themselves: hashlib.new() looks the name up through Python code every call.
_HASH_CONSTRUCTORS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}


def new_hash(name: str) -> hashlib._Hash:
    """``hashlib.new(name)``, by its constructor for the names DKIM and ARC use."""
    constructor = _HASH_CONSTRUCTORS.get(name)
    return constructor() if constructor is not None else hashlib.new(name)


Header = tuple[bytes, bytes]
BodyKey = tuple[str, str, int | None]  # (body canonicalization, hash name, l= or None)


class HeaderError(ValueError):
    """The header section cannot be split into fields."""


def _show(line: bytes) -> str:
    return repr(line[:60].decode("ascii", "replace"))


def _header_end(raw: bytes) -> tuple[int, int]:
    """(end of the header block, start of the body): the first empty line splits them."""
    if raw.startswith(b"\n"):
        return 0, 1
    if raw.startswith(b"\r\n"):
        return 0, 2
    crlf = raw.find(b"\n\r\n")
    lf = raw.find(b"\n\n", 0, crlf + 2 if crlf >= 0 else len(raw))
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf + 1, lf + 2
    if crlf >= 0:
        return crlf + 1, crlf + 3
    return len(raw), len(raw)


def parse_header(block: bytes) -> list[Header]:
    """Header fields of ``block`` as (name, value with CRLF line ends), like dkimpy's parser.

    Linear in the block: lines are found one by one and a field's lines joined once.
    """
    fields: list[tuple[bytes, list[bytes]]] = []
    pos, end = 0, len(block)
    while pos < end:
        stop = block.find(b"\n", pos)
        stop = end if stop < 0 else stop
        cr = stop < end and stop > pos and block[stop - 1] == 0x0D  # CRLF, not a lone CR
        line = block[pos : stop - 1 if cr else stop]
        pos = stop + 1
        if not line:
            break
        if line[0] in (0x09, 0x20):
            if not fields:
                raise HeaderError("the header starts with a continuation line")
            fields[-1][1].append(line)
            continue
        colon = line.find(b":")
        if colon > 0 and not line[:colon].translate(None, _PRINTABLE):
            if len(fields) >= MAX_HEADER_FIELDS:
                raise HeaderError(f"more than {MAX_HEADER_FIELDS} header fields")
            fields.append((line[:colon], [line[colon + 1 :]]))
        elif not line.startswith(b"From "):
            raise HeaderError(f"the header line {_show(line)} is not a field")
    return [(name, _CRLF.join(parts) + _CRLF) for name, parts in fields]


def scanned_headers(raw: bytes, end: int, scan: HeaderScan) -> list[Header] | None:
    """``parse_header(raw[:end])`` read off ``scan`` (the header scan of the same block, which the
    message parse made), or None when the two readings could differ.

    They agree on a regular scan (every line opened a ``Name:`` field or continued one:
    :attr:`~bot.mail.rawheaders.HeaderScan.regular`) of the block that ends where this one does,
    before the blank line: a field's raw bytes are then its name, the colon and its value with
    each line break as CRLF (one CR before an LF taken into it), as :func:`parse_header` joins
    them; only the last CRLF is added here.
    """
    size = scan.size
    if not scan.regular or not 0 < size < end or len(scan.fields) > MAX_HEADER_FIELDS:
        return None
    if raw[size:end] not in (b"\n", b"\r\n"):  # not the same block: parse it
        return None
    if raw[size - 1] == 0x0D:  # the scan takes one more CR off the last line than the parse
        return None
    return [
        (item.raw[: len(item.name)], item.raw[len(item.name) + 1 :] + _CRLF) for item in scan.fields
    ]


def relaxed_header(name: bytes, value: bytes) -> Header:
    """RFC 6376 §3.4.2 as dkimpy does it: name lowercased, value unfolded, WSP runs squeezed."""
    text = value.replace(_CRLF, b"")
    if b"\t" in text:
        text = text.replace(b"\t", b" ")
    while b"  " in text:
        text = text.replace(b"  ", b" ")
    return name.lower().rstrip(), text.strip() + _CRLF


def canonical_body(
    raw: bytes, start: int, relaxed: bool, *, crlf_only: bool = False
) -> Iterator[bytes]:
    """The canonical body of ``raw[start:]`` (simple or relaxed), in chunks, as dkimpy has it.

    Line ends become CRLF; relaxed drops whitespace at line ends and squeezes runs to one space;
    trailing empty lines go, and one CRLF ends the body (the relaxed empty body stays empty).
    ``crlf_only`` says the caller knows every LF of the body follows a CR.
    """
    pos, end = start, len(raw)
    pending = 0  # CRLFs held back: they are dropped if nothing but CRLFs follows
    content = False
    carry_space = False
    while pos < end:
        stop = min(pos + CHUNK, end)
        if stop < end and raw[stop - 1] == 0x0D and raw[stop] == 0x0A:  # keep CRLF together
            stop = stop - 1 if stop - 1 > pos else stop + 1
        piece = raw[pos:stop]
        if not crlf_only and piece.count(b"\n") != piece.count(_CRLF):  # bare LFs: all CRLF
            piece = piece.replace(_CRLF, b"\n").replace(b"\n", _CRLF)
        pos = stop
        if relaxed:
            if carry_space:
                piece = b" " + piece
            if b"\t" in piece:
                piece = piece.replace(b"\t", b" ")
            # One RE2 pass says whether there is anything to squeeze or trim: CPython's search
            # for a two-byte needle is slow on text full of spaces, and most bodies have neither.
            found = _RELAXED_WORK.search(piece)
            if found is not None:
                # Before the first match there is nothing to do, and that part does not end in a
                # space (the match would start earlier): only the rest is squeezed and trimmed.
                at = found.start()
                rest = piece[at:]
                while b"  " in rest:
                    rest = rest.replace(b"  ", b" ")
                piece = piece[:at] + rest.replace(b" \r\n", _CRLF)
            trimmed = piece.rstrip(b" ")
            carry_space = len(trimmed) != len(piece)
            piece = trimmed
        pairs = _trailing_crlfs(piece)
        kept = len(piece) - 2 * pairs
        if kept == 0:
            pending += pairs
            continue
        yield from _crlfs(pending)
        yield piece[:kept] if pairs else piece
        content, pending = True, pairs
    if carry_space:
        yield from _crlfs(pending)
        yield b" "
        content = True
    if content or not relaxed:
        yield _CRLF


def crlf_only(raw: bytes, start: int) -> bool:
    """Whether every LF of ``raw[start:]`` follows a CR in it (``raw.count(b"\\n", start) ==
    raw.count(b"\\r\\n", start)``, as CPython's two-byte search is slow).

    A chunk at a time, reversed: an LF with something else than a CR after it there is a bare
    LF, and RE2 finds it jumping from LF to LF (a pattern led by a literal byte). The first byte
    of each chunk, whose CR would be in the chunk before, is checked on its own.
    """
    end = len(raw)
    for lo in range(start, end, CHUNK):
        hi = min(lo + CHUNK, end)
        if raw[lo] == 0x0A and (lo == start or raw[lo - 1] != 0x0D):
            return False
        backwards = raw[hi - 1 : lo - 1 : -1] if lo else raw[hi - 1 :: -1]
        if _BARE_LF_BACKWARDS.search(backwards) is not None:
            return False
    return True


def _trailing_crlfs(piece: bytes) -> int:
    """How many CRLF pairs end ``piece`` (every LF in it follows a CR)."""
    if not piece.endswith(b"\n"):
        return 0
    tail = piece[len(piece.rstrip(b"\r\n")) :]
    lone = tail.rfind(b"\r\r")
    return (len(tail) - (lone + 1 if lone >= 0 else 0)) // 2


def _crlfs(count: int) -> Iterator[bytes]:
    while count > 0:
        n = min(count, max(1, CHUNK // 2))
        yield _CRLF * n
        count -= n


@dataclass
class _Feed:
    """One hash over one canonical body, with the digest taken at each ``l=`` on the way."""

    hash_name: str
    limits: list[int]
    whole: bool
    fed: int = 0

    def __post_init__(self) -> None:
        self.hasher = new_hash(self.hash_name)
        self.limits.sort()
        self.at: dict[int, bytes] = {}

    def done(self) -> bool:
        return not self.whole and not self.limits

    def update(self, piece: bytes) -> int:
        """Hash ``piece`` (as much as still needed); return how many bytes were hashed."""
        view = memoryview(piece)
        hashed = 0
        while self.limits and self.fed + len(view) >= self.limits[0]:
            take = self.limits[0] - self.fed
            self.hasher.update(view[:take])
            view = view[take:]
            self.fed += take
            hashed += take
            self.at[self.limits.pop(0)] = self.hasher.copy().digest()
        if view and (self.whole or self.limits):
            self.hasher.update(view)
            self.fed += len(view)
            hashed += len(view)
        return hashed


class SignedMessage:
    """A message as DKIM and ARC see it: header fields plus a lazily hashed body."""

    def __init__(self, raw: bytes, scan: HeaderScan | None = None) -> None:
        """``scan``: :func:`~bot.mail.rawheaders.scan_headers` of ``header_block(raw)``, when the
        caller has it: its fields are taken as they are when :func:`scanned_headers` can."""
        self.raw = raw
        end, self.body_start = _header_end(raw)
        scanned = scanned_headers(raw, end, scan) if scan is not None else None
        self.headers: list[Header] = parse_header(raw[:end]) if scanned is None else scanned
        self.names = [
            name.lower() for name, _ in self.headers
        ]  # as relaxed canonicalization has them
        self._relaxed: list[Header] | None = None
        self._relaxed_some: dict[int, Header] = {}  # single fields put in relaxed form
        self._hashes: dict[BodyKey, bytes | None] = {}  # None: an l= past the body
        self._lengths: dict[str, int] = {}
        self._lock = threading.Lock()
        self.bytes_hashed = 0
        self.body_passes = 0
        self._crlf_only: bool | None = None

    @classmethod
    def of(cls, message: bytes | SignedMessage) -> SignedMessage:
        """``message`` itself if already parsed, else its parse (may raise HeaderError)."""
        return message if isinstance(message, SignedMessage) else cls(message)

    @property
    def relaxed_headers(self) -> list[Header]:
        """The header fields in relaxed canonical form (computed once)."""
        if self._relaxed is None:
            self._relaxed = [relaxed_header(n, v) for n, v in self.headers]
        return self._relaxed

    def relaxed_field(self, index: int) -> Header:
        """The field at ``index`` in relaxed canonical form (computed once)."""
        if self._relaxed is not None:
            return self._relaxed[index]
        done = self._relaxed_some.get(index)
        if done is None:
            done = self._relaxed_some[index] = relaxed_header(*self.headers[index])
        return done

    def fields(self, name: bytes) -> list[Header]:
        """Header fields named ``name`` (lowercase), top first."""
        return [
            field for field, lower in zip(self.headers, self.names, strict=True) if lower == name
        ]

    def body_hash(self, canon: str, hash_name: str, length: int | None) -> tuple[bytes | None, int]:
        """(digest of the canonical body, cut at ``length``; its full length).

        The digest is None when ``length`` is longer than the canonical body.
        """
        key: BodyKey = (canon, hash_name, length)
        with self._lock:
            if canon not in self._lengths or key not in self._hashes:
                wanted = {key, *self._requests()}
                for group in {c for c, _, _ in wanted}:
                    todo = {k for k in wanted if k[0] == group and k not in self._hashes}
                    if todo or group not in self._lengths:
                        self._hash_body(group, todo)
            return self._hashes.get(key), self._lengths[canon]

    def _requests(self) -> set[BodyKey]:
        """The body hashes the message's DKIM and ARC signatures will ask for."""
        out: set[BodyKey] = set()
        seen = 0
        for (_, value), lower in zip(self.headers, self.names, strict=True):
            if lower not in SIGNATURE_FIELDS:
                continue
            seen += 1
            if seen > MAX_PREPARED:  # more than DKIM and ARC will ever check
                break
            try:
                tags = parse_tag_list(value).tags
            except TagListError:
                continue
            default = b"relaxed/relaxed" if lower == b"arc-message-signature" else b"simple"
            canon = tags.get(b"c", default).lower().partition(b"/")[2] or b"simple"
            hash_name = HASHES.get(tags.get(b"a", b"").decode("ascii", "replace").lower())
            raw_length = tags.get(b"l")
            if canon not in (b"simple", b"relaxed") or hash_name is None:
                continue
            if raw_length is not None and not (raw_length.isdigit() and len(raw_length) <= 18):
                continue
            length = int(raw_length) if raw_length is not None else None
            out.add((canon.decode(), hash_name, length))
        return out

    def _hash_body(self, canon: str, keys: set[BodyKey]) -> None:
        feeds = []
        for hash_name in {h for _, h, _ in keys}:
            limits = [n for c, h, n in keys if h == hash_name and n is not None]
            whole = any(n is None for c, h, n in keys if h == hash_name)
            feeds.append(_Feed(hash_name, limits, whole))
        total = 0
        self.body_passes += 1
        if self._crlf_only is None:  # checked once for every canonicalization of the body
            self._crlf_only = crlf_only(self.raw, self.body_start)
        pieces = canonical_body(
            self.raw, self.body_start, canon == "relaxed", crlf_only=self._crlf_only
        )
        for piece in pieces:
            total += len(piece)
            for feed in feeds:
                if not feed.done():
                    self.bytes_hashed += feed.update(piece)
        for feed in feeds:  # an l= equal to the whole length: reached even when nothing was fed
            if not feed.done():
                feed.update(b"")
        self._lengths[canon] = total
        for feed in feeds:
            if feed.whole:
                self._hashes[(canon, feed.hash_name, None)] = feed.hasher.digest()
            for limit, digest in feed.at.items():
                self._hashes[(canon, feed.hash_name, limit)] = digest
        for key in keys:  # an l= past the body's end: known now (None), never hashed again
            self._hashes.setdefault(key, None)


def select_headers(headers: list[Header], names: list[bytes]) -> list[Header]:
    """The fields ``h=`` names, each instance taken from the bottom up (RFC 6376 §5.4.2)."""
    where: dict[bytes, list[int]] = {}
    for index, (name, _) in enumerate(headers):
        where.setdefault(name.lower(), []).append(index)
    out: list[Header] = []
    for name in names:
        left = where.get(name)
        if left:
            out.append(headers[left.pop()])
    return out


def select_indices(lowered: list[bytes], names: list[bytes]) -> list[int]:
    """:func:`select_headers` by index, over the fields' lowercased names (``msg.names``)."""
    where: dict[bytes, list[int]] = {}
    for index, name in enumerate(lowered):
        where.setdefault(name, []).append(index)
    out: list[int] = []
    for name in names:
        left = where.get(name)
        if left:
            out.append(left.pop())
    return out


def header_hash(
    msg: SignedMessage, relaxed: bool, hash_name: str, names: list[bytes], signature: Header
) -> bytes:
    """The hash over the fields ``names`` selects, then ``signature`` (its b= value removed)."""
    chosen = select_indices(msg.names, names)
    if relaxed:  # only the chosen fields are put in relaxed form (each once per message)
        fields = [msg.relaxed_field(index) for index in chosen]
    else:
        fields = [msg.headers[index] for index in chosen]
    return hash_fields(fields, relaxed, hash_name, signature)


def hash_fields(fields: list[Header], relaxed: bool, hash_name: str, signature: Header) -> bytes:
    """Hash ``fields`` (already canonical) and then ``signature`` canonicalized.

    The signature field is hashed last and without its trailing CRLF (RFC 6376 §3.7).
    """
    hasher = new_hash(hash_name)
    for name, value in fields:
        hasher.update(name + b":" + value)
    name, value = relaxed_header(*signature) if relaxed else signature
    hasher.update(name + b":" + value.rstrip())
    return hasher.digest()
