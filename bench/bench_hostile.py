"""A hostile corpus through parse + verify: worst time and peak memory per case.

Run by hand: ``.venv/bin/python bench/bench_hostile.py [--only NAME] [--limit 180]``.

Each case is generated here (long runs of one character, many headers, huge fields, deep and
wide MIME, many DKIM signatures, 24 MB messages) and verified in a fresh subprocess with
``Verifier.verify_message`` (in process, no deadline: this measures the work itself) against the
DNS snapshot in examples/, so no network is used. Each case prints the verification time, the
peak memory of verification above the process at rest with the message already read
(``ru_maxrss``), and the peak of the parse alone as a multiple of the message size
(``tracemalloc``); a case still running after ``--limit`` seconds is stopped (``>limit``).
``--overhead`` compares one ordinary email verified in process and in a warm worker process
(bot.verify.sandbox, the deadline's cost per message).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GENUINE = ROOT / "examples" / "genuine-northwind.eml"
FROM = "Dana Whitfield <dana.whitfield@northwind-software.com>"


def _eml(
    body: bytes = b"Hello.\r\n",
    *,
    extra: list[bytes] | None = None,
    from_: bytes | None = None,
    content_type: bytes = b"text/plain; charset=utf-8",
) -> bytes:
    head = [
        b"Received: from mail.northwind-software.com (mail.northwind-software.com [192.0.2.5]) "
        b"by mx.corp.example with ESMTPS id 4Xy; Tue, 10 Nov 2026 09:30:02 +0000",
        b"From: " + (from_ if from_ is not None else FROM.encode()),
        b"To: helpdesk@corp.example",
        b"Subject: Quarterly maintenance",
        b"Date: Tue, 10 Nov 2026 09:30:00 +0000",
        b"Message-ID: <m1@northwind-software.com>",
        *(extra or []),
        b"MIME-Version: 1.0",
        b"Content-Type: " + content_type,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _deep_mime(levels: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nleaf\r\n"
    for level in range(levels):
        b = f"b{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary="
            + b
            + b"\r\n\r\n--"
            + b
            + b"\r\n"
            + body
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    head, _, rest = body.partition(b"\r\n\r\n")
    return _eml(rest, content_type=head.split(b": ", 1)[1])


def _wide_mime(parts: int) -> bytes:
    chunk = b"--wide\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return _eml(chunk * parts + b"--wide--\r\n", content_type=b"multipart/mixed; boundary=wide")


def _many_signatures(count: int, body_mb: int) -> bytes:
    raw = GENUINE.read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.lower().startswith(b"dkim-signature"))
    end = start + 1
    while end < len(lines) and lines[end][:1] in (b" ", b"\t"):
        end += 1
    signature = b"\r\n".join(lines[start:end])
    filler = (b"Maintenance notes line for the body hash. " * 2 + b"\r\n") * (body_mb * 2**20 // 88)
    return b"\r\n".join([signature] * count + lines) + b"\r\n\r\n" + body + filler


def _base64_body(size: int) -> bytes:
    import base64

    raw = base64.encodebytes(b"Reset your password now. " * (size * 3 // 4 // 25))
    return _eml(
        raw.replace(b"\n", b"\r\n"),
        extra=[b"Content-Transfer-Encoding: base64"],
    )


def _forwarded_base64(size: int, depth: int) -> bytes:
    import base64

    inner = _short_lines(size)
    for level in range(depth):
        encoded = base64.encodebytes(inner).replace(b"\n", b"\r\n")
        b = f"f{level}".encode()
        inner = _eml(
            b"--" + b + b"\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64"
            b"\r\nContent-Disposition: attachment; filename=o.eml\r\n\r\n"
            + encoded
            + b"\r\n--"
            + b
            + b"--\r\n",
            content_type=b"multipart/mixed; boundary=" + b,
            from_=b"Ana <ana@corp.example>",
        )
    return inner


def _short_lines(size: int) -> bytes:
    return _eml(b"ab\r\n" * (size // 4))


CASES: dict[str, Callable[[], bytes]] = {
    "dashes 30,000 (body)": lambda: _eml(b"-" * 30_000),
    "dashes 200,000 (body)": lambda: _eml(b"-" * 200_000),
    "blank lines 200,000": lambda: _eml(b"\r\n" * 200_000),
    "spaces 1,000,000 (body)": lambda: _eml(b" " * 1_000_000),
    "digits 200,000 (body)": lambda: _eml(b"1" * 200_000),
    "'0-' x 100,000 (body)": lambda: _eml(b"0-" * 100_000),
    "display name 60 KB": lambda: _eml(
        from_=b"Dana " * 12_000 + b"<dana.whitfield@northwind-software.com>"
    ),
    "From of 60,000 '<'": lambda: _eml(from_=b"<" * 60_000),
    "Reply-To 20 x 20K words": lambda: _eml(
        extra=[b"Reply-To: " + b"word " * 20_000 + b"<a@b.example>" for _ in range(20)]
    ),
    "Content-Type: open quote, 100K ';'": lambda: _eml(
        b'--b\r\nContent-Type: text/plain; name="' + b";" * 100_000 + b"\r\n\r\nx\r\n--b--\r\n",
        content_type=b"multipart/mixed; boundary=b",
    ),
    "2,000 Received of 4,000 ':'": lambda: _eml(
        extra=[b"Received: from x (" + b":" * 4000 + b") by y" for _ in range(2000)]
    ),
    "5,000 headers": lambda: _eml(extra=[f"X-Filler-{i}: v{i}".encode() for i in range(5000)]),
    "Subject of 100,000 encoded words": lambda: _eml(
        extra=[b"X-Note: " + b"=?utf-8?q?a?= " * 100_000]
    ),
    "one header folded 200,000 times": lambda: _eml(extra=[b"X-Fold: a" + b"\r\n b" * 200_000]),
    "24 MB header block: 'X: y' lines": lambda: _eml(extra=[b"X: y"] * (24 * 2**20 // 6)),
    "24 MB header block: stray lines": lambda: _eml(extra=[b"yy"] * (24 * 2**20 // 4)),
    "MIME 200 levels deep": lambda: _deep_mime(200),
    "MIME 20,000 parts wide": lambda: _wide_mime(20_000),
    "HTML 500,000 nested <div>": lambda: _eml(
        b"<div>" * 500_000, content_type=b"text/html; charset=utf-8"
    ),
    "HTML '<!--' x 200,000": lambda: _eml(
        b"<!--" * 200_000, content_type=b"text/html; charset=utf-8"
    ),
    "HTML '</' x 200,000": lambda: _eml(b"</" * 200_000, content_type=b"text/html; charset=utf-8"),
    "20 DKIM signatures, 5 MB body": lambda: _many_signatures(20, 5),
    "24 MB of short lines": lambda: _short_lines(24 * 2**20),
    "24 MB base64 text body": lambda: _base64_body(24 * 2**20),
    "forwards 3 deep, base64, ~20 MB": lambda: _forwarded_base64(8 * 2**20, 3),
}


def _run_case(name: str, path: Path) -> dict[str, float | str]:
    from bot.dns import Resolver, Snapshot
    from bot.errors import InputError
    from bot.registry import RegistryHolder, load_registry
    from bot.settings import Settings
    from bot.verify.verifier import Verifier

    settings = Settings(
        registry=ROOT / "examples" / "vendors.yml",
        dns_cache_file=ROOT / "examples" / "dns-snapshot.json",
    )
    resolver = Resolver(snapshot=Snapshot.load(ROOT / "examples" / "dns-snapshot.json"))
    verifier = Verifier(settings, resolver, RegistryHolder(load_registry(settings.registry)))
    verifier.lookalikes()
    asyncio.run(verifier.verify_message(_eml()))  # warm: imports, caches
    data = path.read_bytes()
    rest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        report = asyncio.run(verifier.verify_message(data))
        verdict = f"{report.verdict.value} ({', '.join(sorted(set(report.codes()))[:4])})"
    except InputError as exc:
        verdict = f"refused: {type(exc).__name__}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parse_peak = _parse_peak(data)  # after: tracemalloc's own overhead must not count above
    return {
        "seconds": seconds,
        "peak_mb": (peak - rest) / 1024,
        "size_mb": len(data) / 2**20,
        "parse_x": parse_peak / max(1, len(data)),
        "verdict": verdict,
    }


def _parse_peak(data: bytes) -> int:
    """Peak bytes allocated while parsing ``data`` alone (tracemalloc)."""
    import tracemalloc

    from bot.errors import InputError
    from bot.mail.message import parse_message

    tracemalloc.start()
    with contextlib.suppress(InputError):
        parse_message(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument("--limit", type=float, default=180.0, help="seconds per case")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument(
        "--overhead", action="store_true", help="only compare in-process and worker verification"
    )
    args = parser.parse_args()
    if args.case:
        print(json.dumps(_run_case(args.case, Path(args.file))))
        return
    if args.overhead:
        _overhead()
        return
    worst_time, worst_mem, worst_parse = 0.0, 0.0, 0.0
    print(f"{'case':36s} {'size MB':>8s} {'seconds':>8s} {'peak MB':>8s} {'parse x':>8s}  result")
    for name in CASES:
        if args.only and args.only not in name:
            continue
        with tempfile.NamedTemporaryFile(suffix=".eml") as handle:
            handle.write(CASES[name]())
            handle.flush()
            row = _one(name, handle.name, args.limit)
        if row is None:
            print(f"{name:36s} {'':>8s} {'>' + str(int(args.limit)):>8s}  stopped")
            worst_time = max(worst_time, args.limit)
            continue
        if isinstance(row, str):
            print(f"{name:36s} crashed: {row[:70]}")
            continue
        worst_time = max(worst_time, float(row["seconds"]))
        worst_mem = max(worst_mem, float(row["peak_mb"]))
        worst_parse = max(worst_parse, float(row["parse_x"]))
        print(
            f"{name:36s} {row['size_mb']:8.2f} {row['seconds']:8.2f} {row['peak_mb']:8.1f} "
            f"{row['parse_x']:8.2f}  {str(row['verdict'])[:50]}"
        )
    print(
        f"worst time {worst_time:.2f} s, worst peak memory {worst_mem:.1f} MB, "
        f"worst parse peak {worst_parse:.2f} x the message size"
    )


def _overhead(rounds: int = 5, count: int = 30) -> None:
    """Per-message cost of verifying in a warm worker process against in process."""
    from bot.dns import Resolver, Snapshot
    from bot.registry import RegistryHolder, load_registry
    from bot.settings import Settings
    from bot.verify.sandbox import attach_verify_pool
    from bot.verify.verifier import Verifier

    settings = Settings(registry=ROOT / "examples" / "vendors.yml")
    resolver = Resolver(snapshot=Snapshot.load(ROOT / "examples" / "dns-snapshot.json"))
    verifier = Verifier(settings, resolver, RegistryHolder(load_registry(settings.registry)))
    data = GENUINE.read_bytes()

    async def per_message() -> float:
        started = time.perf_counter()
        for _ in range(count):
            await verifier.verify_message(data)
        return (time.perf_counter() - started) / count

    async def best() -> float:
        await per_message()  # warm
        return min([await per_message() for _ in range(rounds)])

    inline = asyncio.run(best())
    pool = attach_verify_pool(verifier)
    try:
        pooled = asyncio.run(best())
    finally:
        pool.close()
    print(
        f"in process {inline * 1000:.2f} ms/message, in a warm worker {pooled * 1000:.2f} "
        f"ms/message: {pooled / inline:.2f}x"
    )


def _one(name: str, path: str, limit: float) -> dict[str, float | str] | str | None:
    """Run one case in a fresh process: its row, the error line, or None when stopped."""
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name, "--file", path],
            capture_output=True,
            text=True,
            timeout=limit,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        return (exc.stderr.strip().splitlines() or ["?"])[-1]
    row: dict[str, float | str] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


if __name__ == "__main__":
    main()
