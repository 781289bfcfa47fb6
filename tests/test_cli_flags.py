"""The CLI as users of checkdmarc, mailauth and dnstwist expect it: --version, one message prefix,
missing files, output formats, --fail-on, DNS flags, broken pipes and clear configuration errors.
Every test runs ``python -m bot`` in a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.cli import _settings as cli_settings
from bot.cli import build_parser
from tests.support.cli import cli_env, run_cli
from tests.support.dnsserver import TestDNSServer

ROOT = Path(__file__).resolve().parents[1]
DEAD_NAMESERVER = "127.0.0.1:9"  # nothing answers: a query that reaches it times out


def test_version_matches_the_package() -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = run_cli(["--version"], cli_env())
    assert done.returncode == 0
    assert done.stdout.strip() == f"deskguard {expected}"


def test_fail_on_choices_are_the_verdicts_from_unverified_up() -> None:
    from bot.cli.verify import FAIL_ON
    from bot.report import Verdict

    assert tuple(v.value for v in Verdict if v.rank >= Verdict.UNVERIFIED.rank) == FAIL_ON


@pytest.mark.parametrize(
    "args",
    [["verify"], ["verify", "--bogus", "x.example"], ["nonsense"], ["verify", "x", "--format=xml"]],
)
def test_usage_errors_are_prefixed_once(args: list[str]) -> None:
    done = run_cli(args, cli_env())
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("deskguard: ")
    assert line.count("deskguard:") == 1
    assert "Traceback" not in done.stderr


def test_a_missing_file_is_an_error_not_a_domain(tmp_path: Path, dns_server: TestDNSServer) -> None:
    for target in ("missing.eml", "mail/missing", "MISSING.MSG"):
        done = run_cli(["verify", target, "--json"], cli_env(dns_server), cwd=tmp_path)
        assert done.returncode == 2, target
        assert done.stdout == ""
        assert done.stderr.startswith(f"deskguard: {target}: no such file")
    assert dns_server.queries == []  # nothing was looked up as a domain
    url = run_cli(
        ["verify", "https://northwind.io/login", "--json"], cli_env(dns_server), cwd=tmp_path
    )
    assert url.returncode == 0, url.stderr
    assert json.loads(url.stdout)["target"] == "northwind.io"


def test_fail_on_exits_3_when_a_verdict_is_at_least_that_bad(dns_server: TestDNSServer) -> None:
    targets = ["northwind-software.com", "northwind-support.com"]  # verified, suspicious
    env = cli_env(dns_server)
    assert run_cli(["verify", *targets, "--fail-on", "suspicious"], env).returncode == 3
    assert run_cli(["verify", *targets, "--fail-on", "spoofed"], env).returncode == 0
    assert run_cli(["verify", targets[0], "--fail-on", "unverified"], env).returncode == 0
    unverified = run_cli(["verify", "x@unrelated-example.org", "--fail-on", "unverified"], env)
    assert unverified.returncode == 3
    assert run_cli(["verify", targets[0], "--fail-on", "verified"], env).returncode == 2


def test_csv_output_is_formula_safe(tmp_path: Path, dns_server: TestDNSServer) -> None:
    (tmp_path / "=HYPERLINK(1).eml").write_bytes(
        b"From: Dana <dana.whitfield@northwind-software.com>\r\nSubject: hi\r\n\r\nhello\r\n"
    )
    done = run_cli(
        ["verify", "northwind-support.com", "=HYPERLINK(1).eml", "--format", "csv"],
        cli_env(dns_server),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["target"] for r in rows] == ["northwind-support.com", "'=HYPERLINK(1).eml"]
    lookalike = rows[0]
    assert (lookalike["kind"], lookalike["verdict"]) == ("domain", "suspicious")
    assert lookalike["imitates"] == "northwind"
    assert lookalike["reasons"].split()[0] == "lookalike_domain"
    assert lookalike["callback_phone"] == "'+12065550142"  # as audit export: no leading +
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())


def test_json_flag_and_format_must_agree(dns_server: TestDNSServer) -> None:
    env = cli_env(dns_server)
    same = run_cli(["verify", "northwind.io", "--json", "--format", "json"], env)
    assert same.returncode == 0 and json.loads(same.stdout)["target"] == "northwind.io"
    clash = run_cli(["verify", "northwind.io", "--json", "--format", "csv"], env)
    assert clash.returncode == 2 and "--format csv" in clash.stderr


def test_nameserver_and_timeout_flags_beat_the_environment(dns_server: TestDNSServer) -> None:
    env = cli_env(DESKGUARD_DNS_NAMESERVERS=DEAD_NAMESERVER, DESKGUARD_DNS_TIMEOUT="not a number")
    flags = ["--nameserver", dns_server.nameserver, "--dns-timeout", "2", "--json"]
    done = run_cli(["verify", "northwind-software.com", *flags], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["posture"]["dmarc"]["p"] == "reject"
    assert ("_dmarc.northwind-software.com", "TXT") in dns_server.queries
    spf = run_cli(
        ["spf", "--ip", "192.0.2.10", "--sender", "x@northwind-software.com", *flags], env
    )
    assert spf.returncode == 0 and json.loads(spf.stdout)["result"] == "pass"


def test_nameserver_repeats_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKGUARD_DNS_NAMESERVERS", "192.0.2.53")
    args = build_parser().parse_args(
        ["verify", "x.example", "--nameserver", "127.0.0.1:5353", "--nameserver", "[::1]:53"]
    )
    assert cli_settings(args).nameservers == [("127.0.0.1", 5353), ("::1", 53)]
    plain = build_parser().parse_args(["verify", "x.example"])
    assert cli_settings(plain).nameservers == [("192.0.2.53", 53)]


@pytest.mark.parametrize(
    ("flag", "value"), [("--nameserver", "127.0.0.1:99999"), ("--dns-timeout", "0")]
)
def test_bad_dns_flags_are_usage_errors(flag: str, value: str) -> None:
    done = run_cli(["verify", "northwind.io", flag, value], cli_env())
    assert done.returncode == 2
    assert flag in done.stderr and done.stderr.count("\n") == 1


def test_a_reader_that_goes_away_is_not_an_error(dns_server: TestDNSServer) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited: every write is EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "verify", "northwind-software.com", "northwind.io"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=cli_env(dns_server),
            cwd=ROOT,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == b""
    assert proc.returncode == 141


def test_head_on_a_long_batch_exits_quietly(dns_server: TestDNSServer) -> None:
    stdin = "northwind-software.com\n" * 2000
    pipeline = subprocess.run(
        f"{sys.executable} -m bot verify --input - | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        env=cli_env(dns_server),
        cwd=ROOT,
        input=stdin,
        timeout=120,
    )
    assert pipeline.stdout.startswith("VERIFIED  northwind-software.com")
    assert pipeline.stderr == ""


def test_audit_export_without_a_database_says_so(tmp_path: Path) -> None:
    database = tmp_path / "state.sqlite3"
    done = run_cli(["audit", "export"], cli_env(DESKGUARD_DATABASE=str(database)), cwd=tmp_path)
    assert done.returncode == 2
    assert "does not exist" in done.stderr and str(database) in done.stderr
    assert not database.exists()  # not created empty


def test_a_missing_default_registry_names_the_variable(tmp_path: Path) -> None:
    env = cli_env()
    del env["DESKGUARD_REGISTRY"]  # the default, examples/vendors.yml, is not in tmp_path
    for args in (["verify", "northwind.io"], ["registry", "check"], ["serve"]):
        done = run_cli(args, env, cwd=tmp_path)
        assert done.returncode == 2, args
        (line,) = done.stderr.splitlines()
        assert "DESKGUARD_REGISTRY" in line and "INVALID" not in line, line
    flag = run_cli(["verify", "northwind.io", "--registry", "nope.yml"], env, cwd=tmp_path)
    assert flag.returncode == 2 and flag.stderr.startswith("deskguard: --registry nope.yml:")
