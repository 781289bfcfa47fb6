"""Phone numbers and callers as targets: whose number, claimed vendor, caller's name."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.errors import InputError
from bot.registry import RegistryHolder, parse_registry
from bot.report import Kind, Verdict
from bot.settings import load_settings
from bot.verify.phone import looks_like_phone, parse_phone
from bot.verify.vendors import UnknownVendor
from bot.verify.verifier import Verifier, classify_target
from tests.conftest import FIXTURES


@pytest.fixture
def verifier(resolver, registry) -> Verifier:
    settings = load_settings(registry=FIXTURES / "vendors.yml")
    return Verifier(
        settings, resolver, RegistryHolder(registry), today=lambda: dt.date(2026, 11, 27)
    )


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("+1 800 555 0199", "+18005550199"),
        ("(206) 555-0142", "+12065550142"),
        ("tel:+12065550142", "+12065550142"),
        ("TEL:+1-206-555-0142", "+12065550142"),
        ("1-8OO-555-0199", "+18005550199"),  # letter O for zero
        ("206.555.0142", "+12065550142"),
        ("+44 20 7946 0000", "+442079460000"),
    ],
)
def test_common_forms_are_phone_targets_in_e164(text: str, e164: str) -> None:
    assert classify_target(text) == (Kind.PHONE, e164)


@pytest.mark.parametrize("text", ["northwind.io", "10.20.30.40", "555.com", "1800flowers.com"])
def test_domains_and_addresses_are_not_phones(text: str) -> None:
    assert not looks_like_phone(text)
    assert classify_target(text)[0] is Kind.DOMAIN


@pytest.mark.parametrize("text", ["+1 555", "tel:12", "+999 1"])
def test_a_bad_number_is_a_phone_error_not_a_domain_error(text: str) -> None:
    with pytest.raises(InputError, match="not a valid phone number"):
        classify_target(text)


def test_phone_pattern_stays_linear_on_long_hostile_input() -> None:
    # a long run of separators and lookalike letters: rejected or parsed, never a hang
    for text in ("(" * 10_000, "0O" * 5_000 + "x", " " * 10_000 + "+"):
        assert not looks_like_phone(text)
    with pytest.raises(InputError):
        parse_phone("+" + "1-" * 5_000, "US")


async def test_callback_line_is_verified_and_names_whose_number(verifier: Verifier) -> None:
    report = await verifier.verify_target("(206) 555-0142")
    assert report.kind is Kind.PHONE and report.target == "+12065550142"
    assert report.verdict is Verdict.VERIFIED
    (reason,) = report.reasons
    assert reason.code == "registered_phone_number"
    assert "Northwind Software's callback line" in reason.message
    assert report.vendor is not None and report.vendor["id"] == "northwind"
    assert report.callback is not None and report.callback["phone"] == "+12065550142"
    data = report.to_json()
    assert data["kind"] == "phone" and data["posture"] is None
    assert data["phone"]["registered_to"] == [
        {"vendor_name": "Northwind Software", "vendor_id": "northwind", "whose": "callback"}
    ]


async def test_contact_number_is_verified_and_names_the_contact(verifier: Verifier) -> None:
    report = await verifier.verify_target("+1 206 555 0110")
    assert report.verdict is Verdict.VERIFIED
    (reason,) = report.reasons
    assert "Dana Whitfield (Account manager)" in reason.message
    assert reason.data == {
        "vendor_id": "northwind",
        "whose": "contact",
        "name": "Dana Whitfield",
        "role": "Account manager",
    }
    assert report.callback is not None and report.callback["phone"] == "+12065550142"


async def test_overdue_vendor_number_carries_the_review_warning(verifier: Verifier) -> None:
    report = await verifier.verify_target("+1 312 555 0100")
    assert report.codes() == ["registered_phone_number", "registry_review_overdue"]


async def test_unknown_number_is_unverified_with_callback_advice(verifier: Verifier) -> None:
    report = await verifier.verify_target("+1 800 555 0199")
    assert report.verdict is Verdict.UNVERIFIED
    assert report.codes() == ["not_in_registry"]
    assert "proves nothing by itself" in report.reasons[0].message
    assert report.vendor is None and report.callback is None


async def test_claimed_vendor_with_unregistered_number_is_suspicious(verifier: Verifier) -> None:
    report = await verifier.verify_target("+1 800 555 0199", claims="Northwind")
    assert report.verdict is Verdict.SUSPICIOUS
    assert report.codes() == ["unregistered_phone_number"]
    assert report.vendor is None
    assert report.callback is not None and report.callback["phone"] == "+12065550142"
    assert report.details["claimed_vendor"] == {"id": "northwind", "name": "Northwind Software"}


async def test_another_vendors_number_is_a_claim_mismatch(verifier: Verifier) -> None:
    report = await verifier.verify_target("+1 312 555 0100", claims="northwind")
    assert report.verdict is Verdict.SUSPICIOUS
    assert report.codes() == ["claimed_vendor_mismatch"]
    assert "Contoso Payroll's callback line" in report.reasons[0].message
    assert report.callback is not None and report.callback["phone"] == "+12065550142"


async def test_claimed_vendors_own_number_stays_verified(verifier: Verifier) -> None:
    report = await verifier.verify_target("tel:+12065550110", claims="Northwind Software")
    assert report.verdict is Verdict.VERIFIED
    assert report.codes() == ["registered_phone_number"]


async def test_domain_and_address_of_another_vendor_are_a_claim_mismatch(
    verifier: Verifier,
) -> None:
    domain = await verifier.verify_target("contosopayroll.com", claims="northwind")
    assert domain.verdict is Verdict.SUSPICIOUS
    assert "claimed_vendor_mismatch" in domain.codes()
    assert "belongs to Contoso Payroll, not Northwind Software" in domain.reasons[-1].message
    assert domain.callback is not None and domain.callback["phone"] == "+12065550142"
    unknown = await verifier.verify_target("unrelated-example.org", claims="northwind")
    assert unknown.verdict is Verdict.SUSPICIOUS
    assert "belongs to no registered vendor" in unknown.reasons[-1].message
    own = await verifier.verify_target("dana.whitfield@northwind-software.com", claims="northwind")
    assert "claimed_vendor_mismatch" not in own.codes()
    assert own.verdict is Verdict.VERIFIED


async def test_unknown_claimed_vendor_names_the_closest(verifier: Verifier) -> None:
    with pytest.raises(UnknownVendor) as caught:
        await verifier.verify_target("+1 206 555 0142", claims="Northwnd")
    assert str(caught.value) == (
        "No vendor named 'Northwnd' in the registry. Closest: Northwind Software."
    )


async def test_caller_name_of_a_registered_contact_names_the_role(verifier: Verifier) -> None:
    report = await verifier.verify_target(
        "+1 206 555 0142", claims="northwind", caller="  dana   WHITFIELD "
    )
    assert report.verdict is Verdict.VERIFIED
    (named,) = [r for r in report.reasons if r.code == "registered_contact"]
    assert "Dana Whitfield is a registered contact of Northwind Software: Account manager" in (
        named.message
    )
    assert report.details["caller"] == {
        "name": "Dana Whitfield",
        "registered": True,
        "vendor_id": "northwind",
        "role": "Account manager",
    }


async def test_any_other_caller_name_is_an_unknown_contact(verifier: Verifier) -> None:
    report = await verifier.verify_target(
        "+1 206 555 0142", claims="northwind", caller="Sam Okafor"
    )
    assert report.verdict is Verdict.UNVERIFIED
    assert report.codes() == ["registered_phone_number", "unknown_contact"]
    assert report.details["caller"]["registered"] is False
    # a contact of another vendor is not a contact of the claimed one
    other = await verifier.verify_target("+1 206 555 0142", claims="northwind", caller="Lee Park")
    assert "unknown_contact" in other.codes()


async def test_caller_without_any_vendor_cannot_be_a_registered_contact(
    verifier: Verifier,
) -> None:
    report = await verifier.verify_target("+1 800 555 0199", caller="Dana Whitfield")
    assert "registered_contact" not in report.codes()
    assert "unknown_contact" in report.codes()


async def test_registered_contact_address_says_who_it_is(verifier: Verifier) -> None:
    report = await verifier.verify_target("dana.whitfield@northwind-software.com")
    (reason,) = [r for r in report.reasons if r.code == "registered_contact"]
    assert reason.message == (
        "dana.whitfield@northwind-software.com is Dana Whitfield, Account manager at Northwind "
        "Software (a registered contact)."
    )


@pytest.mark.parametrize("name", ["Acme Corp", "Northwnd", "acme"])
async def test_vendor_names_never_get_a_domain_syntax_error(verifier: Verifier, name: str) -> None:
    with pytest.raises(UnknownVendor) as caught:
        await verifier.verify_target(name)
    assert str(caught.value).startswith(f"No vendor named '{name}' in the registry")
    assert "domain" not in str(caught.value)


def _shared_registry() -> Any:
    vendor: dict[str, Any] = {
        "privileged": False,
        "last_reviewed": "2026-10-01",
        "owner": "IT",
        "callback": {"phone": "+1 206 555 0199", "instructions": "Ask for support."},
    }
    return parse_registry(
        {
            "vendors": [
                {**vendor, "id": "alpha", "name": "Alpha", "domains": ["alpha.example"]},
                {**vendor, "id": "beta", "name": "Beta", "domains": ["beta.example"]},
            ]
        }
    )


async def test_a_number_shared_by_two_vendors_needs_a_claim(resolver) -> None:
    settings = load_settings(registry=FIXTURES / "vendors.yml")
    verifier = Verifier(settings, resolver, RegistryHolder(_shared_registry()))
    report = await verifier.verify_target("+1 206 555 0199")
    assert report.verdict is Verdict.UNVERIFIED and report.vendor is None
    claimed = await verifier.verify_target("+1 206 555 0199", claims="beta")
    assert claimed.verdict is Verdict.VERIFIED
    assert claimed.vendor is not None and claimed.vendor["id"] == "beta"
    assert [r.data["vendor_id"] for r in claimed.reasons] == ["beta"]
