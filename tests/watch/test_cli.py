"""``deskguard vendors posture`` and ``deskguard watch lookalikes`` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.support.dnsserver import TestDNSServer
from tests.test_cli import run


def _env(tmp_path: Path) -> dict[str, str]:
    return {"DESKGUARD_DATABASE": str(tmp_path / "state.sqlite3"), "DESKGUARD_WATCH_QPS": "5000"}


def test_posture_json_lines_text_table_and_csv(dns_server: TestDNSServer, tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = run(["vendors", "posture", "--format", "json"], dns_server, env)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"vendor", "domain", "dmarc_policy", "spf_all", "dkim", "weak", "reasons"} <= set(
        rows[0]
    )
    by_domain = {r["domain"]: r for r in rows}
    assert by_domain["contosopayroll.com"]["spf_all"] == "+all"
    text = run(["vendors", "posture"], dns_server, env)
    assert text.stdout.splitlines()[0].split()[:4] == [
        "VENDOR",
        "DOMAIN",
        "DMARC_POLICY",
        "SPF_ALL",
    ]
    table = run(["vendors", "posture", "--format", "csv"], dns_server, env)
    parsed = list(csv.DictReader(io.StringIO(table.stdout)))
    assert {r["domain"] for r in parsed} == set(by_domain)
    assert {r["spf_all"] for r in parsed} >= {"-all", "+all"}  # readable, not formula-quoted


def test_posture_changes_first_run_is_the_baseline(
    dns_server: TestDNSServer, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    first = run(["vendors", "posture", "--changes", "--format", "json"], dns_server, env)
    assert first.returncode == 0 and first.stdout == ""
    dns_server.add("_dmarc.fabrikam.co.uk", "TXT", "v=DMARC1; p=reject")
    second = run(["vendors", "posture", "--changes", "--format", "json"], dns_server, env)
    (change,) = [json.loads(line) for line in second.stdout.splitlines()]
    assert change == {
        "vendor": "fabrikam",
        "domain": "fabrikam.co.uk",
        "field": "dmarc_policy",
        "before": "missing",
        "after": "reject",
        "severity": "info",
    }


def test_watch_lookalikes_reports_registered_ones(
    dns_server: TestDNSServer, tmp_path: Path
) -> None:
    dns_server.add("northwind-login.com", "NS", "ns1.registrar.example.")
    dns_server.add("northwind-login.com", "TXT", "v=spf1 -all")
    args = ["watch", "lookalikes", "--vendor", "northwind", "--fuzzers", "dictionary"]
    out = run([*args, "--format", "json"], dns_server, _env(tmp_path))
    assert out.returncode == 0, out.stderr
    found = {r["domain"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert found["northwind-login.com"]["can_send_mail"] is True  # SPF, no MX
    assert found["northwind-login.com"]["trick"] == "dictionary"
    assert found["northwind-support.com"]["mx"] == ["10 mx.northwind-support.com"]
    again = run([*args, "--changes", "--format", "json"], dns_server, _env(tmp_path))
    assert again.returncode == 0 and again.stdout == ""


def test_unknown_vendor_is_a_usage_error(dns_server: TestDNSServer, tmp_path: Path) -> None:
    out = run(["watch", "lookalikes", "--vendor", "nobody"], dns_server, _env(tmp_path))
    assert out.returncode == 2
    assert "no vendor with id 'nobody'" in out.stderr
