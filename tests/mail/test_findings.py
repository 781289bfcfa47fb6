"""Identity and content findings: display name, Reply-To/Return-Path, phone numbers, requests."""

from __future__ import annotations

from dataclasses import dataclass

from bot.mail.findings import (
    display_name_reasons,
    named_vendors,
    phone_reasons,
    reply_to_reasons,
    risk_reasons,
)
from bot.names import parse_address
from bot.registry import Registry
from bot.report import Verdict


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str


@dataclass(frozen=True)
class Risk:
    code: str
    evidence: str


def test_named_vendors_by_name_alias_and_id(registry: Registry) -> None:
    assert [v.id for v in named_vendors("Northwind Software Support", registry)] == ["northwind"]
    assert [v.id for v in named_vendors("CONTOSO billing", registry)] == ["contoso-payroll"]
    assert [v.id for v in named_vendors("contoso-payroll team", registry)] == ["contoso-payroll"]
    assert named_vendors("Northwindy Traders", registry) == []
    assert named_vendors("", registry) == []


def test_display_name_names_vendor_but_address_is_not_theirs(registry: Registry) -> None:
    address = parse_address("help@northwind-support.com")
    reasons = display_name_reasons("Northwind Software Security", address, registry, None)
    assert [r.code for r in reasons] == ["display_name_impersonation"]
    assert reasons[0].data["vendor_id"] == "northwind"
    assert reasons[0].effective_floor is Verdict.SUSPICIOUS


def test_display_name_of_the_real_vendor_is_fine(registry: Registry) -> None:
    address = parse_address("dana.whitfield@northwind-software.com")
    vendor = registry.get("northwind")
    assert display_name_reasons("Dana at Northwind Software", address, registry, vendor) == []


def test_display_name_that_is_another_address(registry: Registry) -> None:
    address = parse_address("x@attacker.example")
    reasons = display_name_reasons("dana.whitfield@northwind-software.com", address, registry, None)
    assert [r.code for r in reasons] == ["display_name_impersonation"]
    assert reasons[0].data["shown"] == "dana.whitfield@northwind-software.com"


def test_display_name_equal_to_own_address_is_fine(registry: Registry) -> None:
    address = parse_address("bob@unrelated-example.org")
    assert display_name_reasons("bob@unrelated-example.org", address, registry, None) == []


def test_reply_to_elsewhere(registry: Registry) -> None:
    sender = parse_address("dana.whitfield@northwind-software.com")
    vendor = registry.get("northwind")
    reasons = reply_to_reasons(
        sender,
        [parse_address("dana@gmail.com")],
        None,
        registry,
        vendor,
        authenticated=True,
    )
    assert [r.code for r in reasons] == ["reply_to_mismatch"]
    assert reasons[0].effective_floor is Verdict.SUSPICIOUS


def test_reply_to_at_vendors_other_domain_is_fine(registry: Registry) -> None:
    sender = parse_address("dana.whitfield@northwind-software.com")
    vendor = registry.get("northwind")
    reasons = reply_to_reasons(
        sender,
        [parse_address("support@northwind.io"), parse_address("x@mail.northwind-software.com")],
        parse_address("bounce@northwind.io"),
        registry,
        vendor,
        authenticated=False,
    )
    assert reasons == []


def test_return_path_elsewhere_depends_on_authentication(registry: Registry) -> None:
    sender = parse_address("dana.whitfield@northwind-software.com")
    vendor = registry.get("northwind")
    bounce = parse_address("bounce-123@esp.example")
    authed = reply_to_reasons(sender, [], bounce, registry, vendor, authenticated=True)
    unauthed = reply_to_reasons(sender, [], bounce, registry, vendor, authenticated=False)
    assert [r.code for r in authed] == [r.code for r in unauthed] == ["reply_to_mismatch"]
    assert authed[0].effective_floor is Verdict.VERIFIED
    assert unauthed[0].effective_floor is Verdict.SUSPICIOUS


def test_unregistered_phone_points_to_registry_callback(registry: Registry) -> None:
    vendor = registry.get("northwind")
    reasons = phone_reasons(
        [Phone("1-8OO-555-0199", "+18005550199"), Phone("+1 206 555 0142", "+12065550142")],
        registry,
        vendor,
    )
    assert [r.code for r in reasons] == ["unregistered_phone_number"]
    assert reasons[0].data["e164"] == "+18005550199"
    assert reasons[0].data["raw"] == "1-8OO-555-0199"
    assert reasons[0].data["callback"] == "+12065550142"
    assert "+1 206-555-0142" in reasons[0].message


def test_phone_of_another_vendor_is_flagged(registry: Registry) -> None:
    vendor = registry.get("northwind")
    reasons = phone_reasons([Phone("312 555 0100", "+13125550100")], registry, vendor)
    assert [r.code for r in reasons] == ["unregistered_phone_number"]
    assert "Contoso Payroll" in reasons[0].message


def test_phone_without_vendor_in_question(registry: Registry) -> None:
    assert phone_reasons([Phone("312 555 0100", "+13125550100")], registry, None) == []
    reasons = phone_reasons([Phone("555 0199", "+12025550199")], registry, None)
    assert [r.code for r in reasons] == ["unregistered_phone_number"]
    assert "callback" not in reasons[0].data


def test_risk_reason_names_primary_category() -> None:
    reasons = risk_reasons([Risk("urgency", "immediately"), Risk("mfa_reset", "re-enroll MFA")])
    assert len(reasons) == 1
    assert reasons[0].code == "high_risk_request"
    assert reasons[0].data["category"] == "mfa_reset"
    assert reasons[0].data["categories"] == ["urgency", "mfa_reset"]
    assert risk_reasons([]) == []


def test_named_vendors_cached_per_registry_as_looked_up(registry: Registry) -> None:
    """The per-registry cache of display-name look-ups answers as the look-up itself, and a new
    registry (a reload) is looked up afresh."""
    from bot.mail import findings

    names = ["Northwind Software Support", "CONTOSO billing", "x" * 300, "", "Dana Whitfield"]
    for name in names * 2:
        assert named_vendors(name, registry) == findings._named_vendors(name, registry)
    smaller = Registry([v for v in registry.vendors if v.id != "northwind"])
    assert named_vendors("Northwind Software Support", smaller) == []
    assert [v.id for v in named_vendors("Northwind Software Support", registry)] == ["northwind"]
