"""Benchmark: the inbound gate under load, from POST to triage card.

    .venv/bin/python bench/bench_inbound.py [--messages 1000] [--concurrency 100] [--redis-db 9]
                                            [--timeout 300] [--scenarios A,B,A2,C,memory]

Everything runs on 127.0.0.1. This process holds the test DNS server (tests/fixtures zones plus
the DKIM keys of the signed messages), the recording Slack server and the load; deskguard runs as
real ``python -m bot serve`` subprocesses. ``--messages`` varied raw messages (5-50 KB bodies:
genuine DKIM-signed vendor mail, spoofs, lookalikes, broken signatures) are signed for the gate and
POSTed concurrently; a scenario ends when every accepted message's card (matched by the job id in
its context line) has reached the recording server. The load and the Slack stand-in are the lean
ones in bench/leanhttp.py (requests built as bytes before the clock starts, kept-alive sockets, an
asyncio.Protocol responder): they share the cores with the gate, so what they cost per message is
printed ("harness"), beside redis-server's CPU per message and the main process's user/system.

Scenarios: A one process with one worker on the Redis queue; B two processes with one worker each
sharing the Redis queue (POSTs alternate between them; no card twice, none missing); A2 one process
with two (asyncio) workers; C one process with one worker on the SQLite queue. Each process first
gets one message of every kind (imports, DNS cache, connections), not counted.

Then queue memory per message: the gate with no worker running; Redis ``MEMORY USAGE`` of the
stream (and of every key in the database) divided by the messages queued. Also printed: server CPU
per message, peak RSS, load average (the machine may be shared: CPU ms/msg is the steadier figure).
Redis database ``--redis-db`` is flushed before and after every scenario. With
BENCH_INBOUND_PROFILE=DIR each server runs under cProfile and leaves DIR/NAME.prof (wall clock;
with BENCH_INBOUND_PROFILE_CLOCK=cpu its main thread's CPU time, see bench/cpuprofile.py).

Then the gate ratios (issue 13): server CPU per message of C (the whole gate on SQLite: HTTP,
queue, worker, verification, Slack card; the server's process and every process under it, the
verification workers included, split as main + workers) divided by the CPU per message of
verification alone (``Verifier.verify_message`` in this process over the same messages, same DNS
server, warm cache; target <= 1.3), and the throughput of B (two processes) divided by A (one
process; target >= 1.8). Beside them, the HTTP floor: the CPU per message of a minimal aiohttp
gate that only reads the message and posts a card-sized JSON (``http_floor``), the least any gate
on aiohttp adds to verification.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.leanhttp import LeanSlack, build_request, post_raw  # noqa: E402
from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign  # noqa: E402
from bot.runtime.web_ops import INBOUND_PATH  # noqa: E402
from tests.support.dnsserver import TestDNSServer  # noqa: E402
from tests.support.mailsign import SigningKey, build, prepend, publish, rsa_key  # noqa: E402
from tests.support.mailsign import sign as dkim_sign  # noqa: E402
from tests.support.signed import received  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
REGISTRY = ROOT / "tests" / "fixtures" / "vendors.yml"
SECRET = "bench-gate-secret"
CHANNEL = "CTRIAGE"
BOT_TOKEN = "xoxb-1111-2222-benchtoken"
OUR_MX = "mx.example-corp.test"
STREAM = "deskguard:inbound"

WORDS = (
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
)
ASKS = (
    "Please reset the MFA for our admin account before the patch goes out.",
    "We need a password reset to verify the fix; call us at +1 213 555 0199.",
    "Install the attached remote support tool so we can apply the update.",
    "The maintenance window is confirmed for Saturday; no action needed.",
    "Please find the quarterly invoice attached.",
)


# --- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """One kind of message: who it claims to be, who signed it, where it came from."""

    kind: str
    from_: str
    signer: str | None  # DKIM d= (None: unsigned)
    ip: str  # the connecting IP our MX recorded
    helo: str
    tamper: bool = False  # a line added to the body after signing (a broken signature)


SENDERS = (
    Sender(
        "genuine",
        "Dana Whitfield <dana.whitfield@northwind-software.com>",
        "northwind-software.com",
        "192.0.2.25",
        "mx.northwind-software.com",
    ),
    Sender(
        "genuine",
        "Northwind Ops <ops@northwind.io>",
        "northwind.io",
        "192.0.2.26",
        "mx.northwind.io",
    ),
    Sender(
        "genuine",
        "Lee Park <lee.park@contosopayroll.com>",
        "contosopayroll.com",
        "198.51.100.7",
        "mail.contosopayroll.com",
    ),
    Sender(
        "spoofed",
        "Northwind Security <security@northwind-software.com>",
        None,
        "203.0.113.66",
        "mail.evil.example",
    ),
    Sender(
        "spoofed",
        "Northwind Security <security@northwind-software.com>",
        "unrelated-example.org",
        "203.0.113.67",
        "mail.unrelated-example.org",
    ),
    Sender(
        "lookalike",
        "Northwind Support <support@northwind-support.com>",
        "northwind-support.com",
        "203.0.113.5",
        "mx.northwind-support.com",
    ),
    Sender(
        "lookalike",
        "Northwind Software <it@unrelated-example.org>",
        "unrelated-example.org",
        "203.0.113.68",
        "mail.unrelated-example.org",
    ),
    Sender(
        "broken",
        "Dana Whitfield <dana.whitfield@northwind-software.com>",
        "northwind-software.com",
        "192.0.2.25",
        "mx.northwind-software.com",
        tamper=True,
    ),
)


@dataclass(frozen=True)
class Sample:
    """One raw message and what it is meant to be."""

    raw: bytes
    kind: str


def _key() -> SigningKey:
    return rsa_key(2048, "bench-inbound")


def load_zones(server: TestDNSServer) -> None:
    """The fixture zones and the signers' DKIM keys (selector s1)."""
    for zone in sorted((ROOT / "tests" / "fixtures").glob("*.zone")):
        server.load_zone_file(zone)
    for signer in sorted({s.signer for s in SENDERS if s.signer}):
        publish(server, signer, "s1", _key())


