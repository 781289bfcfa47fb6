"""DKIM and ARC take their header fields from the message parse's header scan: the same fields,
byte for byte, as their own dkimpy-like parse, or the scan is not used."""

from __future__ import annotations

import random

from bot.mail.message import parse_message
from bot.mail.rawheaders import header_block, scan_headers
from bot.mail.signedmsg import (
    HeaderError,
    SignedMessage,
    _header_end,
    parse_header,
    scanned_headers,
)
from tests.support.mailsign import build

_PIECES = (
    b"From: a@b.example",
    b"To: c@d.example",
    b"Subject: x",
    b"DKIM-Signature: v=1; a=rsa-sha256;",
    b"From ",
    b"From x",
    b"Bad Name: v",
    b"Name : v",
    b"X:",
    b": v",
    b"\xff: v",
    b"a",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\r\n",
    b"\n ",
    b"\r\n\t",
    b"\n\n",
    b"\r\n\r\n",
    b"\n\r\n",
)


def _parsed(raw: bytes) -> list[tuple[bytes, bytes]] | None:
    stop, _ = _header_end(raw)
    try:
        return parse_header(raw[:stop])
    except HeaderError:
        return None


def test_scanned_fields_are_the_parsed_fields() -> None:
    rng = random.Random(41)
    used = 0
    for _ in range(20_000):
        raw = b"".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 16)))
        for strict in (True, False):
            scan = scan_headers(header_block(raw), strict=strict)
            end, _ = _header_end(raw)
            scanned = scanned_headers(raw, end, scan)
            if scanned is None:
                continue
            used += 1
            assert scanned == _parsed(raw), raw
            assert SignedMessage(raw, scan).headers == SignedMessage(raw).headers, raw
    assert used > 1000  # the shared reading is exercised, not only the fallback


def test_a_parsed_message_shares_its_scan() -> None:
    raw = build(from_="a@b.example", subject="hi", body="text\r\n")
    msg = parse_message(raw)
    assert msg.scan is not None
    signed = SignedMessage(msg.raw, msg.scan)
    assert signed.headers == SignedMessage(msg.raw).headers
    assert scanned_headers(msg.raw, _header_end(msg.raw)[0], msg.scan) is not None
    # LF line ends, an mbox line, a trailing CR: each read as the parse reads it
    for variant in (
        raw.replace(b"\r\n", b"\n"),
        b"From someone Mon Jan 1\r\n" + raw,
        raw.replace(b"\r\n\r\n", b"\r\r\n\r\n", 1),
    ):
        msg = parse_message(variant)
        assert SignedMessage(variant, msg.scan).headers == SignedMessage(variant).headers
