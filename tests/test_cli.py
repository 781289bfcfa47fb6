"""The CLI end to end, as a subprocess, against the real test DNS server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.support.cli import cli_env, run_cli

ROOT = Path(__file__).resolve().parents[1]


def run(args, dns_server=None, env=None, stdin=None):
    return run_cli(args, cli_env(dns_server, dns_timeout="0.5", **(env or {})), stdin=stdin)


def test_verify_json_lines(dns_server):
    result = run(
        [
            "verify",
            "northwind-software.com",
            "northwind-support.com",
            "x@unrelated-example.org",
            "--json",
        ],
        dns_server,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["target"], o["kind"], o["verdict"]) for o in lines] == [
        ("northwind-software.com", "domain", "verified"),
        ("northwind-support.com", "domain", "suspicious"),
        ("x@unrelated-example.org", "address", "unverified"),
    ]
    first = lines[0]
    assert set(first) >= {"target", "kind", "verdict", "reasons", "vendor", "callback", "posture"}
    assert first["vendor"]["name"] == "Northwind Software"
    assert first["callback"]["phone"] == "+12065550142"
    assert first["callback"]["contacts"][0]["name"] == "Dana Whitfield"
    assert all(set(r) >= {"code", "severity", "message"} for o in lines for r in o["reasons"])
    assert lines[1]["reasons"][0]["code"] == "lookalike_domain"


def test_verify_text_puts_the_verdict_first(dns_server):
    result = run(["verify", "northwind-support.com"], dns_server)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("SUSPICIOUS  northwind-support.com")
    assert "\033[" not in result.stdout  # no colour when not on a TTY
    what = lines.index("What to do:")
    assert "Call +1 206-555-0142" in lines[what + 1]


def test_unusable_target_exits_2_with_one_line(dns_server):
    result = run(["verify", "not a domain"], dns_server)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_bad_setting_exits_2_naming_the_variable():
    result = run(["verify", "northwind.io"], env={"DESKGUARD_DNS_TIMEOUT": "later"})
    assert result.returncode == 2
    assert result.stderr.startswith("deskguard: DESKGUARD_DNS_TIMEOUT:")
    assert "Traceback" not in result.stderr


def test_no_arguments_is_a_usage_error():
    result = run(["verify"])
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_registry_check_lists_overdue(tmp_path):
    result = run(["registry", "check", "--json"])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] and data["vendors"] == 3
    assert "contoso-payroll" in [v["id"] for v in data["overdue"]]
    text = run(["registry", "check"])
    assert "contoso-payroll: Contoso Payroll, last reviewed 2020-01-01" in text.stdout


def test_registry_check_invalid_file_exits_1(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text((FIXTURES / "vendors.yml").read_text().replace("+1 312 555 0100", "nope"))
    result = run(["registry", "check", str(bad)])
    assert result.returncode == 1
    assert "vendor 'contoso-payroll': callback.phone" in result.stderr


def test_invalid_registry_for_verify_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("vendors: 3\n")
    result = run(["verify", "northwind.io"], env={"DESKGUARD_REGISTRY": str(bad)})
    assert result.returncode == 2
    assert result.stderr.startswith("deskguard: invalid vendor registry:")


def test_dns_snapshot_answers_offline(tmp_path):
    snapshot = tmp_path / "dns.json"
    snapshot.write_text(
        json.dumps(
            {
                "northwind-software.com": {"TXT": ["v=spf1 -all"], "MX": ["10 mx.example"]},
                "_dmarc.northwind-software.com": {"TXT": ["v=DMARC1; p=reject"]},
            }
        )
    )
    result = run(["verify", "northwind-software.com", "--json", "--dns-cache", str(snapshot)])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "verified" and data["posture"]["dmarc"]["p"] == "reject"


@pytest.mark.parametrize("ip", ["999.1.1.1", "not-an-ip"])
def test_spf_rejects_bad_ip(ip):
    result = run(["spf", "--ip", ip, "--sender", "a@northwind.io"])
    assert result.returncode == 2 and "--ip" in result.stderr


def test_spf_json(dns_server):
    result = run(
        ["spf", "--ip", "192.0.2.10", "--sender", "x@northwind-software.com", "--json"], dns_server
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "pass"
    fail = run(["spf", "--ip", "198.51.100.1", "--sender", "x@northwind-software.com"], dns_server)
    assert fail.stdout.startswith("FAIL")
