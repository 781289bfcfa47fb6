"""Benchmark: messages per second through a real Postfix, without and with the deskguard milter.

    .venv/bin/python bench/bench_postfix.py [--messages 300] [--concurrency 8] [--warmup 10]

Needs root and Debian's ``postfix`` (and the ``milter`` extra for the second run). Everything runs
on 127.0.0.1: this process holds the test DNS server (tests/fixtures zones plus a DKIM key), the
capture SMTP server Postfix relays to, and the load (``--concurrency`` smtplib clients, one
connection per message). A private Postfix (tests/support/postfix.py) is started for each run;
the milter is a real ``python -m bot milter`` subprocess, reached over loopback TCP and then over a
unix socket. Messages alternate between genuine
DKIM-signed vendor mail and spoofs (the milter tags those), ~5 KB each.

Printed per run: submission rate (the milter works inside the SMTP transaction, so this is the
rate the sending side sees), delivery rate (first submission to last message at the capture
server), p50/p95 submission latency, and the ratio of each milter run to the run without. The
machine may be shared: run it more than once.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import smtplib  # noqa: E402

from bot.runtime.milter import milter_available  # noqa: E402
from tests.support.dnsserver import TestDNSServer  # noqa: E402
from tests.support.mailsign import build, rsa_key, sign  # noqa: E402
from tests.support.postfix import Capture, PrivatePostfix, can_run_postfix  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

NW = "northwind-software.com"
DANA = "Dana Whitfield <dana.whitfield@northwind-software.com>"
OUR_ID = "mx.example-corp.test"
BODY = "Hello,\r\n\r\nThe maintenance window is on Saturday.\r\n" + ("x" * 70 + "\r\n") * 70


def _messages(count: int, dns: TestDNSServer) -> list[bytes]:
    key = rsa_key(2048)
    dns.add(f"s1._domainkey.{NW}", "TXT", key.txt())
    out = []
    for i in range(count):
        msg = build(from_=DANA, subject=f"bench {i}", body=BODY)
        out.append(sign(msg, domain=NW, selector="s1", key=key) if i % 2 == 0 else msg)
    return out


def _submit(port: int, raw: bytes) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.sendmail(f"dana.whitfield@{NW}", ["helpdesk@example-corp.test"], raw)
    return time.perf_counter() - started


def _start_milter(
    port: int, dns: TestDNSServer, workdir: Path, unix: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKGUARD_", "SLACK_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DESKGUARD_MILTER_SOCKET": f"unix:{unix}" if unix else f"inet:{port}@127.0.0.1",
            "DESKGUARD_REGISTRY": str(ROOT / "tests" / "fixtures" / "vendors.yml"),
            "DESKGUARD_DNS_NAMESERVERS": f"127.0.0.1:{dns.port}",
            "DESKGUARD_TRUSTED_AUTHSERV_IDS": OUR_ID,
            "DESKGUARD_DATABASE": str(workdir / "deskguard.sqlite3"),
            "DESKGUARD_LOG_LEVEL": "WARNING",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "milter"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=0o000,  # the unix socket must be writable by Postfix's smtpd (user postfix)
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if unix:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(str(unix))
            else:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the milter did not start")


def _run(
    label: str,
    messages: list[bytes],
    warmup: list[bytes],
    capture: Capture,
    concurrency: int,
    milter: str | None,
) -> float:
    with PrivatePostfix(None, relay_port=capture.port, milter=milter) as postfix:
        for raw in warmup:  # processes started, caches warm; not counted
            _submit(postfix.port, raw)
        capture.wait_for(lambda ms: len(ms) >= len(warmup))
        capture.messages.clear()
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            latencies = list(pool.map(lambda raw: _submit(postfix.port, raw), messages))
        submitted = time.perf_counter() - started
        delivered = capture.wait_for(lambda ms: len(ms) >= len(messages), timeout=600)
        total = time.perf_counter() - started
        tagged = sum(1 for m in delivered if str(m.message["Subject"]).startswith("[deskguard"))
        capture.messages.clear()
    rate = len(messages) / submitted
    latencies.sort()
    print(
        f"{label:14s} submitted {len(messages) / submitted:7.1f} msg/s   "
        f"delivered {len(messages) / total:7.1f} msg/s   "
        f"submit p50 {statistics.median(latencies) * 1000:6.1f} ms   "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:6.1f} ms   tagged {tagged}"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    reason = can_run_postfix()
    if reason:
        sys.exit(f"bench_postfix: {reason}")
    with TestDNSServer() as dns, tempfile.TemporaryDirectory() as tmp:
        for zone in sorted((ROOT / "tests" / "fixtures").glob("*.zone")):
            dns.load_zone_file(zone)
        messages = _messages(args.messages, dns)
        warmup = messages[: args.warmup]
        capture = Capture()
        capture.start()
        try:
            print(
                f"{args.messages} messages (~{len(messages[1]) // 1024} KB, half DKIM-signed, "
                f"half spoofed), {args.concurrency} concurrent SMTP clients, cpus={os.cpu_count()}"
            )
            plain = _run("postfix", messages, warmup, capture, args.concurrency, None)
            if not milter_available():
                print("postfix+milter   skipped: pymilter is not installed (the milter extra)")
                return
            Path(tmp).chmod(0o755)
            for label, unix in (("milter inet", None), ("milter unix", Path(tmp) / "milter.sock")):
                port = free_port()
                milter = _start_milter(port, dns, Path(tmp), unix)
                spec = f"unix:{unix}" if unix else f"inet:127.0.0.1:{port}"
                try:
                    rate = _run(label, messages, warmup, capture, args.concurrency, spec)
                finally:
                    milter.terminate()
                    milter.wait(timeout=30)
                print(f"ratio ({label} / without, submission rate): {rate / plain:.2f}")
        finally:
            capture.stop()


if __name__ == "__main__":
    main()
