"""Identity and content findings on a message: display name, Reply-To, phone numbers, requests.

Pure functions over parsed values and the registry; each returns :class:`bot.report.Reason` lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol

from bot.names import Address, InvalidName, parse_address, registrable_domain, to_unicode
from bot.registry import Registry, Vendor, display_phone
from bot.report import Reason, Verdict

# Bounded on both sides of the "@" so a long run without one costs linear time.
_ADDRESS_IN_TEXT = re.compile(r"[^\s@<>\"'(),;:]{1,64}@[^\s@<>\"'(),;:]{1,255}")
_NON_WORD = re.compile(r"[^0-9a-z]+")


class PhoneLike(Protocol):
    """A phone number found in the message (bot.mail.content.PhoneMention)."""

    @property
    def raw(self) -> str: ...

    @property
    def e164(self) -> str: ...


class RiskLike(Protocol):
    """A high-risk request category (bot.mail.content.RiskCategory)."""

    @property
    def code(self) -> str: ...

    @property
    def evidence(self) -> str: ...


def _words(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " " + _NON_WORD.sub(" ", folded).strip() + " "


@lru_cache(maxsize=4096)
def _term_words(term: str) -> str:
    """:func:`_words` of a registry term: the same few terms are read for every message."""
    return _words(term)


def named_vendors(display_name: str, registry: Registry) -> list[Vendor]:
    """Registered vendors whose name, id or alias appears as whole words in ``display_name``.

    A sender's display name comes back with each of its messages: a short one is looked up
    once per registry (a registry is never changed, a reload makes a new one)."""
    if len(display_name) > MAX_CACHED_DISPLAY_NAME:
        return _named_vendors(display_name, registry)
    return list(_named_vendors_cached(display_name, registry))


MAX_CACHED_DISPLAY_NAME = 256


@lru_cache(maxsize=1024)
def _named_vendors_cached(display_name: str, registry: Registry) -> tuple[Vendor, ...]:
    return tuple(_named_vendors(display_name, registry))


def _named_vendors(display_name: str, registry: Registry) -> list[Vendor]:
    haystack = _words(display_name)
    if haystack.strip() == "":
        return []
    found: list[Vendor] = []
    for vendor in registry.vendors:
        for term in (vendor.name, vendor.id, *vendor.aliases):
            needle = _term_words(term)
            if len(needle.strip()) >= 3 and needle in haystack:
                found.append(vendor)
                break
    return found


def display_name_reasons(
    display_name: str | None,
    address: Address | None,
    registry: Registry,
    vendor: Vendor | None,
) -> list[Reason]:
    """``display_name_impersonation``: the display name shows another address or names a vendor
    that the sending address does not belong to."""
    if not display_name or address is None:
        return []
    problems: list[str] = []
    data: dict[str, object] = {"display_name": display_name}
    for match in _ADDRESS_IN_TEXT.finditer(display_name):
        try:
            shown = parse_address(match.group(0).strip(".[]"))
        except InvalidName:
            shown = None
        if shown is not None and shown == address:
            continue
        problems.append(f"shows the address {match.group(0)!r}")
        data["shown"] = match.group(0)
        break
    named = [
        v for v in named_vendors(display_name, registry) if vendor is None or v.id != vendor.id
    ]
    if named:
        problems.append(f"names {', '.join(v.name for v in named)}")
        data["vendor_id"] = named[0].id
    if not problems:
        return []
    return [
        Reason(
            "display_name_impersonation",
            f"The display name {display_name!r} {' and '.join(problems)}, but the message is "
            f"from {address}.",
            data=data,
        )
    ]


def _same_org(a: str, b: str) -> bool:
    return registrable_domain(a) == registrable_domain(b)


def reply_to_reasons(
    from_address: Address | None,
    reply_to: Sequence[Address],
    return_path: Address | None,
    registry: Registry,
    vendor: Vendor | None,
    *,
    authenticated: bool,
) -> list[Reason]:
    """``reply_to_mismatch``: Reply-To (or Return-Path) outside the From domain's organization and
    not the vendor's. A Return-Path elsewhere is common for mailing services: when the From domain
    was authenticated (DMARC pass) it is reported without lowering the verdict."""
    if from_address is None:
        return []

    def outside(addr: Address) -> bool:
        if _same_org(addr.domain, from_address.domain):
            return False
        return vendor is None or registry.by_domain(addr.domain) is not vendor

    reasons: list[Reason] = []
    for addr in reply_to:
        if outside(addr):
            reasons.append(
                Reason(
                    "reply_to_mismatch",
                    f"Replies go to {addr} ({to_unicode(addr.domain)}), outside "
                    f"{to_unicode(from_address.domain)}'s organization.",
                    data={"header": "Reply-To", "address": str(addr)},
                )
            )
    if return_path is not None and outside(return_path):
        floor = Verdict.VERIFIED if authenticated else None
        tail = (
            " (usual for mailing services; the From domain itself was authenticated)"
            if authenticated
            else ""
        )
        reasons.append(
            Reason(
                "reply_to_mismatch",
                f"The envelope sender (Return-Path) is {return_path}, outside "
                f"{to_unicode(from_address.domain)}'s organization{tail}.",
                severity=None,
                floor=floor,
                data={"header": "Return-Path", "address": str(return_path)},
            )
        )
    return reasons


def phone_reasons(
    mentions: Iterable[PhoneLike], registry: Registry, callback_vendor: Vendor | None
) -> list[Reason]:
    """``unregistered_phone_number`` for each number in the message that the registry does not
    list for the vendor in question (or for any vendor, when none is in question)."""
    reasons: list[Reason] = []
    for mention in mentions:
        owners = registry.by_phone(mention.e164)
        if callback_vendor is None and owners:
            continue
        if callback_vendor is not None and any(o.vendor.id == callback_vendor.id for o in owners):
            continue
        shown = display_phone(mention.e164)
        what = "is not in the vendor registry"
        if owners and callback_vendor is not None:
            what = f"is registered to {owners[0].vendor.name}, not to {callback_vendor.name}"
        instead = ""
        if callback_vendor is not None:
            instead = (
                f"; call {callback_vendor.name} on {display_phone(callback_vendor.callback.phone)} "
                "(from the registry) instead"
            )
        data: dict[str, object] = {"raw": mention.raw, "e164": mention.e164}
        if callback_vendor is not None:
            data["callback"] = callback_vendor.callback.phone
            data["vendor_id"] = callback_vendor.id
        reasons.append(
            Reason(
                "unregistered_phone_number",
                f"The message gives the number {mention.raw!r} ({shown}), which {what}: do not "
                f"call it{instead}.",
                data=data,
            )
        )
    return reasons


_RISK_LABELS = {
    "credential_reset": "a credential or password reset",
    "mfa_reset": "an MFA reset or enrolment",
    "remote_access": "remote access or an agent install",
    "patch_install": "a patch or hotfix install",
    "payment_change": "a payment or bank-detail change",
    "urgency": "urgent action",
}


def risk_reasons(categories: Sequence[RiskLike]) -> list[Reason]:
    """One ``high_risk_request`` naming the categories found (the most serious first)."""
    if not categories:
        return []
    codes = [c.code for c in categories]
    primary = next((c for c in categories if c.code != "urgency"), categories[0])
    labels = ", ".join(_RISK_LABELS.get(c, c.replace("_", " ")) for c in codes)
    return [
        Reason(
            "high_risk_request",
            f"The message asks for {labels} (evidence: {primary.evidence!r}).",
            data={
                "category": primary.code,
                "categories": codes,
                "evidence": {c.code: c.evidence for c in categories},
            },
        )
    ]
