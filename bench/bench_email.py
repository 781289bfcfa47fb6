"""Benchmark: deskguard's message verification vs authheaders.authenticate_message.

    .venv/bin/python bench/bench_email.py [--messages 1000]

1,000 messages (half DKIM-signed, half unsigned; bodies of 5-50 KB), one process, the same DNS for
both: a real DNS server on 127.0.0.1 (tests/support/dnsserver.py) behind deskguard's caching
resolver, warmed before timing. authheaders does DKIM + SPF + DMARC; its DNS (dkimpy, pyspf and its
DMARC look-ups all use dnspython's default resolver) is pointed at the same cached resolver through
``Resolver.dnspython()``. deskguard does more per message: every DKIM signature with RFC 8301
policy, SPF at the trusted hop, ARC, RFC 9989 DMARC discovery, registry and lookalike identity,
display-name/Reply-To/phone/request findings. Prints messages per second for both, the ratio and
peak memory (tracemalloc over a 100-message pass, and the process's max RSS).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import authheaders  # noqa: E402
import dns.resolver  # noqa: E402

from bot.dns import Resolver  # noqa: E402
from bot.registry import load_registry  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.verify.verifier import RegistryHolder, Verifier  # noqa: E402
from tests.support.dnsserver import TestDNSServer  # noqa: E402
from tests.support.mailsign import build, prepend, rsa_key, sign  # noqa: E402
from tests.support.signed import received  # noqa: E402

OUR_MX = "mx.example-corp.test"
TTL = 3600  # the cache stays warm for the whole run
SENDERS = [
    # (domain, sending IP, helo, local part). No hyphens: authheaders 0.16's get_domain_part
    # matches [a-z0-9.]+ only, so it would look up DMARC for "northwind" instead of
    # "northwind-software.com" and never evaluate it.
    ("northwind.io", "192.0.2.25", "mx.northwind.io", "dana.whitfield"),
    ("northwlnd.io", "203.0.113.5", "mx.northwlnd.io", "support"),
    ("mailerone.example", "198.51.100.10", "out.mailerone.example", "news"),
    ("mailertwo.example", "198.51.100.20", "out.mailertwo.example", "billing"),
]
WORDS = [
    "licence",
    "server",
    "update",
    "maintenance",
    "window",
    "invoice",
    "quarterly",
    "report",
    "schedule",
    "network",
    "router",
    "firmware",
    "account",
    "renewal",
    "support",
    "ticket",
    "contract",
    "delivery",
    "shipment",
    "please",
    "review",
]


def _zone(server: TestDNSServer) -> None:
    key = rsa_key(2048, "bench")
    for domain, ip, helo, _ in SENDERS:
        server.add(domain, "TXT", f"v=spf1 ip4:{ip}/32 -all", ttl=TTL)
        server.add(domain, "MX", f"10 {helo}.", ttl=TTL)
        server.add(helo, "A", ip, ttl=TTL)
        server.add(f"_dmarc.{domain}", "TXT", "v=DMARC1; p=reject", ttl=TTL)
        server.add(f"s1._domainkey.{domain}", "TXT", key.txt(), ttl=TTL)


def _body(rng: random.Random, size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(12))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def make_messages(count: int) -> list[tuple[bytes, str, str, str]]:
    """(raw message, connecting IP, MAIL FROM, HELO) for ``count`` messages."""
    rng = random.Random(7)
    key = rsa_key(2048, "bench")
    out = []
    for i in range(count):
        domain, ip, helo, local = SENDERS[i % len(SENDERS)]
        body = _body(rng, rng.randint(5 * 1024, 50 * 1024))
        msg = build(
            from_=f"{local.title()} <{local}@{domain}>",
            subject=f"Update {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
            body=body,
        )
        if i % 2 == 0:
            msg = sign(msg, domain=domain, selector="s1", key=key)
        mail_from = f"{local}@{domain}"
        msg = prepend(msg, f"Return-Path: <{mail_from}>", received(OUR_MX, helo, ip))
        out.append((msg, ip, mail_from, helo))
    return out


def _peer(item: tuple[bytes, str, str, str]) -> str:
    msg, ip, mail_from, helo = item
    return str(
        authheaders.authenticate_message(
            msg, OUR_MX, spf=True, dkim=True, dmarc=True, ip=ip, mail_from=mail_from, helo=helo
        )
    )


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    """Run both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()

    with TestDNSServer() as server:
        _zone(server)
        resolver = Resolver([server.address], timeout=2.0)
        dns.resolver.default_resolver = resolver.dnspython()
        settings = Settings(
            registry=ROOT / "examples" / "vendors.yml",
            trusted_authserv_ids=(OUR_MX,),
            dns_nameservers=(server.nameserver,),
        )
        verifier = Verifier(settings, resolver, RegistryHolder(load_registry(settings.registry)))
        messages = make_messages(args.messages)
        sizes = [len(m[0]) for m in messages]
        loop = asyncio.new_event_loop()

        def ours(batch: list[tuple[bytes, str, str, str]]) -> list[str]:
            async def run() -> list[str]:
                verdicts = []
                for raw, *_ in batch:
                    report = await verifier.verify_message(raw)
                    verdicts.append(report.verdict.value)
                return verdicts

            return loop.run_until_complete(run())

        def theirs(batch: list[tuple[bytes, str, str, str]]) -> list[str]:
            return [_peer(item) for item in batch]

        warm = messages[: 2 * len(SENDERS)]
        ours(warm)
        theirs(warm)
        ours_s, verdicts = _timed(lambda: ours(messages))
        theirs_s, headers = _timed(lambda: theirs(messages))
        ours_peak = _peak(lambda: ours(messages[:100]))
        theirs_peak = _peak(lambda: theirs(messages[:100]))
        loop.close()

    n = len(messages)
    ours_rate, theirs_rate = n / ours_s, n / theirs_s
    passes = sum(1 for h in headers if "dmarc=pass" in h)
    print(f"messages: {n} ({sum(sizes) / n / 1024:.1f} KB average, {min(sizes)}-{max(sizes)} B)")
    print(f"deskguard verify_message:       {ours_s:7.2f} s  {ours_rate:8.1f} msg/s")
    print(f"authheaders.authenticate_message: {theirs_s:5.2f} s  {theirs_rate:8.1f} msg/s")
    print(f"ratio (deskguard / authheaders throughput): {ours_rate / theirs_rate:.2f}x")
    print(
        f"peak traced memory over 100 messages: deskguard {ours_peak / 2**20:.1f} MiB, "
        f"authheaders {theirs_peak / 2**20:.1f} MiB"
    )
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    counts = {v: verdicts.count(v) for v in sorted(set(verdicts))}
    print(f"deskguard verdicts: {counts}; authheaders dmarc=pass: {passes}/{n}")


if __name__ == "__main__":
    main()
