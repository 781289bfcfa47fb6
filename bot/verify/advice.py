"""What to do next, in plain language, from a report (shared by the CLI and Slack)."""

from __future__ import annotations

from bot.registry import display_phone
from bot.report import Kind, Report, Verdict

_HEADLINE = {
    Verdict.VERIFIED: "Verified: this is a registered vendor and nothing alarming was found.",
    Verdict.UNVERIFIED: "Unverified: deskguard could not link this to a registered vendor.",
    Verdict.SUSPICIOUS: "Suspicious: signs of impersonation. Do not act on this request.",
    Verdict.SPOOFED: "Spoofed: this claims to be a vendor and authentication proves it is not.",
}


def headline(report: Report) -> str:
    """One sentence for the verdict."""
    if report.kind is Kind.PHONE:
        return _phone_headline(report)
    if report.verdict is Verdict.UNVERIFIED and report.vendor:
        return (
            f"Unverified: this is {report.vendor['name']}'s domain, but a check could not "
            "complete or found something to confirm first."
        )
    return _HEADLINE[report.verdict]


def next_steps(report: Report) -> list[str]:
    """Plain-language instructions: whom to call, which numbers not to call, what to avoid."""
    steps: list[str] = []
    callback = report.callback
    vendor_name = _vendor_name(report)
    if callback:
        ask = callback.get("instructions") or ""
        hours = f" Hours: {callback['hours']}." if callback.get("hours") else ""
        steps.append(
            f"Call {display_phone(callback['phone'])} (from the vendor registry, {vendor_name}). "
            f"{ask}{hours}".strip()
        )
    for reason in report.reasons:
        if reason.code == "unregistered_phone_number":
            number = reason.data.get("e164") or reason.data.get("raw")
            if number:
                where = "" if report.kind is Kind.PHONE else " from the message"
                steps.append(f"Do not call {display_phone(str(number))}{where}.")
    if report.kind is Kind.PHONE and report.verdict is not Verdict.VERIFIED:
        if not callback:
            steps.append(
                "A phone number proves nothing by itself: ask which vendor they are from, look "
                "it up in the registry (/verify-vendor NAME) and call back on its callback line."
            )
        codes = report.codes()
        if "unregistered_phone_number" not in codes and "registered_phone_number" not in codes:
            steps.append(f"Do not call {display_phone(report.target)} back.")
    if report.verdict in (Verdict.SUSPICIOUS, Verdict.SPOOFED):
        steps.append(
            "Do not reset credentials, grant access or install anything on the strength of "
            "this request; report it to security."
        )
    elif report.verdict is Verdict.UNVERIFIED and not callback:
        steps.append(
            "Treat the request as unverified: confirm it through a channel you already trust "
            "before acting."
        )
    elif report.verdict is Verdict.VERIFIED and report.vendor and report.vendor.get("privileged"):
        steps.append(
            "High-risk requests for this vendor still need the callback and two approvals."
        )
    return steps


def _vendor_name(report: Report) -> str:
    claimed = report.details.get("claimed_vendor")
    if isinstance(claimed, dict) and claimed.get("name"):
        return str(claimed["name"])
    if report.vendor:
        return str(report.vendor["name"])
    imitates = report.details.get("imitates")
    if isinstance(imitates, dict) and imitates.get("vendor_name"):
        return f"{imitates['vendor_name']}, the vendor this imitates"
    return "the vendor"


def _phone_headline(report: Report) -> str:
    claimed = report.details.get("claimed_vendor")
    claimed_name = claimed.get("name") if isinstance(claimed, dict) else None
    if report.verdict is Verdict.VERIFIED and report.vendor:
        return (
            f"Verified: this number is registered for {report.vendor['name']}. Caller ID can be "
            "faked: call back on the registry's callback line before acting."
        )
    if report.verdict in (Verdict.SUSPICIOUS, Verdict.SPOOFED) and claimed_name:
        return (
            f"Suspicious: this number is not {claimed_name}'s. Do not act on this call; call "
            f"{claimed_name} back on the registry's number."
        )
    if report.verdict in (Verdict.SUSPICIOUS, Verdict.SPOOFED):
        return _HEADLINE[report.verdict]
    if report.vendor:
        return (
            f"Unverified: this number is registered for {report.vendor['name']}, but something "
            "needs confirming first."
        )
    if "registered_phone_number" in report.codes():
        return "Unverified: this number is registered for more than one vendor."
    return "Unverified: this number is not in the vendor registry."
