"""Combining DKIM, SPF at the trusted hop, trusted Authentication-Results, ARC and DMARC."""

from __future__ import annotations

from bot.dns import Resolver
from bot.mail.arrival import Envelope
from bot.mail.authenticate import Authentication, authenticate
from bot.mail.message import parse_message
from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import build, prepend, rsa_key, sign
from tests.support.signed import received

OUR_MX = "mx.example-corp.test"
NW = "northwind-software.com"
DANA = "Dana Whitfield <dana.whitfield@northwind-software.com>"


async def _auth(
    raw: bytes, resolver: Resolver, *, trusted: tuple[str, ...] = (OUR_MX,)
) -> Authentication:
    return await authenticate(
        parse_message(raw),
        resolver,
        trusted_authserv_ids=trusted,
        trusted_arc_sealers=("*.sealers.example",),
    )


async def test_spf_at_trusted_hop(dns_server: TestDNSServer, resolver: Resolver) -> None:
    raw = prepend(
        build(from_=DANA),
        f"Return-Path: <dana.whitfield@{NW}>",
        received(OUR_MX, "mx.northwind-software.com", "192.0.2.25"),
        received("relay.northwind-software.com", "internal", "10.0.0.5"),
    )
    auth = await _auth(raw, resolver)
    assert auth.spf.result == "pass"
    assert auth.spf.source == "deskguard"
    assert auth.spf.hop is not None and auth.spf.hop.ip == "192.0.2.25"
    assert auth.spf.domain == NW
    assert auth.dmarc is not None and auth.dmarc.result == "pass"
    assert auth.dmarc.spf_aligned
    assert auth.sources["spf"] == "deskguard"
    assert auth.sources["dkim"] == "none"


async def test_untrusted_hop_is_not_used(dns_server: TestDNSServer, resolver: Resolver) -> None:
    raw = prepend(
        build(from_=DANA),
        f"Return-Path: <dana.whitfield@{NW}>",
        received("mx.someone-else.example", "mx.northwind-software.com", "192.0.2.25"),
    )
    auth = await _auth(raw, resolver)
    assert auth.spf.result == "none"
    assert auth.spf.source == "none"
    assert "connecting IP is unknown" in auth.spf.explanation
    assert auth.dmarc is not None and auth.dmarc.result == "fail"


async def test_spf_fail_at_trusted_hop(dns_server: TestDNSServer, resolver: Resolver) -> None:
    raw = prepend(
        build(from_=DANA),
        f"Return-Path: <dana.whitfield@{NW}>",
        received(OUR_MX, "evil.example", "203.0.113.66"),
    )
    auth = await _auth(raw, resolver)
    assert auth.spf.result == "fail"
    assert auth.dmarc is not None and auth.dmarc.result == "fail"


