"""Benchmark: ``deskguard verify --input -`` one target at a time against ``--concurrency N``.

A real DNS server on 127.0.0.1 (tests/support/dnsserver.py) answers after ``--delay`` seconds
(30 ms by default, a recursive resolver's round trip) for ``--domains`` distinct domains, each with
SPF, DMARC and MX. The CLI runs as a subprocess, as users run it, with a cold cache each time.
Printed: wall time per run, targets per second, the ratio, and whether both runs printed the
same verdicts in input order.

Run: ``.venv/bin/python bench/bench_cli_batch.py [--domains 40] [--delay 0.030] [--concurrency 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.dnsserver import TestDNSServer

ROOT = Path(__file__).resolve().parents[1]


def _zone(server: TestDNSServer, count: int) -> list[str]:
    names = []
    for i in range(count):
        name = f"vendor{i}.bench.test"
        server.add(name, "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
        server.add(name, "MX", f"10 mx.{name}.")
        server.add(f"_dmarc.{name}", "TXT", "v=DMARC1; p=reject")
        names.append(name)
    return names


def _run(names: list[str], server: TestDNSServer, concurrency: int) -> tuple[float, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGUARD_")}
    env.update(
        DESKGUARD_REGISTRY=str(ROOT / "tests" / "fixtures" / "vendors.yml"),
        DESKGUARD_DNS_NAMESERVERS=server.nameserver,
        DESKGUARD_DNS_TIMEOUT="5",
    )
    args = ["verify", "--input", "-", "--json", "--concurrency", str(concurrency)]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input="\n".join(names),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    elapsed = time.perf_counter() - start
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return elapsed, [f"{r['target']}:{r['verdict']}" for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domains", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.030)
    parser.add_argument("--concurrency", type=int, default=8)
    opts = parser.parse_args()
    with TestDNSServer(delay=opts.delay) as server:
        names = _zone(server, opts.domains)
        one, serial = _run(names, server, 1)
        many, concurrent = _run(names, server, opts.concurrency)
    print(f"{opts.domains} domains, DNS delay {opts.delay * 1000:.0f} ms")
    print(f"  --concurrency 1: {one:6.2f} s  {opts.domains / one:6.1f} targets/s")
    print(
        f"  --concurrency {opts.concurrency}: {many:6.2f} s  {opts.domains / many:6.1f} targets/s"
    )
    print(f"  ratio: {one / many:.1f}x; same verdicts in input order: {serial == concurrent}")
    assert [line.split(":")[0] for line in concurrent] == names


if __name__ == "__main__":
    main()
