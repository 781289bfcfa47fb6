"""The address fields of a message read strictly: its one author (From), Reply-To and
Return-Path, each capped before it is parsed and every oddity a :class:`Defect`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from email import errors as email_errors
from email.policy import default as default_policy

from bot.mail.rawheaders import Defect, control_name
from bot.names import Address, InvalidName, parse_address

MAX_FIELD_CHARS = 2000
# Longer than any real From or Reply-To (a display name, an address of at most 254 characters,
# encoded words): such a field is malformed and never given to the stdlib's address parser,
# whose work grows faster than linearly with the length.
MAX_ADDRESS_FIELD_CHARS = 1000
MAX_REPLY_TO = 3


@dataclass
class Author:
    address: Address | None = None
    display_name: str | None = None
    defects: list[Defect] = field(default_factory=list)


# The common From shape, ``Plain Words <dot.atom@host.example>``: read directly, with the same
# result as email.headerregistry (tests/mail/test_author_fast.py holds them equal).
SIMPLE_FROM = re.compile(
    r"[ \t]*(?P<name>[A-Za-z0-9]{1,64}(?:[ \t]{1,8}[A-Za-z0-9]{1,64}){0,15})?[ \t]*"
    r"<(?P<addr>[A-Za-z0-9_+-]{1,64}(?:\.[A-Za-z0-9_+-]{1,64}){0,15}"
    r"@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,15})>[ \t]*"
)


def read_author(value: str) -> Author:
    """The single author named by a From value (not yet RFC 2047-decoded), with defects."""
    simple = SIMPLE_FROM.fullmatch(value) if len(value) <= MAX_FIELD_CHARS else None
    if simple is None:
        return read_author_parsed(value)
    out = Author(display_name=" ".join((simple["name"] or "").split()) or None)
    try:
        out.address = parse_address(simple["addr"])
    except InvalidName as exc:
        out.defects.append(
            Defect("malformed_message", f"the From address {simple['addr']!r} is invalid: {exc}")
        )
    return out


def read_author_parsed(value: str) -> Author:
    """:func:`read_author` by email.headerregistry, for every From value."""
    out = Author()
    if not value:
        return out
    if len(value) > MAX_ADDRESS_FIELD_CHARS:
        out.defects.append(
            Defect(
                "malformed_message",
                f"the From header is {len(value):,} characters long, longer than any real one: "
                "not parsed",
            )
        )
        return out
    hidden = control_name(value)
    if hidden is not None:
        out.defects.append(Defect("malformed_message", f"{hidden} in From header"))
        return out
    try:
        header = default_policy.header_factory("From", value)
        groups = header.groups
        problems = [d for d in header.defects if isinstance(d, email_errors.InvalidHeaderDefect)]
    except Exception as exc:  # the header parser is not hardened against all input
        out.defects.append(Defect("malformed_message", f"the From header cannot be parsed: {exc}"))
        return out
    if any(g.display_name is not None for g in groups):
        out.defects.append(
            Defect("multiple_from", "the From header is a group ('name: addresses;'), not a person")
        )
        return out
    addresses = [a for g in groups for a in g.addresses]
    if len(addresses) > 1:
        shown = ", ".join(a.addr_spec for a in addresses[:5])
        out.defects.append(
            Defect("multiple_from", f"one From header names {len(addresses)} authors: {shown}")
        )
        return out
    if problems or not addresses:
        why = str(problems[0]) if problems else "no address"
        out.defects.append(
            Defect("malformed_message", f"the From header is not a valid address ({why})")
        )
        return out
    author = addresses[0]
    display = str(author.display_name or "").strip() or None
    bad = control_name(f"{display or ''}{author.addr_spec}") or _format_char(display or "")
    if bad is not None:
        out.defects.append(Defect("malformed_message", f"{bad} in the From header"))
    try:
        out.address = parse_address(author.addr_spec)
    except InvalidName as exc:
        out.defects.append(
            Defect("malformed_message", f"the From address {author.addr_spec!r} is invalid: {exc}")
        )
    out.display_name = display
    return out


def unique_defects(defects: list[Defect]) -> list[Defect]:
    return list(dict.fromkeys(defects))


def _format_char(text: str) -> str | None:
    for ch in text:
        if unicodedata.category(ch) == "Cf":
            return f"invisible format character U+{ord(ch):04X}"
    return None


def read_reply_to(values: list[str], notes: list[str]) -> tuple[list[Address], list[Defect]]:
    """Reply-To addresses; an over-long field is a defect and is not parsed."""
    defects: list[Defect] = []
    usable: list[str] = []
    for value in values:
        if len(value) > MAX_ADDRESS_FIELD_CHARS:
            defects.append(
                Defect(
                    "malformed_message",
                    f"a Reply-To header is {len(value):,} characters long, longer than any real "
                    "one: not parsed",
                )
            )
        else:
            usable.append(value)
    if len(usable) > MAX_REPLY_TO:
        notes.append(f"{len(usable)} Reply-To headers: only the first {MAX_REPLY_TO} were read")
    return read_addresses(usable[:MAX_REPLY_TO], notes), unique_defects(defects)


def read_addresses(values: list[str], notes: list[str]) -> list[Address]:
    out: list[Address] = []
    for value in values:
        try:
            header = default_policy.header_factory("Reply-To", value)
            specs = [a.addr_spec for a in header.addresses]
        except Exception:  # hostile header: noted, not fatal
            notes.append(f"Reply-To {value[:80]!r} cannot be parsed")
            continue
        for spec in specs:
            try:
                out.append(parse_address(spec))
            except InvalidName:
                notes.append(f"Reply-To address {spec[:80]!r} is not valid")
    return out


def read_return_path(values: list[str], notes: list[str]) -> Address | None:
    if not values:
        return None
    text = values[0].strip()
    if text.startswith("<") and ">" in text:
        text = text[1 : text.index(">")]
    text = text.strip()
    if not text:
        return None
    try:
        return parse_address(text)
    except InvalidName:
        notes.append(f"Return-Path {values[0][:80]!r} is not a valid address")
        return None
