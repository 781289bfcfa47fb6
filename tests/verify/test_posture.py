"""Domain posture against the real test DNS server (zone data: tests/fixtures/vendors.zone)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bot.dns import Resolver
from bot.names import InvalidName
from bot.verify.posture import CheckStatus, Posture, check_posture, check_spf
from tests.support.dnsserver import TestDNSServer


def _codes(posture: Posture) -> list[str]:
    return [r.code for r in posture.reasons()]


def _weak_message(posture: Posture) -> str:
    return next(r.message for r in posture.reasons() if r.code == "weak_domain_policy")


def _rsa_key_b64(bits: int) -> str:
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return base64.b64encode(
        public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()


def _short_rsa_key_b64() -> str:
    # cryptography will not generate keys under 1024 bits; a 512-bit public modulus is enough here
    modulus = (1 << 511) | 0xC0FFEE1
    public = rsa.RSAPublicNumbers(65537, modulus).public_key()
    return base64.b64encode(
        public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()


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


# SPF lookup counting


async def test_spf_counts_lookups_through_includes(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add_zone(
        {
            "counted.example": [
                ("TXT", "v=spf1 include:_spf.a.example include:_spf.b.example mx a -all")
            ],
            "_spf.a.example": [("TXT", "v=spf1 include:_spf.c.example ip4:192.0.2.0/24 -all")],
            "_spf.b.example": [("TXT", "v=spf1 exists:%{i}.x.b.example ptr ~all")],
            "_spf.c.example": [("TXT", "v=spf1 a:mail.c.example ip6:2001:db8::/32 ?all")],
        }
    )
    spf = await check_spf("counted.example", resolver)
    assert spf.status is CheckStatus.OK
    # top: include, include, mx, a = 4; a: include = 1; b: exists, ptr = 2; c: a = 1
    assert spf.lookups == 8
    assert spf.all_qualifier == "-"
    assert spf.includes == ["_spf.a.example", "_spf.b.example"]
    assert any("ptr" in w for w in spf.warnings)


async def test_spf_diamond_includes_count_twice(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add_zone(
        {
            "diamond.example": [("TXT", "v=spf1 include:l.example include:r.example -all")],
            "l.example": [("TXT", "v=spf1 include:shared.example -all")],
            "r.example": [("TXT", "v=spf1 include:shared.example -all")],
            "shared.example": [("TXT", "v=spf1 a mx -all")],
        }
    )
    spf = await check_spf("diamond.example", resolver)
    assert spf.lookups == 2 + 1 + 1 + 2 + 2


async def test_spf_over_ten_lookups_is_invalid(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("heavy.example", "TXT", "v=spf1 include:i1.example include:i2.example -all")
    dns_server.add("i1.example", "TXT", "v=spf1 a mx ptr exists:x.example a:y.example -all")
    dns_server.add("i2.example", "TXT", "v=spf1 a mx mx:z.example a:w.example -all")
    posture = await check_posture("heavy.example", resolver)
    assert posture.spf.lookups == 11
    assert posture.spf.status is CheckStatus.INVALID
    assert posture.spf.error is not None and "10 DNS lookups" in posture.spf.error
    assert "SPF record broken" in _weak_message(posture)


async def test_spf_include_loop_is_invalid(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("loop-a.example", "TXT", "v=spf1 include:loop-b.example -all")
    dns_server.add("loop-b.example", "TXT", "v=spf1 include:loop-a.example -all")
    spf = await check_spf("loop-a.example", resolver)
    assert spf.status is CheckStatus.INVALID
    assert spf.lookups > 10


async def test_spf_redirect_gives_the_all(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("redir.example", "TXT", "v=spf1 redirect=_spf.redir.example")
    dns_server.add("_spf.redir.example", "TXT", "v=spf1 include:i.redir.example -all")
    dns_server.add("i.redir.example", "TXT", "v=spf1 ip4:192.0.2.9 -all")
    spf = await check_spf("redir.example", resolver)
    assert spf.status is CheckStatus.OK
    assert (spf.redirect, spf.all_qualifier, spf.lookups) == ("_spf.redir.example", "-", 2)


async def test_spf_include_without_record_is_invalid(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("dangling.example", "TXT", "v=spf1 include:gone.example -all")
    spf = await check_spf("dangling.example", resolver)
    assert spf.status is CheckStatus.INVALID
    assert spf.error is not None and "gone.example has no SPF record" in spf.error


async def test_spf_include_timeout_is_could_not_check(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("slowinc.example", "TXT", "v=spf1 include:slow.example +all")
    dns_server.timeouts.add("slow.example")
    posture = await check_posture("slowinc.example", resolver)
    assert posture.spf.status is CheckStatus.COULD_NOT_CHECK
    assert posture.spf.error is not None and "slow.example" in posture.spf.error
    assert not any("SPF" in w for w in posture.weaknesses())
    assert "dns_error" in _codes(posture)


async def test_spf_multiple_records_and_syntax_errors(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("twice.example", "TXT", "v=spf1 -all")
    dns_server.add("twice.example", "TXT", "v=spf1 ~all")
    dns_server.add("typo.example", "TXT", "v=spf1 ip4:300.1.1.1 inclde:x.example -all")
    dns_server.add("other-txt.example", "TXT", "v=spf10 -all")
    twice = await check_spf("twice.example", resolver)
    assert twice.status is CheckStatus.INVALID and "2 SPF records" in (twice.error or "")
    typo = await check_spf("typo.example", resolver)
    assert typo.status is CheckStatus.INVALID
    assert "300.1.1.1" in (typo.error or "") and "inclde" in (typo.error or "")
    other = await check_spf("other-txt.example", resolver)
    assert other.status is CheckStatus.MISSING


# DKIM keys


async def test_dkim_selectors(dns_server: TestDNSServer, resolver: Resolver) -> None:
    domain = "northwind-software.com"
    dns_server.add(f"s2048._domainkey.{domain}", "TXT", f"v=DKIM1; k=rsa; p={_rsa_key_b64(2048)}")
    dns_server.add(f"test._domainkey.{domain}", "TXT", f"v=DKIM1; t=y; p={_rsa_key_b64(1024)}")
    dns_server.add(f"short._domainkey.{domain}", "TXT", f"v=DKIM1; p={_short_rsa_key_b64()}")
    dns_server.add(f"gone._domainkey.{domain}", "TXT", "v=DKIM1; k=rsa; p=")
    ed_raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    ed_key = base64.b64encode(ed_raw).decode()
    dns_server.add(f"ed._domainkey.{domain}", "TXT", f"v=DKIM1; k=ed25519; p={ed_key}")
    dns_server.add(f"junk._domainkey.{domain}", "TXT", "v=DKIM1; p=not*base64")
    selectors = ["s2048", "test", "short", "gone", "ed", "junk", "absent", "bad selector"]
    posture = await check_posture(domain, resolver, dkim_selectors=selectors)
    keys = {k.selector: k for k in posture.dkim}
    assert [k.selector for k in posture.dkim] == selectors
    assert keys["s2048"].status is CheckStatus.OK
    assert (keys["s2048"].key_type, keys["s2048"].rsa_bits) == ("rsa", 2048)
    assert keys["test"].status is CheckStatus.OK and keys["test"].testing is True
    assert keys["test"].rsa_bits == 1024
    assert keys["short"].status is CheckStatus.INVALID and keys["short"].rsa_bits == 512
    assert "RFC 8301" in (keys["short"].error or "")
    assert keys["gone"].status is CheckStatus.INVALID and keys["gone"].revoked is True
    assert keys["ed"].status is CheckStatus.OK and keys["ed"].key_type == "ed25519"
    assert keys["junk"].status is CheckStatus.INVALID
    assert keys["absent"].status is CheckStatus.MISSING
    assert keys["bad selector"].status is CheckStatus.INVALID
    assert posture.reasons() == []
    assert json.loads(json.dumps(posture.to_json()))["dkim"][0]["rsa_bits"] == 2048


async def test_dkim_timeout_is_a_dns_error(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.timeouts.add("s1._domainkey.northwind-software.com")
    posture = await check_posture("northwind-software.com", resolver, dkim_selectors=["s1"])
    assert posture.dkim[0].status is CheckStatus.COULD_NOT_CHECK
    assert _codes(posture) == ["dns_error"]
    assert "DKIM selector s1" in posture.reasons()[0].message


async def test_spf_malformed_include_target_is_invalid_not_a_dns_error(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("badinc.example", "TXT", "v=spf1 include:foo..example redirect=x_y -all")
    spf = await check_spf("badinc.example", resolver)
    assert spf.status is CheckStatus.INVALID
    assert "foo..example" in (spf.error or "") and "redirect=x_y" in (spf.error or "")