def _body(rng: random.Random, size: int) -> str:
    lines = [rng.choice(ASKS)]
    total = len(lines[0])
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(12))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def make_messages(count: int, seed: int = 6) -> list[Sample]:
    """``count`` delivered messages, cycling through :data:`SENDERS`, bodies of 5-50 KB."""
    rng = random.Random(seed)
    key = _key()
    samples = []
    for i in range(count):
        sender = SENDERS[i % len(SENDERS)]
        domain = sender.from_.rpartition("@")[2].rstrip(">")
        msg = build(
            from_=sender.from_,
            subject=f"[{i}] {rng.choice(WORDS).title()} {rng.choice(WORDS)} {rng.choice(WORDS)}",
            body=_body(rng, rng.randint(5 * 1024, 50 * 1024)),
        ).replace(b"<mailsign-1@northwind-software.com>", f"<bench-{i}@{domain}>".encode())
        if sender.signer:
            msg = dkim_sign(msg, domain=sender.signer, selector="s1", key=key)
        if sender.tamper:
            msg += b"P.S. Our bank details have changed; see the new invoice.\r\n"
        mail_from = f"bounce@{sender.signer or domain}"
        msg = prepend(msg, f"Return-Path: <{mail_from}>", received(OUR_MX, sender.helo, sender.ip))
        samples.append(Sample(msg, sender.kind))
    return samples


