"""Phone numbers as targets: recognise one, and say whose number it is in the registry.

A number proves nothing by itself (caller ID is easy to fake): even a registered number only says
the vendor published it, and the answer still sends the reader to the registry's callback line.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from bot.errors import InputError
from bot.registry import PhoneOwner, Vendor, display_phone, normalize_phone
from bot.report import Kind, Reason, Report, Verdict, decide
from bot.verify.identity import IdentityResolver

# the whole target: an optional tel: prefix, then digits and the usual separators; O/o and I/l
# stand for 0 and 1 as people type them ("1-8OO-555-0199"). One character class: linear time.
_PHONEISH = re.compile(r"(?:tel:)?\s*\+?[0-9OoIl()\s./-]{1,40}", re.IGNORECASE)
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1"})
MIN_DIGITS = 7


def looks_like_phone(text: str) -> bool:
    """True when ``text`` is written like a phone number (not an IP address)."""
    target = text.strip()
    if not _PHONEISH.fullmatch(target):
        return False
    body = target[4:] if target[:4].lower() == "tel:" else target
    try:
        ipaddress.ip_address(body.strip())
    except ValueError:
        pass
    else:
        return False
    if body.lstrip().startswith("+") or body is not target:
        return True  # written as an international number: a bad one is a bad number
    return sum(ch.isdigit() for ch in body.translate(_LOOKALIKES)) >= MIN_DIGITS


def parse_phone(text: str, region: str) -> str:
    """The E.164 form of a phone-number target; raise InputError when it is not a number."""
    target = text.strip()
    body = target[4:] if target[:4].lower() == "tel:" else target
    digits = body.translate(_LOOKALIKES)
    from bot.mail.content import find_phone_numbers  # a domain check never needs it (re2)

    found = find_phone_numbers(digits, region)
    if len(found) == 1:
        return found[0].e164
    try:
        return normalize_phone(digits, region)
    except ValueError:
        raise InputError(
            f"not a valid phone number: {target[:60]!r} (give it with its country code, "
            "e.g. +1 206 555 0142)"
        ) from None


def _whose(owner: PhoneOwner) -> tuple[str, dict[str, Any]]:
    """``the callback line`` or ``the number of Dana Whitfield (Account manager)``, and data."""
    vendor = owner.vendor
    if owner.what == "callback":
        return f"{vendor.name}'s callback line", {"vendor_id": vendor.id, "whose": "callback"}
    name = owner.what.removeprefix("contact:")
    role = next((c.role for c in vendor.contacts if c.name == name), "contact")
    data = {"vendor_id": vendor.id, "whose": "contact", "name": name, "role": role}
    return f"the number of {name} ({role}), a registered contact at {vendor.name}", data


def verify_phone(
    e164: str, identities: IdentityResolver, *, claimed: Vendor | None = None
) -> Report:
    """Whose number ``e164`` is in the registry; with ``claimed``, whether it is that vendor's."""
    shown = display_phone(e164)
    owners = identities.registry.by_phone(e164)
    registered_to = [{"vendor_name": o.vendor.name, **_whose(o)[1]} for o in owners]
    details: dict[str, Any] = {"phone": {"display": shown, "registered_to": registered_to}}
    if claimed is not None:
        details["claimed_vendor"] = {"id": claimed.id, "name": claimed.name}
        return _claimed(e164, shown, owners, claimed, identities, details)
    if not owners:
        reasons = [
            Reason(
                "not_in_registry",
                f"{shown} is not a vendor's callback line or a registered contact's number. A "
                "phone number proves nothing by itself: find the vendor in the registry and call "
                "back on its callback line.",
                data={"e164": e164},
            )
        ]
        return _report(e164, reasons, None, None, details)
    vendors = list({o.vendor.id: o.vendor for o in owners}.values())
    reasons = [_registered(shown, o) for o in owners]
    if len(vendors) > 1:
        names = ", ".join(v.name for v in vendors)
        reasons = [
            Reason(r.code, r.message, floor=Verdict.UNVERIFIED, data=r.data) for r in reasons
        ]
        reasons.append(
            Reason(
                "not_in_registry",
                f"{shown} is registered for several vendors ({names}): say which vendor the "
                "caller claims to be from.",
                data={"e164": e164},
            )
        )
        return _report(e164, reasons, None, None, details)
    vendor = vendors[0]
    reasons += identities.review_reasons(vendor)
    return _report(e164, reasons, vendor, vendor, details)


def _registered(shown: str, owner: PhoneOwner) -> Reason:
    whose, data = _whose(owner)
    return Reason("registered_phone_number", f"{shown} is {whose} (vendor registry).", data=data)


def _claimed(
    e164: str,
    shown: str,
    owners: list[PhoneOwner],
    claimed: Vendor,
    identities: IdentityResolver,
    details: dict[str, Any],
) -> Report:
    mine = [o for o in owners if o.vendor.id == claimed.id]
    if mine:
        reasons = [_registered(shown, o) for o in mine] + identities.review_reasons(claimed)
        return _report(e164, reasons, claimed, claimed, details)
    if owners:
        others = "; ".join(_whose(o)[0] for o in owners)
        reason = Reason(
            "claimed_vendor_mismatch",
            f"{shown} is not {claimed.name}'s: it is {others}. Do not call it; call "
            f"{claimed.name} back on the registry's callback line.",
            data={"claimed": claimed.id, "belongs_to": sorted({o.vendor.id for o in owners})},
        )
    else:
        reason = Reason(
            "unregistered_phone_number",
            f"{shown} is not a number registered for {claimed.name} (nor for any vendor): do "
            f"not call it; call {claimed.name} back on the registry's callback line.",
            data={"e164": e164, "claimed": claimed.id},
        )
    return _report(e164, [reason], None, claimed, details)


def _report(
    e164: str,
    reasons: list[Reason],
    vendor: Vendor | None,
    callback: Vendor | None,
    details: dict[str, Any],
) -> Report:
    return Report(
        target=e164,
        kind=Kind.PHONE,
        verdict=decide(reasons, vendor_matched=vendor is not None),
        reasons=reasons,
        vendor=vendor.summary() if vendor else None,
        callback=callback.callback_card() if callback else None,
        posture=None,
        details=details,
    )