async def test_no_trusted_hop_uses_trusted_auth_results_pass(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    raw = prepend(
        build(from_=DANA),
        f"Authentication-Results: {OUR_MX}; spf=pass smtp.mailfrom=dana.whitfield@{NW}",
    )
    auth = await _auth(raw, resolver)
    assert auth.spf.result == "pass"
    assert auth.spf.source == "trusted_auth_results"
    assert auth.spf.domain == NW
    assert auth.dmarc is not None and auth.dmarc.result == "pass"
    assert auth.to_json()["sources"]["spf"] == "trusted_auth_results"


async def test_spf_temperror_falls_back_to_trusted_auth_results(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.timeouts.add("slow-vendor.example")
    dns_server.add("_dmarc.slow-vendor.example", "TXT", "v=DMARC1; p=reject")
    raw = prepend(
        build(from_="ops@slow-vendor.example"),
        "Return-Path: <ops@slow-vendor.example>",
        received(OUR_MX, "out.slow-vendor.example", "198.51.100.3"),
        f"Authentication-Results: {OUR_MX}; spf=pass smtp.mailfrom=slow-vendor.example",
    )
    auth = await _auth(raw, resolver)
    assert auth.spf.result == "pass"
    assert auth.spf.source == "trusted_auth_results"
    assert auth.spf.own_result == "temperror"
    assert auth.to_json()["spf"]["deskguard_result"] == "temperror"


async def test_spf_temperror_without_fallback_makes_dmarc_temperror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.timeouts.add("slow-vendor.example")
    dns_server.add("_dmarc.slow-vendor.example", "TXT", "v=DMARC1; p=reject")
    raw = prepend(
        build(from_="ops@slow-vendor.example"),
        "Return-Path: <ops@slow-vendor.example>",
        received(OUR_MX, "out.slow-vendor.example", "198.51.100.3"),
    )
    auth = await _auth(raw, resolver)
    assert auth.spf.result == "temperror"
    assert auth.dmarc is not None and auth.dmarc.result == "temperror"


async def test_dkim_fallback_needs_matching_selector(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    msg = sign(build(from_=DANA), domain=NW, selector="gone", key=rsa_key(1024, "gone"))
    wrong = prepend(
        msg, f"Authentication-Results: {OUR_MX}; dkim=pass header.d={NW} header.s=other"
    )
    auth = await _auth(wrong, resolver)
    assert [d.source for d in auth.dkim] == ["deskguard"]
    assert auth.dmarc is not None and auth.dmarc.result == "fail"
    right = prepend(msg, f"Authentication-Results: {OUR_MX}; dkim=pass header.d={NW} header.s=gone")
    auth = await _auth(right, resolver)
    assert [(d.source, d.result) for d in auth.dkim] == [("trusted_auth_results", "pass")]
    assert auth.dkim_source == "trusted_auth_results"
    assert auth.dmarc is not None and auth.dmarc.result == "pass"


async def test_untrusted_authserv_id_is_not_used(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    raw = prepend(
        build(from_=DANA),
        f"Authentication-Results: mx.attacker.example; spf=pass smtp.mailfrom={NW}",
    )
    auth = await _auth(raw, resolver)
    assert auth.spf.result == "none"
    assert auth.auth_results.ignored
    assert auth.to_json()["ignored_auth_results"][0]["authserv_id"] == "mx.attacker.example"


async def test_no_from_means_no_dmarc(dns_server: TestDNSServer, resolver: Resolver) -> None:
    raw = build(from_="undisclosed-recipients:;")
    auth = await _auth(raw, resolver)
    assert auth.dmarc is None
    assert auth.sources["dmarc"] == "none"


async def test_no_arc_headers(dns_server: TestDNSServer, resolver: Resolver) -> None:
    auth = await _auth(build(from_=DANA), resolver)
    assert auth.arc.cv == "none"
    assert auth.arc_trusted is False
    assert auth.to_json()["arc"]["trusted"] is False


async def test_envelope_decides_spf_instead_of_received(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    # a typed Received naming our MX and the vendor's IP is ignored once the envelope is known
    raw = prepend(
        build(from_=DANA),
        f"Return-Path: <dana.whitfield@{NW}>",
        received(OUR_MX, "mx.northwind-software.com", "192.0.2.25"),
    )
    msg = parse_message(raw)
    common = {"trusted_authserv_ids": (OUR_MX,), "trusted_arc_sealers": ()}
    outsider = Envelope("203.0.113.9", helo="evil.example", mail_from=f"dana.whitfield@{NW}")
    auth = await authenticate(msg, resolver, envelope=outsider, **common)
    assert auth.spf.source == "envelope" and auth.spf.hop is None
    assert auth.spf.result != "pass"
    assert auth.dmarc is not None and auth.dmarc.result == "fail"

    vendor = Envelope("192.0.2.25", helo="mx.northwind-software.com", mail_from=f"x@{NW}")
    auth = await authenticate(msg, resolver, envelope=vendor, **common)
    assert auth.spf.result == "pass" and auth.spf.domain == NW
    assert auth.dmarc is not None and auth.dmarc.result == "pass"
