"""`deskguard verify --input FILE|-`: targets one per line, verified concurrently, printed in input
order; a progress line on stderr only when it is a terminal. The scheduler is driven directly to
count its work (how many run at once, how far it reads ahead); the rest runs the CLI as a
subprocess against the real test DNS server."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli.verify import WINDOW_PER_WORKER, in_order, names_a_file
from tests.support.cli import cli_env, run_cli
from tests.support.dnsserver import TestDNSServer

ROOT = Path(__file__).resolve().parents[1]


# --- the scheduler -------------------------------------------------------------------------


async def _items(n: int, pulled: list[int]) -> AsyncIterator[int]:
    for i in range(n):
        pulled.append(i)
        yield i


async def test_in_order_runs_n_at_once_and_keeps_input_order() -> None:
    running = peak = 0
    release: dict[int, asyncio.Event] = {i: asyncio.Event() for i in range(12)}

    async def work(i: int) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await release[i].wait()
        finally:
            running -= 1
        return f"r{i}"

    async def releaser() -> None:
        # finish them in reverse order within each group: later items complete first
        for i in reversed(range(12)):
            await asyncio.sleep(0)
            release[i].set()

    pulled: list[int] = []
    task = asyncio.create_task(releaser())
    out = [pair async for pair in in_order(_items(12, pulled), work, 3)]
    await task
    assert out == [(i, f"r{i}") for i in range(12)]
    assert peak == 3


async def test_in_order_reads_ahead_a_bounded_window() -> None:
    first_done = asyncio.Event()

    async def work(i: int) -> int:
        if i == 0:
            await first_done.wait()  # the head blocks: nothing can be printed yet
        return i

    pulled: list[int] = []
    gen = in_order(_items(10_000, pulled), work, 2)
    head = asyncio.create_task(anext(gen))
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(pulled) == WINDOW_PER_WORKER * 2  # not the whole input
    first_done.set()
    assert await head == (0, 0)
    await gen.aclose()


def test_what_names_a_file(tmp_path: Path) -> None:
    assert names_a_file("-")
    assert names_a_file("missing.eml") and names_a_file("MISSING.MSG") and names_a_file("x.txt")
    assert names_a_file("mail/x") and names_a_file("./northwind.io")
    assert not names_a_file("northwind.io")
    assert not names_a_file("https://northwind.io/login")
    assert not names_a_file("mailto:dana@northwind.io")
    assert not names_a_file("dana@northwind.io")


# --- end to end ----------------------------------------------------------------------------

TARGETS = [
    "northwind-support.com",  # suspicious
    "# a comment",
    "",
    "x@unrelated-example.org",  # unverified
    "northwind-software.com",  # verified
]


def test_input_file_results_in_input_order(tmp_path: Path, dns_server: TestDNSServer) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text("\n".join(TARGETS) + "\n")
    done = run_cli(["verify", "--input", str(listing), "--json", "-c", "3"], cli_env(dns_server))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal: no progress line
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["target"], r["verdict"]) for r in rows] == [
        ("northwind-support.com", "suspicious"),
        ("x@unrelated-example.org", "unverified"),
        ("northwind-software.com", "verified"),
    ]


def test_stdin_input_follows_command_line_targets(dns_server: TestDNSServer) -> None:
    stdin = "northwind-support.com\nnot a domain\nnorthwind-software.com\n"
    done = run_cli(
        ["verify", "northwind.io", "--input", "-", "--json"], cli_env(dns_server), stdin=stdin
    )
    assert done.returncode == 2  # one unusable line
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["target"] for r in rows] == [
        "northwind.io",
        "northwind-support.com",
        "northwind-software.com",
    ]
    (error,) = done.stderr.splitlines()
    assert error.startswith("deskguard: stdin:2: not a domain: ")


def test_input_lines_that_cannot_be_targets(tmp_path: Path, dns_server: TestDNSServer) -> None:
    listing = tmp_path / "t.txt"
    listing.write_text("-\n" + "a" * 10_000 + "\nnorthwind.io\n")
    done = run_cli(["verify", "--input", str(listing), "--json"], cli_env(dns_server))
    assert done.returncode == 2
    assert [json.loads(line)["target"] for line in done.stdout.splitlines()] == ["northwind.io"]
    first, second = done.stderr.splitlines()
    assert "t.txt:1" in first and "stdin" in first
    assert "t.txt:2" in second and "longer than 4096" in second
    assert len(second) < 300  # the over-long line is not echoed back


def test_input_problems_are_usage_errors(tmp_path: Path) -> None:
    missing = run_cli(["verify", "--input", str(tmp_path / "nope.txt")], cli_env())
    assert missing.returncode == 2
    assert missing.stderr.startswith("deskguard: --input ") and "nope.txt" in missing.stderr
    both = run_cli(["verify", "-", "--input", "-"], cli_env(), stdin="")
    assert both.returncode == 2 and "stdin" in both.stderr
    bad = run_cli(["verify", "northwind.io", "--concurrency", "0"], cli_env())
    assert bad.returncode == 2 and "--concurrency" in bad.stderr


def test_progress_line_only_on_a_terminal(tmp_path: Path, dns_server: TestDNSServer) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text("northwind-software.com\nnorthwind-support.com\nnorthwind.io\n")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "verify", "--input", str(listing), "--json"],
            stdout=subprocess.PIPE,
            stderr=follower,
            env=cli_env(dns_server),
            cwd=ROOT,
        )
        os.close(follower)
        follower = -1
        stdout, _ = proc.communicate(timeout=60)
        terminal = b""
        while select.select([leader], [], [], 0.5)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other side is closed
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert proc.returncode == 0
    assert len(stdout.decode().splitlines()) == 3  # stdout carries only the results
    text = terminal.decode()
    assert "deskguard: verified 3, 0 running" in text
    assert text.endswith("\r\033[K")  # the line is erased at the end


@pytest.mark.parametrize("fmt", ["text", "csv"])
def test_batch_formats_keep_order(tmp_path: Path, dns_server: TestDNSServer, fmt: str) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text("northwind-support.com\nnorthwind-software.com\n")
    done = run_cli(["verify", "-i", str(listing), "--format", fmt], cli_env(dns_server))
    assert done.returncode == 0, done.stderr
    first = done.stdout.index("northwind-support.com")
    second = done.stdout.index("northwind-software.com")
    assert first < second
