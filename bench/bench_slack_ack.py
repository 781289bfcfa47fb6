"""Time to the ack: N concurrent signed ``/verify-vendor`` requests against the real app.

Run by hand: ``.venv/bin/python bench/bench_slack_ack.py [--requests 200]``. The app runs in HTTP
mode on a free port with the recording Slack server (tests/support/slack_api.py) and the test DNS
server (tests/support/dnsserver.py, tests/fixtures zones). Prints p50 / p99 / max time from
sending a request to its HTTP response (the ack; Slack's limit is 3 s, the target p99 < 300 ms),
and how long until every report reached its response_url.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.dns import Resolver  # noqa: E402
from bot.registry import load_registry  # noqa: E402
from tests.support import slack_signing as sig  # noqa: E402
from tests.support.dnsserver import TestDNSServer  # noqa: E402
from tests.support.slack_app import running_app  # noqa: E402

TARGETS = [
    "northwind-software.com",
    "northwind-support.com",
    "dana.whitfield@northwind-software.com",
    "contosopayroll.com",
    "Northwind",
    "unrelated-example.org",
    "help",
]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _serve_app(conn: Connection, requests: int) -> None:
    """Child process: the app, the recording Slack server and the DNS server."""
    with TestDNSServer() as dns:
        for zone in sorted((ROOT / "tests" / "fixtures").glob("*.zone")):
            dns.load_zone_file(zone)
        resolver = Resolver([dns.address], timeout=0.5)
        registry = load_registry(ROOT / "tests" / "fixtures" / "vendors.yml")
        async with running_app(resolver, registry) as app:
            await app.command("help", token="warmup")  # first request: Bolt's auth.test
            await app.slack.wait_for("response_url")
            conn.send((app.url, app.slack.response_url("")))
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # the load has been sent
            began = time.perf_counter()
            await app.slack.wait_for("response_url", requests + 1, within=120)
            conn.send(time.perf_counter() - began)


def _child(conn: Connection, requests: int) -> None:
    asyncio.run(_serve_app(conn, requests))


async def _load(url: str, response_url: str, requests: int) -> list[float]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> float:
            body = sig.command_body(
                TARGETS[i % len(TARGETS)], response_url=f"{response_url}b{i}", user=f"U{i}"
            )
            headers = sig.signed_headers(body)
            start = time.perf_counter()
            async with session.post(url, data=body.encode(), headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            return time.perf_counter() - start

        return list(await asyncio.gather(*(one(i) for i in range(requests))))


def main(requests: int) -> None:
    """The app runs in its own process (as in production); this process is the load."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_child, args=(child, requests))
    process.start()
    try:
        url, response_url = parent.recv()
        began = time.perf_counter()
        acks = asyncio.run(_load(url, response_url, requests))
        load_time = time.perf_counter() - began
        parent.send("sent")
        delivered = parent.recv()
    finally:
        process.join(30)
    ms = [a * 1000 for a in acks]
    print(
        f"{requests} concurrent signed /verify-vendor requests (HTTP mode, app in its own process)"
    )
    print(
        f"time to ack: p50 {statistics.median(ms):.1f} ms, p99 {_percentile(ms, 99):.1f} ms, "
        f"max {max(ms):.1f} ms (target p99 < 300 ms)"
    )
    print(
        f"all acks after {load_time * 1000:.0f} ms; all {requests} reports delivered to "
        f"response_url {delivered * 1000:.0f} ms after the last ack"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    main(parser.parse_args().requests)
