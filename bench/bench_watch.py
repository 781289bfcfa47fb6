"""Benchmark: the lookalike watch against a DNS server that answers in 30 ms.

    .venv/bin/python bench/bench_watch.py [--sample 600] [--delay 0.03]

For each vendor of examples/vendors.yml: how many permutations dnstwist makes (all fuzzers) and how
many DNS questions a full run asks (one NS per permutation, four more per registered one). Then
permutations checked per second on a sample: at the default rate limit (DESKGUARD_WATCH_QPS=50)
and with the limit lifted (bounded only by concurrency and the server's latency).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.dns import Resolver  # noqa: E402
from bot.registry import load_registry  # noqa: E402
from bot.watch.lookalikes import find_registered, vendor_permutations  # noqa: E402
from tests.support.dnsserver import TestDNSServer  # noqa: E402


async def _rate(perms: list, server: TestDNSServer, qps: float) -> tuple[float, int]:
    resolver = Resolver([server.address], timeout=2.0)
    started = time.perf_counter()
    _, stats = await find_registered(perms, resolver, qps=qps, concurrency=64)
    return len(perms) / (time.perf_counter() - started), stats.queries


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=600)
    parser.add_argument("--delay", type=float, default=0.03)
    args = parser.parse_args()
    registry = load_registry(ROOT / "examples" / "vendors.yml")
    rng = random.Random(5)
    everything = []
    with TestDNSServer(delay=args.delay) as server:
        print(f"DNS server latency: {args.delay * 1000:.0f} ms per answer")
        for vendor in registry.vendors:
            perms = vendor_permutations(vendor, registry)
            everything.extend(perms)
            for perm in rng.sample(perms, 3):  # a few registered ones, as in life
                server.add(perm.domain, "NS", "ns1.registrar.example.")
                server.add(perm.domain, "MX", f"10 mx.{perm.domain}.")
            print(
                f"{vendor.id:16} {len(vendor.domains)} domain(s): {len(perms):6} permutations, "
                f"a full run asks about {len(perms) + 4 * 3} DNS questions "
                f"({(len(perms) + 12) / 50 / 60:.1f} min at 50 qps)"
            )
        sample = rng.sample(everything, min(args.sample, len(everything)))
        limited, q1 = asyncio.run(_rate(sample[: min(300, len(sample))], server, 50))
        free, q2 = asyncio.run(_rate(sample, server, 10_000))
    print(f"at DESKGUARD_WATCH_QPS=50: {limited:7.1f} permutations/s ({q1} questions)")
    print(f"limit lifted (64 in flight): {free:7.1f} permutations/s ({q2} questions)")


if __name__ == "__main__":
    main()
