"""SPF posture: lookup counting through includes and redirects, syntax problems (real test DNS)."""

from __future__ import annotations

from bot.dns import Resolver
from bot.verify.posture import CheckStatus, Posture, check_posture
from bot.verify.posture.spf import check_spf
from tests.support.dnsserver import TestDNSServer


def _codes(posture: Posture) -> list[str]:
    return [r.code for r in posture.reasons()]


def _weak_message(posture: Posture) -> str:
    return next(r.message for r in posture.reasons() if r.code == "weak_domain_policy")


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


async def test_spf_malformed_include_target_is_invalid_not_a_dns_error(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("badinc.example", "TXT", "v=spf1 include:foo..example redirect=x_y -all")
    spf = await check_spf("badinc.example", resolver)
    assert spf.status is CheckStatus.INVALID
    assert "foo..example" in (spf.error or "") and "redirect=x_y" in (spf.error or "")
