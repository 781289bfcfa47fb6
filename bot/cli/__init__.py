"""``deskguard``: verify | spf | registry check | registry show | audit export | queue | serve |
milter.

Exit status: 0 when a verdict (or the requested output) was produced, 1 when a checked file is
invalid, 2 for unusable arguments, targets or configuration, 3 when ``verify --fail-on`` finds a
verdict at least that bad. Errors are one line on stderr, prefixed ``deskguard:`` once, never a
traceback. Sub-commands with more than a few lines live in their own modules (``bot/cli/*.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli import registry_show
from bot.cli import verify as verify_command
from bot.errors import ConfigError, DeskguardError, InputError, RegistryError

if TYPE_CHECKING:  # imported where used: `deskguard --help` stays fast (no asyncio, no metadata)
    import datetime as dt

    from bot.settings import Settings

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_FAIL_ON = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away
__all__ = ["build_parser", "main", "render_text", "run"]


def __getattr__(name: str) -> Any:
    """``render_text`` on first use (bot.cli.output imports the engine)."""
    if name == "render_text":
        from bot.cli.output import render_text

        return render_text
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prefixes "deskguard: " once; name the sub-command ("verify: ...") if any
        command = self.prog.removeprefix("deskguard").strip()
        where = f"{command}: " if command else ""
        raise ConfigError(f"{where}{message} (see {self.prog} --help)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deskguard")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "unknown"


class _Version(argparse._VersionAction):
    """``--version``, read from the package metadata only when asked for."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        self.version = f"deskguard {_version()}"
        super().__call__(parser, namespace, values, option_string)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command-line interface; ``command="verify"``: with that sub-command alone, all that a
    command line starting with ``verify`` needs (the others cost a cold ``verify`` ~5 ms)."""
    parser = _Parser(prog="deskguard", description="Verify vendors before the help desk acts.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    verify = sub.add_parser(
        "verify",
        help="verify domains, addresses or email files",
        description="Exit status: 0 verdicts printed, 2 unusable target or option, "
        "3 a verdict at least as bad as --fail-on.",
    )
    verify_command.add_arguments(verify)
    _common(verify)
    if command == "verify":
        return parser

    spf = sub.add_parser("spf", help="evaluate SPF for a connecting IP and envelope sender")
    spf.add_argument("--ip", required=True)
    spf.add_argument("--sender", required=True, help="envelope sender (MAIL FROM), may be empty")
    spf.add_argument("--helo", default=None)
    spf.add_argument("--json", action="store_true")
    _common(spf)

    registry = sub.add_parser("registry", help="vendor registry tools")
    reg_sub = registry.add_subparsers(dest="registry_command", required=True, parser_class=_Parser)
    check = reg_sub.add_parser("check", help="validate the registry and list overdue reviews")
    check.add_argument("path", nargs="?", type=Path, default=None, help="default: the registry")
    check.add_argument("--json", action="store_true")
    show = reg_sub.add_parser("show", help="a vendor's card: callback, contacts, review, posture")
    registry_show.add_arguments(show)
    _common(show)

    audit = sub.add_parser("audit", help="approval audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    export = audit_sub.add_parser("export", help="export the audit trail")
    export.add_argument("--since", type=_date, default=None, help="YYYY-MM-DD")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")

    from bot.watch.cli import add_commands as add_watch_commands

    add_watch_commands(sub, _common)
    queue = sub.add_parser("queue", help="the inbound queue's dead letters")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True, parser_class=_Parser)
    dead = queue_sub.add_parser("dead-letters", help="list messages that could not be processed")
    dead.add_argument("--json", action="store_true", help="one JSON object per dead letter")
    dead.add_argument("--limit", type=int, default=100)
    retry = queue_sub.add_parser("retry", help="put a dead letter back in the queue")
    retry.add_argument("id", metavar="ID")

    serve = sub.add_parser("serve", help="run the Slack bot (Socket Mode or HTTP)")
    serve.add_argument("--registry", type=Path, default=None)

    milter = sub.add_parser(
        "milter", help="run the Postfix/Sendmail milter (DESKGUARD_MILTER_SOCKET)"
    )
    milter.add_argument("--registry", type=Path, default=None)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", type=Path, default=None, help="vendor registry (YAML)")
    parser.add_argument(
        "--dns-cache", type=Path, default=None, help="answer DNS from a snapshot file (offline)"
    )
    parser.add_argument(
        "--nameserver",
        action="append",
        type=_nameserver,
        default=None,
        metavar="HOST[:PORT]",
        help="ask this DNS server (repeatable; default DESKGUARD_DNS_NAMESERVERS or the system's)",
    )
    parser.add_argument(
        "--dns-timeout",
        type=_dns_timeout,
        default=None,
        metavar="SECONDS",
        help="seconds per DNS look-up (default DESKGUARD_DNS_TIMEOUT, 3)",
    )


def _nameserver(text: str) -> str:
    from bot.settings import parse_nameserver

    try:
        parse_nameserver(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def _dns_timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"not a number of seconds from 0 to 60: {text!r}")
    return value


def _date(text: str) -> dt.datetime:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _settings(args: argparse.Namespace) -> Settings:
    from bot.settings import load_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "registry", None) is not None:
        overrides["registry"] = args.registry
    if getattr(args, "dns_cache", None) is not None:
        overrides["dns_cache_file"] = args.dns_cache
    if getattr(args, "nameserver", None):
        overrides["dns_nameservers"] = tuple(args.nameserver)
    if getattr(args, "dns_timeout", None) is not None:
        overrides["dns_timeout"] = args.dns_timeout
    return load_settings(**overrides)


def _require_registry(path: Path, *, flag: str | None) -> Path:
    """``path`` when it is a file; otherwise a ConfigError naming where it came from."""
    if path.is_file():
        return path
    what = "is not a file" if path.exists() else "does not exist"
    if flag is not None:
        raise ConfigError(f"{flag} {path}: the vendor registry {what}")
    raise ConfigError(
        f"the vendor registry {path} {what}: set DESKGUARD_REGISTRY to your registry file "
        "(or pass --registry PATH)"
    )


def _registry_setting(args: argparse.Namespace, settings: Settings) -> Path:
    flag = "--registry" if getattr(args, "registry", None) is not None else None
    return _require_registry(settings.registry, flag=flag)


async def _spf(args: argparse.Namespace, settings: Settings) -> int:
    import ipaddress
    import json

    from bot.dns import Resolver
    from bot.mail.spf import check_spf_async

    try:
        ipaddress.ip_address(args.ip)
    except ValueError:
        raise InputError(f"--ip: not an IP address: {args.ip!r}") from None
    resolver = Resolver.from_settings(settings)
    result = await check_spf_async(args.ip, args.sender, helo=args.helo, resolver=resolver)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(f"{result.result.upper()}  {result.domain}: {result.explanation}")
    return EXIT_OK


def _registry_check(args: argparse.Namespace) -> int:
    import datetime as dt
    import json

    from bot.registry import load_registry, unset_secrets
    from bot.settings import load_settings

    settings = load_settings()
    if args.path is not None:
        path = _require_registry(args.path, flag="registry check")
    else:
        path = _require_registry(settings.registry, flag=None)
    try:
        registry = load_registry(path)
    except RegistryError as exc:
        if args.json:
            print(json.dumps({"path": str(path), "valid": False, "problems": exc.problems}))
        else:
            print(f"{path}: INVALID, {len(exc.problems)} problem(s):", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        return EXIT_INVALID
    overdue = registry.overdue(dt.date.today(), settings.review_interval_days)
    warnings = unset_secrets(registry, settings.secret)
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(path),
                    "valid": True,
                    "vendors": len(registry),
                    "review_interval_days": settings.review_interval_days,
                    "overdue": [
                        {
                            "id": v.id,
                            "name": v.name,
                            "owner": v.owner,
                            "last_reviewed": v.last_reviewed.isoformat(),
                        }
                        for v in overdue
                    ],
                    "warnings": warnings,
                }
            )
        )
        return EXIT_OK
    print(f"{path}: valid, {len(registry)} vendor(s).")
    if overdue:
        print(f"Review overdue (older than {settings.review_interval_days} days):")
        for vendor in overdue:
            print(
                f"  {vendor.id}: {vendor.name}, last reviewed {vendor.last_reviewed.isoformat()}, "
                f"owner {vendor.owner}"
            )
    else:
        print("No reviews overdue.")
    for warning in warnings:
        print(f"deskguard: warning: {warning}", file=sys.stderr)
    return EXIT_OK


async def _audit_export(args: argparse.Namespace) -> int:
    from bot.approvals.audit_export import run_audit_export
    from bot.settings import load_settings

    settings = load_settings()
    if not settings.redis_url and not settings.database.is_file():
        raise ConfigError(
            f"no audit trail to export: the database {settings.database} does not exist "
            "(set DESKGUARD_DATABASE, or REDIS_URL for Redis)"
        )
    return await run_audit_export(settings, args.since, args.format, sys.stdout)


async def _queue(args: argparse.Namespace) -> int:
    from bot.runtime.queue_cli import run_queue_command
    from bot.settings import load_settings

    return await run_queue_command(load_settings(), args, sys.stdout)


def _serve(args: argparse.Namespace) -> int:
    from bot.runtime.server import serve

    settings = _settings(args)
    _registry_setting(args, settings)
    return serve(settings)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser("verify" if arguments[:1] == ["verify"] else None).parse_args(arguments)
    import asyncio

    if args.command == "verify":
        settings = _settings(args)
        _registry_setting(args, settings)
        return asyncio.run(verify_command.run_verify(args, settings))
    if args.command == "spf":
        return asyncio.run(_spf(args, _settings(args)))
    if args.command == "registry" and args.registry_command == "show":
        settings = _settings(args)
        _registry_setting(args, settings)
        return asyncio.run(registry_show.run_show(args, settings))
    if args.command == "registry":
        return _registry_check(args)
    if args.command == "audit":
        return asyncio.run(_audit_export(args))
    if args.command == "queue":
        return asyncio.run(_queue(args))
    if args.command == "milter":
        from bot.runtime.milter import serve_milter

        return serve_milter(_settings(args))
    if args.command in ("vendors", "watch"):
        from bot.watch.cli import run as run_watch

        return run_watch(args, _settings(args))
    return _serve(args)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one clear line on stderr for any error, never a traceback."""
    try:
        code = run(argv)
        sys.stdout.flush()  # inside the try: a reader that went away is seen here, not at exit
    except BrokenPipeError:
        # `deskguard verify ... | head`: the reader has gone; stop quietly like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    except RegistryError as exc:
        print(f"deskguard: invalid vendor registry: {exc.problems[0]}", file=sys.stderr)
        if len(exc.problems) > 1:
            print(
                f"deskguard: {len(exc.problems) - 1} more problem(s); run "
                "`deskguard registry check` for all of them",
                file=sys.stderr,
            )
        code = EXIT_USAGE
    except DeskguardError as exc:
        print(f"deskguard: {exc}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:  # --help and --version: argparse printed, then exits
        if argv is None and _fast_exit_ok() and isinstance(exc.code, int | None):
            _exit_now(exc.code or EXIT_OK)
        raise
    except Exception as exc:
        print(f"deskguard: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 70
    if argv is None and _fast_exit_ok():
        _exit_now(code)
    sys.exit(code)


def _fast_exit_ok() -> bool:
    """Skip the interpreter's teardown (~90 ms) for one-shot commands from the console."""
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    return command in (None, "verify", "spf", "registry")


def _exit_now(code: int) -> None:
    if "logging" in sys.modules:  # handlers to flush only if something logged
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or EXIT_USAGE
    os._exit(code)


if __name__ == "__main__":
    main()
