"""bot.mail.dkim against dkimpy, the reference, on generated corpora; and the body work it does.

* Canonicalization: random bodies (spaces, tabs, bare CR, LF and CRLF, trailing blank lines)
  canonicalized by our chunked code, with chunk sizes down to one byte, and by dkimpy.
* Header parsing and relaxed header canonicalization, against dkimpy's ``rfc822_parse``.
* Signatures: RSA-2048 and Ed25519, every canonicalization, ``l=``, tampered bodies and headers,
  refolded headers, extra whitespace, several signatures per message: our pass (crypto verified)
  must be exactly dkimpy's ``verify(idx)`` True, signature by signature.
* ARC: generated chains of one to three sets, some tampered, against dkimpy's ``ARC.verify``.
* Work: many signatures over one body hash it once per (canonicalization, hash), counted in bytes.
"""

from __future__ import annotations

import random
import tracemalloc
from typing import Any

import dkim
import pytest
from dkim.canonicalization import Relaxed, Simple

from bot.dns import Resolver
from bot.mail import signedmsg
from bot.mail.arc import verify_arc
from bot.mail.dkim import verify_dkim
from bot.mail.signedmsg import SignedMessage, canonical_body, parse_header, relaxed_header
from tests.support import mailsign
from tests.support.dnsserver import TestDNSServer

D = "differential.example"
PIECES = [b"a", b"b", b" ", b"  ", b"\t", b"\r", b"\n", b"\r\n", b"\r\n\r\n", b" \t ", b"x y"]


def _random_body(rng: random.Random) -> bytes:
    return b"".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 40)))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 1 << 20])
def test_body_canonicalization_matches_dkimpy(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signedmsg, "CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(400):
        body = _random_body(rng)
        raw = b"From: a@b.example\r\n\r\n" + body
        _, theirs = dkim.rfc822_parse(raw)
        start = SignedMessage(raw).body_start
        for relaxed, algorithm in ((False, Simple), (True, Relaxed)):
            ours = b"".join(canonical_body(raw, start, relaxed))
            assert ours == algorithm.canonicalize_body(theirs), (body, relaxed)


def test_header_parsing_matches_dkimpy() -> None:
    rng = random.Random(7)
    names = [b"From", b"Subject", b"X-A", b"to"]
    values = [b" v", b"\tv  w ", b"", b" a\r\n b", b" a\r\n\t\tb  ", b" a \t b"]
    for _ in range(300):
        lines = [rng.choice(names) + b":" + rng.choice(values) for _ in range(rng.randrange(1, 6))]
        ending = rng.choice([b"\r\n", b"\n"])
        raw = ending.join(lines) + ending + ending + b"body" + ending
        theirs, body = dkim.rfc822_parse(raw)
        msg = SignedMessage(raw)
        assert [list(h) for h in msg.headers] == theirs
        relaxed = [relaxed_header(n, v) for n, v in msg.headers]
        assert relaxed == [tuple(h) for h in Relaxed.canonicalize_headers(theirs)]
        assert b"".join(canonical_body(raw, msg.body_start, False)) == Simple.canonicalize_body(
            body
        )


def test_header_parsing_refuses_what_dkimpy_refuses() -> None:
    for raw in (b" starts folded\r\n\r\n", b"no colon here\r\n\r\n", b"Bad Name: x\r\n\r\n"):
        with pytest.raises((dkim.MessageFormatError, IndexError)):
            dkim.rfc822_parse(raw)
        with pytest.raises(signedmsg.HeaderError):
            parse_header(raw)


# signatures


def _tamper(message: bytes, how: str) -> bytes:
    head, _, body = message.partition(b"\r\n\r\n")
    if how == "body":
        return head + b"\r\n\r\n" + body.replace(b"Saturday", b"Sunday", 1)
    if how == "append":
        return message + b"P.S. call +1 900 555 0199\r\n"
    if how == "subject":
        return message.replace(b"Subject: Quarterly", b"Subject: Urgent", 1)
    if how == "spaces":
        return head + b"\r\n\r\n" + body.replace(b" ", b"   \t", 3).replace(b"\r\n", b"  \r\n", 2)
    if how == "refold":
        return message.replace(
            b"Subject: Quarterly maintenance", b"Subject: Quarterly\r\n\tmaintenance"
        )
    if how == "blank-lines":
        return message + b"\r\n\r\n\r\n"
    return message


def _corpus() -> list[Any]:
    cases = []
    rng = random.Random(2026)
    for kind in ("rsa", "ed25519"):
        for canon in ("relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple"):
            for length in (False, True, 20):
                for how in ("none", "body", "append", "subject", "spaces", "refold", "blank-lines"):
                    cases.append(pytest.param(kind, canon, length, how, rng.randrange(1 << 30)))
    return cases


def _message(seed: int) -> bytes:
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(["Saturday", "window", "  ", "\t", "ok"]) for _ in range(8))]
    lines += ["", "trailing space here  ", "Thanks"] + [""] * rng.randrange(0, 3)
    return mailsign.build(body="\r\n".join(lines) + "\r\n")


