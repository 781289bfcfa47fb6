"""Vendors by name: the vendor an id, name or alias names, and the closest names for a miss."""

from __future__ import annotations

import difflib
import unicodedata

from bot.errors import InputError
from bot.registry import Registry, Vendor

MAX_NAME = 100  # longer text is clipped before any comparison (difflib is quadratic)
MAX_CLOSEST = 3
FUZZY_CUTOFF = 0.6


class UnknownVendor(InputError):
    """No vendor has this id, name or alias; ``closest`` holds registered names like it."""

    def __init__(self, name: str, closest: list[str]) -> None:
        self.name = name
        self.closest = closest
        super().__init__(not_found_text(name, closest))


def clean_name(text: str) -> str:
    """``text`` clipped to :data:`MAX_NAME`, control and format characters dropped, spaces
    collapsed (for comparison and for quoting back)."""
    kept = "".join(
        " " if unicodedata.category(ch).startswith("Z") else ch
        for ch in text[: MAX_NAME * 2]
        if not unicodedata.category(ch).startswith("C")
    )
    return " ".join(kept.split())[:MAX_NAME]


def find_vendor(registry: Registry, text: str) -> Vendor | None:
    """The vendor whose id, name or alias is ``text`` (case-insensitive), or None."""
    name = clean_name(text)
    if not name:
        return None
    return registry.get(name.lower()) or registry.find_by_name(name)


def closest_names(registry: Registry, text: str, limit: int = MAX_CLOSEST) -> list[str]:
    """Registered vendor names that look like ``text`` (a typo, a part of the name), best first."""
    needle = clean_name(text).casefold()
    if not needle:
        return []
    keys: dict[str, str] = {}
    for vendor in registry.vendors:
        for key in (vendor.name, vendor.id, *vendor.aliases):
            keys.setdefault(key.casefold()[:MAX_NAME], vendor.name)
    found: list[str] = []
    if len(needle) >= 3:
        for key, name in keys.items():
            if (needle in key or key in needle.split()) and name not in found:
                found.append(name)
    for key in difflib.get_close_matches(needle, list(keys), n=limit * 2, cutoff=FUZZY_CUTOFF):
        if keys[key] not in found:
            found.append(keys[key])
    return found[:limit]


def not_found_text(name: str, closest: list[str]) -> str:
    """``No vendor named 'Acme Corp' in the registry`` and the closest names, if any."""
    text = f"No vendor named '{clean_name(name)}' in the registry"
    if closest:
        return f"{text}. Closest: {', '.join(closest)}."
    return f"{text}."


def require_vendor(registry: Registry, text: str) -> Vendor:
    """The vendor ``text`` names; raise :class:`UnknownVendor` (with the closest names)."""
    vendor = find_vendor(registry, text)
    if vendor is None:
        raise UnknownVendor(text, closest_names(registry, text))
    return vendor
