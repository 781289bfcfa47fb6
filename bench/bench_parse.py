"""Parsing hostile input: how long parse_message and the content scans take on the worst cases.

Run by hand: ``.venv/bin/python bench/bench_parse.py [--repeat 5]``. Prints the best time of
``--repeat`` runs for each case (60 nested forwards, a 25 MB message, 64 KB of random bytes,
5,000 headers, an HTML body, phone and risk scans over 100 KB of text).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.errors import InputError
from bot.mail.content import classify_request, find_phone_numbers
from bot.mail.message import parse_message
from tests.mail.mailbuild import eml, nested


def best(repeat: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def random_bytes() -> None:
    try:
        parse_message(random.Random(1).randbytes(64 * 1024))
    except InputError:
        return
    raise AssertionError("random bytes were accepted as a message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    forwards = nested(eml(), 60)
    big = eml(body="x" * (25 * 2**20 - 1024))
    many = eml(extra=[f"X-Filler-{i}: value {i}" for i in range(5000)])
    html = eml(body="<p>Call 1-8OO-555-0199</p>" * 20_000, content_type="text/html; charset=utf-8")
    text = "Please reset your password urgently, call 1-8OO-555-0199. " * 1800
    cases: list[tuple[str, Callable[[], object]]] = [
        ("60 nested forwards", lambda: parse_message(forwards, unwrap=True)),
        ("60 nested forwards, as arrived", lambda: parse_message(forwards)),
        (f"{len(big) / 2**20:.1f} MB message", lambda: parse_message(big)),
        ("64 KB random bytes (refused)", random_bytes),
        ("5,000 headers", lambda: parse_message(many)),
        (f"HTML body {len(html) // 1024} KB", lambda: parse_message(html)),
        ("phones in 100 KB", lambda: find_phone_numbers(text)),
        ("risk classes in 100 KB", lambda: classify_request("", text)),
    ]
    for name, job in cases:
        print(f"{name:32s} {best(args.repeat, job) * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