def _publish_all(dns: TestDNSServer) -> dict[str, bytes]:
    records = {}
    for selector, key in (("rsa", mailsign.rsa_key(2048)), ("ed", mailsign.ed25519_key())):
        mailsign.publish(dns, D, selector, key)
        records[f"{selector}._domainkey.{D}."] = key.txt().encode()
    return records


def _dkimpy(message: bytes, count: int, records: dict[str, bytes]) -> list[bool]:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        return records.get(name.decode())

    out = []
    for index in range(count):
        try:
            out.append(bool(dkim.DKIM(message).verify(index, dnsfunc=dnsfunc)))
        except dkim.DKIMException:
            out.append(False)
    return out


@pytest.mark.parametrize(("kind", "canon", "length", "how", "seed"), _corpus())
def test_agrees_with_dkimpy(
    kind: str,
    canon: str,
    length: bool | int,
    how: str,
    seed: int,
    dns_server: TestDNSServer,
    resolver: Resolver,
) -> None:
    records = _publish_all(dns_server)
    key = mailsign.ed25519_key() if kind == "ed25519" else mailsign.rsa_key(2048)
    selector = "ed" if kind == "ed25519" else "rsa"
    message = mailsign.sign(
        _message(seed), domain=D, selector=selector, key=key, canonicalize=canon, length=length
    )
    message = _tamper(message, how)

    ours = verify_dkim(message, resolver)
    theirs = _dkimpy(message, len(ours), records)

    assert [r.result == "pass" for r in ours] == theirs, [r.reason for r in ours]
    for r in ours:  # not a pass for dkimpy either; we say why: l= now overshoots the body
        assert r.result in ("pass", "fail") or "longer than the body" in r.reason, r.reason


