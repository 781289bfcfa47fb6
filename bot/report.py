"""Reports: reasons, their catalogue, and the verdict they add up to.

Every reason code deskguard can emit is in :data:`CATALOGUE` with its severity, the verdict it
pushes toward (its *floor*), and its meaning; the README lists the same table (a test holds that).
The verdict is a pure function of the reasons and whether a registered vendor was matched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    """The answer, from best to worst."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    SUSPICIOUS = "suspicious"
    SPOOFED = "spoofed"

    @property
    def rank(self) -> int:
        """Order: verified < unverified < suspicious < spoofed."""
        return _RANK[self]


_RANK = {Verdict.VERIFIED: 0, Verdict.UNVERIFIED: 1, Verdict.SUSPICIOUS: 2, Verdict.SPOOFED: 3}


class Severity(enum.StrEnum):
    """How much a reason matters to the person reading the report."""

    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"


class Kind(enum.StrEnum):
    """What was verified."""

    DOMAIN = "domain"
    ADDRESS = "address"
    MESSAGE = "message"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class Code:
    """A catalogue entry: default severity, verdict floor, meaning."""

    severity: Severity
    floor: Verdict
    meaning: str


_I, _W, _H, _C = Severity.INFO, Severity.WARNING, Severity.HIGH, Severity.CRITICAL
_V, _U, _S, _X = Verdict.VERIFIED, Verdict.UNVERIFIED, Verdict.SUSPICIOUS, Verdict.SPOOFED

CATALOGUE: dict[str, Code] = {
    # identity
    "registered_vendor": Code(_I, _V, "The domain or address belongs to a registered vendor."),
    "not_in_registry": Code(_W, _U, "No registered vendor owns this domain or address."),
    "lookalike_domain": Code(
        _H, _S, "The domain imitates a registered vendor's domain (the trick is named)."
    ),
    "unknown_contact": Code(
        _W, _U, "An address at a vendor's domain, or a caller's name, is not a registered contact."
    ),
    "registered_contact": Code(
        _I, _V, "The address or the caller's name is a registered contact (the role is named)."
    ),
    "registered_phone_number": Code(
        _I, _V, "The number is a vendor's callback line or a registered contact's number."
    ),
    "claimed_vendor_mismatch": Code(
        _H, _S, "The number, address or domain does not belong to the vendor it claims to be."
    ),
    "registry_review_overdue": Code(
        _W, _V, "The vendor's registry entry has not been reviewed within the review interval."
    ),
    # domain posture
    "weak_domain_policy": Code(
        _W, _V, "The domain is easy to spoof: no DMARC or p=none, or SPF missing, +all or ~all."
    ),
    "dns_error": Code(
        _W, _U, "A DNS look-up failed or timed out, so a check could not complete; try again."
    ),
    # email (the message issue adds the evaluation; the codes are fixed here)
    "dmarc_fail": Code(_C, _X, "DMARC failed: neither SPF nor DKIM passed aligned with From."),
    "dmarc_pass": Code(_I, _V, "DMARC passed: SPF or DKIM passed aligned with the From domain."),
    "dmarc_none": Code(_W, _U, "The From domain publishes no DMARC policy."),
    "dmarc_temperror": Code(_W, _U, "DMARC could not be evaluated (DNS failure); try again."),
    "spf_fail": Code(_W, _U, "SPF failed for the connecting IP and envelope sender."),
    "spf_temperror": Code(_W, _U, "SPF could not be evaluated (DNS failure); try again."),
    "spf_permerror": Code(_W, _U, "The sender's SPF record is broken (too many look-ups, etc.)."),
    "dkim_fail": Code(_W, _U, "A DKIM signature did not verify (the reason is given)."),
    "dkim_temperror": Code(_W, _U, "A DKIM key could not be fetched (DNS failure); try again."),
    "unsigned_body_content": Code(
        _H, _S, "A DKIM l= tag leaves part of the body unsigned: text may have been appended."
    ),
    "multiple_from": Code(_H, _S, "The message has two From headers or several authors."),
    "malformed_message": Code(
        _H, _S, "The message is malformed (control characters, broken headers); not verifiable."
    ),
    "display_name_impersonation": Code(
        _H, _S, "The display name shows an address or a vendor's name that the sender is not."
    ),
    "reply_to_mismatch": Code(
        _H, _S, "Reply-To or Return-Path points outside the sender's organization."
    ),
    "unregistered_phone_number": Code(
        _H, _S, "A message or claimed vendor's number is not in the registry: do not call it."
    ),
    "high_risk_request": Code(
        _W, _V, "The message asks for something high-risk (reset, access, install, payment)."
    ),
    "untrusted_auth_results": Code(
        _I, _V, "Authentication-Results written outside the trusted boundary were ignored."
    ),
    "no_authentication_data": Code(
        _W, _U, "Only headers or text were available: authentication could not be checked."
    ),
    "forward_depth_exceeded": Code(
        _H, _U, "Forwarded attachments nest deeper than 3; the original was not verified."
    ),
    "arc_pass": Code(_I, _V, "A trusted ARC sealer vouches for authentication before forwarding."),
    "arc_fail": Code(_W, _U, "The ARC chain is broken."),
    "trusted_auth_results_used": Code(
        _I, _V, "A trusted Authentication-Results header decided a check deskguard could not."
    ),
    "msg_without_dkim": Code(
        _W, _U, "An Outlook .msg keeps no raw headers for DKIM: save the email as .eml instead."
    ),
    "inline_forward": Code(
        _W, _U, "The email was forwarded inline and lost its headers: forward it as an attachment."
    ),
    # evidence (issue 10)
    "attached_message": Code(
        _W,
        _V,
        "The message carries an attached email; it was not sent by that email's author, and "
        "the attachment never lifts the verdict.",
    ),
    "header_evidence_only": Code(
        _W,
        _U,
        "Only typed headers (trusted hop SPF, Authentication-Results) in a file or attachment "
        "claim the sender; they are shown, not counted.",
    ),
    # bounded work (issue 11)
    "verification_timeout": Code(
        _W, _U, "Verification did not finish within its deadline and was stopped: not verified."
    ),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One finding; ``floor`` defaults to the catalogue's, severity too."""

    code: str
    message: str
    severity: Severity | None = None
    floor: Verdict | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise ValueError(f"unknown reason code {self.code!r}")

    @property
    def effective_severity(self) -> Severity:
        """The severity, from the catalogue unless overridden."""
        return self.severity or CATALOGUE[self.code].severity

    @property
    def effective_floor(self) -> Verdict:
        """The verdict this reason pushes toward, from the catalogue unless overridden."""
        return self.floor or CATALOGUE[self.code].floor

    def to_json(self) -> dict[str, Any]:
        """``{code, severity, message}`` plus any structured data."""
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.effective_severity.value,
            "message": self.message,
        }
        if self.data:
            out["data"] = self.data
        return out


