"""What to do next, in plain language, from a report (shared by the CLI and Slack)."""

from __future__ import annotations

from bot.registry import display_phone
from bot.report import Report, Verdict

_HEADLINE = {
    Verdict.VERIFIED: "Verified: this is a registered vendor and nothing alarming was found.",
    Verdict.UNVERIFIED: "Unverified: deskguard could not link this to a registered vendor.",
    Verdict.SUSPICIOUS: "Suspicious: signs of impersonation. Do not act on this request.",
    Verdict.SPOOFED: "Spoofed: this claims to be a vendor and authentication proves it is not.",
}


def headline(report: Report) -> str:
    """One sentence for the verdict."""
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
                steps.append(f"Do not call {display_phone(str(number))} from the message.")
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
    if report.vendor:
        return str(report.vendor["name"])
    imitates = report.details.get("imitates")
    if isinstance(imitates, dict) and imitates.get("vendor_name"):
        return f"{imitates['vendor_name']}, the vendor this imitates"
    return "the vendor"
