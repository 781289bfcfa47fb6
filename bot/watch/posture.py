"""One posture row per vendor domain: DMARC policy, SPF ``all``, DKIM keys, weak or not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.dns import Resolver
from bot.mail.dmarc_policy import CheckStatus
from bot.registry import Registry, Vendor
from bot.verify.posture import Posture, check_posture
from bot.watch.ratelimit import RateLimiter

TEMPERROR = "temperror"
# How safe each value is; a drop is a weakening (a DNS failure is never compared).
DMARC_RANK = {"reject": 3, "quarantine": 2, "none": 1, "missing": 0, "invalid": 0}
SPF_RANK = {"-all": 3, "~all": 2, "?all": 1, "+all": 0, "missing": 0, "invalid": 0}
DKIM_RANK = {"ok": 1, "missing": 0, "invalid": 0}
# DNS questions one posture check asks: SPF (TXT, includes), DMARC, MX, MTA-STS, one per selector.
_BASE_QUERIES = 6


@dataclass(frozen=True)
class PostureRow:
    """A vendor domain's mail posture, as the watch reports and compares it."""

    vendor: str
    vendor_name: str
    privileged: bool
    domain: str
    dmarc_policy: str
    spf_all: str
    dkim: dict[str, str] = field(default_factory=dict)
    weak: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.vendor, self.domain)

    def risk(self) -> tuple[int, int, int, str, str]:
        """Sort key: privileged first, then weak, then more reasons."""
        return (
            0 if self.privileged else 1,
            0 if self.weak else 1,
            -len(self.reasons),
            self.vendor,
            self.domain,
        )

    def to_json(self) -> dict[str, Any]:
        """One JSON Lines record."""
        return {
            "vendor": self.vendor,
            "vendor_name": self.vendor_name,
            "privileged": self.privileged,
            "domain": self.domain,
            "dmarc_policy": self.dmarc_policy,
            "spf_all": self.spf_all,
            "dkim": dict(self.dkim),
            "weak": self.weak,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PostureRow:
        """Inverse of :meth:`to_json` (stored snapshots)."""
        return cls(
            vendor=str(data["vendor"]),
            vendor_name=str(data.get("vendor_name", data["vendor"])),
            privileged=bool(data.get("privileged", False)),
            domain=str(data["domain"]),
            dmarc_policy=str(data["dmarc_policy"]),
            spf_all=str(data["spf_all"]),
            dkim={str(k): str(v) for k, v in (data.get("dkim") or {}).items()},
            weak=bool(data.get("weak", False)),
            reasons=tuple(str(r) for r in data.get("reasons") or ()),
        )


def _dmarc(posture: Posture) -> tuple[str, list[str]]:
    status = posture.dmarc.status
    if status is CheckStatus.COULD_NOT_CHECK:
        return TEMPERROR, ["dns_error"]
    if status is CheckStatus.MISSING:
        return "missing", ["dmarc_missing"]
    if status is CheckStatus.INVALID:
        return "invalid", ["dmarc_invalid"]
    policy = posture.dmarc.policy_for(posture.domain, exists=posture.exists is not False)
    if policy is None:
        return "missing", ["dmarc_missing"]
    return policy, ["dmarc_policy_none"] if policy == "none" else []


def _spf(posture: Posture) -> tuple[str, list[str]]:
    spf = posture.spf
    if spf.status is CheckStatus.COULD_NOT_CHECK:
        return TEMPERROR, ["dns_error"]
    if spf.status is CheckStatus.MISSING:
        return "missing", ["spf_missing"]
    if spf.status is CheckStatus.INVALID:
        return "invalid", ["spf_invalid"]
    qualifier = spf.all_qualifier or "?"  # no all mechanism: neutral, as ?all (RFC 7208 §4.7)
    value = f"{qualifier}all"
    codes = {"+all": ["spf_plus_all"], "~all": ["spf_soft_all"], "?all": ["spf_neutral_all"]}
    return value, codes.get(value, [])


def _dkim(posture: Posture) -> tuple[dict[str, str], list[str]]:
    keys: dict[str, str] = {}
    codes: list[str] = []
    for key in posture.dkim:
        if key.status is CheckStatus.COULD_NOT_CHECK:
            keys[key.selector] = TEMPERROR
            codes.append("dns_error")
        elif key.status is CheckStatus.OK and not key.revoked:
            keys[key.selector] = "ok"
        elif key.status is CheckStatus.INVALID:
            keys[key.selector] = "invalid"
            codes.append("dkim_key_invalid")
        else:
            keys[key.selector] = "missing"
            codes.append("dkim_key_missing")
    return keys, codes


def posture_row(vendor: Vendor, posture: Posture) -> PostureRow:
    """The row for one checked vendor domain."""
    dmarc, dmarc_codes = _dmarc(posture)
    spf, spf_codes = _spf(posture)
    dkim, dkim_codes = _dkim(posture)
    reasons = tuple(dict.fromkeys([*dmarc_codes, *spf_codes, *dkim_codes]))
    return PostureRow(
        vendor=vendor.id,
        vendor_name=vendor.name,
        privileged=vendor.privileged,
        domain=posture.domain,
        dmarc_policy=dmarc,
        spf_all=spf,
        dkim=dkim,
        weak=bool(posture.weaknesses()),
        reasons=reasons,
    )


async def check_registry_posture(
    registry: Registry,
    resolver: Resolver,
    *,
    qps: float,
    vendor_ids: Sequence[str] = (),
    concurrency: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> list[PostureRow]:
    """Every domain of every vendor (or of ``vendor_ids``), concurrently at a bounded rate,
    sorted by risk."""
    vendors = [v for v in registry.vendors if not vendor_ids or v.id in vendor_ids]
    jobs = [(v, d) for v in vendors for d in v.domains]
    limiter = RateLimiter(max(qps, 1.0) / _BASE_QUERIES, burst=max(1, concurrency // 2))
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(vendor: Vendor, domain: str) -> PostureRow:
        nonlocal done
        async with gate:
            await limiter.acquire()
            posture = await check_posture(domain, resolver, dkim_selectors=vendor.dkim_selectors)
        done += 1
        if progress is not None:
            progress(done, len(jobs))
        return posture_row(vendor, posture)

    rows = await asyncio.gather(*(one(v, d) for v, d in jobs))
    return sorted(rows, key=PostureRow.risk)
