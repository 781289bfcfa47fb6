"""What changed since the last stored snapshot. A DNS failure is never a change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.watch.posture import DKIM_RANK, DMARC_RANK, SPF_RANK, TEMPERROR, PostureRow

WEAKENED, STRENGTHENED, CHANGED = "high", "info", "warning"


@dataclass(frozen=True)
class Change:
    """One field of one vendor domain that changed between two runs."""

    vendor: str
    domain: str
    field: str
    before: str | None
    after: str | None
    severity: str

    @property
    def weakened(self) -> bool:
        return self.severity == WEAKENED

    def to_json(self) -> dict[str, Any]:
        """One JSON Lines record."""
        return {
            "vendor": self.vendor,
            "domain": self.domain,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "severity": self.severity,
        }


def _severity(rank: Mapping[str, int], before: str, after: str) -> str:
    if before not in rank or after not in rank:
        return CHANGED
    if rank[after] < rank[before]:
        return WEAKENED
    return STRENGTHENED if rank[after] > rank[before] else CHANGED


def _fields(row: PostureRow) -> dict[str, tuple[str, Mapping[str, int]]]:
    out: dict[str, tuple[str, Mapping[str, int]]] = {
        "dmarc_policy": (row.dmarc_policy, DMARC_RANK),
        "spf_all": (row.spf_all, SPF_RANK),
    }
    for selector, status in row.dkim.items():
        out[f"dkim:{selector}"] = (status, DKIM_RANK)
    return out


def posture_changes(before: Iterable[PostureRow], after: Iterable[PostureRow]) -> list[Change]:
    """Field-by-field changes of the domains present in both runs, plus domains added or
    removed from the registry. Fields that are ``temperror`` on either side are skipped."""
    old = {row.key: row for row in before}
    changes: list[Change] = []
    seen: set[tuple[str, str]] = set()
    for row in after:
        seen.add(row.key)
        previous = old.get(row.key)
        if previous is None:
            changes.append(Change(row.vendor, row.domain, "domain", None, "added", STRENGTHENED))
            continue
        was = _fields(previous)
        for name, (value, rank) in _fields(row).items():
            prior = was.get(name)
            if prior is None:
                changes.append(Change(row.vendor, row.domain, name, None, value, CHANGED))
                continue
            if TEMPERROR in (value, prior[0]) or value == prior[0]:
                continue
            changes.append(
                Change(
                    row.vendor, row.domain, name, prior[0], value, _severity(rank, prior[0], value)
                )
            )
    for key, row in old.items():
        if key not in seen:
            changes.append(Change(row.vendor, row.domain, "domain", "present", None, CHANGED))
    return changes


def carry_forward(before: Iterable[PostureRow], after: Iterable[PostureRow]) -> list[PostureRow]:
    """The snapshot to store: ``after``, with each ``temperror`` field keeping the value it had
    before, so that a failed look-up is compared against the last known value next time."""
    old = {row.key: row for row in before}
    stored: list[PostureRow] = []
    for row in after:
        prior = old.get(row.key)
        if prior is None:
            stored.append(row)
            continue
        dkim = {
            sel: (prior.dkim.get(sel, status) if status == TEMPERROR else status)
            for sel, status in row.dkim.items()
        }
        stored.append(
            replace(
                row,
                dmarc_policy=prior.dmarc_policy
                if row.dmarc_policy == TEMPERROR
                else row.dmarc_policy,
                spf_all=prior.spf_all if row.spf_all == TEMPERROR else row.spf_all,
                dkim=dkim,
            )
        )
    return stored