def decide(reasons: list[Reason], *, vendor_matched: bool) -> Verdict:
    """The verdict: the worst floor among the reasons; verified needs a matched vendor."""
    worst = Verdict.VERIFIED
    for reason in reasons:
        floor = reason.effective_floor
        if floor.rank > worst.rank:
            worst = floor
    if worst is Verdict.VERIFIED and not vendor_matched:
        return Verdict.UNVERIFIED
    return worst


_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.WARNING: 2, Severity.INFO: 3}


@dataclass
class Report:
    """The result of verifying one target; ``to_json`` is the CLI's and the API's shape."""

    target: str
    kind: Kind
    verdict: Verdict
    reasons: list[Reason]
    vendor: dict[str, Any] | None = None
    callback: dict[str, Any] | None = None
    posture: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def sorted_reasons(self) -> list[Reason]:
        """Reasons, most severe first (stable within a severity)."""
        return sorted(self.reasons, key=lambda r: _SEVERITY_ORDER[r.effective_severity])

    def codes(self) -> list[str]:
        """The reason codes, in report order."""
        return [r.code for r in self.reasons]

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``deskguard verify --json`` prints."""
        out: dict[str, Any] = {
            "target": self.target,
            "kind": self.kind.value,
            "verdict": self.verdict.value,
            "reasons": [r.to_json() for r in self.sorted_reasons()],
            "vendor": self.vendor,
            "callback": self.callback,
            "posture": self.posture,
        }
        out.update(self.details)
        return out
