"""DMARC evaluation: alignment (relaxed/strict), results, applied policy, discovery through DNS."""

from __future__ import annotations

import pytest

from bot.dns import Resolver
from bot.mail.dmarc import evaluate_dmarc, is_aligned, organizational_domain
from bot.mail.dmarc_policy import CheckStatus, DmarcPolicy, discover_dmarc
from tests.support.dnsserver import TestDNSServer


def _policy(**kw: object) -> DmarcPolicy:
    base: dict[str, object] = {
        "status": CheckStatus.OK,
        "record": "v=DMARC1; p=reject",
        "found_at": "_dmarc.vendor.example",
        "p": "reject",
        "sp": None,
        "np": None,
        "organizational_domain": "vendor.example",
    }
    base.update(kw)
    return DmarcPolicy(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("auth", "author", "mode", "expected"),
    [
        ("vendor.example", "vendor.example", "s", True),
        ("mail.vendor.example", "vendor.example", "s", False),
        ("mail.vendor.example", "vendor.example", "r", True),
        ("vendor.example", "news.vendor.example", "r", True),
        ("a.vendor.example", "b.vendor.example", "r", True),
        ("vendor.example.evil.test", "vendor.example", "r", False),
        ("evilvendor.example", "vendor.example", "r", False),
        ("fabrikam.co.uk", "mail.fabrikam.co.uk", "r", True),
        ("other.co.uk", "fabrikam.co.uk", "r", False),
        ("co.uk", "fabrikam.co.uk", "r", False),
        ("legit.example(.evil.example", "legit.example", "r", False),
        ("VENDOR.example.", "vendor.example", "s", True),
    ],
)
def test_alignment(auth: str, author: str, mode: str, expected: bool) -> None:
    assert is_aligned(auth, author, mode) is expected


def test_org_hint_ignored_when_it_is_a_public_suffix() -> None:
    assert organizational_domain("vendor.co.uk", "co.uk") == "vendor.co.uk"
    assert organizational_domain("a.b.vendor.example", "b.vendor.example") == "b.vendor.example"


def test_pass_by_aligned_dkim() -> None:
    result = evaluate_dmarc(
        "vendor.example",
        _policy(),
        spf_domain="bounces.esp.example",
        spf_result="pass",
        dkim=[("vendor.example", "pass")],
    )
    assert result.result == "pass"
    assert result.dkim_aligned == ("vendor.example",)
    assert not result.spf_aligned
    assert result.policy == "reject"


def test_pass_by_aligned_spf_relaxed() -> None:
    result = evaluate_dmarc(
        "vendor.example",
        _policy(),
        spf_domain="mail.vendor.example",
        spf_result="pass",
        dkim=[],
    )
    assert result.result == "pass"
    assert result.spf_aligned


def test_strict_spf_alignment_fails_on_subdomain() -> None:
    result = evaluate_dmarc(
        "vendor.example",
        _policy(aspf="s"),
        spf_domain="mail.vendor.example",
        spf_result="pass",
        dkim=[],
    )
    assert result.result == "fail"
    assert "SPF pass for mail.vendor.example" in result.reason


def test_strict_dkim_alignment() -> None:
    result = evaluate_dmarc(
        "vendor.example",
        _policy(adkim="s"),
        spf_domain=None,
        spf_result="none",
        dkim=[("mail.vendor.example", "pass")],
    )
    assert result.result == "fail"


def test_unaligned_passes_fail() -> None:
    result = evaluate_dmarc(
        "vendor.example",
        _policy(),
        spf_domain="attacker.example",
        spf_result="pass",
        dkim=[("attacker.example", "pass"), ("vendor.example", "fail")],
    )
    assert result.result == "fail"
    assert "unaligned attacker.example" in result.reason
    assert not result.aligned_pass


