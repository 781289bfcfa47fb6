"""Verify a parsed message into a Report: defects, identity, authentication, content findings.

:meth:`~bot.verify.verifier.Verifier.verify_message` parses and calls :func:`verify_arrived`,
which decides which message to verify (:mod:`bot.verify.forward`) and calls :func:`verify_parsed`;
:meth:`~bot.verify.verifier.Verifier.verify_headers` calls :func:`verify_parsed` directly. The
verdict follows the rules in :mod:`bot.mail.verdict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.mail.arrival import Arrival, Envelope
from bot.mail.authenticate import Authentication, authenticate
from bot.mail.content import (
    MAX_TEXT,
    PhoneMention,
    RiskCategory,
    classify_request,
    find_phone_numbers,
)
from bot.mail.fastscan import ascii_stand_in
from bot.mail.findings import display_name_reasons, phone_reasons, reply_to_reasons, risk_reasons
from bot.mail.message import Attached, ParsedMessage
from bot.mail.verdict import auth_reasons
from bot.registry import DEFAULT_REGION, Vendor
from bot.report import CATALOGUE, Kind, Reason, Report, decide
from bot.verify.forward import choose_message, header_evidence_counts, is_org_address

if TYPE_CHECKING:
    from bot.dns import Resolver
    from bot.settings import Settings
    from bot.verify.identity import Identity, IdentityResolver

MAX_SUBJECT_SHOWN = 300


def _defect_reasons(msg: ParsedMessage) -> list[Reason]:
    reasons = []
    for defect in msg.defects:
        code = defect.code if defect.code in CATALOGUE else "malformed_message"
        reasons.append(Reason(code, defect.message))
    return reasons


def _no_auth_reason(msg: ParsedMessage) -> Reason:
    if msg.source_format == "msg":
        return Reason(
            "msg_without_dkim",
            "This is an Outlook .msg: it keeps no raw headers, so DKIM, SPF and DMARC cannot be "
            "checked. Forward the original email as an attachment, or download it as .eml "
            "(Outlook on the web: ... > Download), and verify that file.",
        )
    return Reason(
        "no_authentication_data",
        "Only the headers or text of this email were available: SPF, DKIM and DMARC could not be "
        "checked. Forward the original as an attachment (.eml) to verify its authentication.",
    )


def _attached_reasons(attached: list[Attached], why: str) -> list[Reason]:
    reasons = []
    for item in attached:
        author = str(item.from_address) if item.from_address else None
        who = author or (repr(item.from_header[:120]) if item.from_header else "an unknown sender")
        reasons.append(
            Reason(
                "attached_message",
                f"The message contains an attached email ({item.shown}) from {who}; it was not "
                f"sent by {who}. It was not verified in place of this message: {why}. Anyone "
                "can attach a genuine email to their own.",
                data={"attachment": item.name, "from": author},
            )
        )
    return reasons


def _content(
    messages: list[ParsedMessage],
) -> tuple[list[PhoneMention], list[RiskCategory]]:
    """Phone numbers and request kinds of every message in the chain (forwards included)."""
    phones: dict[str, PhoneMention] = {}
    risks: dict[str, RiskCategory] = {}
    for item in messages:
        text = f"{item.subject}\n{item.body_text}"
        # One text and one ASCII stand-in for both scans (classify_request reads a bounded body).
        shared = len(item.body_text) <= MAX_TEXT
        stand_in = ascii_stand_in(text) if shared and text.isascii() else None
        found = classify_request(
            item.subject, item.body_text, text=text if shared else None, stand_in=stand_in
        )
        for risk in found:
            risks.setdefault(risk.code, risk)
        for phone in find_phone_numbers(text, DEFAULT_REGION, stand_in=stand_in):
            phones.setdefault(phone.e164, phone)
    return list(phones.values()), list(risks.values())


async def verify_arrived(
    msg: ParsedMessage,
    identities: IdentityResolver,
    resolver: Resolver,
    settings: Settings,
    *,
    filename: str | None = None,
    arrival: Arrival = Arrival.FILE,
    envelope: Envelope | None = None,
) -> Report:
    """The report for the message that arrived, or for the original inside the organization's
    own forward (:func:`bot.verify.forward.choose_message`)."""
    chosen = await choose_message(msg, resolver, settings, arrival=arrival, envelope=envelope)
    return await verify_parsed(
        chosen.message,
        identities,
        resolver,
        settings,
        filename=filename,
        arrival=chosen.arrival,
        envelope=chosen.envelope,
        auth=chosen.auth,
        forwards=chosen.forwards,
        kept_because=chosen.kept_because,
    )


async def verify_parsed(
    msg: ParsedMessage,
    identities: IdentityResolver,
    resolver: Resolver,
    settings: Settings,
    *,
    filename: str | None = None,
    arrival: Arrival = Arrival.FILE,
    envelope: Envelope | None = None,
    auth: Authentication | None = None,
    forwards: list[ParsedMessage] | None = None,
    kept_because: str = "",
) -> Report:
    """The report for one parsed message, as it arrived (``arrival``, ``envelope``).

    ``forwards`` are the organization's own forwards it was unwrapped from (their content counts
    too); ``auth`` is its authentication when already computed.
    """
    forwards = forwards or []
    registry = identities.registry
    reasons = _defect_reasons(msg)
    address = msg.from_address
    identity: Identity | None = None
    if address is not None:
        identity = identities.identify_domain(address.domain)
        reasons.extend(identity.reasons)
        reasons.extend(identities.contact_reasons(address, identity.vendor))
    elif not any(r.code in ("multiple_from", "malformed_message") for r in reasons):
        reasons.append(
            Reason("malformed_message", "The message has no usable From address; not verifiable.")
        )
    vendor: Vendor | None = identity.vendor if identity else None
    callback_vendor = vendor or (identity.imitated if identity else None)

    if msg.authenticatable:
        if auth is None:
            auth = await authenticate(
                msg,
                resolver,
                trusted_authserv_ids=settings.trusted_authserv_ids,
                trusted_arc_sealers=settings.trusted_arc_sealers,
                envelope=envelope,
                header_evidence=header_evidence_counts(arrival, envelope),
            )
        reasons.extend(
            auth_reasons(
                auth,
                vendor_domain=vendor is not None,
                vendor_name=vendor.name if vendor else None,
                org_domain=is_org_address(address, settings.org_domains),
            )
        )
    else:
        reasons.append(_no_auth_reason(msg))
    if getattr(msg, "inline_forward", False):
        reasons.append(
            Reason(
                "inline_forward",
                "The original email was forwarded inline and lost its headers: it cannot be "
                "verified. Forward it as an attachment instead.",
            )
        )
    reasons.extend(_attached_reasons(msg.attached, kept_because or "it was not unwrapped"))
    established = auth is not None and auth.established
    reasons.extend(display_name_reasons(msg.from_display_name, address, registry, vendor))
    reasons.extend(
        reply_to_reasons(
            address, msg.reply_to, msg.return_path, registry, vendor, authenticated=established
        )
    )
    phones, risks = _content([*forwards, msg])
    reasons.extend(phone_reasons(phones, registry, callback_vendor))
    reasons.extend(risk_reasons(risks))
    duplicates = msg.duplicates

    details: dict[str, Any] = {
        "message": {
            "from": str(address) if address else None if "From" in duplicates else msg.from_header,
            "from_display_name": msg.from_display_name,
            "subject": None if "Subject" in duplicates else msg.subject[:MAX_SUBJECT_SHOWN],
            "duplicate_fields": {
                k: [v[:MAX_SUBJECT_SHOWN] for v in vs[:5]] for k, vs in duplicates.items()
            },
            "forwarded_by": [str(f.from_address) for f in forwards],
            "attached": [
                {"name": a.name, "from": str(a.from_address) if a.from_address else None}
                for a in msg.attached
            ],
            "part_verified": msg.part_path,
            "forward_depth": msg.forward_depth,
            "source_format": msg.source_format,
            "arrival": arrival.value,
            "authenticatable": msg.authenticatable,
            "notes": list(msg.notes),
        },
        "auth": auth.to_json() if auth is not None else None,
        "phones": [
            {"raw": p.raw, "e164": p.e164, "registered": bool(registry.by_phone(p.e164))}
            for p in phones
        ],
        "verified_part": msg.part_path,
    }
    if identity is not None and identity.match is not None:
        details["imitates"] = identity.match.to_json()
    target = filename or (f"message from {address}" if address else "message")
    return Report(
        target=target,
        kind=Kind.MESSAGE,
        verdict=decide(reasons, vendor_matched=vendor is not None and established),
        reasons=reasons,
        vendor=vendor.summary() if vendor else None,
        callback=callback_vendor.callback_card() if callback_vendor else None,
        posture=None,
        details=details,
    )
