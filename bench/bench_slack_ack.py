"""Time to the ack: N concurrent signed ``/verify-vendor`` requests against the real app.

Run by hand: ``.venv/bin/python bench/bench_slack_ack.py [--requests 200]``. The app runs in HTTP
mode in its own process; the recording Slack server (tests/support/slack_api.py) and the test DNS
server (tests/support/dnsserver.py, tests/fixtures zones) run in a second process, the load in a
third. Prints p50 / p99 / max time from
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

from bot.runtime.server import Mode, build_bolt_app, build_web_app, start_web_app  # noqa: E402
from bot.runtime.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.support import slack_signing as sig  # noqa: E402
from tests.support.dnsserver import TestDNSServer  # noqa: E402
from tests.support.slack_api import SlackApiRecorder  # noqa: E402
from tests.support.slack_app import BOT_TOKEN  # noqa: E402

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


async def _outside_world(conn: Connection, requests: int) -> None:
    """Child process 1: what is outside deskguard: Slack (recording server) and DNS."""
    with TestDNSServer() as dns:
        for zone in sorted((ROOT / "tests" / "fixtures").glob("*.zone")):
            dns.load_zone_file(zone)
        async with SlackApiRecorder() as slack:
            conn.send((dns.nameserver, slack.base_url, slack.response_url("")))
            await slack.wait_for("response_url", 1, within=60)  # the warm-up
            conn.send("warm")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # the load has been sent
            began = time.perf_counter()
            await slack.wait_for("response_url", requests + 1, within=120)
            conn.send(time.perf_counter() - began)


async def _serve_app(conn: Connection, nameserver: str, api_url: str) -> None:
    """Child process 2: deskguard alone, as in production."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=sig.SECRET,
        slack_api_url=api_url,
        dns_nameservers=nameserver,
        dns_timeout=0.5,
        registry=ROOT / "tests" / "fixtures" / "vendors.yml",
    )
    services = build_services(settings)
    bolt = build_bolt_app(services, Mode.HTTP)
    runner, port = await start_web_app(build_web_app(services, bolt), "127.0.0.1", 0)
    try:
        conn.send(f"http://127.0.0.1:{port}/slack/events")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # done
    finally:
        await runner.cleanup()


def _world_child(conn: Connection, requests: int) -> None:
    asyncio.run(_outside_world(conn, requests))


def _app_child(conn: Connection, nameserver: str, api_url: str) -> None:
    asyncio.run(_serve_app(conn, nameserver, api_url))


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
    """deskguard runs in its own process; Slack and DNS in another; this process is the load."""
    world, world_end = multiprocessing.Pipe()
    app, app_end = multiprocessing.Pipe()
    world_process = multiprocessing.Process(target=_world_child, args=(world_end, requests))
    world_process.start()
    nameserver, api_url, response_url = world.recv()
    app_process = multiprocessing.Process(target=_app_child, args=(app_end, nameserver, api_url))
    app_process.start()
    try:
        url = app.recv()
        warm = sig.command_body("help", response_url=f"{response_url}warmup")
        asyncio.run(_post_once(url, warm))  # first request: Bolt's auth.test
        world.recv()
        began = time.perf_counter()
        acks = asyncio.run(_load(url, response_url, requests))
        load_time = time.perf_counter() - began
        world.send("sent")
        delivered = world.recv()
        app.send("done")
    finally:
        app_process.join(30)
        world_process.join(30)
    ms = [a * 1000 for a in acks]
    print(
        f"{requests} concurrent signed /verify-vendor requests (HTTP mode; deskguard, "
        "Slack+DNS and the load each in their own process)"
    )
    print(
        f"time to ack: p50 {statistics.median(ms):.1f} ms, p99 {_percentile(ms, 99):.1f} ms, "
        f"max {max(ms):.1f} ms (target p99 < 300 ms)"
    )
    print(
        f"all acks after {load_time * 1000:.0f} ms; all {requests} reports delivered to "
        f"response_url {delivered * 1000:.0f} ms after the last ack"
    )


async def _post_once(url: str, body: str) -> None:
    headers = sig.signed_headers(body)
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers=headers) as response,
    ):
        assert response.status == 200, response.status


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    main(parser.parse_args().requests)