# --- deskguard serve subprocesses -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One ``python -m bot serve`` subprocess."""

    process: asyncio.subprocess.Process
    base: str
    log: Path

    def _proc(self, name: str) -> str:
        return Path(f"/proc/{self.process.pid}/{name}").read_text()

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the server and every process under it (the fork
        server and the verification workers it starts) plus what its finished children used."""
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds so far of each process in the server's tree, by pid."""
        tick = os.sysconf("SC_CLK_TCK")
        cpu = {}
        for pid in _process_tree(self.process.pid):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                cpu[pid] = sum(int(f) for f in fields[11:15]) / tick
        return cpu

    def peak_rss_mib(self) -> float:
        """VmHWM: the process's peak resident set."""
        for line in self._proc("status").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (by parent pid, from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


async def start_server(
    workdir: Path,
    name: str,
    *,
    slack: LeanSlack,
    dns: TestDNSServer,
    redis_url: str | None,
    triage: bool = True,
    workers: int = 1,
) -> Server:
    """Start ``deskguard serve`` and wait until /readyz answers 200."""
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "bench-slack-signing-secret",
        "DESKGUARD_SLACK_API_URL": slack.base_url,
        "DESKGUARD_HOST": "127.0.0.1",
        "DESKGUARD_PORT": str(port),
        "DESKGUARD_INBOUND_SECRET": SECRET,
        "DESKGUARD_DNS_NAMESERVERS": dns.nameserver,
        "DESKGUARD_REGISTRY": str(REGISTRY),
        "DESKGUARD_TRUSTED_AUTHSERV_IDS": OUR_MX,
        "DESKGUARD_DATABASE": str(workdir / "state.sqlite3"),
        "DESKGUARD_WORKERS": str(workers),
        "DESKGUARD_LOG_LEVEL": "WARNING",
        "DESKGUARD_LOG_FORMAT": "text",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    if triage:
        env["DESKGUARD_TRIAGE_CHANNEL"] = CHANNEL
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        profile = os.environ.get("BENCH_INBOUND_PROFILE")  # a folder: cProfile each server
        prefix = ["-m", "cProfile", "-o", f"{profile}/{name}.prof"] if profile else []
        if profile and os.environ.get("BENCH_INBOUND_PROFILE_CLOCK") == "cpu":
            prefix = [str(ROOT / "bench" / "cpuprofile.py"), f"{profile}/{name}.prof"]
        process = await asyncio.create_subprocess_exec(
            str(PYTHON),
            *prefix,
            "-m",
            "bot",
            "serve",
            cwd=workdir,  # no stray .env is read
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited {process.returncode}:\n{server.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{server.base}/readyz") as resp:
                    if resp.status == 200:
                        return server
            await asyncio.sleep(0.05)
    await stop_server(server)
    raise RuntimeError(f"{name} not ready after 30 s:\n{server.log_tail()}")


async def stop_server(server: Server) -> int:
    """SIGTERM, wait for a graceful exit (SIGKILL after 20 s); return the exit status."""
    process = server.process
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
    return int(process.returncode or 0)


# --- load -------------------------------------------------------------------------------------


@dataclass
class Load:
    """What the POSTs got back."""

    accepted: dict[str, float] = field(default_factory=dict)  # job id -> time of its 202
    refused: Counter[str] = field(default_factory=Counter)
    started: float = 0.0  # perf_counter when the first POST went out
    seconds: float = 0.0  # until the last answer


def prepare(bases: Sequence[str], samples: Sequence[Sample]) -> list[bytes]:
    """Every sample as a signed HTTP/1.1 POST to the gate, ``samples[i]`` to
    ``bases[i % len(bases)]``, ready to send (built before the clock starts)."""
    stamp = str(int(time.time()))
    requests = []
    for index, sample in enumerate(samples):
        host, port = _address(bases[index % len(bases)])
        headers = [(TIMESTAMP_HEADER, stamp), (SIGNATURE_HEADER, sign(SECRET, stamp, sample.raw))]
        requests.append(build_request(host, port, INBOUND_PATH, headers, sample.raw))
    return requests


def _address(base: str) -> tuple[str, int]:
    host, _, port = base.removeprefix("http://").partition(":")
    return host, int(port)


async def post_all(
    bases: Sequence[str],
    samples: Sequence[Sample],
    concurrency: int,
    load: Load,
    requests: Sequence[bytes] | None = None,
) -> None:
    """POST every sample to the gate (alternating over ``bases``), ``concurrency`` at a time, over
    kept-alive connections (``requests``: made by :func:`prepare` for these bases and samples)."""
    if requests is None:
        requests = prepare(bases, samples)

    def answered(index: int, status: int, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if status == 202 and data.get("id"):
            load.accepted[str(data["id"])] = time.perf_counter()
        else:
            load.refused[f"{status} {data.get('error')}"] += 1

    def failed(index: int, error: str) -> None:
        load.refused[error] += 1

    load.started = began = time.perf_counter()
    await post_raw([_address(b) for b in bases], requests, concurrency, answered, failed)
    load.seconds = time.perf_counter() - began


async def wait_until(done: Callable[[], bool], deadline: float) -> bool:
    """Poll ``done`` every 20 ms until it holds or ``deadline`` (perf_counter) passes."""
    while not done():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# --- scenarios --------------------------------------------------------------------------------


@dataclass
class Row:
    """One scenario's figures."""

    name: str
    sent: int
    accepted: int = 0
    refused: str = ""
    to_202s: float = float("nan")
    to_cards: float = float("nan")
    cards: int = 0
    duplicates: int = 0
    missing: int = 0
    latency: tuple[float, float, float] = (float("nan"),) * 3  # p50, p99, max: 202 -> card
    server_cpu: list[float] = field(default_factory=list)
    split: list[tuple[float, float]] = field(default_factory=list)  # (main process, the rest)
    cores_busy: float = 0.0
    server_rss: list[float] = field(default_factory=list)
    bench_cpu: float = 0.0
    redis_cpu: float | None = None  # redis-server's CPU seconds (every client's: it is shared)
    main_user_system: list[tuple[float, float]] = field(default_factory=list)  # CPU s per server
    left_in_queue: int | None = None
    exit_codes: list[int] = field(default_factory=list)
    load_avg: tuple[float, float] = (0.0, 0.0)
    verdicts: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.accepted / self.to_cards if self.to_cards == self.to_cards else float("nan")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _flush(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def _redis_cpu(redis_url: str) -> float:
    """redis-server's user + system CPU seconds so far (INFO cpu: the whole server)."""
    client = aioredis.from_url(redis_url)
    try:
        info = await client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    finally:
        await client.aclose()


async def _stream_length(redis_url: str) -> int:
    client = aioredis.from_url(redis_url)
    try:
        return int(await client.xlen(STREAM))
    finally:
        await client.aclose()


def _machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _cores_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total * (os.cpu_count() or 1) if total else 0.0


def _user_system(pid: int) -> tuple[float, float]:
    """User and system CPU seconds so far of process ``pid`` (its own, not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def warm_up(servers: Sequence[Server], slack: LeanSlack, samples: Sequence[Sample]) -> None:
    """One message of every kind through every process (imports, DNS cache, connections)."""
    load = Load()
    n = len(SENDERS)
    for index, server in enumerate(servers):  # distinct messages: the gate refuses replays
        await post_all([server.base], samples[index * n : (index + 1) * n], n, load)
    ok = await wait_until(lambda: set(load.accepted) <= set(slack.cards), time.perf_counter() + 60)
    if not ok or load.refused:
        raise RuntimeError(f"warm-up failed: refused {dict(load.refused)}")
    slack.reset()


async def throughput(
    name: str,
    *,
    processes: int,
    workers: int,
    redis_url: str | None,
    slack: LeanSlack,
    dns: TestDNSServer,
    samples: Sequence[Sample],
    warm: Sequence[Sample],
    concurrency: int,
    budget: float,
) -> Row:
    """Start ``processes`` servers, POST every sample, wait for every card, stop the servers."""
    row = Row(name, len(samples))
    if redis_url:
        await _flush(redis_url)
    slack.reset()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as tmp:
        try:
            for index in range(processes):
                servers.append(
                    await start_server(
                        Path(tmp),
                        f"serve{index}",
                        slack=slack,
                        dns=dns,
                        redis_url=redis_url,
                        workers=workers,
                    )
                )
            await warm_up(servers, slack, warm)
            bases = [s.base for s in servers]
            requests = prepare(bases, samples)  # signed and laid out before the clock starts
            cpu_before = [s.cpu_seconds() for s in servers]
            tree_before = [s.cpu_by_process() for s in servers]
            main_before = [_user_system(s.process.pid) for s in servers]
            redis_before = await _redis_cpu(redis_url) if redis_url else None
            bench_before = _cpu_self()
            machine_before = _machine_cpu()
            load_before = os.getloadavg()[0]
            load = Load()
            began = time.perf_counter()
            deadline = began + budget
            try:
                await asyncio.wait_for(
                    post_all(bases, samples, concurrency, load, requests), budget
                )
            except TimeoutError:
                row.note = "POSTs timed out; "
            row.to_202s = load.seconds or time.perf_counter() - began
            row.accepted = len(load.accepted)
            row.refused = ", ".join(f"{k}: {v}" for k, v in load.refused.items())
            accepted = set(load.accepted)
            if not accepted:
                row.note += "nothing accepted; "
            elif await wait_until(lambda: all(j in slack.cards for j in accepted), deadline):
                row.to_cards = max(slack.cards[j] for j in accepted) - load.started
            else:
                row.note += f"timed out after {budget:.0f} s; "
            machine_after = _machine_cpu()
            row.bench_cpu = _cpu_self() - bench_before  # the load and the Slack stand-in
            if redis_url and redis_before is not None:
                row.redis_cpu = await _redis_cpu(redis_url) - redis_before
            main_after = [_user_system(s.process.pid) for s in servers]
            await asyncio.sleep(1.0)  # a late duplicate would arrive now
            row.cards = sum(1 for c in slack.find("chat.postMessage") if c.status == 200)
            row.duplicates = sum(slack.duplicates.values())
            row.missing = len(accepted - set(slack.cards))
            if slack.errors:
                row.note += f"Slack stand-in refused {len(slack.errors)}: {slack.errors[0]}; "
            waits = [slack.cards[j] - load.accepted[j] for j in accepted if j in slack.cards]
            if waits:
                row.latency = (
                    statistics.median(waits),
                    _percentile(waits, 99),
                    max(waits),
                )
            row.verdicts = dict(sorted(slack.verdicts.items()))
            row.server_cpu = [s.cpu_seconds() - b for s, b in zip(servers, cpu_before, strict=True)]
            for server, before in zip(servers, tree_before, strict=True):
                after = server.cpu_by_process()
                main_pid = server.process.pid
                main = after.get(main_pid, 0.0) - before.get(main_pid, 0.0)
                rest = sum(v - before.get(k, 0.0) for k, v in after.items() if k != main_pid)
                row.split.append((main, rest))
            row.main_user_system = [
                (ua - ub, sa - sb)
                for (ub, sb), (ua, sa) in zip(main_before, main_after, strict=True)
            ]
            row.cores_busy = _cores_busy(machine_before, machine_after)
            row.server_rss = [s.peak_rss_mib() for s in servers]
            row.load_avg = (load_before, os.getloadavg()[0])
            if redis_url:
                row.left_in_queue = await _stream_length(redis_url)
        finally:
            for server in servers:
                row.exit_codes.append(await stop_server(server))
            if redis_url:
                await _flush(redis_url)
    return row


@dataclass
class Memory:
    """Queue memory per message."""

    queued: int
    average_body: float
    stream_bytes: int
    all_keys_bytes: int
    used_memory_delta: int


async def queue_memory(
    redis_url: str, *, slack: LeanSlack, dns: TestDNSServer, samples: Sequence[Sample]
) -> Memory:
    """Enqueue through a gate with no worker; measure what Redis holds per message."""
    await _flush(redis_url)
    client = aioredis.from_url(redis_url)
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as tmp:
        server = await start_server(
            Path(tmp), "gate", slack=slack, dns=dns, redis_url=redis_url, triage=False
        )
        try:
            before = int((await client.info("memory"))["used_memory"])
            load = Load()
            await post_all([server.base], samples, 100, load)
            if load.refused:
                raise RuntimeError(f"gate refused: {dict(load.refused)}")
            await stop_server(server)  # its connections' query buffers are freed
            after = int((await client.info("memory"))["used_memory"])
            queued = int(await client.xlen(STREAM))
            stream = int(await client.memory_usage(STREAM, samples=0) or 0)
            total = 0
            async for key in client.scan_iter(count=1000):
                total += int(await client.memory_usage(key, samples=0) or 0)
        finally:
            await stop_server(server)
            await client.flushdb()
            await client.aclose()
    average = sum(len(s.raw) for s in samples) / len(samples)
    return Memory(queued, average, stream, total, after - before)


async def verification_alone(
    dns: TestDNSServer, samples: Sequence[Sample], rounds: int = 2
) -> float:
    """CPU ms per message of ``Verifier.verify_message`` alone, as the gate calls it (RAW
    arrival, our MX trusted), warm DNS cache; the best of ``rounds`` passes."""
    from bot.dns import Resolver
    from bot.mail.arrival import Arrival
    from bot.registry import load_registry
    from bot.settings import Settings
    from bot.verify.verifier import RegistryHolder, Verifier

    settings = Settings(registry=REGISTRY, trusted_authserv_ids=(OUR_MX,))
    resolver = Resolver([dns.address], timeout=3.0)
    verifier = Verifier(settings, resolver, RegistryHolder(load_registry(REGISTRY)))

    async def one_pass() -> None:
        for sample in samples:
            await verifier.verify_message(sample.raw, arrival=Arrival.RAW)

    await one_pass()  # warm: imports, DNS cache
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        await one_pass()
        best = min(best, time.process_time() - started)
    return best / len(samples) * 1000


def http_floor(samples: Sequence[Sample], rounds: int = 2) -> float:
    """CPU ms per message of the least a gate built on aiohttp does: a minimal gate (its own
    thread and event loop) reads each raw message POSTed to it, POSTs a card-sized JSON to a
    Slack stand-in with an aiohttp client and answers 202. Only the minimal gate's thread is
    counted (the load and the Slack stand-in run in another thread): no queue, no
    verification, no card building: what the gate cannot go under with aiohttp on both ends."""
    card = json.dumps(
        {
            "channel": CHANNEL,
            "text": "deskguard: inbound email",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 300}}] * 8,
        }
    ).encode()
    gate_port, slack_port = _free_port(), _free_port()
    gate_cpu: list[float] = []
    ready = threading.Event()
    stop: list[asyncio.AbstractEventLoop] = []

    async def gate_main() -> None:
        session = aiohttp.ClientSession()
        slack = f"http://127.0.0.1:{slack_port}/api/chat.postMessage"

        async def inbound(request: web.Request) -> web.Response:
            await request.read()
            headers = {"Content-Type": "application/json; charset=utf-8"}
            async with session.post(slack, data=card, headers=headers) as resp:
                await resp.json()
            return web.json_response({"ok": True, "id": "1"}, status=202)

        async def cpu(request: web.Request) -> web.Response:
            return web.json_response({"cpu": time.thread_time()})

        app = web.Application()
        app.router.add_post("/inbound", inbound)
        app.router.add_get("/cpu", cpu)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", gate_port).start()
        stop.append(asyncio.get_running_loop())
        ready.set()
        try:
            await asyncio.Event().wait()
        finally:
            await session.close()
            await runner.cleanup()

    def gate_thread() -> None:
        with contextlib.suppress(asyncio.CancelledError, RuntimeError):
            asyncio.run(gate_main())

    async def load() -> float:
        async def post_message(request: web.Request) -> web.Response:
            await request.read()
            return web.json_response({"ok": True, "channel": CHANNEL, "ts": "1.000001"})

        app = web.Application()
        app.router.add_post("/api/chat.postMessage", post_message)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", slack_port).start()
        base = f"http://127.0.0.1:{gate_port}"
        best = float("inf")
        try:
            async with aiohttp.ClientSession() as session:

                async def gate_cpu_now() -> float:
                    async with session.get(f"{base}/cpu") as resp:
                        return float((await resp.json())["cpu"])

                for round_ in range(rounds + 1):
                    before = await gate_cpu_now()
                    for sample in samples:
                        async with session.post(f"{base}/inbound", data=sample.raw) as resp:
                            await resp.read()
                    used = await gate_cpu_now() - before
                    if round_:  # the first round warms up
                        best = min(best, used)
        finally:
            await runner.cleanup()
        return best

    thread = threading.Thread(target=gate_thread, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        gate_cpu.append(asyncio.run(load()))
    finally:
        loop = stop[0]
        for task in asyncio.all_tasks(loop):
            loop.call_soon_threadsafe(task.cancel)
        thread.join(10)
    return gate_cpu[0] / len(samples) * 1000


def print_ratios(
    rows: Sequence[Row], alone_ms: float | None, floor_ms: float | None = None
) -> None:
    """The gate's CPU over verification alone, and two processes over one."""
    by = {r.name.partition(":")[0]: r for r in rows}
    print()
    if alone_ms is not None:
        print(f"verification alone: {alone_ms:.2f} ms CPU/msg (this process, warm DNS cache)")
        if floor_ms is not None:
            print(
                f"HTTP floor (message in, card out; aiohttp both ends): {floor_ms:.2f} ms CPU/msg "
                f"= {floor_ms / alone_ms:.2f}x verification alone: the least any aiohttp gate "
                f"adds (best ratio possible {1 + floor_ms / alone_ms:.2f}x)"
            )
        gate = by.get("C")
        if gate is not None and gate.accepted:
            per_msg = sum(gate.server_cpu) / gate.accepted * 1000
            print(
                f"ratio gate (C, SQLite) CPU / verification alone: {per_msg / alone_ms:.2f}x "
                "(target <= 1.3)"
            )
    one, two = by.get("A"), by.get("B")
    if one is not None and two is not None and one.rate == one.rate and two.rate == two.rate:
        print(
            f"ratio two processes (B) / one (A) throughput: {two.rate / one.rate:.2f}x "
            f"(target >= 1.8; {os.cpu_count()} cores, shared)"
        )


# --- report -----------------------------------------------------------------------------------


def print_rows(rows: Sequence[Row]) -> None:
    header = (
        f"{'scenario':<34} {'accepted':>8} {'all 202s':>9} {'all cards':>10} {'msg/s':>7} "
        f"{'p50/p99/max 202->card (s)':>26} {'dup':>4} {'miss':>5} {'srv CPU ms/msg':>15}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        per_msg = sum(r.server_cpu) / r.accepted * 1000 if r.accepted else float("nan")
        lat = "/".join(f"{v:.2f}" for v in r.latency)
        print(
            f"{r.name:<34} {r.accepted:>8} {r.to_202s:>8.2f}s {r.to_cards:>9.2f}s "
            f"{r.rate:>7.1f} {lat:>26} {r.duplicates:>4} {r.missing:>5} {per_msg:>15.1f}"
        )
    print()
    for r in rows:
        rss = ", ".join(f"{v:.0f}" for v in r.server_rss)
        cpu = ", ".join(f"{v:.1f}" for v in r.server_cpu)
        split = ", ".join(
            f"{m / r.accepted * 1e3:.2f} + {w / r.accepted * 1e3:.2f}" for m, w in r.split
        )
        queue = "" if r.left_in_queue is None else f"; left in stream {r.left_in_queue}"
        print(
            f"{r.name}: cards {r.cards} {r.verdicts}; refused {{{r.refused}}}; server CPU {cpu} s "
            f"(ms/msg main process + verification workers: {split}); server peak RSS {rss} MiB; "
            f"bench-process CPU {r.bench_cpu:.1f} s; machine "
            f"{r.cores_busy:.2f} of {os.cpu_count()} cores busy; exit codes {r.exit_codes}"
            f"{queue}; load avg {r.load_avg[0]:.2f} -> {r.load_avg[1]:.2f}"
            + (f"; NOTE {r.note}" if r.note else "")
        )
    print()
    for r in rows:  # the steadier figures, per message: who spends what
        if not r.accepted:
            continue
        us = ", ".join(
            f"{u / r.accepted * 1e3:.2f} user + {s / r.accepted * 1e3:.2f} system"
            for u, s in r.main_user_system
        )
        redis = (
            ""
            if r.redis_cpu is None
            else f"; redis-server {r.redis_cpu / r.accepted * 1e3:.2f} ms CPU/msg (shared server)"
        )
        print(
            f"{r.name.partition(':')[0]}: main process ms/msg {us}; harness (load + Slack "
            f"stand-in, this process) {r.bench_cpu / r.accepted * 1e3:.2f} ms CPU/msg{redis}"
        )


def print_memory(m: Memory) -> None:
    print()
    print(f"queue memory ({m.queued} messages queued, no worker running, Redis):")
    lines = [
        ("average raw message", m.average_body, ""),
        (f"MEMORY USAGE {STREAM}", m.stream_bytes / m.queued, "per message"),
        (
            "MEMORY USAGE of every key in the db",
            m.all_keys_bytes / m.queued,
            "stream + replay guard",
        ),
        (
            "INFO used_memory delta",
            m.used_memory_delta / m.queued,
            "server-wide, other clients too",
        ),
    ]
    for label, value, note in lines:
        ratio = f"{value / m.average_body:6.3f}x" if note else ""
        print(f"  {label:<38} {value:9.0f} B  {ratio}  {note}".rstrip())


async def amain(args: argparse.Namespace) -> int:
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    made = time.perf_counter()
    samples = make_messages(args.messages)
    warm = make_messages(2 * len(SENDERS), seed=99)
    sizes = [len(s.raw) for s in samples]
    kinds = Counter(s.kind for s in samples)
    print(
        f"{len(samples)} messages in {time.perf_counter() - made:.1f} s: {dict(kinds)}; "
        f"{min(sizes)}-{max(sizes)} B, average {sum(sizes) / len(sizes) / 1024:.1f} KB"
    )
    rows: list[Row] = []
    with TestDNSServer() as dns:
        load_zones(dns)
        slack = LeanSlack()
        async with slack:
            common: dict[str, Any] = {
                "slack": slack,
                "dns": dns,
                "samples": samples,
                "warm": warm,
                "concurrency": args.concurrency,
                "budget": args.timeout,
            }
            plans: list[tuple[str, int, int, str | None]] = [
                ("A: 1 process x 1 worker, Redis", 1, 1, redis_url),
                ("B: 2 processes x 1 worker, Redis", 2, 1, redis_url),
                ("A2: 1 process x 2 workers, Redis", 1, 2, redis_url),
                ("C: 1 process x 1 worker, SQLite", 1, 1, None),
            ]
            chosen = {c.strip().upper() for c in args.scenarios.split(",")}
            for name, processes, workers, url in plans:
                if name.partition(":")[0] not in chosen:
                    continue
                print(f"running {name} ...", flush=True)
                row = await throughput(
                    name, processes=processes, workers=workers, redis_url=url, **common
                )
                rows.append(row)
            alone = floor = None
            if "C" in chosen:
                print("running verification alone ...", flush=True)
                alone = await verification_alone(dns, samples)
                floor = await asyncio.to_thread(http_floor, samples)
            memory = None
            if "MEMORY" in chosen:
                print("running queue memory ...", flush=True)
                memory = await queue_memory(redis_url, slack=slack, dns=dns, samples=samples)
    print()
    if rows:
        print_rows(rows)
        print_ratios(rows, alone, floor)
    if memory is not None:
        print_memory(memory)
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    bad = any(r.missing or r.duplicates or r.note or r.refused or any(r.exit_codes) for r in rows)
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--timeout", type=float, default=300.0, help="per scenario, seconds")
    parser.add_argument(
        "--scenarios", default="A,B,A2,C,memory", help="comma-separated subset to run"
    )
    sys.exit(asyncio.run(amain(parser.parse_args())))


if __name__ == "__main__":
    main()
