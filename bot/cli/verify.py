"""``deskguard verify``: targets from the command line and ``--input``, verified concurrently,
printed in input order.

A target is a file when it is ``-`` (stdin), an existing file, or looks like a path (a path
separator, or a mail extension: .eml, .msg, .txt); a file target that does not exist is an error,
never a domain. URLs (``https://…``, ``mailto:…``) and addresses are never files.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple, TypeVar

from bot.errors import ConfigError, InputError

if TYPE_CHECKING:  # the engine (and asyncio) imported where used: `deskguard --help` stays fast
    import asyncio

    from bot.cli.output import Progress, ReportWriter
    from bot.mail.arrival import Envelope
    from bot.report import Report
    from bot.settings import Settings
    from bot.verify.verifier import Verifier

MAIL_SUFFIXES = (".eml", ".msg", ".txt")
MAX_INPUT_LINE = 4096
MAX_CONCURRENCY = 64
DEFAULT_CONCURRENCY = 8
WINDOW_PER_WORKER = 4  # reports held for in-order output, per concurrent verification
READ_CHUNK = 256  # lines read from --input per trip to a thread
EXIT_OK, EXIT_USAGE, EXIT_FAIL_ON = 0, 2, 3
FAIL_ON = ("unverified", "suspicious", "spoofed")  # Verdict values; bot.report is not imported

T = TypeVar("T")
R = TypeVar("R")
_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]{0,15}://|mailto:)")
_HELO = re.compile(r"[!-~]{1,255}")


def names_a_file(target: str) -> bool:
    """True when ``target`` is to be read as an email file rather than verified as a name."""
    if target == "-" or Path(target).is_file():
        return True
    if _URL.match(target):
        return False
    if target.lower().endswith(MAIL_SUFFIXES):
        return True
    if "@" in target:
        return False
    return any(sep in target for sep in {"/", os.sep, os.altsep or "/"})


# --- arguments -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``verify``'s own options (the shared ones are added by the caller)."""
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="phone number, domain, address, .eml/.msg/.txt file or -",
    )
    parser.add_argument(
        "-i",
        "--input",
        metavar="FILE",
        help="read targets from FILE, one per line (- for stdin; blank and # lines skipped)",
    )
    parser.add_argument(
        "-c",
        "--concurrency",
        type=_concurrency,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"verify up to N targets at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--format", choices=("text", "json", "csv"), default=None, help="output format"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per target (JSON Lines)"
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default=None,
        metavar="VERDICT",
        help="exit 3 when any verdict is at least this bad (unverified|suspicious|spoofed)",
    )
    caller = parser.add_argument_group(
        "callers", "check targets against the vendor a caller or sender claims to be from"
    )
    caller.add_argument(
        "--claims",
        metavar="VENDOR",
        default=None,
        help="the vendor (registry id or name) they claim to be from; the callback is its own",
    )
    caller.add_argument(
        "--caller",
        metavar="NAME",
        default=None,
        help="the name the caller gave (checked against the vendor's registered contacts)",
    )
    envelope = parser.add_argument_group(
        "email files", "evaluate SPF as if the file had been received in this SMTP transaction"
    )
    envelope.add_argument("--ip", type=_ip, default=None, help="connecting client IP")
    envelope.add_argument("--helo", type=_helo, default=None, help="HELO/EHLO name")
    envelope.add_argument(
        "--mail-from", type=_mail_from, default=None, help="envelope sender (MAIL FROM; '' or <>)"
    )
    envelope.add_argument(
        "--auth-results",
        action="store_true",
        help="print an Authentication-Results header for each email (DESKGUARD_AUTHSERV_ID)",
    )


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_CONCURRENCY}")
    return value


