"""DMARC discovery by the RFC 9989 tree walk, against the real test DNS server."""

from __future__ import annotations

from bot.dns import Resolver
from bot.mail.dmarc_policy import (
    MAX_WALK_QUERIES,
    CheckStatus,
    discover_dmarc,
    is_dmarc_record,
    parse_dmarc_record,
    walk_names,
)
from tests.support.dnsserver import TestDNSServer


def _dmarc_queries(server: TestDNSServer) -> list[str]:
    return [name for name, qtype in server.queries if name.startswith("_dmarc.")]


async def test_record_at_the_domain_itself(resolver: Resolver) -> None:
    policy = await discover_dmarc("northwind-software.com", resolver)
    assert policy.status is CheckStatus.OK
    assert policy.found_at == "_dmarc.northwind-software.com"
    assert (policy.p, policy.adkim, policy.aspf) == ("reject", "s", "r")
    assert policy.organizational_domain == "northwind-software.com"
    assert policy.policy_for("northwind-software.com") == "reject"
    assert policy.rua == ("mailto:dmarc@northwind-software.com",)
    assert policy.to_json()["inherited"] is False


async def test_subdomain_inherits_from_organizational_domain(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.acme-vendor.com", "TXT", "v=DMARC1; p=reject; sp=quarantine; np=reject")
    policy = await discover_dmarc("mail.eu.acme-vendor.com", resolver)
    assert policy.status is CheckStatus.OK
    assert policy.found_at == "_dmarc.acme-vendor.com"
    assert policy.organizational_domain == "acme-vendor.com"
    assert policy.policy_for("mail.eu.acme-vendor.com") == "quarantine"
    assert policy.policy_for("mail.eu.acme-vendor.com", exists=False) == "reject"
    assert policy.policy_for("acme-vendor.com") == "reject"
    assert policy.policy_for("unrelated-example.org") is None
    assert policy.to_json()["inherited"] is True
    assert _dmarc_queries(dns_server) == [
        "_dmarc.mail.eu.acme-vendor.com",
        "_dmarc.eu.acme-vendor.com",
        "_dmarc.acme-vendor.com",
        "_dmarc.com",
    ]


async def test_sp_absent_falls_back_to_p(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("_dmarc.plain-vendor.net", "TXT", "v=DMARC1; p=quarantine")
    policy = await discover_dmarc("x.plain-vendor.net", resolver)
    assert policy.policy_for("x.plain-vendor.net", exists=False) == "quarantine"


async def test_policy_comes_from_fewest_labels_not_nearest(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.b.layered.com", "TXT", "v=DMARC1; p=none")
    dns_server.add("_dmarc.layered.com", "TXT", "v=DMARC1; p=reject")
    policy = await discover_dmarc("a.b.layered.com", resolver)
    assert policy.organizational_domain == "layered.com"
    assert policy.found_at == "_dmarc.layered.com"
    assert policy.p == "reject"


async def test_missing_everywhere(dns_server: TestDNSServer, resolver: Resolver) -> None:
    policy = await discover_dmarc("fabrikam.co.uk", resolver)
    assert policy.status is CheckStatus.MISSING
    assert policy.p is None and policy.found_at is None
    assert policy.organizational_domain == "fabrikam.co.uk"
    assert policy.policy_for("fabrikam.co.uk") is None
    assert _dmarc_queries(dns_server) == ["_dmarc.fabrikam.co.uk", "_dmarc.co.uk", "_dmarc.uk"]


async def test_timeout_is_could_not_check_not_missing(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.timeouts.add("_dmarc.fabrikam.co.uk")
    policy = await discover_dmarc("fabrikam.co.uk", resolver)
    assert policy.status is CheckStatus.COULD_NOT_CHECK
    assert policy.error is not None and "_dmarc.fabrikam.co.uk" in policy.error
    assert policy.policy_for("fabrikam.co.uk") is None


async def test_servfail_at_a_parent_is_could_not_check(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.servfail.add("_dmarc.com")
    policy = await discover_dmarc("contosopayroll.com", resolver)
    assert policy.status is CheckStatus.COULD_NOT_CHECK
    assert policy.error is not None and "_dmarc.com" in policy.error
    assert policy.organizational_domain == "contosopayroll.com"


async def test_psd_y_sets_organizational_domain_one_below(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.psdzone", "TXT", "v=DMARC1; p=reject; sp=quarantine; psd=y")
    policy = await discover_dmarc("a.b.victim.psdzone", resolver)
    assert policy.status is CheckStatus.OK
    assert policy.organizational_domain == "victim.psdzone"
    assert policy.found_at == "_dmarc.psdzone"
    assert policy.psd == "y"
    assert policy.policy_for("a.b.victim.psdzone") == "quarantine"


async def test_psd_y_prefers_the_record_at_the_organizational_domain(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.psdzone", "TXT", "v=DMARC1; p=reject; psd=y")
    dns_server.add("_dmarc.victim.psdzone", "TXT", "v=DMARC1; p=none")
    policy = await discover_dmarc("a.victim.psdzone", resolver)
    assert policy.found_at == "_dmarc.victim.psdzone"
    assert policy.p == "none"


async def test_psd_n_stops_the_walk(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("_dmarc.dept.corp-example.com", "TXT", "v=DMARC1; p=quarantine; psd=n")
    dns_server.add("_dmarc.corp-example.com", "TXT", "v=DMARC1; p=reject")
    dns_server.timeouts.add("_dmarc.com")  # past the stop: must not matter
    policy = await discover_dmarc("x.dept.corp-example.com", resolver)
    assert policy.status is CheckStatus.OK
    assert policy.organizational_domain == "dept.corp-example.com"
    assert policy.p == "quarantine"
    assert policy.queried == ("_dmarc.x.dept.corp-example.com", "_dmarc.dept.corp-example.com")


async def test_long_name_queries_at_most_eight(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    name = "l1.l2.l3.l4.l5.l6.l7.l8.l9.deep-vendor.com"
    dns_server.add("_dmarc.deep-vendor.com", "TXT", "v=DMARC1; p=reject")
    policy = await discover_dmarc(name, resolver)
    queries = _dmarc_queries(dns_server)
    assert len(queries) == MAX_WALK_QUERIES
    assert queries[0] == f"_dmarc.{name}"
    assert queries[1] == "_dmarc.l5.l6.l7.l8.l9.deep-vendor.com"
    assert policy.found_at == "_dmarc.deep-vendor.com"
    assert len(walk_names("a.b")) == 2


async def test_multiple_records_are_invalid_when_nothing_else_applies(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.twice.org", "TXT", "v=DMARC1; p=reject")
    dns_server.add("_dmarc.twice.org", "TXT", "v=DMARC1; p=none")
    policy = await discover_dmarc("twice.org", resolver)
    assert policy.status is CheckStatus.INVALID
    assert policy.error is not None and "2 DMARC records" in policy.error


async def test_unrelated_txt_is_ignored(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("_dmarc.noisy.org", "TXT", "google-site-verification=abc")
    dns_server.add("_dmarc.noisy.org", "TXT", "v=DMARC1; p=quarantine")
    policy = await discover_dmarc("noisy.org", resolver)
    assert policy.status is CheckStatus.OK
    assert policy.p == "quarantine"


async def test_bad_p_without_rua_is_invalid(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("_dmarc.badp.org", "TXT", "v=DMARC1; p=block")
    policy = await discover_dmarc("badp.org", resolver)
    assert policy.status is CheckStatus.INVALID
    assert policy.policy_for("badp.org") is None
    assert policy.record == "v=DMARC1; p=block"


async def test_invalid_domain_gets_a_clear_answer(resolver: Resolver) -> None:
    policy = await discover_dmarc("exa mple.com", resolver)
    assert policy.status is CheckStatus.INVALID
    assert policy.error is not None and "not a valid domain" in policy.error


def test_parse_record_defaults_and_problems() -> None:
    parsed = parse_dmarc_record("v=DMARC1; rua=mailto:a@b.example; adkim=x; t=y; pct=50; junk")
    assert parsed.p == "none"
    assert parsed.adkim == "r" and parsed.aspf == "r"
    assert parsed.testing is True and parsed.pct == 50
    assert any("adkim" in w for w in parsed.warnings)
    assert any("junk" in w for w in parsed.warnings)
    strict = parse_dmarc_record("v=DMARC1;p=REJECT;sp=none;np=quarantine;aspf=s;psd=n")
    assert (strict.p, strict.sp, strict.np, strict.aspf, strict.psd) == (
        "reject",
        "none",
        "quarantine",
        "s",
        "n",
    )


def test_is_dmarc_record() -> None:
    assert is_dmarc_record("v=DMARC1; p=none")
    assert is_dmarc_record("v = DMARC1")
    assert not is_dmarc_record("v=DMARC10; p=none")
    assert not is_dmarc_record(" v=DMARC1")
    assert not is_dmarc_record("v=spf1 -all")


def test_cached_record_reading_is_the_reading() -> None:
    from bot.mail import dmarc_policy

    records = [
        "v=DMARC1; p=reject",
        "v=DMARC1; rua=mailto:a@b.example; adkim=x; t=y; pct=50; junk",
        "v=DMARC1;p=REJECT;sp=none;np=quarantine;aspf=s;psd=n",
        "v=DMARC1; p=none; p=reject",
    ]
    for record in records * 2:
        assert dmarc_policy._parse_cached(record) == parse_dmarc_record(record)
