"""`deskguard verify FILE --ip --helo --mail-from` evaluates SPF as if the file had been received in
that SMTP transaction (the operator vouches for it, so SPF counts as evidence), and
`--auth-results` prints the Authentication-Results header of the verification."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import authres
import pytest

from tests.support.cli import cli_env, run_cli
from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import build

ROOT = Path(__file__).resolve().parents[1]
NW = "northwind-software.com"
VENDOR_IP, OTHER_IP = "192.0.2.25", "203.0.113.66"  # inside / outside northwind's SPF


def _verify(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(["verify", *args], env, cwd=cwd)


@pytest.fixture
def unsigned(tmp_path: Path) -> Path:
    """A plain note from the vendor's registered contact: no DKIM, no Received headers."""
    path = tmp_path / "unsigned.eml"
    path.write_bytes(
        b"Return-Path: <dana.whitfield@northwind-software.com>\r\n"
        + build(from_=f"Dana Whitfield <dana.whitfield@{NW}>", body="Lunch on Thursday?\r\n")
    )
    return path


def _one(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    data: dict[str, Any] = json.loads(line)
    return data


def test_without_an_envelope_a_file_has_no_spf(unsigned: Path, dns_server: TestDNSServer) -> None:
    report = _one(_verify([unsigned.name, "--json"], cli_env(dns_server), unsigned.parent))
    assert report["auth"]["spf"]["source"] == "none"
    assert report["verdict"] != "verified"  # nothing the sender could not forge


def test_spf_from_the_vouched_envelope_counts(unsigned: Path, dns_server: TestDNSServer) -> None:
    args = [unsigned.name, "--json", "--ip", VENDOR_IP, "--helo", f"mx.{NW}"]
    report = _one(_verify(args, cli_env(dns_server), unsigned.parent))
    spf = report["auth"]["spf"]
    assert (spf["result"], spf["source"], spf["domain"]) == ("pass", "envelope", NW)
    assert report["auth"]["dmarc"]["result"] == "pass"
    assert report["verdict"] == "verified"


def test_an_envelope_from_elsewhere_fails_spf(unsigned: Path, dns_server: TestDNSServer) -> None:
    args = [unsigned.name, "--json", "--ip", OTHER_IP, "--mail-from", f"<bounce@{NW}>"]
    report = _one(_verify(args, cli_env(dns_server), unsigned.parent))
    assert report["auth"]["spf"]["result"] == "fail"
    assert report["auth"]["dmarc"]["result"] == "fail"
    assert report["verdict"] == "spoofed"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--ip", "999.1.1.1"], "--ip"),
        (["--helo", f"mx.{NW}"], "--ip"),
        (["--mail-from", "x@y.example"], "--ip"),
        (["--ip", VENDOR_IP, "--mail-from", "not an address"], "--mail-from"),
        (["--ip", VENDOR_IP, "--helo", "two words"], "--helo"),
    ],
)
def test_bad_envelope_flags_are_usage_errors(
    unsigned: Path, dns_server: TestDNSServer, args: list[str], needle: str
) -> None:
    done = _verify([unsigned.name, *args], cli_env(dns_server), unsigned.parent)
    assert done.returncode == 2
    assert needle in done.stderr and done.stderr.count("\n") == 1


def test_auth_results_header_text_and_json(unsigned: Path, dns_server: TestDNSServer) -> None:
    env = cli_env(dns_server, DESKGUARD_AUTHSERV_ID="deskguard.example-corp.test")
    args = [unsigned.name, "--ip", VENDOR_IP, "--auth-results"]
    text = _verify(args, env, unsigned.parent)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Authentication-Results:"))
    header = "\r\n".join(lines[start:])
    assert all(line.startswith("\t") for line in lines[start + 1 :])
    parsed = authres.AuthenticationResultsHeader.parse(header)
    assert parsed.authserv_id == "deskguard.example-corp.test"
    results = {r.method: r.result for r in parsed.results}
    assert results == {"spf": "pass", "dkim": "none", "dmarc": "pass", "arc": "none"}

    data = _one(_verify([*args, "--json"], env, unsigned.parent))
    assert data["authentication_results"] == (
        f"deskguard.example-corp.test; spf=pass smtp.mailfrom={NW}; dkim=none; "
        f"dmarc=pass (p=reject) header.from={NW}; arc=none"
    )


def test_authserv_id_defaults_to_the_first_trusted_id(
    unsigned: Path, dns_server: TestDNSServer
) -> None:
    env = cli_env(
        dns_server, DESKGUARD_TRUSTED_AUTHSERV_IDS="*.corp.test,mx1.corp.test,mx2.corp.test"
    )
    data = _one(_verify([unsigned.name, "--json", "--auth-results"], env, unsigned.parent))
    assert data["authentication_results"].startswith("mx1.corp.test; ")
    assert "spf=" not in data["authentication_results"]  # not evaluated: left out, not "none"
    domain = _one(_verify(["northwind.io", "--json", "--auth-results"], env, unsigned.parent))
    assert domain["authentication_results"] is None  # only messages have one


def test_a_bad_authserv_id_setting_names_the_variable(
    unsigned: Path, dns_server: TestDNSServer
) -> None:
    env = cli_env(dns_server, DESKGUARD_AUTHSERV_ID="mx; spf=pass")
    done = _verify([unsigned.name, "--auth-results"], env, unsigned.parent)
    assert done.returncode == 2
    assert done.stderr.startswith("deskguard: DESKGUARD_AUTHSERV_ID:")
