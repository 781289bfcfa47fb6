"""`deskguard verify FILE` / `-` end to end: the installed console script in a subprocess, DNS from
the real test server (DESKGUARD_DNS_NAMESERVERS) or from examples/dns-snapshot.json (offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import SigningKey as Key
from tests.support.mailsign import build, prepend, rsa_key, sign
from tests.support.signed import received

ROOT = Path(__file__).resolve().parents[1]
DESKGUARD = Path(sys.executable).parent / "deskguard"
EXAMPLES = ROOT / "examples"
OUR_MX = "mx.example-corp.test"
NW = "northwind-software.com"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGUARD_")}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def _run(
    args: list[str], env: dict[str, str], cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(DESKGUARD), *args], env=env, cwd=cwd, input=stdin, capture_output=True, timeout=60
    )


def _lines(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


@pytest.fixture
def key(dns_server: TestDNSServer) -> Key:
    k = rsa_key(2048)
    dns_server.add(f"s1._domainkey.{NW}", "TXT", k.txt())
    return k


@pytest.fixture
def env(dns_server: TestDNSServer) -> dict[str, str]:
    return _env(
        DESKGUARD_DNS_NAMESERVERS=dns_server.nameserver,
        DESKGUARD_DNS_TIMEOUT="1",
        DESKGUARD_REGISTRY=str(ROOT / "tests" / "fixtures" / "vendors.yml"),
        DESKGUARD_TRUSTED_AUTHSERV_IDS=OUR_MX,
    )


def _genuine(key: Key) -> bytes:
    msg = sign(
        build(from_=f"Dana Whitfield <dana.whitfield@{NW}>"), domain=NW, selector="s1", key=key
    )
    return prepend(
        msg,
        f"Return-Path: <dana.whitfield@{NW}>",
        received(OUR_MX, "mx.northwind-software.com", "192.0.2.25"),
    )


def _spoofed() -> bytes:
    msg = build(
        from_=f'"Northwind Software Security" <security@{NW}>',
        subject="Urgent: reset the MFA of svc-northwind",
        body="Call our engineer on 1-8OO-555-0199 now.\r\n",
    )
    return prepend(
        msg, f"Return-Path: <security@{NW}>", received(OUR_MX, "evil.example", "203.0.113.66")
    )


def test_verify_file_json(tmp_path: Path, env: dict[str, str], key: Key) -> None:
    (tmp_path / "genuine.eml").write_bytes(_genuine(key))
    (tmp_path / "spoofed.eml").write_bytes(_spoofed())
    done = _run(["verify", "genuine.eml", "spoofed.eml", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    genuine, spoofed = _lines(done.stdout)
    assert (genuine["target"], genuine["kind"], genuine["verdict"]) == (
        "genuine.eml",
        "message",
        "verified",
    )
    assert genuine["auth"]["dmarc"]["result"] == "pass"
    assert genuine["vendor"]["id"] == "northwind"
    assert spoofed["verdict"] == "spoofed"
    codes = {r["code"] for r in spoofed["reasons"]}
    assert {"dmarc_fail", "unregistered_phone_number", "high_risk_request"} <= codes
    assert spoofed["callback"]["phone"] == "+12065550142"


def test_verify_stdin_text(tmp_path: Path, env: dict[str, str], dns_server: TestDNSServer) -> None:
    done = _run(["verify", "-"], env, tmp_path, stdin=_spoofed())
    assert done.returncode == 0, done.stderr.decode()
    text = done.stdout.decode()
    assert text.startswith("SPOOFED  message from security@northwind-software.com (message)")
    assert "[dmarc_fail]" in text
    assert "Call +1 206-555-0142" in text
    assert "Do not call +1 800-555-0199" in text


def test_unusable_file_is_one_line_error(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    done = _run(["verify", "empty.eml", "--json"], env, tmp_path)
    assert done.returncode == 2
    assert done.stdout == b""
    err = done.stderr.decode().strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deskguard: empty.eml: ")
    assert "Traceback" not in done.stderr.decode()


def test_examples_offline_with_snapshot(tmp_path: Path) -> None:
    files = [
        str(EXAMPLES / "genuine-northwind.eml"),
        str(EXAMPLES / "spoofed-northwind.eml"),
        str(EXAMPLES / "lookalike-northwind-support.eml"),
        "northwind-software.com",
    ]
    common = [
        "--dns-cache",
        str(EXAMPLES / "dns-snapshot.json"),
        "--registry",
        str(EXAMPLES / "vendors.yml"),
        "--json",
    ]
    # unreachable nameserver: any query that escaped the snapshot would fail
    env = _env(DESKGUARD_DNS_NAMESERVERS="127.0.0.1:9", DESKGUARD_TRUSTED_AUTHSERV_IDS=OUR_MX)
    done = _run(["verify", *files, *common], env, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    genuine, spoofed, lookalike, domain = _lines(done.stdout)
    assert genuine["verdict"] == "verified"
    # a file: the trusted hop's SPF pass is only what its headers claim; DKIM carries the verdict
    assert genuine["auth"]["spf"]["result"] == "none"
    assert genuine["auth"]["headers_claim"]["spf"]["result"] == "pass"
    assert genuine["auth"]["evidence"]["dmarc"] == "signature"
    assert spoofed["verdict"] == "spoofed"
    assert "untrusted_auth_results" in {r["code"] for r in spoofed["reasons"]}
    assert lookalike["verdict"] == "suspicious"
    assert lookalike["auth"]["dmarc"]["result"] == "pass"
    assert lookalike["callback"]["phone"] == "+12065550142"
    assert (domain["kind"], domain["vendor"]["id"]) == ("domain", "northwind")

    plain = _env(DESKGUARD_DNS_NAMESERVERS="127.0.0.1:9")
    done = _run(["verify", files[0], *common], plain, tmp_path)
    (without_hop,) = _lines(done.stdout)
    assert without_hop["auth"]["spf"]["result"] == "none"
    assert without_hop["verdict"] == "verified"


def _carrying(outer_from: str, inner: bytes, body: str) -> bytes:
    head = (
        f"From: {outer_from}\r\nTo: helpdesk@example-corp.test\r\nSubject: Fwd: Northwind\r\n"
        "Date: Tue, 10 Nov 2026 09:30:00 +0000\r\nMessage-ID: <cli-outer@example>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="cli-b"\r\n\r\n'
        f"--cli-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        "--cli-b\r\nContent-Type: message/rfc822\r\n"
        'Content-Disposition: attachment; filename="northwind.eml"\r\n\r\n'
    )
    return head.encode() + inner + b"\r\n--cli-b--\r\n"


def test_attached_vendor_email_is_not_the_senders(
    tmp_path: Path, env: dict[str, str], key: Key
) -> None:
    """Issue 10: an attacker's email carrying a genuine signed vendor email is not verified; the
    organization's own forward of the same email is."""
    genuine = sign(
        build(from_=f"Dana Whitfield <dana.whitfield@{NW}>"), domain=NW, selector="s1", key=key
    )
    attack = _carrying(
        "IT Partner <partner@evil.example>",
        genuine,
        "Reset the MFA of svc-northwind and call us on +1 900 555 0199.\r\n",
    )
    (tmp_path / "attack.eml").write_bytes(attack)
    (tmp_path / "forward.eml").write_bytes(
        _carrying("Ana Lyst <ana@corp.example>", genuine, "Is this real?\r\n")
    )
    env = {**env, "DESKGUARD_ORG_DOMAINS": "corp.example"}
    done = _run(["verify", "attack.eml", "forward.eml", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    attacked, forwarded = _lines(done.stdout)
    assert attacked["verdict"] != "verified"
    codes = {r["code"] for r in attacked["reasons"]}
    assert {"attached_message", "unregistered_phone_number", "high_risk_request"} <= codes
    assert attacked["message"]["from"] == "partner@evil.example"
    assert forwarded["verdict"] == "verified", forwarded
    assert forwarded["message"]["from"] == "dana.whitfield@northwind-software.com"
    assert forwarded["message"]["forwarded_by"] == ["ana@corp.example"]
