"""Benchmark: a cold ``deskguard verify DOMAIN`` against checkdmarc, both as whole processes.

    .venv/bin/python bench/bench_cold_cli.py [--rounds 5] [--delay 0.030] [--domain D]

A real DNS server on 127.0.0.1 (tests/support/dnsserver.py, zone files from tests/fixtures)
answers every question after ``--delay`` seconds (30 ms: a recursive resolver's round trip), as in
bench/bench_posture.py. Each round starts fresh processes (cold caches, cold imports):

- ``deskguard verify DOMAIN --json`` with DESKGUARD_DNS_NAMESERVERS pointing at the server;
- checkdmarc as its command line runs it (``checkdmarc DOMAIN``: check_domains and JSON output),
  started as ``python -c`` because its ``-n`` option cannot take a port; TLS checks off;
- ``deskguard --help``.

Prints the wall time of each round, the medians and the ratio deskguard / checkdmarc.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.dnsserver import TestDNSServer  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
DESKGUARD = str(ROOT / ".venv" / "bin" / "deskguard")
CHECKDMARC = """
import json, sys
import dns.nameserver, dns.resolver
import checkdmarc
port = int(sys.argv[2])
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
resolver.timeout = resolver.lifetime = 3.0
result = checkdmarc.check_domains(
    [sys.argv[1]],
    nameservers=[dns.nameserver.Do53Nameserver("127.0.0.1", port)],
    resolver=resolver,
    check_mx_tls=False,
    timeout=3.0,
    retries=0,
)
print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
"""


CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds for one whole process (its CPU seconds go to :data:`CPU`); fails loudly when
    it fails."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    CPU.setdefault(argv[1] if argv[1] in ("verify", "--help") else "checkdmarc", []).append(
        _children_cpu() - cpu
    )
    if done.returncode not in (0, 1, 2, 3):
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    if not done.stdout.strip():
        raise SystemExit(f"{argv[0]} printed nothing: {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.030)
    parser.add_argument("--domain", default="northwind-software.com")
    args = parser.parse_args()
    server = TestDNSServer(delay=args.delay)
    for zone in sorted((ROOT / "tests" / "fixtures").glob("*.zone")):
        server.load_zone_file(zone)
    env = {
        **os.environ,
        "DESKGUARD_DNS_NAMESERVERS": server.nameserver,
        "DESKGUARD_REGISTRY": str(ROOT / "examples" / "vendors.yml"),
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    env.pop("DESKGUARD_DNS_CACHE_FILE", None)
    ours_argv = [DESKGUARD, "verify", args.domain, "--json"]
    theirs_argv = [PYTHON, "-c", CHECKDMARC, args.domain, str(server.port)]
    help_argv = [DESKGUARD, "--help"]
    with server:
        for argv in (ours_argv, theirs_argv, help_argv):  # warm the OS file cache and .pyc files
            timed(argv, env)
        ours, theirs, helps = [], [], []
        for r in range(1, args.rounds + 1):
            ours.append(timed(ours_argv, env))
            theirs.append(timed(theirs_argv, env))
            helps.append(timed(help_argv, env))
            print(
                f"round {r}: deskguard verify {ours[-1] * 1e3:6.0f} ms | checkdmarc "
                f"{theirs[-1] * 1e3:6.0f} ms | ratio {ours[-1] / theirs[-1]:.2f}x | "
                f"deskguard --help {helps[-1] * 1e3:4.0f} ms"
            )
    o, t, h = statistics.median(ours), statistics.median(theirs), statistics.median(helps)
    print(f"median: deskguard verify {o * 1e3:.0f} ms, checkdmarc {t * 1e3:.0f} ms")
    print(f"ratio deskguard / checkdmarc (median): {o / t:.2f}x (target <= 0.30)")
    print(f"deskguard --help (median): {h * 1e3:.0f} ms (target < 150)")
    cpu = {k: statistics.median(v[1:]) * 1e3 for k, v in CPU.items()}  # [0]: the warm-up run
    print(
        f"CPU per process (median): deskguard verify {cpu['verify']:.0f} ms, checkdmarc "
        f"{cpu['checkdmarc']:.0f} ms, deskguard --help {cpu['--help']:.0f} ms; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
