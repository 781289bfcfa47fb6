"""``deskguard``: verify | spf | registry check | audit export | serve.

Exit status: 0 when a verdict (or the requested output) was produced, 1 when a checked file is
invalid, 2 for unusable arguments or configuration. Errors are one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.dns import Resolver
from bot.errors import ConfigError, DeskguardError, InputError, RegistryError
from bot.registry import display_phone, load_registry
from bot.report import Report, Severity, Verdict
from bot.settings import Settings, load_settings
from bot.verify.advice import headline, next_steps
from bot.verify.sandbox import attach_verify_pool
from bot.verify.verifier import RegistryHolder, Verifier

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

_COLOURS = {
    Verdict.VERIFIED: "\033[1;32m",
    Verdict.UNVERIFIED: "\033[1;33m",
    Verdict.SUSPICIOUS: "\033[1;31m",
    Verdict.SPOOFED: "\033[1;37;41m",
}
_SEVERITY_MARK = {
    Severity.CRITICAL: "!! ",
    Severity.HIGH: "!  ",
    Severity.WARNING: "-  ",
    Severity.INFO: "   ",
}
_RESET = "\033[0m"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = _Parser(prog="deskguard", description="Verify vendors before the help desk acts.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    verify = sub.add_parser("verify", help="verify domains, addresses or email files")
    verify.add_argument(
        "targets", nargs="+", metavar="TARGET", help="domain, address, .eml/.msg or -"
    )
    verify.add_argument(
        "--json", action="store_true", help="one JSON object per target (JSON Lines)"
    )
    _common(verify)

    spf = sub.add_parser("spf", help="evaluate SPF for a connecting IP and envelope sender")
    spf.add_argument("--ip", required=True)
    spf.add_argument("--sender", required=True, help="envelope sender (MAIL FROM), may be empty")
    spf.add_argument("--helo", default=None)
    spf.add_argument("--json", action="store_true")
    _common(spf)

    registry = sub.add_parser("registry", help="vendor registry tools")
    reg_sub = registry.add_subparsers(dest="registry_command", required=True, parser_class=_Parser)
    check = reg_sub.add_parser("check", help="validate the registry and list overdue reviews")
    check.add_argument("path", nargs="?", type=Path, default=None)
    check.add_argument("--json", action="store_true")

    audit = sub.add_parser("audit", help="approval audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    export = audit_sub.add_parser("export", help="export the audit trail")
    export.add_argument("--since", type=_date, default=None, help="YYYY-MM-DD")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")

    serve = sub.add_parser("serve", help="run the Slack bot (Socket Mode or HTTP)")
    serve.add_argument("--registry", type=Path, default=None)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", type=Path, default=None, help="vendor registry (YAML)")
    parser.add_argument(
        "--dns-cache", type=Path, default=None, help="answer DNS from a snapshot file (offline)"
    )


def _date(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "registry", None) is not None:
        overrides["registry"] = args.registry
    if getattr(args, "dns_cache", None) is not None:
        overrides["dns_cache_file"] = args.dns_cache
    return load_settings(**overrides)


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def render_text(report: Report, *, colour: bool = False) -> str:
    """The terminal form: verdict first, then why, then what to do."""
    verdict = report.verdict.value.upper()
    if colour:
        verdict = f"{_COLOURS[report.verdict]} {verdict} {_RESET}"
    lines = [f"{verdict}  {report.target} ({report.kind.value})", f"  {headline(report)}"]
    if report.details.get("verified_part"):
        lines.append(f"  Verified part: {report.details['verified_part']}")
    reasons = report.sorted_reasons()
    if reasons:
        lines.append("Why:")
        for reason in reasons:
            mark = _SEVERITY_MARK[reason.effective_severity]
            lines.append(f"  {mark}{reason.message} [{reason.code}]")
    steps = next_steps(report)
    if steps:
        lines.append("What to do:")
        lines.extend(f"  * {step}" for step in steps)
    callback = report.callback
    if callback and callback.get("contacts"):
        lines.append("Registered contacts:")
        for contact in callback["contacts"]:
            phone = f", {display_phone(contact['phone'])}" if contact.get("phone") else ""
            lines.append(f"  {contact['name']} ({contact['role']}) <{contact['email']}>{phone}")
    return "\n".join(lines)


def _is_file_target(target: str) -> bool:
    return target == "-" or Path(target).is_file()


async def _verify(args: argparse.Namespace, settings: Settings) -> int:
    holder = RegistryHolder(load_registry(settings.registry))
    resolver = Resolver.from_settings(settings)
    verifier = Verifier(settings, resolver, holder)
    # emails: in a worker process, under the deadline; forked directly (the CLI runs no other
    # threads), so the engine is not imported a second time
    pool = attach_verify_pool(verifier, start_method="fork")
    try:
        return await _verify_each(args, verifier)
    finally:
        pool.close()


async def _verify_each(args: argparse.Namespace, verifier: Verifier) -> int:
    settings = verifier.settings
    status = EXIT_OK
    colour = _use_colour(sys.stdout)
    for index, target in enumerate(args.targets):
        try:
            if _is_file_target(target):
                report = await _verify_file(verifier, target, settings)
            else:
                report = await verifier.verify_target(target)
        except InputError as exc:
            print(f"deskguard: {target}: {exc}", file=sys.stderr)
            status = EXIT_USAGE
            continue
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False, default=str))
        else:
            if index:
                print()
            print(render_text(report, colour=colour))
    return status


async def _verify_file(verifier: Verifier, target: str, settings: Settings) -> Report:
    limit = settings.max_message_bytes
    if target == "-":
        data = sys.stdin.buffer.read(limit + 1)
        name = None
    else:
        path = Path(target)
        try:
            data = await asyncio.to_thread(_read_head, path, limit + 1)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}") from None
        name = path.name
    return await verifier.verify_message(data, filename=name)


def _read_head(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


async def _spf(args: argparse.Namespace, settings: Settings) -> int:
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
    settings = load_settings()
    path = args.path or settings.registry
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
    return EXIT_OK


async def _audit_export(args: argparse.Namespace) -> int:
    from bot.approvals.audit_export import run_audit_export

    return await run_audit_export(load_settings(), args.since, args.format, sys.stdout)


def _serve(args: argparse.Namespace) -> int:
    from bot.runtime.server import serve

    return serve(_settings(args))


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "verify":
        return asyncio.run(_verify(args, _settings(args)))
    if args.command == "spf":
        return asyncio.run(_spf(args, _settings(args)))
    if args.command == "registry":
        return _registry_check(args)
    if args.command == "audit":
        return asyncio.run(_audit_export(args))
    return _serve(args)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one clear line on stderr for any error, never a traceback."""
    try:
        code = run(argv)
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
    except Exception as exc:
        print(f"deskguard: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 70
    sys.exit(code)


if __name__ == "__main__":
    main()
