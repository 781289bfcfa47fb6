"""Who a domain or address is: a registered vendor, an imitation of one, or neither (no DNS)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.names import Address, to_unicode
from bot.registry import Registry, RegistryHolder, Vendor
from bot.report import Reason
from bot.verify.lookalike import LookalikeIndex, LookalikeMatch


@dataclass(frozen=True, slots=True)
class Identity:
    """The vendor a domain belongs to, or the vendor it imitates, with the reasons that say so."""

    vendor: Vendor | None
    imitated: Vendor | None
    match: LookalikeMatch | None
    reasons: list[Reason]


class IdentityResolver:
    """Registry and lookalike look-ups against the registry in force now."""

    def __init__(
        self,
        registry: RegistryHolder,
        *,
        review_interval_days: int,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.registry_holder = registry
        self.review_interval_days = review_interval_days
        self._today = today
        self._index: tuple[Registry, LookalikeIndex] | None = None

    @property
    def registry(self) -> Registry:
        """The registry in force now."""
        return self.registry_holder.registry

    def lookalikes(self) -> LookalikeIndex:
        """The lookalike index for the current registry (rebuilt when the registry changes)."""
        registry = self.registry
        if self._index is None or self._index[0] is not registry:
            self._index = (registry, LookalikeIndex(registry))
        return self._index[1]

    def identify_domain(self, domain: str) -> Identity:
        """Registry and lookalike findings for a normalized domain."""
        vendor = self.registry.by_domain(domain)
        if vendor is not None:
            return Identity(
                vendor=vendor, imitated=None, match=None, reasons=self._vendor(domain, vendor)
            )
        match = self.lookalikes().match(domain)
        if match is not None:
            imitated = self.registry.get(match.vendor_id)
            reason = Reason(
                "lookalike_domain",
                f"{to_unicode(domain)} imitates {match.vendor_name}'s domain {match.imitated} "
                f"({match.trick.replace('_', ' ')}): {match.evidence}",
                data=match.to_json(),
            )
            return Identity(vendor=None, imitated=imitated, match=match, reasons=[reason])
        reason = Reason(
            "not_in_registry",
            f"{to_unicode(domain)} is not a registered vendor domain and imitates none.",
        )
        return Identity(vendor=None, imitated=None, match=None, reasons=[reason])

    def _vendor(self, domain: str, vendor: Vendor) -> list[Reason]:
        reasons = [
            Reason(
                "registered_vendor",
                f"{to_unicode(domain)} belongs to {vendor.name} (vendor registry).",
                data={"vendor_id": vendor.id},
            )
        ]
        return reasons + self.review_reasons(vendor)

    def review_reasons(self, vendor: Vendor) -> list[Reason]:
        """``registry_review_overdue`` when the vendor's review is older than the interval."""
        reasons: list[Reason] = []
        if self.registry.is_overdue(vendor, self._today(), self.review_interval_days):
            reasons.append(
                Reason(
                    "registry_review_overdue",
                    f"{vendor.name}'s registry entry was last reviewed on "
                    f"{vendor.last_reviewed.isoformat()}, more than "
                    f"{self.review_interval_days} days ago; owner: {vendor.owner}.",
                )
            )
        return reasons

    def contact_reasons(self, address: Address, vendor: Vendor | None) -> list[Reason]:
        """``registered_contact`` (naming the person and role) for a registered contact's
        address; ``unknown_contact`` for any other address at a vendor's domain."""
        if vendor is None:
            return []
        found = self.registry.contact(str(address))
        if found is not None:
            owner, contact = found
            return [
                Reason(
                    "registered_contact",
                    f"{address} is {contact.name}, {contact.role} at {owner.name} "
                    "(a registered contact).",
                    data={"vendor_id": owner.id, "name": contact.name, "role": contact.role},
                )
            ]
        named = ", ".join(c.name for c in vendor.contacts) or "none on file"
        return [
            Reason(
                "unknown_contact",
                f"{address} is at {vendor.name}'s domain but is not a registered contact "
                f"(registered: {named}).",
            )
        ]
