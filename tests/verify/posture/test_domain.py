"""The whole posture of a domain against the real test DNS server (zone data:
tests/fixtures/vendors.zone): weaknesses, reasons, DNS failures, MX and MTA-STS."""

from __future__ import annotations

import json

import pytest

from bot.dns import Resolver
from bot.names import InvalidName
from bot.verify.posture import CheckStatus, Posture, check_posture
from tests.support.dnsserver import TestDNSServer


def _codes(posture: Posture) -> list[str]:
    return [r.code for r in posture.reasons()]


def _weak_message(posture: Posture) -> str:
    return next(r.message for r in posture.reasons() if r.code == "weak_domain_policy")


# whole domains


async def test_strong_domain(resolver: Resolver) -> None:
    posture = await check_posture("northwind-software.com", resolver)
    assert posture.spf.status is CheckStatus.OK
    assert posture.spf.all_qualifier == "-"
    assert posture.spf.record == "v=spf1 ip4:192.0.2.0/24 -all"
    assert posture.dmarc.status is CheckStatus.OK
    assert (posture.dmarc.p, posture.dmarc.adkim) == ("reject", "s")
    assert posture.dmarc.found_at == "_dmarc.northwind-software.com"
    assert posture.mx.status is CheckStatus.OK
    assert [(h.preference, h.host) for h in posture.mx.hosts] == [(10, "mx.northwind-software.com")]
    assert posture.mta_sts is not None and posture.mta_sts.status is CheckStatus.MISSING
    assert posture.reasons() == []
    data = json.loads(json.dumps(posture.to_json()))
    assert data["spf"]["all"] == "-"
    assert data["dmarc"]["p"] == "reject"
    assert data["weaknesses"] == [] and data["could_not_check"] == []


async def test_plus_all_and_p_none_are_one_weak_reason(resolver: Resolver) -> None:
    posture = await check_posture("contosopayroll.com", resolver)
    assert _codes(posture) == ["weak_domain_policy"]
    message = _weak_message(posture)
    assert "+all" in message and "none" in message
    assert posture.reasons()[0].data["weaknesses"] == [
        "DMARC policy is none (monitoring only)",
        "SPF +all lets anyone send as the domain",
    ]


async def test_softfail_and_no_dmarc(resolver: Resolver) -> None:
    posture = await check_posture("fabrikam.co.uk", resolver)
    assert posture.dmarc.status is CheckStatus.MISSING
    assert posture.spf.all_qualifier == "~"
    assert posture.mx.status is CheckStatus.MISSING
    message = _weak_message(posture)
    assert "no DMARC record" in message and "~all" in message
    assert "dns_error" not in _codes(posture)


async def test_missing_spf_and_no_all_are_weak(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.noall-vendor.com", "TXT", "v=DMARC1; p=reject")
    dns_server.add("noall-vendor.com", "TXT", "v=spf1 ip4:192.0.2.1")
    dns_server.add("_dmarc.nospf-vendor.com", "TXT", "v=DMARC1; p=reject")
    dns_server.add("nospf-vendor.com", "MX", "10 mx.nospf-vendor.com.")
    noall = await check_posture("noall-vendor.com", resolver)
    assert noall.spf.status is CheckStatus.OK and noall.spf.all_qualifier is None
    assert "no all mechanism" in _weak_message(noall)
    nospf = await check_posture("nospf-vendor.com", resolver)
    assert nospf.spf.status is CheckStatus.MISSING
    assert _weak_message(nospf).endswith("no SPF record.")


async def test_subdomain_uses_dmarc_of_organizational_domain(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("billing.northwind-software.com", "TXT", "v=spf1 -all")
    posture = await check_posture("billing.northwind-software.com", resolver)
    assert posture.dmarc.status is CheckStatus.OK
    assert posture.dmarc.found_at == "_dmarc.northwind-software.com"
    assert posture.dmarc.organizational_domain == "northwind-software.com"
    assert posture.to_json()["dmarc"]["inherited"] is True
    assert "weak_domain_policy" not in _codes(posture)


async def test_subdomain_policy_sp_none_is_weak(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.spnone-vendor.com", "TXT", "v=DMARC1; p=reject; sp=none")
    dns_server.add("it.spnone-vendor.com", "TXT", "v=spf1 -all")
    posture = await check_posture("it.spnone-vendor.com", resolver)
    assert "DMARC policy is none" in _weak_message(posture)
    top = await check_posture("spnone-vendor.com", resolver)
    assert "DMARC" not in " ".join(top.weaknesses())


async def test_timeout_is_could_not_check_not_missing(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.timeouts.add("fabrikam.co.uk")
    posture = await check_posture("fabrikam.co.uk", resolver)
    assert posture.spf.status is CheckStatus.COULD_NOT_CHECK
    assert posture.mx.status is CheckStatus.COULD_NOT_CHECK
    assert posture.exists is None
    dns_reason = next(r for r in posture.reasons() if r.code == "dns_error")
    assert "SPF" in dns_reason.message and "MX" in dns_reason.message
    # DMARC was answered (missing), SPF was not: the weakness names DMARC only
    assert posture.weaknesses() == ["no DMARC record"]


async def test_dmarc_timeout_never_reads_as_no_dmarc(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.timeouts.add("_dmarc.contosopayroll.com")
    posture = await check_posture("contosopayroll.com", resolver)
    assert posture.dmarc.status is CheckStatus.COULD_NOT_CHECK
    assert posture.weaknesses() == ["SPF +all lets anyone send as the domain"]
    dns_reason = next(r for r in posture.reasons() if r.code == "dns_error")
    assert "DMARC" in dns_reason.message and "_dmarc.contosopayroll.com" in dns_reason.message


async def test_servfail_is_could_not_check(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.servfail.update({"contosopayroll.com", "_dmarc.contosopayroll.com"})
    posture = await check_posture("contosopayroll.com", resolver)
    assert posture.spf.status is CheckStatus.COULD_NOT_CHECK
    assert posture.dmarc.status is CheckStatus.COULD_NOT_CHECK
    assert posture.mx.status is CheckStatus.COULD_NOT_CHECK
    assert _codes(posture) == ["dns_error"]
    assert len(posture.reasons()[0].data["lookups"]) == 3


async def test_nonexistent_domain(resolver: Resolver) -> None:
    posture = await check_posture("no-such-vendor.com", resolver)
    assert posture.exists is False
    assert posture.spf.status is CheckStatus.MISSING
    assert posture.spf.error == "the domain does not exist"
    assert "no SPF record" in _weak_message(posture)


async def test_bad_domain_is_refused(resolver: Resolver) -> None:
    with pytest.raises(InvalidName):
        await check_posture("bad domain\n.com", resolver)


async def test_null_mx(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("nomail-vendor.com", "MX", "0 .")
    posture = await check_posture("nomail-vendor.com", resolver)
    assert posture.mx.status is CheckStatus.OK
    assert posture.mx.null_mx is True and posture.mx.hosts == []


async def test_mta_sts(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("_mta-sts.northwind-software.com", "TXT", "v=STSv1; id=20240101T000000")
    posture = await check_posture("northwind-software.com", resolver)
    assert posture.mta_sts is not None
    assert posture.mta_sts.status is CheckStatus.OK
    assert posture.mta_sts.policy_id == "20240101T000000"
    dns_server.add("_mta-sts.contosopayroll.com", "TXT", "v=STSv1; id=bad-id!")
    bad = await check_posture("contosopayroll.com", resolver)
    assert bad.mta_sts is not None and bad.mta_sts.status is CheckStatus.INVALID
