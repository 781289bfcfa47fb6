"""Where email verification spends its CPU: cProfile over bench_vs_mailauth's corpus.

    .venv/bin/python bench/profile_verify.py [--messages 300] [--top 25] [--sort tottime]

Worker-thread hops (``asyncio.to_thread``) are run inline here so that DKIM, SPF and ARC show up
in the one profile. Also prints the CPU per message spent inside DKIM and ARC verification, and
everything else ("deskguard minus DKIM/ARC"), which is the part outside the DKIM engineer's files.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_vs_mailauth import MTA, make_corpus  # noqa: E402

import bot.mail.authenticate as authenticate_module  # noqa: E402
from bot.dns import Resolver, Snapshot  # noqa: E402
from bot.mail.arrival import Arrival, Envelope  # noqa: E402
from bot.registry import load_registry  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.verify.verifier import RegistryHolder, Verifier  # noqa: E402

SPENT: dict[str, float] = {"dkim": 0.0, "arc": 0.0}


def _counted(name: str, fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.thread_time() - start

    return wrapper


def _count_dkim_arc() -> None:
    """Wrap the DKIM and ARC entry points that authenticate() calls, to count their CPU."""
    for attr, name in (("verify_dkim", "dkim"), ("verify_arc", "arc")):
        if hasattr(authenticate_module, attr):
            setattr(authenticate_module, attr, _counted(name, getattr(authenticate_module, attr)))
    import bot.mail.arc as arc_module
    import bot.mail.dkim as dkim_module

    dkim_module.verify_dkim = _counted("dkim", dkim_module.verify_dkim)
    arc_module.verify_arc = _counted("arc", arc_module.verify_arc)


async def _inline(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def main() -> None:
    """Profile verify_message over the corpus and print the top functions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--no-profile", action="store_true", help="only the CPU split")
    parser.add_argument("--callers", help="also print the callers of functions matching this")
    args = parser.parse_args()
    corpus = make_corpus(args.messages)
    settings = Settings(registry=ROOT / "examples" / "vendors.yml", trusted_authserv_ids=(MTA,))
    resolver = Resolver(snapshot=Snapshot(corpus["dns"]))
    verifier = Verifier(settings, resolver, RegistryHolder(load_registry(settings.registry)))
    items = [
        (m["raw"], Envelope(m["ip"], helo=m["helo"], mail_from=m["sender"]))
        for m in corpus["messages"]
    ]
    asyncio.to_thread = _inline  # type: ignore[assignment]
    _count_dkim_arc()

    async def once() -> None:
        for raw, env in items:
            await verifier.verify_message(raw, arrival=Arrival.RAW, envelope=env)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(once())  # warm-up
    SPENT.update(dkim=0.0, arc=0.0)
    cpu0 = time.process_time()
    loop.run_until_complete(once())
    total = time.process_time() - cpu0
    n = len(items)
    rest = total - SPENT["dkim"] - SPENT["arc"]
    print(
        f"{n} messages: {total / n * 1e3:.2f} ms CPU/msg total, "
        f"DKIM {SPENT['dkim'] / n * 1e3:.2f}, "
        f"ARC {SPENT['arc'] / n * 1e3:.2f}, deskguard minus DKIM/ARC {rest / n * 1e3:.2f}"
    )
    if args.no_profile:
        return
    profiler = cProfile.Profile()
    profiler.enable()
    loop.run_until_complete(once())
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats(args.sort)
    stats.print_stats(args.top)
    if args.callers:
        stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
