"""DKIM tag=value lists (RFC 6376 §3.2), shared by DKIM-Signature, key records and ARC.

``tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]``: whitespace (folding included) is
allowed around the name, the ``=`` and the ``;``. A tag may appear once; an empty list or a
trailing ``;`` is fine. Errors say which tag and why, for a reason a person can act on. Also the
dkim-quoted-printable decoding that ``i=`` (and ``z=``) use (§2.11).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

_FWS = b" \t\r\n"
_NAME_FIRST = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NAME_REST = _NAME_FIRST + b"0123456789_"
_HEX = frozenset(b"0123456789ABCDEFabcdef")
MAX_TAGS = 64
MAX_CACHED_BYTES = 4096
CACHE_SIZE = 256


class TagListError(ValueError):
    """The text is not a tag=value list; the message says where."""


@dataclass(frozen=True)
class TagList:
    """Tags by name (values with surrounding whitespace removed) and where each value lies."""

    tags: dict[bytes, bytes]
    spans: dict[bytes, tuple[int, int]]

    def without_value(self, raw: bytes, tag: bytes) -> bytes:
        """``raw`` with the value of ``tag`` removed (FWS after ``=`` too), as b= is hashed."""
        span = self.spans.get(tag)
        if span is None:
            return raw
        return raw[: span[0]] + raw[span[1] :]


def _show(value: bytes, limit: int = 40) -> str:
    text = value[:limit].decode("ascii", "replace")
    return repr(text) + ("..." if len(value) > limit else "")


def parse_tag_list(raw: bytes) -> TagList:
    """Parse ``raw`` (a header value or TXT record); raise :class:`TagListError` if malformed.

    A message's signature is read more than once (the body-hash plan, then its verification), and
    ARC fields too: short lists are parsed once and kept (the result is shared: never mutate it).
    """
    if len(raw) > MAX_CACHED_BYTES:
        return _parse(raw)
    parsed = _parse_cached(raw)
    if isinstance(parsed, str):
        raise TagListError(parsed)
    return parsed


@lru_cache(maxsize=CACHE_SIZE)
def _parse_cached(raw: bytes) -> TagList | str:
    try:
        return _parse(raw)
    except TagListError as exc:
        return str(exc)


def _parse(raw: bytes) -> TagList:
    tags: dict[bytes, bytes] = {}
    spans: dict[bytes, tuple[int, int]] = {}
    # One split, not a find per spec; past MAX_TAGS + 1 specs the parse has raised already (each
    # spec before the last is a tag or an error), so the rest is not split.
    specs = raw.split(b";", MAX_TAGS + 1)
    last = len(specs) - 1
    pos = 0
    for index, spec in enumerate(specs):
        equals = spec.find(b"=")
        if equals >= 0:
            name = spec[:equals].strip(_FWS)
            if not name or name[0] not in _NAME_FIRST or name.translate(None, _NAME_REST):
                raise TagListError(f"{_show(name)} is not a valid tag name")
            if name in tags:
                raise TagListError(f"the tag {name.decode()}= appears more than once")
            value = spec[equals + 1 :]
            start = pos + equals + 1
            trimmed = value.rstrip(_FWS)
            tags[name] = trimmed.lstrip(_FWS)
            spans[name] = (start, start + len(trimmed))
            if len(tags) > MAX_TAGS:
                raise TagListError(f"more than {MAX_TAGS} tags")
        elif spec.strip(_FWS):
            raise TagListError(f"{_show(spec.strip(_FWS))} has no '=' (expected tag=value)")
        elif index < last:
            raise TagListError("an empty tag-spec before a ';' (only one trailing ';' is allowed)")
        pos += len(spec) + 1
    return TagList(tags, spans)


def decode_quoted_printable(value: bytes) -> bytes:
    """dkim-quoted-printable (RFC 6376 §2.11): ``=XX`` escapes decoded, FWS dropped."""
    if b"=" not in value:  # nothing to decode: only the FWS goes (one C-level pass)
        return value.translate(None, _FWS)
    out = bytearray()
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == 0x3D:  # '='
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or not all(h in _HEX for h in pair):
                raise TagListError(
                    f"{_show(value)} has an '=' that is not followed by two hex digits"
                )
            out.append(int(pair, 16))
            i += 3
            continue
        if c not in _FWS:
            out.append(c)
        i += 1
    return bytes(out)


def split_list(value: bytes) -> list[bytes]:
    """A colon-separated list (``h=``, ``q=``, ``s=``, ``t=`` flags), items stripped, none empty."""
    return [item for item in (part.strip(_FWS) for part in value.split(b":")) if item]
