"""Benchmark: deskguard's check_posture against checkdmarc over the same local DNS server.

A real DNS server on 127.0.0.1 (tests/support/dnsserver.py) answers every question after
``--delay`` seconds (30 ms by default, a realistic recursive-resolver round trip) and serves
``--domains`` vendor domains, each with SPF (two includes, one of which nests another), DMARC and
MX. Both sides start with a cold cache. Printed:

- deskguard: check_posture over all domains, concurrently (asyncio.gather, bounded), and also one
  domain at a time;
- checkdmarc: check_domains(...) as its users call it (it checks more: NS, SOA, MTA-STS, TLS-RPT,
  BIMI, DNSSEC), and a like-for-like run of only its check_spf + check_dmarc + check_mx in a
  thread pool.

Run: ``.venv/bin/python bench/bench_posture.py [--domains 30] [--delay 0.030]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import checkdmarc
import checkdmarc.dmarc
import checkdmarc.dnssec
import checkdmarc.smtp
import checkdmarc.spf
import checkdmarc.utils
import dns.nameserver
import dns.resolver

from bot.dns import Resolver
from bot.verify.posture import CheckStatus, check_posture
from tests.support.dnsserver import TestDNSServer

PROVIDERS = 5
CONCURRENCY = 16


def build_zone(server: TestDNSServer, count: int) -> list[str]:
    """Serve ``count`` vendor domains; return their names."""
    for k in range(PROVIDERS):
        server.add(f"spf.mailhost{k}.net", "TXT", f"v=spf1 include:_nb.mailhost{k}.net ~all")
        server.add(f"_nb.mailhost{k}.net", "TXT", f"v=spf1 ip4:203.0.113.{k * 16}/28 -all")
    domains = []
    for i in range(count):
        d = f"vendor{i:03d}.com"
        domains.append(d)
        server.add(
            d, "TXT", f"v=spf1 include:_spf.{d} include:spf.mailhost{i % PROVIDERS}.net mx -all"
        )
        server.add(f"_spf.{d}", "TXT", f"v=spf1 ip4:198.51.100.{i % 250}/32 -all")
        server.add(f"_dmarc.{d}", "TXT", f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")
        server.add(d, "MX", f"10 mx1.{d}.")
        server.add(f"mx1.{d}", "A", f"192.0.2.{i % 250}")
    return domains


async def run_ours(server: TestDNSServer, domains: list[str], concurrency: int) -> list[Any]:
    """check_posture over every domain with at most ``concurrency`` domains in flight."""
    resolver = Resolver([server.address], timeout=3.0)  # new instance: cold cache
    gate = asyncio.Semaphore(concurrency)

    async def one(domain: str) -> Any:
        async with gate:
            return await check_posture(domain, resolver)

    return await asyncio.gather(*(one(d) for d in domains))


def clear_checkdmarc_caches() -> None:
    """Empty every process-wide cache checkdmarc keeps."""
    checkdmarc.utils.DNS_CACHE.clear()
    checkdmarc.utils._NAMESERVER_FAILURES.clear()
    for cache in ("DNSSEC_CACHE", "DNSKEY_CACHE", "TLSA_CACHE"):
        getattr(checkdmarc.dnssec, cache).clear()
    checkdmarc.smtp.TLS_CACHE.clear()
    checkdmarc.smtp.STARTTLS_CACHE.clear()


def dnspython_resolver(server: TestDNSServer) -> dns.resolver.Resolver:
    """A plain dnspython resolver for the test server, dnspython cache off."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", server.port)]
    resolver.timeout = resolver.lifetime = 3.0
    resolver.cache = None
    return resolver


def run_checkdmarc(server: TestDNSServer, domains: list[str]) -> Any:
    """checkdmarc.check_domains as its users call it (all queries go to the test server)."""
    clear_checkdmarc_caches()
    nameserver = dns.nameserver.Do53Nameserver("127.0.0.1", server.port)
    return checkdmarc.check_domains(
        domains,
        nameservers=[nameserver],
        resolver=dnspython_resolver(server),
        check_mx_tls=False,
        bimi_selector="default",
        timeout=3.0,
        retries=0,
    )


def run_checkdmarc_core(server: TestDNSServer, domains: list[str], workers: int) -> list[Any]:
    """Only checkdmarc's SPF, DMARC and MX checks, domains in parallel threads."""
    clear_checkdmarc_caches()
    resolver = dnspython_resolver(server)

    def one(domain: str) -> Any:
        kwargs: dict[str, Any] = {"resolver": resolver, "timeout": 3.0, "retries": 0}
        return (
            checkdmarc.spf.check_spf(domain, **kwargs),
            checkdmarc.dmarc.check_dmarc(domain, **kwargs),
            checkdmarc.smtp.check_mx(domain, **kwargs),
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, domains))


def timed(label: str, server: TestDNSServer, func: Any) -> tuple[float, Any]:
    server.queries.clear()
    started = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed:8.3f} s  {len(server.queries):5d} DNS queries")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=30)
    parser.add_argument("--delay", type=float, default=0.030)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with TestDNSServer(delay=args.delay) as server:
        domains = build_zone(server, args.domains)
        print(f"{len(domains)} domains, {args.delay * 1000:.0f} ms per DNS answer, cold caches\n")
        ours, postures = timed(
            f"deskguard check_posture, gather (<= {args.concurrency} at once)",
            server,
            lambda: asyncio.run(run_ours(server, domains, args.concurrency)),
        )
        ours_seq, _ = timed(
            "deskguard check_posture, one domain at a time",
            server,
            lambda: asyncio.run(run_ours(server, domains, 1)),
        )
        theirs, results = timed(
            "checkdmarc.check_domains (sequential, as shipped)",
            server,
            lambda: run_checkdmarc(server, domains),
        )
        core, core_results = timed(
            f"checkdmarc spf+dmarc+mx only, {args.concurrency} threads",
            server,
            lambda: run_checkdmarc_core(server, domains, args.concurrency),
        )
    ok = sum(
        p.spf.status is CheckStatus.OK and p.dmarc.status is CheckStatus.OK and p.spf.lookups == 4
        for p in postures
    )
    their_ok = sum(
        r["spf"].get("valid") is True and r["dmarc"].get("valid") is True for r in results
    )
    core_ok = sum(s.get("valid") is True and d.get("valid") is True for s, d, _ in core_results)
    print(f"\nsanity: deskguard {ok}/{len(domains)} SPF+DMARC ok (4 SPF lookups each);")
    print(f"        checkdmarc {their_ok}/{len(domains)} valid; core run {core_ok}/{len(domains)}")
    print(
        f"\nratio deskguard / checkdmarc.check_domains      : {ours / theirs:.3f} (target <= 0.5)"
    )
    print(f"ratio deskguard / checkdmarc core (threads)      : {ours / core:.3f}")
    print(f"ratio deskguard sequential / check_domains       : {ours_seq / theirs:.3f}")


if __name__ == "__main__":
    main()
