"""``deskguard registry show NAME|ID``: a vendor's card (callback first, contacts, review date,
the posture of each of its domains)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `deskguard --help` stays fast
    from bot.registry import Vendor
    from bot.settings import Settings
    from bot.verify.posture import Posture


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``registry show``'s own options (the shared ones are added by the caller)."""
    parser.add_argument("name", nargs="+", metavar="NAME|ID", help="vendor name, alias or id")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument(
        "--no-posture", action="store_true", help="skip the DNS look-ups of the vendor's domains"
    )


def posture_summary(posture: Posture) -> str:
    """One line: the domain's weaknesses, or that none were found, and what could not be checked."""
    weak = posture.weaknesses()
    text = "easy to spoof: " + "; ".join(weak) if weak else "no weaknesses found"
    failed = posture.could_not_check()
    if failed:
        text += f" (could not check: {'; '.join(failed)})"
    return text


def card_lines(vendor: Vendor, *, overdue: bool, postures: list[Posture] | None) -> list[str]:
    """The card as text: the callback number first, then contacts (labelled as their own)."""
    from bot.registry import display_phone

    callback = vendor.callback
    hours = f" (hours: {callback.hours})" if callback.hours else ""
    lines = [
        f"{vendor.name} (registry id {vendor.id})",
        f"  Call back: {display_phone(callback.phone)}{hours}",
        f"    {callback.instructions}",
        f"  Domains: {', '.join(vendor.domains)}",
    ]
    if vendor.contacts:
        lines.append("  Contacts (their own numbers; call the callback line first):")
        for c in vendor.contacts:
            phone = f", {display_phone(c.phone)}" if c.phone else ""
            lines.append(f"    {c.name} ({c.role}) <{c.email}>{phone}")
    else:
        lines.append("  Contacts: none on file")
    lines.append(f"  Privileged access: {'yes' if vendor.privileged else 'no'}")
    review = f"  Last review: {vendor.last_reviewed.isoformat()} (owner: {vendor.owner})"
    lines.append(review + (", OVERDUE" if overdue else ""))
    if postures is not None:
        lines.append("  Posture:")
        lines.extend(f"    {p.domain}: {posture_summary(p)}" for p in postures)
    return lines


def card_json(vendor: Vendor, *, overdue: bool, postures: list[Posture] | None) -> dict[str, Any]:
    """The card as JSON: ``vendor``, ``callback``, ``overdue`` and ``posture`` per domain."""
    return {
        "vendor": vendor.summary(),
        "callback": vendor.callback_card(),
        "overdue": overdue,
        "posture": None if postures is None else {p.domain: p.to_json() for p in postures},
    }


async def run_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print the card of the vendor ``args.name`` names; UnknownVendor when none does."""
    import asyncio
    import datetime as dt
    import json

    from bot.dns import Resolver
    from bot.registry import load_registry
    from bot.verify.posture import check_posture
    from bot.verify.vendors import require_vendor

    registry = load_registry(settings.registry)
    vendor = require_vendor(registry, " ".join(args.name))
    overdue = registry.is_overdue(vendor, dt.date.today(), settings.review_interval_days)
    postures: list[Posture] | None = None
    if not args.no_posture:
        resolver = Resolver.from_settings(settings)
        postures = list(
            await asyncio.gather(
                *(
                    check_posture(d, resolver, dkim_selectors=vendor.dkim_selectors)
                    for d in vendor.domains
                )
            )
        )
    if args.json:
        print(json.dumps(card_json(vendor, overdue=overdue, postures=postures), default=str))
    else:
        print("\n".join(card_lines(vendor, overdue=overdue, postures=postures)))
    return 0
