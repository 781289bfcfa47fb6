"""The lookalike watch: dnstwist permutations resolved against the local DNS server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dns import Resolver
from bot.registry import Registry, RegistryHolder
from bot.verify.identity import IdentityResolver
from bot.watch.lookalikes import find_registered, vendor_permutations
from bot.watch.schedule import lookalike_run
from bot.watch.snapshots import SqliteSnapshots
from tests.support.dnsserver import TestDNSServer

FUZZERS = ("addition", "omission", "homoglyph", "dictionary", "tld-swap", "subdomain", "various")


def _register(server: TestDNSServer, domain: str, *, mx: bool) -> None:
    server.add(domain, "NS", "ns1.registrar.example.")
    server.add(domain, "A", "203.0.113.80")
    if mx:
        server.add(domain, "MX", f"10 mx.{domain}.")


def test_permutations_come_from_dnstwist_and_never_name_a_vendor_domain(
    registry: Registry,
) -> None:
    northwind = registry.get("northwind")
    assert northwind is not None
    perms = vendor_permutations(northwind, registry, fuzzers=FUZZERS)
    domains = {p.domain for p in perms}
    tricks = {p.trick for p in perms}
    assert {"homoglyph", "dictionary", "tld-swap", "subdomain"} <= tricks
    assert "north.wind-software.com" in domains and "northwind-login.com" in domains
    assert "northwind.net" in domains  # the vendor's alias under another TLD
    assert not any(registry.by_domain(d) for d in domains)
    assert all(d.isascii() for d in domains)  # IDNA, as DNS is asked


async def test_registered_lookalikes_are_found_and_unregistered_are_not(
    dns_server: TestDNSServer, registry: Registry
) -> None:
    _register(dns_server, "northwind-login.com", mx=True)
    _register(dns_server, "wind-software.com", mx=False)  # north.wind-software.com's parent
    northwind = registry.get("northwind")
    assert northwind is not None
    perms = vendor_permutations(northwind, registry, fuzzers=("dictionary", "subdomain"))
    resolver = Resolver([dns_server.address], timeout=0.5)
    findings, stats = await find_registered(perms, resolver, qps=5000)
    found = {f.domain: f for f in findings}
    assert found["northwind-login.com"].can_send_mail
    assert found["northwind-login.com"].mx == ("10 mx.northwind-login.com",)
    assert found["northwind-login.com"].ns == ("ns1.registrar.example",)
    assert "north.wind-software.com" in found
    assert not found["north.wind-software.com"].can_send_mail
    assert "northwind-support.com" in found  # in the fixture zone: SPF and MX
    assert found["northwind-support.com"].can_send_mail
    assert len(found) == 3
    # one NS question per permutation at most, four more for each registered one
    assert stats.queries <= stats.permutations + 4 * len(found)
    assert stats.dns_errors == 0


async def test_every_registered_lookalike_is_flagged_by_verify(
    dns_server: TestDNSServer, registry: Registry
) -> None:
    for domain in ("northwind-login.com", "northwind-softwarecom.com", "wind-software.com"):
        _register(dns_server, domain, mx=True)
    northwind = registry.get("northwind")
    assert northwind is not None
    quick = ("addition", "omission", "dictionary", "subdomain", "various", "tld-swap")
    perms = vendor_permutations(northwind, registry, fuzzers=quick)
    findings, _ = await find_registered(perms, Resolver([dns_server.address]), qps=5000)
    identities = IdentityResolver(RegistryHolder(registry), review_interval_days=90)
    assert findings
    for finding in findings:
        identity = identities.identify_domain(finding.domain)
        assert identity.match is not None, finding.domain
        assert identity.match.vendor_id == "northwind"


async def test_changes_report_only_new_registrations_and_a_dns_failure_forgets_nothing(
    dns_server: TestDNSServer, registry: Registry, tmp_path: Path
) -> None:
    store = SqliteSnapshots(tmp_path / "state.sqlite3")
    _register(dns_server, "northwind-login.com", mx=True)

    async def run() -> list[str] | None:
        _, new, _ = await lookalike_run(
            registry,
            Resolver([dns_server.address], timeout=0.3),
            store,
            qps=5000,
            vendor_ids=["northwind"],
            fuzzers=("dictionary",),
        )
        return None if new is None else sorted(f.domain for f in new)

    assert await run() is None  # baseline
    assert await run() == []
    dns_server.timeouts.add("northwind-login.com")
    assert await run() == []  # a failed look-up is not a disappearance...
    dns_server.timeouts.clear()
    assert await run() == []  # ...so it is not new when it answers again
    _register(dns_server, "northwind-secure.com", mx=True)
    assert await run() == ["northwind-secure.com"]


@pytest.mark.parametrize("qps", [0, -1])
async def test_rate_must_be_positive(qps: float) -> None:
    from bot.watch.ratelimit import RateLimiter

    with pytest.raises(ValueError, match="positive"):
        RateLimiter(qps)


async def test_rate_limiter_spaces_acquisitions() -> None:
    from bot.watch.ratelimit import RateLimiter

    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, burst=2, clock=lambda: now[0], sleep=fake_sleep)
    for _ in range(12):
        await limiter.acquire()
    # two from the burst, then ten more at 10 per second: one simulated second of waiting
    assert limiter.acquired == 12
    assert abs(sum(slept) - 1.0) < 1e-6
