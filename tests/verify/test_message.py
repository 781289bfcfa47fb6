"""Verifier.verify_message / verify_headers end to end: real DNS server, dkimpy-signed messages.

Registry: tests/fixtures/vendors.yml; zone: tests/fixtures/vendors.zone plus the throwaway DKIM
keys published per test. Our entry host is mx.example-corp.test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.dns import Resolver
from bot.errors import InputError, TooLargeError
from bot.mail.arrival import Arrival
from bot.mail.message import HeadersOnly
from bot.registry import Registry, RegistryHolder
from bot.report import Report, Verdict
from bot.settings import Settings
from bot.verify.verifier import Verifier
from tests.mail.mailbuild import outlook_msg
from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import SigningKey as Key
from tests.support.mailsign import arc_seal, build, prepend, rsa_key, sign
from tests.support.signed import received

FIXTURES = Path(__file__).parents[1] / "fixtures"
OUR_MX = "mx.example-corp.test"
NW = "northwind-software.com"
NW_IP, NW_HELO = "192.0.2.25", "mx.northwind-software.com"
DANA = "Dana Whitfield <dana.whitfield@northwind-software.com>"


def _settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {
        "registry": FIXTURES / "vendors.yml",
        "trusted_authserv_ids": (OUR_MX,),
        "trusted_arc_sealers": ("arc.trusted.example",),
    }
    base.update(kw)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


@pytest.fixture
def key() -> Key:
    return rsa_key(2048)


@pytest.fixture
def verifier(
    resolver: Resolver, registry: Registry, dns_server: TestDNSServer, key: Key
) -> Verifier:
    dns_server.add(f"s1._domainkey.{NW}", "TXT", key.txt())
    dns_server.add("s1._domainkey.northwind-support.com", "TXT", key.txt())
    dns_server.add("s1._domainkey.fabrikam.co.uk", "TXT", key.txt())
    dns_server.add("s1._domainkey.unrelated-example.org", "TXT", key.txt())
    return Verifier(_settings(), resolver, RegistryHolder(registry))


def _delivered(msg: bytes, *, ip: str = NW_IP, helo: str = NW_HELO, rp: str | None = None) -> bytes:
    """``msg`` as our MX delivered it: Return-Path and a Received header by our MX on top."""
    lines = [received(OUR_MX, helo, ip)]
    if rp is not None:
        lines.insert(0, f"Return-Path: <{rp}>")
    return prepend(msg, *lines)


def _genuine(key: Key, **kw: str) -> bytes:
    return sign(build(from_=DANA, **kw), domain=NW, selector="s1", key=key)


def _codes(report: Report) -> set[str]:
    return set(report.codes())


# the three basic cases


async def test_genuine_vendor_mail_is_verified(verifier: Verifier, key: Key) -> None:
    raw = _delivered(_genuine(key), rp="dana.whitfield@northwind-software.com")
    report = await verifier.verify_message(raw, filename="genuine.eml", arrival=Arrival.RAW)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.target == "genuine.eml"
    assert report.kind.value == "message"
    assert {"registered_vendor", "dmarc_pass"} <= _codes(report)
    assert report.vendor is not None and report.vendor["id"] == "northwind"
    assert report.callback is not None and report.callback["phone"] == "+12065550142"
    auth = report.details["auth"]
    assert auth["dmarc"]["result"] == "pass"
    assert auth["spf"]["result"] == "pass"
    assert auth["spf"]["hop"]["ip"] == NW_IP
    assert auth["sources"] == {
        "spf": "deskguard",
        "dkim": "deskguard",
        "dmarc": "deskguard",
        "arc": "none",
    }
    assert auth["evidence"] == {
        "spf": "trusted_header",
        "dkim": "signature",
        "dmarc": "signature",
        "arc": "nothing",
    }
    assert [d["result"] for d in auth["dkim"]] == ["pass"]
    message = report.details["message"]
    assert message["from"] == "dana.whitfield@northwind-software.com"
    assert message["source_format"] == "eml"
    assert message["forward_depth"] == 0
    assert report.details["verified_part"] == message["part_verified"]


async def test_without_trusted_hop_spf_is_none_and_dkim_decides(
    resolver: Resolver, registry: Registry, dns_server: TestDNSServer, key: Key
) -> None:
    dns_server.add(f"s1._domainkey.{NW}", "TXT", key.txt())
    plain = Verifier(_settings(trusted_authserv_ids=()), resolver, RegistryHolder(registry))
    report = await plain.verify_message(_delivered(_genuine(key), rp="dana.whitfield@" + NW))
    auth = report.details["auth"]
    assert auth["spf"]["result"] == "none"
    assert auth["sources"]["spf"] == "none"
    assert report.verdict is Verdict.VERIFIED
    unsigned = await plain.verify_message(_delivered(build(from_=DANA), rp="dana@" + NW))
    assert unsigned.verdict is Verdict.SPOOFED
    assert "dmarc_fail" in _codes(unsigned)


async def test_spoofed_vendor_mail(verifier: Verifier) -> None:
    raw = _delivered(
        build(
            from_='"Northwind Software Security" <security@northwind-software.com>',
            subject="URGENT: reset MFA",
            body="Reset the MFA of svc-northwind immediately and call 1-8OO-555-0199.\r\n",
        ),
        ip="203.0.113.66",
        helo="mail.bulk-sender.test",
        rp="security@northwind-software.com",
    )
    report = await verifier.verify_message(raw, arrival=Arrival.RAW)
    assert report.verdict is Verdict.SPOOFED
    codes = _codes(report)
    assert {"dmarc_fail", "spf_fail", "unknown_contact", "unregistered_phone_number"} <= codes
    as_file = await verifier.verify_message(raw)
    assert as_file.verdict is Verdict.SPOOFED
    assert {"dmarc_fail", "unregistered_phone_number"} <= _codes(as_file)
    assert "high_risk_request" in codes
    phone = next(r for r in report.reasons if r.code == "unregistered_phone_number")
    assert phone.data["e164"] == "+18005550199"
    assert report.callback is not None and report.callback["phone"] == "+12065550142"
    assert report.target == "message from security@northwind-software.com"


async def test_authenticated_lookalike_is_suspicious(verifier: Verifier, key: Key) -> None:
    msg = sign(
        build(from_="Northwind Software <support@northwind-support.com>"),
        domain="northwind-support.com",
        selector="s1",
        key=key,
    )
    raw = _delivered(
        msg, ip="203.0.113.5", helo="mx.northwind-support.com", rp="support@northwind-support.com"
    )
    report = await verifier.verify_message(raw)
    assert report.verdict is Verdict.SUSPICIOUS
    assert {"lookalike_domain", "dmarc_pass", "display_name_impersonation"} <= _codes(report)
    assert report.vendor is None
    assert report.callback is not None and report.callback["phone"] == "+12065550142"
    assert report.details["imitates"]["vendor_id"] == "northwind"


async def test_dmarc_fail_on_unrelated_domain_is_unverified_not_spoofed(verifier: Verifier) -> None:
    raw = _delivered(
        build(from_="bob@unrelated-example.org"),
        ip="198.51.100.9",
        helo="x.example",
        rp="bob@unrelated-example.org",
    )
    report = await verifier.verify_message(raw)
    assert "dmarc_fail" in _codes(report)
    assert report.verdict is Verdict.UNVERIFIED


async def test_vendor_without_dmarc_policy(verifier: Verifier, key: Key) -> None:
    # fabrikam.co.uk publishes no DMARC record (tests/fixtures/vendors.zone)
    unsigned = _delivered(
        build(from_="oliver@fabrikam.co.uk"),
        ip="198.51.100.9",
        helo="x.example",
        rp="oliver@fabrikam.co.uk",
    )
    report = await verifier.verify_message(unsigned)
    assert report.verdict is Verdict.SPOOFED
    assert "dmarc_none" in _codes(report)
    signed = sign(
        build(from_="oliver@fabrikam.co.uk"), domain="fabrikam.co.uk", selector="s1", key=key
    )
    report = await verifier.verify_message(_delivered(signed, ip="198.51.100.9", helo="x.example"))
    assert report.details["auth"]["dmarc"]["aligned_pass"] is True
    assert report.verdict is Verdict.UNVERIFIED  # authenticated, but not a registered contact
    assert "unknown_contact" in _codes(report)


# trusted Authentication-Results, temperror, ARC


async def test_rotated_key_falls_back_to_trusted_auth_results(
    verifier: Verifier, dns_server: TestDNSServer, key: Key
) -> None:
    other = rsa_key(2048, "rotated")
    msg = sign(
        build(from_=DANA), domain=NW, selector="old", key=other
    )  # old._domainkey is not published
    ar = f"Authentication-Results: {OUR_MX}; dkim=pass header.d={NW} header.s=old"
    raw = prepend(msg, ar, received(OUR_MX, "relay.elsewhere.example", "198.51.100.77"))
    raw = prepend(raw, f"Return-Path: <dana.whitfield@{NW}>")
    report = await verifier.verify_message(raw, arrival=Arrival.RAW)
    auth = report.details["auth"]
    assert auth["evidence"]["dmarc"] == "trusted_header"
    assert auth["sources"]["dkim"] == "trusted_auth_results"
    assert auth["dkim"][0]["source"] == "trusted_auth_results"
    assert auth["dkim"][0]["deskguard_result"] in ("permerror", "temperror")
    assert auth["dmarc"]["result"] == "pass"
    assert "trusted_auth_results_used" in _codes(report)
    assert report.verdict is Verdict.VERIFIED


async def test_trusted_auth_results_never_overrides_a_real_failure(
    verifier: Verifier, key: Key
) -> None:
    msg = _genuine(key).replace(b"maintenance window is", b"maintenance window IS")
    ar = f"Authentication-Results: {OUR_MX}; dkim=pass header.d={NW} header.s=s1"
    raw = prepend(msg, ar, received(OUR_MX, "relay.elsewhere.example", "198.51.100.77"))
    report = await verifier.verify_message(raw)
    assert report.details["auth"]["sources"]["dkim"] == "deskguard"
    assert report.verdict is Verdict.SPOOFED


async def test_dns_timeout_is_unverified_not_spoofed(
    verifier: Verifier, dns_server: TestDNSServer, key: Key
) -> None:
    dns_server.timeouts.add(f"s1._domainkey.{NW}")
    raw = _delivered(_genuine(key), ip="198.51.100.77", helo="relay.elsewhere.example")
    report = await verifier.verify_message(raw)
    assert report.details["auth"]["dmarc"]["result"] == "temperror"
    assert "dkim_temperror" in _codes(report)
    assert report.verdict is Verdict.UNVERIFIED


async def test_servfail_on_dmarc_policy_is_unverified(
    verifier: Verifier, dns_server: TestDNSServer
) -> None:
    dns_server.servfail.add(f"_dmarc.{NW}")
    raw = _delivered(build(from_=DANA), ip="203.0.113.66", helo="evil.example")
    report = await verifier.verify_message(raw)
    assert "dmarc_temperror" in _codes(report)
    assert report.verdict is Verdict.UNVERIFIED


def _arc_sealed(msg: bytes, key: Key, sealer: str) -> bytes:
    return arc_seal(
        msg,
        domain=sealer,
        selector="arc",
        key=key,
        srv_id=sealer,
        results=f"dkim=pass header.d={NW}; spf=pass smtp.mailfrom={NW}",
    )


async def test_trusted_arc_never_overrules_dmarc_for_vendor(
    verifier: Verifier, dns_server: TestDNSServer, key: Key
) -> None:
    dns_server.add("arc._domainkey.arc.trusted.example", "TXT", key.txt())
    sealed = _arc_sealed(build(from_=DANA), key, "arc.trusted.example")
    raw = _delivered(sealed, ip="198.51.100.77", helo="list.example")
    report = await verifier.verify_message(raw)
    assert report.details["auth"]["arc"]["cv"] == "pass"
    assert report.details["auth"]["arc"]["trusted"] is True
    assert report.verdict is Verdict.SPOOFED
    assert "dmarc_fail" in _codes(report)


async def test_trusted_arc_softens_dmarc_fail_elsewhere(
    verifier: Verifier, dns_server: TestDNSServer, key: Key
) -> None:
    dns_server.add("arc._domainkey.arc.trusted.example", "TXT", key.txt())
    dns_server.add("arc._domainkey.arc.untrusted.example", "TXT", key.txt())
    msg = build(from_="bob@unrelated-example.org")
    trusted = await verifier.verify_message(
        _delivered(_arc_sealed(msg, key, "arc.trusted.example"), ip="198.51.100.7", helo="l.ex")
    )
    fail = next(r for r in trusted.reasons if r.code == "dmarc_fail")
    assert "trusted ARC sealer" in fail.message
    assert "arc_pass" in _codes(trusted)
    untrusted = await verifier.verify_message(
        _delivered(_arc_sealed(msg, key, "arc.untrusted.example"), ip="198.51.100.7", helo="l.ex")
    )
    assert untrusted.details["auth"]["arc"]["trusted"] is False
    assert "arc_pass" not in _codes(untrusted)


# headers only


async def test_headers_only_is_at_best_unverified(verifier: Verifier) -> None:
    report = await verifier.verify_headers(
        HeadersOnly(
            from_=DANA,
            subject="Please reset the password of svc-northwind",
            text="Thanks, Dana",
        )
    )
    assert report.verdict is Verdict.UNVERIFIED
    assert {"no_authentication_data", "registered_vendor", "high_risk_request"} <= _codes(report)
    assert report.details["auth"] is None
    assert report.details["message"]["source_format"] == "headers"
    impostor = await verifier.verify_headers(
        HeadersOnly(from_="Northwind Software <help@northwind-support.com>", subject="hi")
    )
    assert impostor.verdict is Verdict.SUSPICIOUS
    assert {"lookalike_domain", "display_name_impersonation"} <= _codes(impostor)


# bad-inputs.md 1-17


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda m: _delivered(prepend(m, "From: ceo@attacker.example")), id="two-from"),
        pytest.param(lambda m: b" From: ceo@attacker.example\r\n" + m, id="space-from-first-line"),
        pytest.param(
            lambda m: _delivered(m.replace(b"\r\nFrom: ", b"\r\nFrom : ", 1)),
            id="space-before-colon",
        ),
        pytest.param(
            lambda m: _delivered(
                m.replace(b"\r\nFrom: Dana Whitfield ", b"\r\nFrom: Dana Whitfield\r\n ", 1)
            ),
            id="folded-from",
        ),
    ],
)
async def test_1_broken_from_is_never_verified(
    verifier: Verifier, key: Key, mangle: Callable[[bytes], bytes]
) -> None:
    report = await verifier.verify_message(mangle(_genuine(key)))
    assert report.verdict is not Verdict.VERIFIED
    assert _codes(report) & {"multiple_from", "malformed_message"}, report.codes()


@pytest.mark.parametrize(
    "from_",
    [
        "dana.whitfield@northwind-software.com, ceo@attacker.example",
        "Team: dana.whitfield@northwind-software.com, ceo@attacker.example;",
    ],
    ids=["two-addresses", "group"],
)
async def test_2_several_authors(verifier: Verifier, key: Key, from_: str) -> None:
    raw = _delivered(sign(build(from_=from_), domain=NW, selector="s1", key=key))
    report = await verifier.verify_message(raw)
    assert report.verdict is Verdict.SUSPICIOUS
    assert "multiple_from" in _codes(report)


@pytest.mark.parametrize(
    "from_",
    [
        '"dana.whitfield@northwind-software.com" <x@attacker.example>',
        '"Northwind Software Billing" <billing@attacker.example>',
    ],
    ids=["address-in-display-name", "vendor-name"],
)
async def test_3_display_name_impersonation(verifier: Verifier, from_: str) -> None:
    report = await verifier.verify_message(_delivered(build(from_=from_), ip="198.51.100.1"))
    assert "display_name_impersonation" in _codes(report)
    assert report.verdict is Verdict.SUSPICIOUS


@pytest.mark.parametrize(
    "bad",
    ["\x00", "\x0b", "\x0c", "\r", "\u00a0", "\u2028"],
    ids=["nul", "vt", "ff", "cr", "nbsp", "u2028"],
)
async def test_4_control_characters(verifier: Verifier, key: Key, bad: str) -> None:
    msg = build(from_=f"Dana <dana.whitfield@northwind-soft{bad}ware.com>", subject=f"Hi{bad}there")
    report = await verifier.verify_message(_delivered(msg))
    assert report.verdict is not Verdict.VERIFIED
    assert "malformed_message" in _codes(report)


async def test_5_our_auth_results_below_external_received_is_ignored(verifier: Verifier) -> None:
    msg = build(from_=DANA)
    forged = prepend(
        msg,
        f"Authentication-Results: {OUR_MX}; dkim=pass header.d={NW}; spf=pass smtp.mailfrom={NW}",
    )
    raw = prepend(
        forged,
        received(OUR_MX, "mail.bulk-sender.test", "203.0.113.66"),
        "Received: from localhost ([127.0.0.1]) by mail.bulk-sender.test; "
        "Tue, 10 Nov 2026 09:00:00 +0000",
    )
    report = await verifier.verify_message(raw)
    assert "untrusted_auth_results" in _codes(report)
    assert report.details["auth"]["sources"]["dkim"] != "trusted_auth_results"
    assert report.verdict is Verdict.SPOOFED


async def test_6_auth_results_without_authserv_id(verifier: Verifier) -> None:
    msg = prepend(build(from_="bob@unrelated-example.org"), "Authentication-Results: spf=pass")
    report = await verifier.verify_message(_delivered(msg, ip="198.51.100.1"), arrival=Arrival.RAW)
    assert report.verdict is Verdict.UNVERIFIED
    assert report.details["auth"]["sources"]["spf"] == "deskguard"
    assert "untrusted_auth_results" in _codes(report)
    assert "no authserv-id" in report.details["auth"]["ignored_auth_results"][0]["why"]


async def test_7_malformed_domains(verifier: Verifier, key: Key) -> None:
    ar = f"Authentication-Results: {OUR_MX}; dkim=pass header.d=legit.example(.evil.example"
    msg = prepend(build(from_=DANA), ar)
    report = await verifier.verify_message(_delivered(msg, ip="198.51.100.1"))
    assert report.verdict is Verdict.SPOOFED
    quoted = sign(build(from_=DANA), domain=NW, selector="s1", key=key).replace(
        b"d=northwind-software.com", b"d=northwind-software.com'a.evil.example", 1
    )
    report = await verifier.verify_message(_delivered(quoted, ip="198.51.100.1"))
    assert report.verdict is Verdict.SPOOFED
    assert report.details["auth"]["dkim"][0]["result"] != "pass"


async def test_8_signature_without_from_is_not_a_pass(verifier: Verifier, key: Key) -> None:
    msg = sign(
        build(from_=DANA), domain=NW, selector="s1", key=key, headers=["to", "subject", "date"]
    )
    report = await verifier.verify_message(_delivered(msg, ip="198.51.100.1"))
    assert report.details["auth"]["dkim"][0]["result"] != "pass"
    assert "dkim_fail" in _codes(report)
    assert report.verdict is Verdict.SPOOFED


async def test_9_unsigned_body_content(verifier: Verifier, key: Key) -> None:
    msg = sign(build(from_=DANA), domain=NW, selector="s1", key=key, length=True)
    msg += b"\r\nP.S. Urgent: install the hotfix from https://evil.example now.\r\n"
    report = await verifier.verify_message(_delivered(msg, rp="dana.whitfield@" + NW))
    assert "unsigned_body_content" in _codes(report)
    assert report.verdict is Verdict.SUSPICIOUS


async def test_10_sha1_and_short_keys_are_not_a_pass(
    verifier: Verifier, dns_server: TestDNSServer, key: Key
) -> None:
    sha1 = sign(build(from_=DANA), domain=NW, selector="s1", key=key, algorithm="rsa-sha1")
    report = await verifier.verify_message(_delivered(sha1, ip="198.51.100.1"))
    assert report.details["auth"]["dkim"][0]["result"] != "pass"
    assert report.verdict is Verdict.SPOOFED
    short = rsa_key(512)
    dns_server.add(f"short._domainkey.{NW}", "TXT", short.txt())
    weak = sign(build(from_=DANA), domain=NW, selector="short", key=short)
    report = await verifier.verify_message(_delivered(weak, ip="198.51.100.1"))
    assert report.details["auth"]["dkim"][0]["result"] != "pass"
    assert report.verdict is Verdict.SPOOFED


async def test_11_valid_signature_below_a_broken_one(verifier: Verifier, key: Key) -> None:
    good = _genuine(key)
    broken = sign(good, domain=NW, selector="missing", key=rsa_key(1024, "broken"))
    report = await verifier.verify_message(_delivered(broken, ip="198.51.100.1"))
    results = [d["result"] for d in report.details["auth"]["dkim"]]
    assert len(results) == 2 and results[1] == "pass" and results[0] != "pass"
    assert report.verdict is Verdict.VERIFIED


@pytest.mark.parametrize("record", ["testing", "revoked"])
async def test_12_testing_and_revoked_keys(
    verifier: Verifier, dns_server: TestDNSServer, key: Key, record: str
) -> None:
    txt = key.txt(t="y") if record == "testing" else key.txt(p="")
    dns_server.add(f"k2._domainkey.{NW}", "TXT", txt)
    msg = sign(build(from_=DANA), domain=NW, selector="k2", key=key)
    report = await verifier.verify_message(_delivered(msg, ip="198.51.100.1"))
    dkim_json = report.details["auth"]["dkim"][0]
    assert dkim_json["result"] != "pass"
    assert dkim_json["reason"]
    assert report.verdict is Verdict.SPOOFED


async def test_13_inline_forward_cannot_be_verified(verifier: Verifier) -> None:
    body = (
        "FYI, see below\r\n\r\n---------- Forwarded message ---------\r\n"
        "From: Northwind Security <security@northwind-software.com>\r\n"
        "Subject: reset your password\r\n\r\nCall 1-8OO-555-0199\r\n"
    )
    msg = build(from_="analyst@unrelated-example.org", subject="Fwd: reset", body=body)
    report = await verifier.verify_message(_delivered(msg, ip="198.51.100.1"))
    assert report.verdict is not Verdict.VERIFIED
    assert "inline_forward" in _codes(report)


async def test_14_spf_permerror(verifier: Verifier, dns_server: TestDNSServer) -> None:
    includes = " ".join(f"include:i{n}.loop.example" for n in range(11))
    dns_server.add("loop.example", "TXT", f"v=spf1 {includes} -all")
    for n in range(11):
        dns_server.add(f"i{n}.loop.example", "TXT", "v=spf1 -all")
    msg = build(from_="x@loop.example")
    raw = _delivered(msg, ip="198.51.100.1", rp="x@loop.example")
    report = await verifier.verify_message(raw, arrival=Arrival.RAW)
    assert report.details["auth"]["spf"]["result"] == "permerror"
    assert "spf_permerror" in _codes(report)
    assert report.verdict is Verdict.UNVERIFIED


async def test_16_unusable_input(verifier: Verifier) -> None:
    with pytest.raises(InputError):
        await verifier.verify_message(b"")
    with pytest.raises(InputError):
        await verifier.verify_message(bytes(range(256)) * 40)
    with pytest.raises(TooLargeError):
        await verifier.verify_message(b"x" * (verifier.settings.max_message_bytes + 1))


def _forward(inner: bytes, depth: int, first: int = 0) -> bytes:
    msg = inner
    for n in range(first, first + depth):
        msg = (
            (
                f"From: analyst{n}@unrelated-example.org\r\nTo: x@example-corp.test\r\n"
                f"Subject: Fwd {n}\r\nMIME-Version: 1.0\r\n"
                'Content-Type: multipart/mixed; boundary="b{0}"\r\n\r\n--b{0}\r\n'
                "Content-Type: text/plain\r\n\r\nsee attached\r\n--b{0}\r\n"
                "Content-Type: message/rfc822\r\n\r\n".format(n)
            ).encode()
            + msg
            + f"\r\n--b{n}--\r\n".encode()
        )
    return msg


async def test_16_forwards_unwrapped_and_too_deep(
    resolver: Resolver, registry: Registry, verifier: Verifier, key: Key
) -> None:
    # not the organization's forward: the message that arrived is verified, not the attachment
    outsider = await verifier.verify_message(_forward(_genuine(key), 1), filename="fwd.eml")
    assert outsider.details["message"]["forward_depth"] == 0
    assert outsider.details["message"]["from"] == "analyst0@unrelated-example.org"
    assert "attached_message" in _codes(outsider)
    assert outsider.verdict is not Verdict.VERIFIED
    org = Verifier(
        _settings(org_domains=("unrelated-example.org",)), resolver, RegistryHolder(registry)
    )
    one = await org.verify_message(_forward(_genuine(key), 1), filename="fwd.eml")
    assert one.details["message"]["forward_depth"] == 1
    assert one.details["message"]["from"] == "dana.whitfield@northwind-software.com"
    assert one.details["message"]["forwarded_by"] == ["analyst0@unrelated-example.org"]
    assert one.verdict is Verdict.VERIFIED, one.to_json()
    # deeper levels are attachments: each must be the organization's, signed, to be opened
    unsigned = await org.verify_message(_forward(_genuine(key), 2))
    assert unsigned.details["message"]["forward_depth"] == 1
    assert "attached_message" in _codes(unsigned)
    assert unsigned.verdict is not Verdict.VERIFIED
    deep = await org.verify_message(_signed_forwards(_genuine(key), 5, key))
    assert deep.details["message"]["forward_depth"] == 3
    assert "forward_depth_exceeded" in _codes(deep)
    assert deep.verdict is not Verdict.VERIFIED


def _signed_forwards(inner: bytes, depth: int, key: Key) -> bytes:
    msg = inner
    for n in range(depth):
        msg = sign(_forward(msg, 1, n), domain="unrelated-example.org", selector="s1", key=key)
    return msg


async def test_16_undecodable_charset(verifier: Verifier) -> None:
    msg = build(from_="bob@unrelated-example.org", body="caf\u00e9 \u00ff\r\n")
    msg = msg.replace(b"charset=utf-8", b"charset=x-no-such-charset")
    report = await verifier.verify_message(_delivered(msg, ip="198.51.100.1"))
    assert report.verdict is Verdict.UNVERIFIED


async def test_17_outlook_msg(verifier: Verifier) -> None:
    data = outlook_msg(
        subject="Security patch",
        body="Please install the hotfix today.",
        transport_headers="From: Dana Whitfield <dana.whitfield@northwind-software.com>\r\n"
        "Subject: Security patch\r\n",
    )
    report = await verifier.verify_message(data, filename="vendor.msg")
    assert report.details["message"]["source_format"] == "msg"
    assert report.details["auth"] is None
    assert {"msg_without_dkim", "registered_vendor", "high_risk_request"} <= _codes(report)
    assert report.verdict is Verdict.UNVERIFIED
    with pytest.raises(InputError, match=r"\.eml"):
        await verifier.verify_message(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(600))