def _ip(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def _helo(text: str) -> str:
    if not _HELO.fullmatch(text):
        raise argparse.ArgumentTypeError("must be one word of printable ASCII (at most 255)")
    return text


def _mail_from(text: str) -> str:
    inner = text.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    if not inner:
        return ""
    from bot.names import InvalidName, parse_address

    try:
        return str(parse_address(inner))
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(f"not an address: {exc}") from None


def output_format(args: argparse.Namespace) -> str:
    """``--format``, with ``--json`` as its JSON Lines shorthand."""
    if args.json and args.format not in (None, "json"):
        raise ConfigError(f"verify: --json and --format {args.format} disagree; give one")
    return "json" if args.json else (args.format or "text")


def envelope(args: argparse.Namespace) -> Envelope | None:
    """The SMTP transaction the operator vouches for, or None."""
    if args.ip is None:
        if args.helo is not None or args.mail_from is not None:
            raise ConfigError("verify: --helo and --mail-from need --ip (the connecting IP)")
        return None
    from bot.mail.arrival import Envelope

    return Envelope(client_ip=args.ip, helo=args.helo, mail_from=args.mail_from)


# --- targets -------------------------------------------------------------------------------


class Target(NamedTuple):
    """One target, and where it came from (for error messages)."""

    text: str
    origin: str | None = None  # "FILE:LINE" for --input lines
    problem: str | None = None  # set when the line itself is unusable

    @property
    def label(self) -> str:
        """How errors name it."""
        if self.origin is None:
            return self.text
        return f"{self.origin}: {self.text[:80]}" if self.text else self.origin


def _read_lines(handle: IO[str], count: int) -> list[str]:
    lines = []
    for _ in range(count):
        line = handle.readline(MAX_INPUT_LINE + 1)
        if not line:
            break
        if len(line) > MAX_INPUT_LINE and not line.endswith("\n"):
            while (rest := handle.readline(MAX_INPUT_LINE)) and not rest.endswith("\n"):
                pass  # drop the remainder of an over-long line, in bounded pieces
            line = "\0" + line[:80]  # marker: too long
        lines.append(line)
    return lines


async def iter_targets(
    args: Iterable[str], source: IO[str] | None, name: str
) -> AsyncIterator[Target]:
    """Command-line targets, then ``source``'s lines (blank lines and ``#`` comments skipped)."""
    import asyncio

    for text in args:
        yield Target(text)
    if source is None:
        return
    number = 0
    while lines := await asyncio.to_thread(_read_lines, source, READ_CHUNK):
        for line in lines:
            number += 1
            origin = f"{name}:{number}"
            if line.startswith("\0"):
                yield Target(line[1:], origin, f"line longer than {MAX_INPUT_LINE} characters")
                continue
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if text == "-":
                yield Target(text, origin, "'-' (stdin) can only be a command-line target")
                continue
            yield Target(text, origin)


def open_input(path: str | None, targets: list[str]) -> tuple[IO[str] | None, str]:
    """The ``--input`` stream and its name for messages; ConfigError when unusable."""
    if path is None:
        if not targets:
            raise ConfigError("verify: give a TARGET or --input FILE (see deskguard verify --help)")
        return None, ""
    if path == "-":
        if "-" in targets:
            raise ConfigError("verify: stdin cannot be both --input - and the target -")
        return sys.stdin, "stdin"
    try:
        return open(path, encoding="utf-8", errors="surrogateescape"), path
    except OSError as exc:
        raise ConfigError(f"--input {path}: cannot read: {exc.strerror or exc}") from None


# --- verification --------------------------------------------------------------------------


async def in_order(
    items: AsyncIterator[T],
    work: Callable[[T], Awaitable[R]],
    concurrency: int,
    on_change: Callable[[int], None] | None = None,
) -> AsyncIterator[tuple[T, R]]:
    """Run ``work`` on up to ``concurrency`` items at once; yield results in input order.

    At most ``WINDOW_PER_WORKER * concurrency`` items are read ahead, so memory stays bounded
    however long the input is. ``on_change`` receives the number of items running.
    """
    import asyncio

    gate = asyncio.Semaphore(concurrency)
    running = 0

    async def guarded(item: T) -> R:
        nonlocal running
        async with gate:
            running += 1
            if on_change:
                on_change(running)
            try:
                return await work(item)
            finally:
                running -= 1

    window: deque[tuple[T, asyncio.Task[R]]] = deque()
    exhausted = False
    try:
        while True:
            while not exhausted and len(window) < WINDOW_PER_WORKER * concurrency:
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    exhausted = True
                    break
                window.append((item, asyncio.create_task(guarded(item))))
            if not window:
                return
            item, task = window.popleft()
            yield item, await task
            if on_change:
                on_change(running)
    finally:
        for _, pending in window:
            pending.cancel()
        await asyncio.gather(*(t for _, t in window), return_exceptions=True)


async def _read_file(target: str, limit: int) -> tuple[bytes, str | None]:
    import asyncio

    if target == "-":
        return await asyncio.to_thread(sys.stdin.buffer.read, limit + 1), None
    path = Path(target)
    try:
        data = await asyncio.to_thread(_read_head, path, limit + 1)
    except FileNotFoundError:
        raise InputError(
            "no such file (a path or a .eml/.msg/.txt name is read as a file)"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    return data, path.name


def _read_head(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


class Batch:
    """Verifies targets with one verifier (one DNS cache) and the run's options."""

    def __init__(
        self,
        verifier: Verifier,
        settings: Settings,
        smtp: Envelope | None,
        *,
        claims: str | None = None,
        caller: str | None = None,
    ) -> None:
        self.verifier = verifier
        self.settings = settings
        self.envelope = smtp
        self.claims = claims
        self.caller = caller

    async def verify(self, target: Target) -> Report | InputError:
        """The report, or the InputError that made the target unusable."""
        if target.problem is not None:
            return InputError(target.problem)
        try:
            if names_a_file(target.text):
                data, name = await _read_file(target.text, self.settings.max_message_bytes)
                report = await self.verifier.verify_message(
                    data, filename=name, envelope=self.envelope
                )
                claimed = self.verifier.claimed_vendor(self.claims)
                return self.verifier.with_claims(report, claimed, self.caller)
            return await self.verifier.verify_target(
                target.text, claims=self.claims, caller=self.caller
            )
        except InputError as exc:
            return exc


async def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Verify every target; print reports in input order; return the exit status."""
    fmt = output_format(args)
    smtp = envelope(args)
    source, source_name = open_input(args.input, list(args.targets))
    from bot.cachedir import default_cache_dir
    from bot.cli.output import Progress, ReportWriter, use_colour
    from bot.cli.pool import PoolOnDemand
    from bot.dns import Resolver
    from bot.mail.authres_write import resolve_authserv_id
    from bot.registry_cache import load_registry_cached
    from bot.verify.verifier import RegistryHolder, Verifier

    try:
        cache_dir = settings.cache_dir or default_cache_dir()
        holder = RegistryHolder(load_registry_cached(settings.registry, cache_dir))
        verifier = Verifier(settings, Resolver.from_settings(settings), holder)
        try:
            verifier.claimed_vendor(args.claims)  # an unknown vendor is a usage error, said once
        except InputError as exc:
            raise ConfigError(f"verify --claims: {exc}") from None
        # emails: in worker processes, under the deadline; forked directly (the CLI has no
        # threads holding locks), so the engine is not imported a second time
        pool = PoolOnDemand(verifier, max(settings.verify_processes, min(args.concurrency, 8)))
        verifier.runner = pool
        authserv_id = None
        if args.auth_results:
            authserv_id = resolve_authserv_id(settings.authserv_id, settings.trusted_authserv_ids)
        writer = ReportWriter(
            sys.stdout, fmt, colour=use_colour(sys.stdout), authserv_id=authserv_id
        )
        progress = Progress(sys.stderr) if sys.stderr.isatty() else None
        batch = Batch(verifier, settings, smtp, claims=args.claims, caller=args.caller)
        try:
            return await _run(args, batch, source, source_name, writer, progress)
        finally:
            pool.close()
    finally:
        if source is not None and source is not sys.stdin:
            source.close()


async def _run(
    args: argparse.Namespace,
    batch: Batch,
    source: IO[str] | None,
    source_name: str,
    writer: ReportWriter,
    progress: Progress | None,
) -> int:
    from bot.report import Verdict

    fail_on = Verdict(args.fail_on) if args.fail_on else None
    errors = failed = done = 0
    writer.start()

    def show(running: int) -> None:
        if progress is not None:
            progress.update(done, running)

    targets = iter_targets(args.targets, source, source_name)
    async for target, outcome in in_order(targets, batch.verify, args.concurrency, show):
        done += 1
        if progress is not None:
            progress.clear()  # stdout may be the same terminal: never write over the line
        if isinstance(outcome, InputError):
            print(f"deskguard: {target.label}: {outcome}", file=sys.stderr)
            errors += 1
            continue
        writer.write(outcome)
        if fail_on is not None and outcome.verdict.rank >= fail_on.rank:
            failed += 1
    if progress is not None:
        progress.clear()
    if errors:
        return EXIT_USAGE
    return EXIT_FAIL_ON if failed else EXIT_OK
