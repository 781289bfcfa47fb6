"""Hostile DKIM/ARC input: bounded body work, and no exception on mutated messages.

Issue 11: 20 bogus signatures on a large body used to cost one canonicalization and hash each.
Here the body work is counted (bytes hashed, passes over the body), not timed. A bounded fuzz of
mutated signed and sealed messages checks that verification always answers and never raises.
"""

from __future__ import annotations

import random

from bot.dns import Resolver
from bot.mail.arc import ArcResult, verify_arc
from bot.mail.dkim import MAX_SIGNATURES, verify_dkim
from bot.mail.signedmsg import SignedMessage
from tests.support import mailsign
from tests.support.dnsserver import TestDNSServer

D = "hostile.example"


def test_twenty_bogus_signatures_on_a_large_body_cost_one_pass_per_canonicalization(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "s1", key)
    body = b"short line\r\n" * 200_000  # 2.4 MB
    message = mailsign.build(body=body.decode())
    rng = random.Random(1)
    bogus = []
    for n in range(30):
        canon = rng.choice(["relaxed/relaxed", "simple/simple", "relaxed/simple"])
        length = f" l={rng.randrange(1, len(body))};" if n % 2 else ""
        bogus.append(
            f"DKIM-Signature: v=1; a=rsa-sha256; c={canon}; d={D}; s=s1;{length}"
            f" h=from:to:subject; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
            f" b=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        )
    msg = SignedMessage(mailsign.prepend(message, *bogus))

    results = verify_dkim(msg, resolver)

    assert len(results) == MAX_SIGNATURES + 1
    assert all(r.result == "fail" for r in results[:MAX_SIGNATURES])
    assert msg.body_passes == 2  # simple and relaxed, whatever the number of signatures and l=
    assert msg.bytes_hashed <= 2 * len(body)


def test_signatures_with_unknown_algorithms_hash_nothing(resolver: Resolver) -> None:
    headers = [
        f"DKIM-Signature: v=1; a=rsa-md5; d={D}; s=s1; h=from; bh=AAAA; b=AAAA" for _ in range(20)
    ]
    msg = SignedMessage(mailsign.prepend(mailsign.build(body="x\r\n" * 100_000), *headers))

    results = verify_dkim(msg, resolver)

    assert {r.result for r in results} == {"permerror"}
    assert msg.bytes_hashed == 0 and msg.body_passes == 0


def _mutate(rng: random.Random, message: bytes) -> bytes:
    data = bytearray(message)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(5)
        at = rng.randrange(len(data))
        if op == 0:
            data[at] = rng.randrange(256)
        elif op == 1:
            data[at:at] = rng.choice([b";", b"=", b" ", b"\r\n", b"\r\n ", b"\n\n", b":", b"\t"])
        elif op == 2:
            del data[at : at + rng.randrange(1, 40)]
        elif op == 3:
            data[at:at] = data[at : at + rng.randrange(1, 80)] * rng.randrange(1, 4)
        else:
            data[at:at] = rng.choice([b"=4", b"i=", b"l=99999999999", b"q=x/y:", b"s=", b"cv="])
    return bytes(data)


def test_mutated_signed_and_sealed_messages_never_raise(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    ed = mailsign.ed25519_key()
    mailsign.publish(dns_server, D, "s1", key)
    mailsign.publish(dns_server, D, "ed", ed)
    mailsign.publish(dns_server, D, "arc", key)
    base = mailsign.sign(mailsign.build(), domain=D, selector="s1", key=key)
    base = mailsign.sign(base, domain=D, selector="ed", key=ed, length=True)
    base = mailsign.arc_seal(base, domain=D, selector="arc", key=key, srv_id="mx." + D)
    rng = random.Random(11)
    outcomes: set[str] = set()
    for _ in range(300):
        mutated = _mutate(rng, base)

        results = verify_dkim(mutated, resolver)
        arc = verify_arc(mutated, resolver)

        assert isinstance(arc, ArcResult) and arc.reason and "None" not in arc.reason
        for r in results:
            assert r.reason and "None" not in r.reason, r
            outcomes.add(r.result)
        outcomes.add("arc-" + arc.cv)
    # The mutations reach every kind of outcome, not just one early refusal.
    assert {"pass", "fail", "permerror", "arc-pass", "arc-fail"} <= outcomes


def test_lengths_past_the_body_do_not_hash_it_again_for_each_signature(
    resolver: Resolver, dns_server: TestDNSServer
) -> None:
    mailsign.publish(dns_server, D, "s1", mailsign.rsa_key(2048))
    message = mailsign.build(body="short line\r\n" * 100_000)
    bogus = [
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={D}; s=s1; l={10**12 + n};"
        " h=from:to:subject; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
        " b=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        for n in range(MAX_SIGNATURES)
    ]
    msg = SignedMessage(mailsign.prepend(message, *bogus))

    results = verify_dkim(msg, resolver)

    assert len(results) == MAX_SIGNATURES
    assert all(r.result != "pass" for r in results)
    assert msg.body_passes == 1  # every l= is past the end: known after the first pass