def test_aligned_temperror_is_temperror_not_fail() -> None:
    result = evaluate_dmarc(
        "vendor.example",
        _policy(),
        spf_domain="vendor.example",
        spf_result="temperror",
        dkim=[("vendor.example", "fail")],
    )
    assert result.result == "temperror"
    result = evaluate_dmarc(
        "vendor.example",
        _policy(),
        spf_domain=None,
        spf_result="none",
        dkim=[("vendor.example", "temperror")],
    )
    assert result.result == "temperror"


def test_unaligned_temperror_does_not_hide_fail() -> None:
    result = evaluate_dmarc(
        "vendor.example",
        _policy(),
        spf_domain="other.example",
        spf_result="temperror",
        dkim=[],
    )
    assert result.result == "fail"


def test_policy_could_not_be_read_is_temperror() -> None:
    policy = _policy(status=CheckStatus.COULD_NOT_CHECK, p=None, record=None, error="timeout")
    result = evaluate_dmarc(
        "vendor.example",
        policy,
        spf_domain=None,
        spf_result="none",
        dkim=[("vendor.example", "pass")],
    )
    assert result.result == "temperror"
    assert "timeout" in result.reason


def test_no_policy_is_none_and_remembers_aligned_pass() -> None:
    policy = _policy(status=CheckStatus.MISSING, p=None, record=None, found_at=None)
    passed = evaluate_dmarc(
        "vendor.example",
        policy,
        spf_domain=None,
        spf_result="none",
        dkim=[("vendor.example", "pass")],
    )
    assert passed.result == "none"
    assert passed.aligned_pass
    failed = evaluate_dmarc("vendor.example", policy, spf_domain=None, spf_result="none", dkim=[])
    assert failed.result == "none"
    assert not failed.aligned_pass
    assert "no aligned" in failed.reason


def test_invalid_policy_is_none_with_reason() -> None:
    policy = _policy(status=CheckStatus.INVALID, p=None, error="no p= tag")
    result = evaluate_dmarc("vendor.example", policy, spf_domain=None, spf_result="none", dkim=[])
    assert result.result == "none"
    assert "invalid DMARC record" in result.reason


async def test_subdomain_policy_applies_sp(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.add("_dmarc.vendor.example", "TXT", "v=DMARC1; p=reject; sp=quarantine")
    dns_server.add("news.vendor.example", "TXT", "v=spf1 -all")
    policy = await discover_dmarc("news.vendor.example", resolver)
    result = evaluate_dmarc(
        "news.vendor.example",
        policy,
        spf_domain=None,
        spf_result="none",
        dkim=[("vendor.example", "pass")],
    )
    assert result.result == "pass"
    assert result.policy == "quarantine"


async def test_discovered_strict_policy_from_fixture_zone(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    # tests/fixtures/vendors.zone: northwind-software.com has adkim=s
    policy = await discover_dmarc("northwind-software.com", resolver)
    result = evaluate_dmarc(
        "northwind-software.com",
        policy,
        spf_domain=None,
        spf_result="none",
        dkim=[("mail.northwind-software.com", "pass")],
    )
    assert result.adkim == "s"
    assert result.result == "fail"


async def test_dns_timeout_on_policy_is_temperror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.timeouts.add("_dmarc.slow.example")
    policy = await discover_dmarc("slow.example", resolver)
    result = evaluate_dmarc(
        "slow.example", policy, spf_domain=None, spf_result="none", dkim=[("slow.example", "fail")]
    )
    assert result.result == "temperror"


async def test_np_applies_to_non_existent_subdomain(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add("_dmarc.vendor.example", "TXT", "v=DMARC1; p=none; sp=quarantine; np=reject")
    policy = await discover_dmarc("ghost.vendor.example", resolver)
    existing = evaluate_dmarc(
        "ghost.vendor.example", policy, spf_domain=None, spf_result="none", dkim=[]
    )
    missing = evaluate_dmarc(
        "ghost.vendor.example",
        policy,
        spf_domain=None,
        spf_result="none",
        dkim=[],
        from_exists=False,
    )
    assert (existing.policy, missing.policy) == ("quarantine", "reject")
