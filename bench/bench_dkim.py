"""Benchmark: deskguard's DKIM + ARC step against dkimpy on the same messages, and peak memory.

    .venv/bin/python bench/bench_dkim.py [--messages 500] [--rounds 3] [--before DIR]
    .venv/bin/python bench/bench_dkim.py --memory-mb 24 [--before DIR]

CPU: a seeded corpus like bench/bench_email.py's (6-54 KB bodies of short words): RSA-2048
signatures, ESP double signatures (Ed25519 + RSA-2048), ARC-sealed relays, unsigned spoofs and
tampered bodies. DNS is answered from memory for both (deskguard: a ``Snapshot`` resolver;
dkimpy: a dict ``dnsfunc``), start-up excluded. deskguard runs ``verify_dkim`` and ``verify_arc``
on one ``SignedMessage``; dkimpy verifies every DKIM-Signature of one ``dkim.DKIM`` object and
the chain with ``dkim.ARC``. Prints CPU ms per message (best of ``--rounds``), the ratio, and
whether every signature's pass/no-pass agrees. ``--before DIR`` also times the bot/mail/dkim.py and
arc.py found in DIR (e.g. ``git archive main | tar -x -C /tmp/before``).

Memory: a message of ``--memory-mb`` MB of short lines, DKIM-signed and ARC-sealed, verified in a
fresh process per implementation; prints its peak RSS above the process before the message was
read, as a multiple of the message size.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dkim  # noqa: E402

from bot.dns import Resolver, Snapshot  # noqa: E402
from bot.mail.arc import verify_arc  # noqa: E402
from bot.mail.dkim import verify_dkim  # noqa: E402
from bot.mail.signedmsg import HeaderError, SignedMessage  # noqa: E402
from tests.support.mailsign import arc_seal, build, ed25519_key, rsa_key, sign  # noqa: E402

VENDOR, ESP, RELAY = "northwind.example", "mailer.example", "relay.example"
WORDS = ["licence", "server", "update", "maintenance", "window", "invoice", "report", "review"]

Check = Callable[[bytes], list[bool]]


def _keys() -> dict[str, dict[str, list[str]]]:
    rsa, ed = rsa_key(2048, "bench"), ed25519_key("bench")
    return {
        f"s1._domainkey.{VENDOR}": {"TXT": [rsa.txt()]},
        f"ed._domainkey.{ESP}": {"TXT": [ed.txt()]},
        f"s2._domainkey.{ESP}": {"TXT": [rsa.txt()]},
        f"arc._domainkey.{RELAY}": {"TXT": [rsa.txt()]},
    }


def _body(rng: random.Random, size: int) -> str:
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def make_messages(count: int) -> list[bytes]:
    """The seeded corpus: five shapes in turn."""
    rng = random.Random(13)
    rsa, ed = rsa_key(2048, "bench"), ed25519_key("bench")
    out = []
    for i in range(count):
        msg = build(
            from_=f"Dana <dana@{VENDOR}>",
            subject=f"Update {i}",
            body=_body(rng, rng.randint(6 * 1024, 54 * 1024)),
        )
        shape = i % 5
        if shape in (0, 3, 4):
            msg = sign(msg, domain=VENDOR, selector="s1", key=rsa, canonicalize="relaxed/relaxed")
        if shape == 1:  # ESP double signature
            msg = sign(msg, domain=ESP, selector="s2", key=rsa, canonicalize="relaxed/simple")
            msg = sign(msg, domain=ESP, selector="ed", key=ed, canonicalize="relaxed/relaxed")
        if shape == 3:
            msg = arc_seal(msg, domain=RELAY, selector="arc", key=rsa, srv_id="mx." + RELAY)
        if shape == 4:  # tampered after signing
            msg = msg.replace(b"window", b"w1ndow", 1)
        out.append(msg)  # shape 2: an unsigned spoof
    return out


def ours(resolver: Resolver) -> Check:
    def check(raw: bytes) -> list[bool]:
        msg: bytes | SignedMessage
        try:
            msg = SignedMessage(raw)
        except HeaderError:
            msg = raw
        results = verify_dkim(msg, resolver)
        verify_arc(msg, resolver)
        return [r.result == "pass" for r in results]

    return check


def before(directory: Path, resolver: Resolver) -> Check:
    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(
            f"before_{name}", directory / "bot" / "mail" / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module

    old_dkim, old_arc = load("dkim"), load("arc")

    def check(raw: bytes) -> list[bool]:
        results = old_dkim.verify_dkim(raw, resolver)
        old_arc.verify_arc(raw, resolver)
        return [r.result == "pass" for r in results]

    return check


def dkimpy(records: dict[str, dict[str, list[str]]]) -> Check:
    txt = {name + ".": data["TXT"][0].encode() for name, data in records.items()}

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        return txt.get(name.decode())

    def check(raw: bytes) -> list[bool]:
        signer = dkim.DKIM(raw)
        count = sum(1 for n, _ in signer.headers if n.lower() == b"dkim-signature")
        out = []
        for index in range(count):
            try:
                out.append(bool(signer.verify(index, dnsfunc=dnsfunc)))
            except dkim.DKIMException:
                out.append(False)
        if b"ARC-Seal" in raw:
            dkim.ARC(raw).verify(dnsfunc=dnsfunc)
        return out

    return check


def _cpu(check: Check, messages: list[bytes], rounds: int) -> tuple[float, list[list[bool]]]:
    best, results = float("inf"), []
    for _ in range(rounds):
        started = time.process_time()
        results = [check(m) for m in messages]
        best = min(best, time.process_time() - started)
    return best * 1000 / len(messages), results


def run_cpu(args: argparse.Namespace) -> None:
    records = _keys()
    resolver = Resolver(snapshot=Snapshot(records))
    messages = make_messages(args.messages)
    impls: dict[str, Check] = {"deskguard": ours(resolver), "dkimpy": dkimpy(records)}
    if args.before:
        impls["deskguard before"] = before(Path(args.before), resolver)
    figures = {}
    for name, check in impls.items():
        check(messages[0])  # warm: imports, key parsing caches
        figures[name] = _cpu(check, messages, args.rounds)
    sizes = [len(m) for m in messages]
    average = sum(sizes) / len(sizes) / 1024
    print(f"messages: {len(messages)} ({min(sizes)}-{max(sizes)} B, {average:.1f} KB avg)")
    base = figures["dkimpy"][0]
    for name, (ms, _) in figures.items():
        print(f"{name:18s} {ms:7.3f} ms CPU/msg  ({base / ms:5.2f}x dkimpy's speed)")
    if args.before:
        print(
            f"speed-up over before: {figures['deskguard before'][0] / figures['deskguard'][0]:.2f}x"
        )
    ours_results, theirs = figures["deskguard"][1], figures["dkimpy"][1]
    differ = sum(1 for a, b in zip(ours_results, theirs, strict=True) if a != b)
    signatures = sum(len(r) for r in theirs)
    print(f"signatures: {signatures}; messages where pass/no-pass differs from dkimpy: {differ}")


# memory


def _memory_message(path: Path, megabytes: int) -> None:
    key = rsa_key(2048, "bench")
    lines = [f"line {i % 1000:03d} ok" for i in range(megabytes * 2**20 // 13)]
    msg = build(from_=f"Dana <dana@{VENDOR}>", body="\r\n".join(lines) + "\r\n")
    msg = sign(msg, domain=VENDOR, selector="s1", key=key, canonicalize="relaxed/relaxed")
    msg = arc_seal(msg, domain=RELAY, selector="arc", key=key, srv_id="mx." + RELAY)
    path.write_bytes(msg)
    path.with_suffix(".dns.json").write_text(json.dumps(_keys()))  # keys are made per process


def _status_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process; ru_maxrss would carry the parent's peak
    across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(path: Path, impl: str, before_dir: str | None) -> None:
    records = json.loads(path.with_suffix(".dns.json").read_text())
    resolver = Resolver(snapshot=Snapshot(records))
    check = before(Path(before_dir), resolver) if impl == "before" else ours(resolver)
    check(build())  # imports and first-use allocations before the baseline
    idle = _status_kib("VmRSS")
    raw = path.read_bytes()
    loaded = _status_kib("VmRSS")
    started = time.process_time()
    passes = check(raw)
    cpu = time.process_time() - started
    print(
        json.dumps(
            {
                "idle": idle,
                "loaded": loaded,
                "peak": _status_kib("VmHWM"),
                "cpu": cpu,
                "passes": passes,
            }
        )
    )


def run_memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.eml"
        _memory_message(path, args.memory_mb)
        size = path.stat().st_size
        print(f"message: {size / 2**20:.1f} MiB of short lines, DKIM-signed and ARC-sealed")
        impls = ["ours"] + (["before"] if args.before else [])
        for impl in impls:
            cmd = [sys.executable, __file__, "--memory-child", str(path), "--impl", impl]
            if args.before:
                cmd += ["--before", args.before]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            got: dict[str, Any] = json.loads(done.stdout)
            above = (got["peak"] - got["idle"]) * 1024
            print(
                f"{'deskguard' if impl == 'ours' else 'before':10s} peak RSS above idle "
                f"{above / 2**20:8.1f} MiB = {above / size:5.2f}x the message "
                f"(message itself {(got['loaded'] - got['idle']) / 1024:.1f} MiB); "
                f"CPU {got['cpu']:.2f} s; DKIM pass: {got['passes']}"
            )


def main() -> None:
    """Parse arguments and run the CPU or the memory benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="a checkout whose bot/mail/dkim.py and arc.py to time")
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--impl", default="ours", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(Path(args.memory_child), args.impl, args.before)
    elif args.memory_mb:
        run_memory(args)
    else:
        run_cpu(args)


if __name__ == "__main__":
    main()
