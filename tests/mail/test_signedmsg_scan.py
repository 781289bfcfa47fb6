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


def test_header_hash_of_chosen_fields_is_that_of_every_field_relaxed() -> None:
    """Putting only the fields h= chooses in relaxed form hashes what relaxing them all did."""
    from bot.mail.signedmsg import hash_fields, header_hash, select_headers

    rng = random.Random(47)
    names = [b"From", b"to", b"Subject", b"X-A", b"subject", b"DATE"]
    values = [b" v", b"\tv  w ", b"", b" a\r\n b", b" a \t b", b" \xff  x"]
    wanted = [b"from", b"to", b"subject", b"x-a", b"date", b"missing"]
    for _ in range(2000):
        lines = [rng.choice(names) + b":" + rng.choice(values) for _ in range(rng.randrange(1, 8))]
        raw = b"\r\n".join(lines) + b"\r\n\r\nbody\r\n"
        chosen = [rng.choice(wanted) for _ in range(rng.randrange(0, 8))]
        signature = (b"DKIM-Signature", b" v=1; b=")
        for relaxed in (True, False):
            msg = SignedMessage(raw)
            source = msg.relaxed_headers if relaxed else msg.headers
            expected = hash_fields(select_headers(source, chosen), relaxed, "sha256", signature)
            fresh = SignedMessage(raw)
            assert header_hash(fresh, relaxed, "sha256", chosen, signature) == expected, raw
            assert header_hash(msg, relaxed, "sha256", chosen, signature) == expected, raw
