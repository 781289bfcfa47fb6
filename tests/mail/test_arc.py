"""bot.mail.arc on the real test DNS server: chains sealed with throwaway keys, broken chains."""

from __future__ import annotations

import json
import re

from bot.dns import Resolver
from bot.mail.arc import ArcResult, verify_arc, verify_arc_async
from tests.support import mailsign
from tests.support.dnsserver import TestDNSServer

R1, R2 = "relay-one.example", "relay-two.example"


def _publish(server: TestDNSServer) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(server, R1, "arc", key)
    mailsign.publish(server, R2, "arc", key)


def _seal(message: bytes, domain: str, arc: str | None = None) -> bytes:
    return mailsign.arc_seal(
        message,
        domain=domain,
        selector="arc",
        key=mailsign.rsa_key(2048),
        srv_id=f"mx.{domain}",
        arc=arc,
    )


def _two_hops(first_hop_edit: tuple[bytes, bytes] | None = None) -> bytes:
    message = _seal(mailsign.build(), R1)
    if first_hop_edit is not None:
        message = message.replace(*first_hop_edit)
    return _seal(message, R2, arc="pass")


def _blocks(message: bytes) -> list[bytes]:
    """Header fields with their folded lines, in order."""
    head = message.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return re.findall(rb"[^ \t\r\n][^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", head)


def _without_instance(message: bytes, instance: int) -> bytes:
    marker = re.compile(rb"^ARC-[A-Za-z-]+: i=%d;" % instance)
    for block in _blocks(message):
        if marker.match(block):
            message = message.replace(block, b"", 1)
    return message


# passes


def test_no_arc_headers_is_none(resolver: Resolver) -> None:
    got = verify_arc(mailsign.build(), resolver)

    assert (got.cv, got.instances, got.sealers, got.oldest_pass) == ("none", 0, (), None)


def test_one_set_passes(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)

    got = verify_arc(_seal(mailsign.build(), R1), resolver)

    assert got.cv == "pass", got.reason
    assert (got.instances, got.sealers, got.oldest_pass) == (1, (R1,), 1)


def test_two_sets_pass_with_sealers_in_order(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)

    got = verify_arc(_two_hops(), resolver)

    assert got.cv == "pass", got.reason
    assert got.instances == 2
    assert got.sealers == (R1, R2)
    assert got.oldest_pass == 1


def test_change_between_hops_still_passes_but_oldest_pass_moves(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _publish(dns_server)
    message = _two_hops(first_hop_edit=(b"Saturday", b"Sunday, [list footer]"))

    got = verify_arc(message, resolver)

    assert got.cv == "pass", got.reason
    assert got.oldest_pass == 2


async def test_async_variant(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _two_hops()

    got = await verify_arc_async(message, resolver)

    assert got == verify_arc(message, resolver)
    assert got.cv == "pass"


# signatures that do not validate


def test_body_changed_after_last_seal_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _two_hops().replace(b"Saturday", b"Sunday!!")

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "Message-Signature" in got.reason
    assert got.sealers == (R1, R2)


def test_tampered_older_arc_results_fail(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _two_hops()
    aar1 = next(b for b in _blocks(message) if b.startswith(b"ARC-Authentication-Results: i=1;"))
    message = message.replace(aar1, aar1.replace(b"spf=pass", b"spf=fail"))

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "ARC-Seal" in got.reason


def test_missing_sealer_key_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    mailsign.publish(dns_server, R2, "arc", mailsign.rsa_key(2048))

    got = verify_arc(_two_hops(), resolver)

    assert got.cv == "fail"


def test_sealer_key_timeout_is_temperror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    dns_server.timeouts.add(f"arc._domainkey.{R1}")

    got = verify_arc(_two_hops(), resolver)

    assert got.cv == "temperror"
    assert f"arc._domainkey.{R1}" in got.reason
    assert got.sealers == (R1, R2)


def test_sealer_key_servfail_is_temperror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    dns_server.servfail.add(f"arc._domainkey.{R2}")

    assert verify_arc(_two_hops(), resolver).cv == "temperror"


# structure


def test_latest_seal_reporting_fail_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _seal(_seal(mailsign.build(), R1), R2, arc="fail")

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "cv=fail" in got.reason


def test_structural_fail_wins_over_dns_failure(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _publish(dns_server)
    message = _seal(_seal(mailsign.build(), R1), R2, arc="fail")
    dns_server.timeouts.add(f"arc._domainkey.{R1}")

    assert verify_arc(message, resolver).cv == "fail"


def test_gap_in_instances_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _without_instance(_two_hops(), 1)

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "instance 1 has no" in got.reason


def test_duplicate_seal_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _seal(mailsign.build(), R1)
    seal = next(b for b in _blocks(message) if b.startswith(b"ARC-Seal:"))

    got = verify_arc(seal + message, resolver)

    assert got.cv == "fail"
    assert "2 ARC-Seal" in got.reason


def test_instance_over_fifty_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _seal(mailsign.build(), R1).replace(b"i=1;", b"i=51;")

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "i=51" in got.reason
    assert dns_server.queries == []


def test_first_seal_must_say_cv_none(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _seal(mailsign.build(), R1).replace(b"cv=none", b"cv=pass")

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "expected none" in got.reason


def test_invalid_sealer_domain_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    message = _seal(mailsign.build(), R1).replace(
        b"d=relay-one.example; s=arc;\r\n t=", b"d=legit.example(.evil.example; s=arc;\r\n t="
    )

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "d=" in got.reason
    assert dns_server.queries == []


def test_flood_of_arc_headers_fails_without_dns(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    flood = b"ARC-Authentication-Results: i=1; mx.example; none\r\n" * 200
    got = verify_arc(flood + mailsign.build(), resolver)

    assert got.cv == "fail"
    assert "more than 150" in got.reason
    assert dns_server.queries == []


def test_unparseable_header_with_arc_fails(resolver: Resolver) -> None:
    message = b"ARC-Seal: i=1; cv=none\r\n\x01not a header\r\n" + mailsign.build()

    got = verify_arc(message, resolver)

    assert got.cv == "fail"
    assert "cannot be parsed" in got.reason


def test_unparseable_header_without_arc_is_none(resolver: Resolver) -> None:
    got = verify_arc(b"\x01not a header\r\n" + mailsign.build(), resolver)

    assert got.cv == "none"


def test_to_json(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _publish(dns_server)
    got = verify_arc(_two_hops(), resolver)

    data = got.to_json()

    assert json.loads(json.dumps(data)) == data
    assert data == {
        "cv": "pass",
        "reason": got.reason,
        "instances": 2,
        "sealers": [R1, R2],
        "oldest_pass": 1,
    }
    assert isinstance(got, ArcResult)
