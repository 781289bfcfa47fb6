"""Who the caller says they are: the vendor they claim, and the name they give.

A claim never lifts a verdict: it can only add ``claimed_vendor_mismatch`` (the target is not the
claimed vendor's). The callback shown is always the claimed vendor's, since that is the vendor the
help desk must call back. A caller's name proves nothing either; it is checked against the claimed
vendor's registered contacts so the reader knows whom to ask for on the callback line.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.mail.findings import risk_reasons
from bot.registry import Vendor
from bot.report import Kind, Reason, Report, Verdict, decide
from bot.verify.vendors import clean_name


def apply_claim(report: Report, claimed: Vendor) -> Report:
    """``report`` (a domain, address or message) checked against the vendor it claims to be."""
    if report.kind is Kind.PHONE:
        return report  # phone reports are built with the claim (bot.verify.phone)
    reasons = list(report.reasons)
    owner = report.vendor
    if owner is None or owner.get("id") != claimed.id:
        if owner is not None:
            belongs = f"belongs to {owner.get('name')}"
        elif isinstance(report.details.get("imitates"), dict):
            belongs = f"imitates {report.details['imitates'].get('vendor_name')}"
        else:
            belongs = "belongs to no registered vendor"
        reasons.append(
            Reason(
                "claimed_vendor_mismatch",
                f"{report.target} {belongs}, not {claimed.name} as claimed. Call "
                f"{claimed.name} back on the registry's callback line.",
                data={"claimed": claimed.id, "belongs_to": owner.get("id") if owner else None},
            )
        )
    details = {**report.details, "claimed_vendor": {"id": claimed.id, "name": claimed.name}}
    return replace(
        report,
        reasons=reasons,
        verdict=_decided(report, reasons),
        callback=claimed.callback_card(),
        details=details,
    )


def _key(name: str) -> str:
    return clean_name(name).casefold()


def caller_reasons(name: str, vendor: Vendor | None) -> tuple[list[Reason], dict[str, Any]]:
    """``registered_contact`` (naming the role) when ``name`` is one of ``vendor``'s registered
    contacts, else ``unknown_contact``; and the report's ``caller`` details."""
    shown = clean_name(name)
    if vendor is None:
        reason = Reason(
            "unknown_contact",
            f"The caller, {shown}, cannot be checked: the number is no registered vendor's and no "
            "vendor was claimed.",
        )
        return [reason], {"name": shown, "registered": False}
    match = next((c for c in vendor.contacts if _key(c.name) == _key(shown)), None)
    if match is None:
        named = ", ".join(f"{c.name} ({c.role})" for c in vendor.contacts) or "none on file"
        reason = Reason(
            "unknown_contact",
            f"{shown} is not a registered contact of {vendor.name} (registered: {named}).",
            data={"vendor_id": vendor.id},
        )
        return [reason], {"name": shown, "registered": False, "vendor_id": vendor.id}
    reason = Reason(
        "registered_contact",
        f"{match.name} is a registered contact of {vendor.name}: {match.role}. A name proves "
        f"nothing by itself: ask for {match.name} on the callback line.",
        data={"vendor_id": vendor.id, "name": match.name, "role": match.role},
    )
    details = {"name": match.name, "registered": True, "vendor_id": vendor.id, "role": match.role}
    return [reason], details


def add_caller(
    report: Report, name: str, claimed: Vendor | None, fallback: Vendor | None
) -> Report:
    """``report`` with the caller's name checked against the claimed vendor (else ``fallback``,
    the vendor the target belongs to)."""
    reasons, details = caller_reasons(name, claimed or fallback)
    all_reasons = [*report.reasons, *reasons]
    return replace(
        report,
        reasons=all_reasons,
        verdict=_decided(report, all_reasons),
        details={**report.details, "caller": details},
    )


def _decided(report: Report, reasons: list[Reason]) -> Verdict:
    """The verdict with ``reasons`` added: decided again, never better than ``report``'s (which
    may rest on more than its reasons, such as a message's DMARC being established)."""
    again = decide(reasons, vendor_matched=report.vendor is not None)
    return max(report.verdict, again, key=lambda verdict: verdict.rank)


HIGH_RISK_CODES = frozenset(
    {"credential_reset", "mfa_reset", "remote_access", "patch_install", "payment_change"}
)
MAX_REQUEST = 3000


def add_request(report: Report, text: str) -> tuple[Report, bool]:
    """``report`` with ``high_risk_request`` when what the caller asks for is high-risk (a reset,
    access, an install, a payment change); and whether it is (urgency alone is not)."""
    from bot.mail.content import classify_request  # a domain check never needs it (re2)

    categories = classify_request("", text[:MAX_REQUEST])
    found = [
        Reason(r.code, r.message.replace("The message asks", "The caller asks", 1), data=r.data)
        for r in risk_reasons(categories)
    ]
    if not found:
        return report, False
    reasons = [*report.reasons, *found]
    high_risk = any(c.code in HIGH_RISK_CODES for c in categories)
    updated = replace(report, reasons=reasons, verdict=_decided(report, reasons))
    return updated, high_risk
