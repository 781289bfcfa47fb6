"""What VERIFIED means (issue 10 sections 1-3): the message that arrived, evidence nobody could
forge, one set of single-instance headers.

Each test is an attack (or the genuine case next to it) that made deskguard say VERIFIED before:
an outsider's email carrying a genuine signed vendor email, typed Received and
Authentication-Results headers in a file, an unsigned Subject on top of a signed message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.dns import Resolver
from bot.mail.arrival import Arrival, Envelope
from bot.registry import Registry, RegistryHolder
from bot.report import Report, Verdict
from bot.settings import Settings
from bot.verify.verifier import Verifier
from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import SigningKey as Key
from tests.support.mailsign import build, prepend, rsa_key, sign
from tests.support.signed import received

FIXTURES = Path(__file__).parents[1] / "fixtures"
OUR_MX = "mx.example-corp.test"
NW = "northwind-software.com"
NW_IP, NW_HELO = "192.0.2.25", "mx.northwind-software.com"
DANA = "Dana Whitfield <dana.whitfield@northwind-software.com>"
ORG = "corp.example"
ORG_IP = "198.51.100.40"
ATTACK_BODY = "Please reset the MFA of svc-northwind and call us on +1 900 555 0199.\r\n"


def _settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {
        "registry": FIXTURES / "vendors.yml",
        "trusted_authserv_ids": (OUR_MX,),
        "trusted_arc_sealers": ("arc.trusted.example",),
        "org_domains": (ORG,),
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
    dns_server.add(f"s1._domainkey.{ORG}", "TXT", key.txt())
    dns_server.add(ORG, "TXT", f"v=spf1 ip4:{ORG_IP} -all")
    dns_server.add(f"_dmarc.{ORG}", "TXT", "v=DMARC1; p=reject")
    dns_server.add(ORG, "MX", f"10 mx.{ORG}.")
    return Verifier(_settings(), resolver, RegistryHolder(registry))


def _codes(report: Report) -> set[str]:
    return set(report.codes())


def _genuine(key: Key, **kw: str) -> bytes:
    return sign(build(from_=DANA, **kw), domain=NW, selector="s1", key=key)


def _delivered(msg: bytes, *, ip: str, helo: str, rp: str) -> bytes:
    return prepend(msg, f"Return-Path: <{rp}>", received(OUR_MX, helo, ip))


def _carrying(outer_from: str, inner: bytes, *, body: str = ATTACK_BODY) -> bytes:
    """A message from ``outer_from`` with ``inner`` attached as message/rfc822."""
    head = (
        f"From: {outer_from}\r\nTo: helpdesk@example-corp.test\r\n"
        "Subject: Urgent: vendor request\r\nDate: Tue, 10 Nov 2026 09:30:00 +0000\r\n"
        "Message-ID: <outer-1@example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer-b"\r\n\r\n'
        "--outer-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}"
        '--outer-b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename="'
        'northwind.eml"\r\n\r\n'
    )
    return head.encode() + inner + b"\r\n--outer-b--\r\n"


# section 1: the message that arrived, not an attachment inside it


@pytest.mark.parametrize("arrival", [Arrival.FILE, Arrival.RAW])
async def test_outsider_carrying_a_genuine_vendor_email_is_not_verified(
    verifier: Verifier, key: Key, arrival: Arrival
) -> None:
    attack = _carrying("IT Partner <partner@evil.example>", _genuine(key))
    raw = _delivered(attack, ip="203.0.113.66", helo="mail.evil.example", rp="x@evil.example")
    report = await verifier.verify_message(raw, filename="attack.eml", arrival=arrival)
    assert report.verdict is not Verdict.VERIFIED, report.to_json()
    codes = _codes(report)
    assert {"attached_message", "unregistered_phone_number", "high_risk_request"} <= codes
    attached = next(r for r in report.reasons if r.code == "attached_message")
    assert "from dana.whitfield@northwind-software.com" in attached.message
    assert "it was not sent by dana.whitfield@northwind-software.com" in attached.message
    message = report.details["message"]
    assert message["from"] == "partner@evil.example"
    assert message["forward_depth"] == 0
    assert message["attached"] == [
        {"name": "northwind.eml", "from": "dana.whitfield@northwind-software.com"}
    ]
    phone = next(r for r in report.reasons if r.code == "unregistered_phone_number")
    assert phone.data["e164"] == "+19005550199"
    # the attachment's registered vendor is not lent to the outer message
    assert report.vendor is None


async def test_attached_message_never_lifts_a_verified_outer_verdict(
    verifier: Verifier, key: Key
) -> None:
    outer = sign(
        _carrying(DANA, build(from_="someone@evil.example"), body="FYI, see attached.\r\n"),
        domain=NW,
        selector="s1",
        key=key,
    )
    report = await verifier.verify_message(outer)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert "attached_message" in _codes(report)
    assert report.details["message"]["from"] == "dana.whitfield@northwind-software.com"


async def test_org_analysts_forward_of_a_file_is_unwrapped(verifier: Verifier, key: Key) -> None:
    forward = _carrying("Ana Lyst <ana@corp.example>", _genuine(key), body="Is this real?\r\n")
    report = await verifier.verify_message(forward, filename="fwd.eml")
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    message = report.details["message"]
    assert message["from"] == "dana.whitfield@northwind-software.com"
    assert message["forwarded_by"] == ["ana@corp.example"]
    assert message["forward_depth"] == 1
    assert report.details["auth"]["evidence"]["dmarc"] == "signature"


async def test_content_of_the_org_forward_still_counts(verifier: Verifier, key: Key) -> None:
    forward = _carrying("ana@corp.example", _genuine(key), body=ATTACK_BODY)
    report = await verifier.verify_message(forward)
    assert {"unregistered_phone_number", "high_risk_request"} <= _codes(report)
    assert report.verdict is Verdict.SUSPICIOUS


async def test_raw_org_forward_must_authenticate_to_be_unwrapped(
    verifier: Verifier, key: Key
) -> None:
    forward = _carrying("ana@corp.example", _genuine(key), body="Is this real?\r\n")
    # an outsider typing the organization's From: DMARC fails, the attachment stays closed
    spoofed = _delivered(forward, ip="203.0.113.66", helo="mail.evil.example", rp="ana@" + ORG)
    report = await verifier.verify_message(spoofed, arrival=Arrival.RAW)
    assert report.verdict is Verdict.SPOOFED, report.to_json()
    assert {"dmarc_fail", "attached_message"} <= _codes(report)
    assert report.details["message"]["forward_depth"] == 0
    dmarc = next(r for r in report.reasons if r.code == "dmarc_fail")
    assert "organization's own domains" in dmarc.message
    # the analyst's real forward, through our MX from the organization's own server
    real = _delivered(forward, ip=ORG_IP, helo="mx.corp.example", rp="ana@" + ORG)
    report = await verifier.verify_message(real, arrival=Arrival.RAW)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.details["message"]["forwarded_by"] == ["ana@corp.example"]
    assert report.details["message"]["arrival"] == "file"  # the original is an attachment


async def test_org_forward_in_a_file_with_a_typed_hop_is_not_raw(
    verifier: Verifier, key: Key
) -> None:
    """A file's outer org From is the uploader's forward; the original inside is still judged
    by its own signature only."""
    unsigned = _delivered(build(from_=DANA), ip=NW_IP, helo=NW_HELO, rp="dana.whitfield@" + NW)
    forward = _carrying("ana@corp.example", unsigned, body="Is this real?\r\n")
    report = await verifier.verify_message(forward)
    assert report.verdict is Verdict.UNVERIFIED, report.to_json()
    assert "header_evidence_only" in _codes(report)


# section 2: header evidence counts only where nobody could have edited the headers


async def test_typed_trusted_hop_in_a_file_is_header_evidence_only(verifier: Verifier) -> None:
    raw = _delivered(
        build(from_=DANA, subject="Reset request", body="Reset the MFA of svc-northwind.\r\n"),
        ip=NW_IP,
        helo=NW_HELO,
        rp="dana.whitfield@" + NW,
    )
    as_file = await verifier.verify_message(raw, filename="upload.eml")
    assert as_file.verdict is Verdict.UNVERIFIED, as_file.to_json()
    assert "header_evidence_only" in _codes(as_file)
    assert "dmarc_pass" not in _codes(as_file)
    why = next(r for r in as_file.reasons if r.code == "header_evidence_only")
    assert "SPF pass" in why.message and "forward the original email" in why.message
    auth = as_file.details["auth"]
    assert auth["spf"]["result"] == "none"
    assert auth["headers_claim"]["spf"]["result"] == "pass"
    assert auth["evidence"]["spf"] == "not_counted"
    assert auth["evidence"]["dmarc"] == "not_counted"
    assert auth["header_evidence_counted"] is False
    # the same bytes through the gate: our MX wrote that line, so it counts
    as_raw = await verifier.verify_message(raw, arrival=Arrival.RAW)
    assert as_raw.verdict is Verdict.VERIFIED, as_raw.to_json()
    assert as_raw.details["auth"]["evidence"]["dmarc"] == "trusted_header"
    passed = next(r for r in as_raw.reasons if r.code == "dmarc_pass")
    assert "carried by a header our own mail server wrote" in passed.message


async def test_typed_authentication_results_in_a_file_count_for_nothing(
    verifier: Verifier,
) -> None:
    typed = prepend(
        build(from_=DANA),
        f"Authentication-Results: {OUR_MX}; spf=pass smtp.mailfrom={NW}; dkim=pass "
        f"header.d={NW}; dmarc=pass header.from={NW}",
        f"Return-Path: <dana.whitfield@{NW}>",
    )
    report = await verifier.verify_message(typed, filename="typed.eml")
    assert report.verdict is Verdict.UNVERIFIED, report.to_json()
    assert "header_evidence_only" in _codes(report)
    assert "trusted_auth_results_used" not in _codes(report)
    raw = await verifier.verify_message(typed, arrival=Arrival.RAW)
    assert raw.verdict is Verdict.VERIFIED
    assert "trusted_auth_results_used" in _codes(raw)


async def test_typed_failure_in_a_file_is_still_a_failure(verifier: Verifier) -> None:
    raw = _delivered(build(from_=DANA), ip="203.0.113.66", helo="evil", rp="dana@" + NW)
    report = await verifier.verify_message(raw)
    assert report.verdict is Verdict.SPOOFED
    assert "header_evidence_only" not in _codes(report)


async def test_an_envelope_someone_vouches_for_counts(verifier: Verifier) -> None:
    msg = build(from_=DANA)
    envelope = Envelope(client_ip=NW_IP, helo=NW_HELO, mail_from=f"dana.whitfield@{NW}")
    report = await verifier.verify_message(msg, envelope=envelope)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.details["auth"]["evidence"]["dmarc"] == "envelope"


async def test_signature_in_a_file_verifies(verifier: Verifier, key: Key) -> None:
    report = await verifier.verify_message(_genuine(key), filename="signed.eml")
    assert report.verdict is Verdict.VERIFIED
    passed = next(r for r in report.reasons if r.code == "dmarc_pass")
    assert "carried by a DKIM signature deskguard verified" in passed.message
    assert passed.data["evidence"] == "signature"
    assert report.details["auth"]["evidence"] == {
        "spf": "nothing",
        "dkim": "signature",
        "dmarc": "signature",
        "arc": "nothing",
    }


# section 3: one message, one set of single-instance headers


@pytest.mark.parametrize("arrival", [Arrival.FILE, Arrival.RAW])
async def test_prepended_unsigned_subject_is_malformed(
    verifier: Verifier, key: Key, arrival: Arrival
) -> None:
    replay = prepend(_genuine(key), "Subject: Action required: reset your MFA now")
    raw = _delivered(replay, ip=NW_IP, helo=NW_HELO, rp="dana.whitfield@" + NW)
    report = await verifier.verify_message(raw, arrival=arrival)
    assert report.verdict is Verdict.SUSPICIOUS, report.to_json()
    malformed = [r for r in report.reasons if r.code == "malformed_message"]
    assert malformed and "two Subject headers" in malformed[0].message
    message = report.details["message"]
    assert message["subject"] is None  # never shown as if it were the signed one
    assert message["duplicate_fields"]["Subject"] == [
        "Action required: reset your MFA now",
        "Quarterly maintenance window",
    ]


@pytest.mark.parametrize(
    "field", ["Sender", "Reply-To", "To", "Cc", "Date", "Message-ID", "In-Reply-To", "References"]
)
async def test_every_single_instance_field_is_checked(
    verifier: Verifier, key: Key, field: str
) -> None:
    value = "<x@evil.example>" if field in ("Message-ID", "In-Reply-To", "References") else ""
    value = value or ("Mon, 9 Nov 2026 09:00:00 +0000" if field == "Date" else "x@evil.example")
    body = _genuine(key)
    if field not in ("To", "Date", "Message-ID"):
        body = prepend(body, f"{field}: someone@{NW}")
    report = await verifier.verify_message(prepend(body, f"{field}: {value}"))
    assert report.verdict is not Verdict.VERIFIED
    assert any(
        r.code == "malformed_message" and f"two {field} headers" in r.message
        for r in report.reasons
    ), report.to_json()


async def test_two_from_headers_show_no_from(verifier: Verifier, key: Key) -> None:
    report = await verifier.verify_message(prepend(_genuine(key), "From: ceo@evil.example"))
    assert "multiple_from" in _codes(report)
    assert report.details["message"]["from"] is None
    assert report.details["message"]["duplicate_fields"]["From"][0] == "ceo@evil.example"
