"""Received headers: the hop our own entry host recorded, and where our trust boundary ends.

Nobody outside can add a header above the ones our hosts write, so the top-most Received header
whose ``by`` host is trusted was written by us: its from-IP and HELO are the client that
connected to us (SPF's inputs). An internal relay (a private or loopback client address) hands
over to the next trusted hop below. Everything from the first Received header below that entry
hop down was written before the message reached us: text the sender chose.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.mail.message import ParsedMessage

_CLAUSE = re.compile(r"(?:^|(?<=[\s)]))(from|by|via|with|id|for)(?=\s)", re.IGNORECASE)
_BRACKETED = re.compile(r"\[(?:ipv6:)?([0-9a-f:.]+)\]", re.IGNORECASE)
_BARE_IP = re.compile(
    # bounded: an IPv6 address is at most 45 characters (overlapping ``*`` were quadratic)
    r"(?<![\w.:])((?:\d{1,3}\.){3}\d{1,3}|[0-9a-f.]{0,39}:[0-9a-f:.]{1,45})(?![\w.:])",
    re.IGNORECASE,
)
MAX_RECEIVED_CHARS = 4096
MAX_HOPS = 100  # more Received headers than any mail loop limit allows: the rest are not read
_INTERNAL = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)
_HELO = re.compile(r"\bhelo[= ]\s*([^\s()\[\]]+)", re.IGNORECASE)


def host_matches(host: str, patterns: Sequence[str]) -> bool:
    """True when ``host`` equals one of ``patterns`` or lies below a ``*.suffix`` pattern
    (case-insensitive, trailing dots ignored). ``*.corp.example`` does not match
    ``corp.example`` itself."""
    name = host.strip().lower().rstrip(".")
    if not name:
        return False
    for pattern in patterns:
        wanted = pattern.strip().lower().rstrip(".")
        if not wanted:
            continue
        if wanted.startswith("*."):
            if name.endswith(wanted[1:]) and len(name) > len(wanted) - 1:
                return True
        elif name == wanted:
            return True
    return False


@dataclass(frozen=True)
class Hop:
    """One Received header: its place in the message's headers and what it says."""

    index: int
    by_host: str | None
    from_helo: str | None
    ip: str | None
    raw: str


def _split_clauses(value: str) -> dict[str, str]:
    """The ``from``/``by``/... clauses at parenthesis depth 0, each with its comments."""
    text = value[:MAX_RECEIVED_CHARS]
    text = text.rsplit(";", 1)[0] if ";" in text else text
    marks: list[tuple[int, int, str]] = []
    depth, counted = 0, 0
    for match in _CLAUSE.finditer(text):
        # parenthesis depth at the match, counted once over the text (not from 0 each time)
        depth += text.count("(", counted, match.start()) - text.count(")", counted, match.start())
        counted = match.start()
        if depth <= 0:
            marks.append((match.start(), match.end(), match.group(1).lower()))
    clauses: dict[str, str] = {}
    for i, (_, end, word) in enumerate(marks):
        stop = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        clauses.setdefault(word, text[end:stop].strip())
    return clauses


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _first_token(text: str) -> str | None:
    token = text.split(None, 1)[0] if text.split() else ""
    token = token.strip("()").rstrip(".").lower()
    return token or None


def parse_received(value: str, index: int = -1) -> Hop:
    """Parse one Received value tolerantly: ``from helo (rdns [1.2.3.4]) by host ...``, IPv6
    literals as ``[IPv6:2001:db8::1]``, Exim's ``helo=``, qmail's ``(HELO x) (1.2.3.4)``."""
    clauses = _split_clauses(value)
    by_host = _first_token(clauses.get("by", ""))
    source = clauses.get("from", "")
    helo = _first_token(source) if source else None
    explicit = _HELO.search(source)
    if explicit is not None:
        helo = explicit.group(1).rstrip(".").lower()
    ip = None
    for match in _BRACKETED.finditer(source):
        ip = _valid_ip(match.group(1))
        if ip is not None:
            break
    if ip is None:
        for match in _BARE_IP.finditer(source):
            ip = _valid_ip(match.group(1))
            if ip is not None:
                break
    return Hop(index=index, by_host=by_host, from_helo=helo, ip=ip, raw=value)


def _received(msg: ParsedMessage) -> list[Hop]:
    """The first :data:`MAX_HOPS` Received headers, top first."""
    hops: list[Hop] = []
    for index, (name, value) in enumerate(msg.headers):
        if name.lower() == "received":
            hops.append(parse_received(value, index))
            if len(hops) >= MAX_HOPS:
                break
    return hops


def _internal(ip: str | None) -> bool:
    """RFC 1918 / loopback / link-local / ULA only (``is_private`` also covers documentation
    ranges, which are public addresses in every test and example)."""
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in network for network in _INTERNAL if network.version == address.version)


def _entry(hops: list[Hop], trusted: Sequence[str]) -> int | None:
    """Position (in ``hops``) of the hop where the message entered our hosts."""
    start = next(
        (i for i, hop in enumerate(hops) if hop.by_host and host_matches(hop.by_host, trusted)),
        None,
    )
    if start is None:
        return None
    position = start
    while _internal(hops[position].ip) and position + 1 < len(hops):
        below = hops[position + 1]
        if not (below.by_host and host_matches(below.by_host, trusted)):
            break
        position += 1
    return position


def trusted_hop(msg: ParsedMessage, trusted: Sequence[str]) -> Hop | None:
    """The hop our entry host recorded (its from-IP and HELO are SPF's client), or None when no
    Received header was written by a trusted host."""
    hops = _received(msg)
    position = _entry(hops, trusted)
    return hops[position] if position is not None else None


def boundary_index(msg: ParsedMessage, trusted: Sequence[str]) -> int:
    """Index in ``msg.headers`` of the first Received header written outside our hosts; headers
    above it were written by us (``len(msg.headers)`` when there is no such Received header).

    With an entry hop, that is the first Received header below it, whatever its ``by`` host
    claims (a forged "by our-mx" line below the entry is still the sender's text). With no
    trusted Received header, it is the first Received header.
    """
    hops = _received(msg)
    position = _entry(hops, trusted)
    if position is None:
        return hops[0].index if hops else len(msg.headers)
    if position + 1 < len(hops):
        return hops[position + 1].index
    if len(hops) >= MAX_HOPS:  # more hops than were read: trust nothing below the last one
        return hops[position].index + 1
    return len(msg.headers)