@pytest.mark.parametrize("seed", range(12))
def test_several_signatures_agree_with_dkimpy(
    seed: int, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    records = _publish_all(dns_server)
    rng = random.Random(seed)
    message = _message(seed)
    for _ in range(rng.randrange(2, 5)):
        kind = rng.choice(["rsa", "ed25519"])
        key = mailsign.ed25519_key() if kind == "ed25519" else mailsign.rsa_key(2048)
        message = mailsign.sign(
            message,
            domain=D,
            selector="ed" if kind == "ed25519" else "rsa",
            key=key,
            canonicalize=rng.choice(["relaxed/relaxed", "simple/simple", "relaxed/simple"]),
            length=rng.choice([False, True, 10]),
        )
        if rng.random() < 0.4:
            message = _tamper(message, rng.choice(["body", "append", "spaces", "subject"]))

    ours = verify_dkim(message, resolver)
    theirs = _dkimpy(message, len(ours), records)

    assert len(ours) >= 2
    assert [r.result == "pass" for r in ours] == theirs, [r.reason for r in ours]


# work: one body pass per (canonicalization, hash), whatever the signatures


def test_twenty_signatures_hash_the_body_once(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "rsa", key)
    body = "a line of text that repeats\r\n" * 40_000  # 1.2 MB
    message = mailsign.build(body=body)
    for n in range(20):
        length: bool | int = [False, True, 1000 + n][n % 3]
        message = mailsign.sign(
            message,
            domain=D,
            selector="rsa",
            key=key,
            canonicalize="relaxed/relaxed",
            length=length,
        )
    msg = SignedMessage(message)

    results = verify_dkim(msg, resolver)

    assert [r.result for r in results] == ["pass"] * 20
    assert msg.body_passes == 1
    canonical = len(body.encode())
    assert msg.bytes_hashed == canonical  # not 20 x, and l= cut points cost no extra pass


def test_dkim_and_arc_share_one_parse_and_one_body_pass(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "rsa", key)
    mailsign.publish(dns_server, D, "arc", key)
    message = mailsign.sign(
        mailsign.build(body="hello\r\n" * 10_000),
        domain=D,
        selector="rsa",
        key=key,
        canonicalize="relaxed/relaxed",
    )
    sealed = mailsign.arc_seal(message, domain=D, selector="arc", key=key, srv_id="mx." + D)
    msg = SignedMessage(sealed)

    dkim_results = verify_dkim(msg, resolver)
    arc = verify_arc(msg, resolver)

    assert [r.result for r in dkim_results] == ["pass"]
    assert arc.cv == "pass", arc.reason
    assert msg.body_passes == 1  # relaxed body hashed once, for the DKIM-Signature and the AMS
    assert msg.bytes_hashed == len(b"hello\r\n" * 10_000)


def test_different_canonicalizations_cost_one_pass_each(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "rsa", key)
    message = mailsign.build(body="x  y\r\n" * 1000)
    for canon in ("relaxed/relaxed", "relaxed/simple") * 5:
        message = mailsign.sign(message, domain=D, selector="rsa", key=key, canonicalize=canon)
    msg = SignedMessage(message)

    assert [r.result for r in verify_dkim(msg, resolver)] == ["pass"] * 10
    assert msg.body_passes == 2


def test_memory_for_a_large_body_stays_bounded(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "rsa", key)
    mailsign.publish(dns_server, D, "arc", key)
    body = "".join(f"line {i % 1000:03d} ok\r\n" for i in range(500_000))  # 6.5 MB, short lines
    message = mailsign.sign(
        mailsign.build(body=body), domain=D, selector="rsa", key=key, canonicalize="relaxed/relaxed"
    )
    sealed = mailsign.arc_seal(message, domain=D, selector="arc", key=key, srv_id="mx." + D)

    tracemalloc.start()
    try:
        msg = SignedMessage(sealed)
        results = verify_dkim(msg, resolver)
        arc = verify_arc(msg, resolver)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [r.result for r in results] == ["pass"] and arc.cv == "pass", arc.reason
    # The body is canonicalized in chunks: what is allocated does not grow with the message
    # (dkimpy's line lists took ~40x the message).
    assert peak < len(sealed) // 2, (peak, len(sealed))


# ARC against dkimpy's ARC.verify on generated chains


def _arc_chain(seed: int, dns: TestDNSServer) -> tuple[bytes, dict[str, bytes]]:
    rng = random.Random(seed)
    key = mailsign.rsa_key(2048)
    records = {}
    message = mailsign.sign(_message(seed), domain=D, selector="rsa", key=key)
    mailsign.publish(dns, D, "rsa", key)
    hops = rng.randrange(1, 4)
    for hop in range(1, hops + 1):
        relay = f"relay{hop}.example"
        mailsign.publish(dns, relay, "arc", key)
        records[f"arc._domainkey.{relay}."] = key.txt().encode()
        status = None if hop == 1 else "pass"
        message = mailsign.arc_seal(
            message, domain=relay, selector="arc", key=key, srv_id="mx." + relay, arc=status
        )
        if rng.random() < 0.3:
            message = _tamper(message, rng.choice(["body", "subject", "append", "spaces"]))
    if rng.random() < 0.3:
        old = rng.choice([b"cv=none", b"i=1", b"ARC-Authentication-Results: i=1; mx.relay1"])
        message = message.replace(old, old + b" ", 1)
    return message, records


@pytest.mark.parametrize("seed", range(40))
def test_arc_agrees_with_dkimpy(seed: int, dns_server: TestDNSServer, resolver: Resolver) -> None:
    message, records = _arc_chain(seed, dns_server)

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        return records.get(name.decode())

    theirs, _, why = dkim.ARC(message).verify(dnsfunc=dnsfunc)
    ours = verify_arc(message, resolver)

    expected = {b"pass": "pass", b"fail": "fail", b"none": "none", None: "fail"}[theirs]
    assert ours.cv == expected, (ours.reason, why)


@pytest.mark.parametrize("chunk", [3, 7, 1 << 18])
def test_relaxed_body_with_and_without_runs_to_squeeze(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies mostly without a run of spaces or a space before a line break (the RE2 check lets
    them through untouched) and with one: the same canonical body as dkimpy's."""
    monkeypatch.setattr(signedmsg, "CHUNK", chunk)
    rng = random.Random(chunk + 5)
    sparse = [b"word", b"x", b" ", b"\r\n", b"a b", b"\t", b"y "]
    for _ in range(600):
        body = b"".join(rng.choice(sparse) for _ in range(rng.randrange(0, 30)))
        raw = b"From: a@b.example\r\n\r\n" + body
        _, theirs = dkim.rfc822_parse(raw)
        start = SignedMessage(raw).body_start
        ours = b"".join(canonical_body(raw, start, True))
        assert ours == Relaxed.canonicalize_body(theirs), body


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 18])
def test_crlf_only_matches_the_line_break_counts(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """crlf_only (reversed chunks searched by RE2) says what comparing the counts of LF and CRLF
    said, bytes that are not UTF-8 before an LF included."""
    monkeypatch.setattr(signedmsg, "CHUNK", chunk)
    rng = random.Random(chunk + 11)
    pieces = [b"a", b"\r", b"\n", b"\r\n", b"\xff", b"\xc3", b"\x80", b"\x00", b" ", b"\r\r\n"]
    for _ in range(3000):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 24)))
        for start in {0, 1, len(raw) // 2, len(raw)}:
            if start > len(raw):
                continue
            expected = raw.count(b"\n", start) == raw.count(b"\r\n", start)
            assert signedmsg.crlf_only(raw, start) is expected, (raw, start)


@pytest.mark.parametrize("chunk", [2, 5, 1 << 18])
def test_relaxed_body_of_bytes_that_are_not_utf8(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signedmsg, "CHUNK", chunk)
    rng = random.Random(chunk + 3)
    pieces = [b"\xff", b"\xc3\xa9", b"\x80 ", b"  ", b" \r\n", b"\r\n", b"\n", b"x", b"\t", b" "]
    for _ in range(800):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30)))
        raw = b"From: a@b.example\r\n\r\n" + body
        _, theirs = dkim.rfc822_parse(raw)
        start = SignedMessage(raw).body_start
        for relaxed, algorithm in ((False, Simple), (True, Relaxed)):
            msg = SignedMessage(raw)
            ours = b"".join(canonical_body(raw, start, relaxed, crlf_only=msg_crlf(msg)))
            assert ours == algorithm.canonicalize_body(theirs), (body, relaxed)


def msg_crlf(msg: SignedMessage) -> bool:
    return signedmsg.crlf_only(msg.raw, msg.body_start)


def test_hash_constructors_are_those_hashlib_new_gives() -> None:
    import hashlib

    for name in ("sha256", "sha1", "md5"):
        for data in (b"", b"abc", bytes(range(256)) * 9):
            made = signedmsg.new_hash(name)
            made.update(data)
            assert made.name == name
            assert made.digest() == hashlib.new(name, data).digest()
