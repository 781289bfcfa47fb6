"""What lookalike matching compares and returns: tricks, the match, targets and queries."""

from __future__ import annotations

from dataclasses import dataclass

TRICKS = (
    "confusable",
    "edit_distance",
    "brand_plus_word",
    "hyphenation",
    "omission",
    "transposition",
    "tld_swap",
    "domain_as_label",
    "insertion",
    "repetition",
    "brand_name",
)


@dataclass(frozen=True, slots=True)
class LookalikeMatch:
    """A domain imitating a registered vendor: whom, which domain, by which trick, and why."""

    vendor_id: str
    vendor_name: str
    imitated: str
    trick: str
    evidence: str

    def to_json(self) -> dict[str, str]:
        """The match as plain JSON."""
        return {
            "vendor_id": self.vendor_id,
            "vendor_name": self.vendor_name,
            "imitated": self.imitated,
            "trick": self.trick,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """One vendor string that can be imitated."""

    vendor_id: str
    vendor_name: str
    domain: str  # the registered domain (ASCII) reported as imitated
    kind: str  # "domain" (a registered label), "alias" or "name"
    label: str  # ASCII label of the domain's registrable part ("" for aliases and names)
    text: str  # what is compared, as people read it (Unicode label, alias, or compact name)
    compact: str  # text casefolded, without hyphens or spaces
    suffix: str  # public suffix of the domain


@dataclass(frozen=True, slots=True)
class Query:
    """The domain being checked, split the way the checks need it."""

    domain: str
    unicode: str
    label: str  # ASCII registrable label
    text: str  # Unicode registrable label
    compact: str
    suffix: str
    registrable: str  # Unicode registrable domain


def compact_text(text: str) -> str:
    """``text`` casefolded, letters and digits only (hyphens, spaces and dots dropped)."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())
