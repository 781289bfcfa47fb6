"""Writing Authentication-Results (RFC 8601): every result a check produced, nothing an attacker
can steer into the header, and text that a standard parser (authres) reads back."""

from __future__ import annotations

import socket
from typing import Any

import authres

from bot.mail.authres_write import (
    auth_results_header,
    auth_results_value,
    resolve_authserv_id,
    result_infos,
)

NW = "northwind-software.com"


def _auth(**changes: Any) -> dict[str, Any]:
    auth: dict[str, Any] = {
        "spf": {"result": "pass", "domain": NW, "source": "deskguard", "explanation": "ok"},
        "dkim": [
            {"domain": NW, "selector": "s1", "algorithm": "rsa-sha256", "result": "pass"},
            {"domain": "relay.example", "selector": "k", "algorithm": "ed25519-sha256",
             "result": "fail"},
        ],
        "dmarc": {"result": "pass", "from_domain": NW, "policy": "reject"},
        "arc": {"cv": "none", "trusted": False},
    }  # fmt: skip
    auth.update(changes)
    return auth


def _parse(header: str) -> Any:
    return authres.AuthenticationResultsHeader.parse(header.replace("\n", "\r\n"))


def test_every_check_is_written_and_parses_back() -> None:
    header = auth_results_header("mx.corp.test", _auth())
    parsed = _parse(header)
    assert parsed.authserv_id == "mx.corp.test"
    assert [(r.method, r.result) for r in parsed.results] == [
        ("spf", "pass"),
        ("dkim", "pass"),
        ("dkim", "fail"),
        ("dmarc", "pass"),
        ("arc", "none"),
    ]
    dkim = parsed.results[1]
    assert {p.type + "." + p.name: p.value for p in dkim.properties} == {
        "header.d": NW,
        "header.s": "s1",
        "header.a": "rsa-sha256",
    }
    assert all(len(line.expandtabs(1)) <= 78 for line in header.splitlines())


def test_nothing_checked_is_none() -> None:
    assert auth_results_value("mx.corp.test", None) == "mx.corp.test; none"
    assert _parse(auth_results_header("mx.corp.test", None)).results == []


def test_checks_that_did_not_run_are_left_out() -> None:
    auth = _auth(spf={"result": "none", "domain": None, "source": "none"}, dkim=[], dmarc=None)
    assert result_infos(auth) == ["dkim=none", "arc=none"]
    temperror_arc = _auth(arc={"cv": "temperror"})
    assert not any(i.startswith("arc=") for i in result_infos(temperror_arc))


def test_hostile_values_never_reach_the_header() -> None:
    auth = _auth(
        spf={"result": "pass\r\nX-Evil: 1", "domain": NW, "source": "deskguard"},
        dkim=[
            {"domain": "legit.example(.evil.example", "selector": "s1", "result": "pass"},
            {"domain": "a.example; dmarc=pass", "selector": "x;y", "result": "pass"},
            {"domain": "ok.example", "selector": "s1\r\nX: y", "algorithm": "rsa-sha256)",
             "result": "pass"},
        ],
        dmarc={"result": "pass", "from_domain": "evil.example\n", "policy": "reject) (x"},
    )  # fmt: skip
    value = auth_results_value("mx.corp.test", auth)
    # a pass that names no clean domain is left out; bad selectors and algorithms are dropped
    assert value == "mx.corp.test; dkim=pass header.d=ok.example; arc=none"
    header = auth_results_header("mx.corp.test", auth)
    assert all(line.startswith("\t") for line in header.splitlines()[1:])
    assert "\r" not in header and "evil.example(" not in header


def test_authserv_id_choice_and_quoting() -> None:
    assert resolve_authserv_id("dg.corp.test", ["mx.corp.test"]) == "dg.corp.test"
    assert resolve_authserv_id(None, ["*.corp.test", "mx.corp.test"]) == "mx.corp.test"
    host = socket.gethostname()
    assert resolve_authserv_id(None, ["*.corp.test"]) in (host, "localhost")
    assert auth_results_value('odd "id"', None) == '"odd \\"id\\""; none'


def test_trusted_header_source_is_said_in_a_comment() -> None:
    auth = _auth(spf={"result": "pass", "domain": NW, "source": "trusted_auth_results"})
    (spf, *_) = result_infos(auth)
    assert spf == f"spf=pass (from a trusted Authentication-Results header) smtp.mailfrom={NW}"
    parsed = _parse(auth_results_header("mx.corp.test", auth))
    assert parsed.results[0].result == "pass"
