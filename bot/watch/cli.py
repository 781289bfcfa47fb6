"""``deskguard vendors posture`` and ``deskguard watch lookalikes``.

Both print the whole picture, or with ``--changes`` only what changed since the last stored run
(the first run is the baseline and prints nothing), then store the new run. Exit status 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `deskguard --help` stays fast
    from bot.settings import Settings

POSTURE_COLUMNS = ("vendor", "domain", "dmarc_policy", "spf_all", "dkim", "weak", "reasons")
CHANGE_COLUMNS = ("vendor", "domain", "field", "before", "after", "severity")
FINDING_COLUMNS = ("vendor", "vendor_domain", "domain", "trick", "a", "mx", "ns", "can_send_mail")
FORMATS = ("text", "json", "csv")


def add_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``vendors posture`` and ``watch lookalikes`` to the CLI's sub-parsers."""
    vendors = sub.add_parser("vendors", help="every vendor's mail posture")
    vendors_sub = vendors.add_subparsers(
        dest="vendors_command", required=True, parser_class=type(vendors)
    )
    posture = vendors_sub.add_parser(
        "posture", help="SPF, DMARC and DKIM of every vendor domain, riskiest first"
    )
    _watch_flags(posture, common)

    watch = sub.add_parser("watch", help="watch for lookalike domains registered against vendors")
    watch_sub = watch.add_subparsers(dest="watch_command", required=True, parser_class=type(watch))
    lookalikes = watch_sub.add_parser(
        "lookalikes", help="registered permutations of every vendor domain (dnstwist)"
    )
    _watch_flags(lookalikes, common)
    lookalikes.add_argument(
        "--fuzzers",
        default=None,
        help="comma list of dnstwist fuzzers (default all, or DESKGUARD_WATCH_FUZZERS)",
    )


def _watch_flags(parser: argparse.ArgumentParser, common: Callable[..., None]) -> None:
    parser.add_argument("--vendor", action="append", default=[], metavar="ID")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--changes", action="store_true", help="only what changed since the last stored run"
    )
    common(parser)


def _progress(label: str) -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.dns import Resolver
    from bot.errors import InputError
    from bot.registry import load_registry
    from bot.watch import output
    from bot.watch.schedule import lookalike_run, posture_run
    from bot.watch.snapshots import open_snapshots

    registry = load_registry(settings.registry)
    unknown = [v for v in args.vendor if registry.get(v) is None]
    if unknown:
        raise InputError(f"no vendor with id {', '.join(repr(v) for v in unknown)} in the registry")
    resolver = Resolver.from_settings(settings)
    store = open_snapshots(settings)
    try:
        if args.command == "vendors":
            rows, changes = await posture_run(
                registry,
                resolver,
                store,
                qps=settings.watch_qps,
                vendor_ids=args.vendor,
                progress=_progress("domains checked"),
            )
            if args.changes:
                records = [c.to_json() for c in changes or ()]
                output.write(records, CHANGE_COLUMNS, args.format, sys.stdout)
            else:
                output.write([r.to_json() for r in rows], POSTURE_COLUMNS, args.format, sys.stdout)
            return 0
        fuzzers = (
            tuple(f.strip() for f in args.fuzzers.split(",") if f.strip())
            if args.fuzzers is not None
            else settings.watch_fuzzers
        )
        findings, new, stats = await lookalike_run(
            registry,
            resolver,
            store,
            qps=settings.watch_qps,
            vendor_ids=args.vendor,
            fuzzers=fuzzers,
            progress=_progress("permutations checked"),
        )
        shown = (new or []) if args.changes else findings
        output.write([f.to_json() for f in shown], FINDING_COLUMNS, args.format, sys.stdout)
        if stats.dns_errors:
            print(
                f"deskguard: {stats.dns_errors} permutation(s) could not be resolved (DNS "
                "failure); they are neither reported nor forgotten",
                file=sys.stderr,
            )
        return 0
    finally:
        await store.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``vendors posture`` or ``watch lookalikes``."""
    import asyncio

    return asyncio.run(_run(args, settings))
