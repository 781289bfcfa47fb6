"""A command line starting with ``verify`` is parsed by a parser holding that sub-command alone:
the same arguments, errors, help and exits as the whole parser, over many random command lines."""

from __future__ import annotations

import contextlib
import io
import random
from typing import Any

from bot.cli import build_parser
from bot.errors import ConfigError

TOKENS = [
    "a.example", "Northwind-Software.com", "-", "x.eml", "dir/x", "+1 206 555 0100", "a@b.example",
    "--json", "--format", "csv", "text", "json", "xml", "-c", "0", "5", "65", "--concurrency=3",
    "-c8", "--fail-on", "spoofed", "unverified", "bad", "--claims", "northwind", "--caller",
    "Ann", "--ip", "192.0.2.1", "not-ip", "::1", "--helo", "mx.example", "two words",
    "--mail-from", "<>", "", "--auth-results", "--registry", "r.yml", "--dns-cache", "s.json",
    "--nameserver", "127.0.0.1:53", "host:port", "[::1]:5353", "--dns-timeout", "2", "99",
    "nan", "--version", "-h", "--help", "-i", "--input", "targets.txt", "--unknown", "--", "-x",
    "--js", "--fail", "verify", "spf", "registry",
]  # fmt: skip


def _outcome(command: str | None, argv: list[str]) -> tuple[Any, ...]:
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = build_parser(command).parse_args(argv)
    except ConfigError as exc:
        return "error", str(exc)
    except SystemExit as exc:
        return "exit", exc.code, out.getvalue(), err.getvalue()
    return "args", vars(args), out.getvalue(), err.getvalue()


def test_the_verify_parser_is_the_whole_parser_for_verify() -> None:
    rng = random.Random(1313)
    kinds: set[str] = set()
    for _ in range(1500):
        argv = ["verify", *rng.choices(TOKENS, k=rng.randint(0, 7))]
        expected = _outcome(None, argv)
        assert _outcome("verify", argv) == expected, argv
        kinds.add(expected[0])
    assert kinds == {"args", "error", "exit"}


def test_other_command_lines_get_the_whole_parser() -> None:
    whole = build_parser()
    assert build_parser("spf").format_help() == whole.format_help()
    assert build_parser(None).format_help() == whole.format_help()
