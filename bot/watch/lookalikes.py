"""Registered lookalikes: dnstwist's permutations of each vendor domain, resolved at a bounded rate.

dnstwist (the library) generates the permutations: homoglyphs, typos, bitsquatting, hyphenation,
TLD swaps, dictionary words, subdomain splits... plus the vendor's own aliases under common TLDs.
A permutation is *registered* when its registrable domain has name servers (one NS question, asked
once per registrable domain thanks to the resolver's cache); only then are its A/AAAA, MX and TXT
records asked for. A DNS failure is counted, never reported as "not registered".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.dns import Outcome, Resolver
from bot.names import InvalidName, normalize_domain, registrable_domain
from bot.registry import Registry, Vendor
from bot.verify.lookalike.words import BRAND_WORDS
from bot.watch.ratelimit import RateLimiter

DEFAULT_TLDS = (
    "com", "net", "org", "info", "biz", "co", "io", "us", "uk", "de", "eu", "online", "site",
    "xyz", "app", "dev", "cloud", "support", "tech", "services", "help",
)  # fmt: skip
DEFAULT_WORDS = tuple(sorted(BRAND_WORDS))


@dataclass(frozen=True)
class Permutation:
    """A candidate lookalike of one vendor domain."""

    vendor: str
    vendor_domain: str
    domain: str  # IDNA (ASCII)
    trick: str


@dataclass(frozen=True)
class Finding:
    """A registered lookalike, with what it resolves to."""

    vendor: str
    vendor_domain: str
    domain: str
    trick: str
    a: tuple[str, ...] = ()
    mx: tuple[str, ...] = ()
    ns: tuple[str, ...] = ()
    spf: bool = False

    @property
    def can_send_mail(self) -> bool:
        """It has MX records or publishes SPF."""
        return bool(self.mx) or self.spf

    @property
    def key(self) -> tuple[str, str]:
        return (self.vendor, self.domain)

    def to_json(self) -> dict[str, Any]:
        """One JSON Lines record."""
        return {
            "vendor": self.vendor,
            "vendor_domain": self.vendor_domain,
            "domain": self.domain,
            "trick": self.trick,
            "a": list(self.a),
            "mx": list(self.mx),
            "ns": list(self.ns),
            "can_send_mail": self.can_send_mail,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_json`."""
        return cls(
            vendor=str(data["vendor"]),
            vendor_domain=str(data["vendor_domain"]),
            domain=str(data["domain"]),
            trick=str(data["trick"]),
            a=tuple(data.get("a") or ()),
            mx=tuple(data.get("mx") or ()),
            ns=tuple(data.get("ns") or ()),
            spf=bool(data.get("can_send_mail")) and not data.get("mx"),
        )


@dataclass
class WatchStats:
    """What one run did."""

    permutations: int = 0
    queries: int = 0
    registered: int = 0
    dns_errors: int = 0
    failed: set[tuple[str, str]] = field(default_factory=set)


def vendor_permutations(
    vendor: Vendor,
    registry: Registry,
    *,
    words: Sequence[str] = DEFAULT_WORDS,
    tlds: Sequence[str] = DEFAULT_TLDS,
    fuzzers: Sequence[str] = (),
) -> list[Permutation]:
    """Every permutation of every domain of ``vendor`` (none of them a registered domain)."""
    import dnstwist  # imported here only: it costs ~0.3 s

    found: dict[str, Permutation] = {}

    def add(domain: str, vendor_domain: str, trick: str) -> None:
        try:
            name = normalize_domain(domain)
        except InvalidName:
            return
        if name not in found and registry.by_domain(name) is None:
            found[name] = Permutation(vendor.id, vendor_domain, name, trick)

    for vendor_domain in vendor.domains:
        fuzzer = dnstwist.Fuzzer(vendor_domain, dictionary=list(words), tld_dictionary=list(tlds))
        fuzzer.generate(fuzzers=list(fuzzers))
        for item in fuzzer.permutations():
            if item["fuzzer"] != "*original":
                add(str(item["domain"]), vendor_domain, str(item["fuzzer"]))
    for alias in vendor.aliases:
        for tld in tlds:
            add(f"{alias}.{tld}", vendor.domains[0], "alias")
    return list(found.values())


async def find_registered(
    permutations: Sequence[Permutation],
    resolver: Resolver,
    *,
    qps: float,
    concurrency: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Finding], WatchStats]:
    """Resolve every permutation at no more than ``qps`` questions per second."""
    limiter = RateLimiter(qps, burst=max(1, int(qps // 10)))
    gate = asyncio.Semaphore(concurrency)
    stats = WatchStats(permutations=len(permutations))
    findings: list[Finding] = []
    done = 0

    async def ask(name: str, rdtype: str) -> Any:
        await limiter.acquire()
        return await resolver.query(name, rdtype)

    async def one(perm: Permutation) -> None:
        nonlocal done
        async with gate:
            ns = await ask(registrable_domain(perm.domain), "NS")
            if ns.outcome is Outcome.TEMPERROR:
                stats.dns_errors += 1
                stats.failed.add((perm.vendor, perm.domain))
            elif ns.outcome is not Outcome.NXDOMAIN:
                a, aaaa, mx, txt = await asyncio.gather(
                    ask(perm.domain, "A"),
                    ask(perm.domain, "AAAA"),
                    ask(perm.domain, "MX"),
                    ask(perm.domain, "TXT"),
                )
                findings.append(
                    Finding(
                        perm.vendor,
                        perm.vendor_domain,
                        perm.domain,
                        perm.trick,
                        a=(*a.records, *aaaa.records),
                        mx=tuple(mx.records),
                        ns=tuple(ns.records),
                        spf=any(r.lower().startswith("v=spf1") for r in txt.records),
                    )
                )
        done += 1
        if progress is not None:
            progress(done, len(permutations))

    await asyncio.gather(*(one(p) for p in permutations))
    stats.queries = limiter.acquired
    stats.registered = len(findings)
    findings.sort(key=lambda f: (f.vendor, not f.can_send_mail, f.domain))
    return findings, stats


def new_findings(previous: Sequence[Finding], current: Sequence[Finding]) -> list[Finding]:
    """Findings not seen in the previous run."""
    seen = {f.key for f in previous}
    return [f for f in current if f.key not in seen]


def to_store(
    previous: Sequence[Finding], current: Sequence[Finding], failed: set[tuple[str, str]]
) -> list[Finding]:
    """What to remember: this run's findings, plus earlier ones whose look-up failed this time
    (a DNS failure is not a disappearance, so they are not reported as new next time)."""
    kept = {f.key: f for f in current}
    for finding in previous:
        if finding.key in failed and finding.key not in kept:
            kept[finding.key] = finding
    return list(kept.values())
