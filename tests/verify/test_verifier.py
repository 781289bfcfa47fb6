"""Domain and address verification through the real test DNS server."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import InputError
from bot.registry import RegistryHolder
from bot.report import Kind, Verdict
from bot.settings import load_settings
from bot.verify.verifier import Verifier, classify_target
from tests.conftest import FIXTURES


@pytest.fixture
def verifier(resolver, registry) -> Verifier:
    settings = load_settings(registry=FIXTURES / "vendors.yml")
    return Verifier(
        settings, resolver, RegistryHolder(registry), today=lambda: dt.date(2026, 11, 27)
    )


async def test_registered_vendor_domain_is_verified(verifier):
    report = await verifier.verify_target("Northwind-Software.com")
    assert report.verdict is Verdict.VERIFIED
    assert report.codes() == ["registered_vendor"]
    assert report.vendor["id"] == "northwind"
    assert report.callback["phone"] == "+12065550142"
    assert report.posture["dmarc"]["p"] == "reject"


async def test_vendor_subdomain_belongs_to_vendor(verifier):
    report = await verifier.verify_target("mail.northwind.io")
    assert report.vendor["id"] == "northwind"
    assert "lookalike_domain" not in report.codes()


async def test_lookalike_is_suspicious_and_names_the_real_callback(verifier):
    report = await verifier.verify_target("northwind-support.com")
    assert report.verdict is Verdict.SUSPICIOUS
    assert report.vendor is None
    (reason,) = [r for r in report.reasons if r.code == "lookalike_domain"]
    assert reason.data["vendor_id"] == "northwind"
    assert report.callback["phone"] == "+12065550142"
    assert report.to_json()["imitates"]["trick"] == reason.data["trick"]


async def test_domain_as_label_of_another_domain(verifier):
    report = await verifier.verify_target("northwind-software.com.evil.example")
    assert report.verdict is Verdict.SUSPICIOUS
    assert report.details["imitates"]["trick"] == "domain_as_label"


async def test_unrelated_domain_is_unverified(verifier):
    report = await verifier.verify_target("unrelated-example.org")
    assert report.verdict is Verdict.UNVERIFIED
    assert report.codes() == ["not_in_registry"]
    assert report.callback is None


async def test_weak_policy_and_overdue_review_are_reported(verifier):
    report = await verifier.verify_target("contosopayroll.com")
    assert set(report.codes()) >= {"weak_domain_policy", "registry_review_overdue"}
    assert report.verdict is Verdict.VERIFIED


async def test_dns_timeout_reads_dns_error_not_missing(verifier, dns_server):
    dns_server.timeouts.add("northwind-software.com")
    dns_server.timeouts.add("_dmarc.northwind-software.com")
    report = await verifier.verify_target("northwind-software.com")
    assert "dns_error" in report.codes()
    assert "weak_domain_policy" not in report.codes()
    assert report.verdict is Verdict.UNVERIFIED
    assert report.posture["spf"]["status"] == "could_not_check"


async def test_registered_contact_and_unknown_contact(verifier):
    known = await verifier.verify_target("Dana.Whitfield@northwind-software.com")
    assert known.kind is Kind.ADDRESS and known.verdict is Verdict.VERIFIED
    unknown = await verifier.verify_target("it-support@northwind-software.com")
    assert unknown.verdict is Verdict.UNVERIFIED and "unknown_contact" in unknown.codes()


async def test_address_at_lookalike(verifier):
    report = await verifier.verify_target("dana.whitfield@northwind-support.com")
    assert report.kind is Kind.ADDRESS and report.verdict is Verdict.SUSPICIOUS


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("https://Northwind.io/login?x=1", Kind.DOMAIN, "northwind.io"),
        ("mailto:Dana@northwind.io", Kind.ADDRESS, "dana@northwind.io"),
        ("northwind.io:443", Kind.DOMAIN, "northwind.io"),
    ],
)
def test_classify_target(text, kind, target):
    assert classify_target(text) == (kind, target)


@pytest.mark.parametrize(
    "text", ["", "   ", "not a domain", "a@b@c", "exa\x00mple.com", "x" * 600, "localhost"]
)
async def test_unusable_targets_raise_input_error(verifier, text):
    with pytest.raises(InputError):
        await verifier.verify_target(text)


async def test_verify_many_keeps_going_past_bad_targets(verifier):
    results = await verifier.verify_many(["northwind.io", "bad..name", "unrelated-example.org"])
    assert isinstance(results[1], InputError)
    assert [r.verdict for r in (results[0], results[2])] == [
        Verdict.VERIFIED,
        Verdict.UNVERIFIED,
    ]


async def test_registry_swap_rebuilds_lookalike_index(verifier, registry):
    from bot.registry import parse_registry

    assert (await verifier.verify_target("fabrikarn.co.uk")).verdict is Verdict.SUSPICIOUS
    only_northwind = parse_registry(
        {"vendors": [v.to_json() for v in registry.vendors if v.id == "northwind"]}
    )
    verifier.registry_holder.replace(only_northwind)
    assert (await verifier.verify_target("fabrikarn.co.uk")).verdict is Verdict.UNVERIFIED
