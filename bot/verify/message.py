"""Verify a parsed message into a Report: defects, identity, authentication, content findings.

:meth:`~bot.verify.verifier.Verifier.verify_message` and
:meth:`~bot.verify.verifier.Verifier.verify_headers` parse and call :func:`verify_parsed`; the
verdict follows the rules in :mod:`bot.mail.verdict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.mail.arrival import Arrival, Envelope
from bot.mail.authenticate import Authentication, authenticate
from bot.mail.content import classify_request, find_phone_numbers
from bot.mail.findings import display_name_reasons, phone_reasons, reply_to_reasons, risk_reasons
from bot.mail.message import ParsedMessage
from bot.mail.verdict import auth_reasons
from bot.registry import DEFAULT_REGION, Vendor
from bot.report import CATALOGUE, Kind, Reason, Report, decide

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


def _established(auth: Authentication | None) -> bool:
    if auth is None or auth.dmarc is None:
        return False
    return auth.dmarc.result == "pass" or auth.dmarc.aligned_pass


async def verify_parsed(
    msg: ParsedMessage,
    identities: IdentityResolver,
    resolver: Resolver,
    settings: Settings,
    *,
    filename: str | None = None,
    arrival: Arrival = Arrival.FILE,
    envelope: Envelope | None = None,
) -> Report:
    """The report for one parsed message, as it arrived (``arrival``, ``envelope``)."""
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

    auth: Authentication | None = None
    if msg.authenticatable:
        auth = await authenticate(
            msg,
            resolver,
            trusted_authserv_ids=settings.trusted_authserv_ids,
            trusted_arc_sealers=settings.trusted_arc_sealers,
            envelope=envelope,
        )
        reasons.extend(
            auth_reasons(
                auth, vendor_domain=vendor is not None, vendor_name=vendor.name if vendor else None
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
    established = _established(auth)
    reasons.extend(display_name_reasons(msg.from_display_name, address, registry, vendor))
    reasons.extend(
        reply_to_reasons(
            address, msg.reply_to, msg.return_path, registry, vendor, authenticated=established
        )
    )
    phones = find_phone_numbers(f"{msg.subject}\n{msg.body_text}", DEFAULT_REGION)
    reasons.extend(phone_reasons(phones, registry, callback_vendor))
    reasons.extend(risk_reasons(classify_request(msg.subject, msg.body_text)))

    details: dict[str, Any] = {
        "message": {
            "from": str(address) if address else msg.from_header,
            "from_display_name": msg.from_display_name,
            "subject": msg.subject[:MAX_SUBJECT_SHOWN],
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
