"""Trusted Authentication-Results: authserv-id, the trust boundary, hostile and broken headers."""

from __future__ import annotations

import authres as authres_lib

from bot.mail.authres import (
    BELOW_BOUNDARY,
    INVALID_DOMAIN,
    NOT_TRUSTED,
    UNPARSEABLE,
    AuthResult,
    read_auth_results,
)
from bot.mail.message import ParsedMessage, parse_message
from tests.mail.mailbuild import eml

TRUSTED = ("mx.corp.example",)
ENTRY = (
    "Received: from mail.nw.example (mail.nw.example [203.0.113.5]) by mx.corp.example "
    "with ESMTPS; Tue, 10 Nov 2026 09:30:02 +0000"
)
EXTERNAL = "Received: from x.evil.example (x [198.51.100.7]) by relay.evil.example; Tue"
GOOD = (
    "Authentication-Results: mx.corp.example 1; dkim=pass (2048-bit key; secure) "
    "header.d=northwind-software.com header.i=@northwind-software.com header.s=s1; "
    "spf=pass smtp.mailfrom=bounce@northwind-software.com smtp.helo=[203.0.113.5]; "
    "dmarc=pass header.from=northwind-software.com"
)


def message(top: list[str]) -> ParsedMessage:
    return parse_message(eml(top=top))


def test_trusted_header_above_the_boundary() -> None:
    view = read_auth_results(message([GOOD, ENTRY, EXTERNAL]), TRUSTED)
    assert view.ignored == []
    assert [r.method for r in view.trusted] == ["dkim", "spf", "dmarc"]
    assert view.find("DKIM") == [
        AuthResult(
            "dkim",
            "pass",
            {
                "header.d": "northwind-software.com",
                "header.i": "@northwind-software.com",
                "header.s": "s1",
            },
        )
    ]
    assert view.find("spf")[0].properties == {"smtp.mailfrom": "bounce@northwind-software.com"}
    assert view.find("arc") == []


def test_gmail_style_header_below_our_own_received() -> None:
    view = read_auth_results(message([ENTRY, GOOD, EXTERNAL]), TRUSTED)
    assert view.ignored == []
    assert view.find("dmarc")[0].result == "pass"


def test_header_from_someone_else_is_ignored() -> None:
    other = GOOD.replace("mx.corp.example 1;", "mx.evil.example;")
    view = read_auth_results(message([other, ENTRY]), TRUSTED)
    assert view.trusted == []
    assert view.ignored == [("mx.evil.example", NOT_TRUSTED)]


def test_our_authserv_id_below_an_external_received_is_forged() -> None:
    view = read_auth_results(message([ENTRY, EXTERNAL, GOOD]), TRUSTED)
    assert view.trusted == []
    assert view.ignored == [("mx.corp.example", BELOW_BOUNDARY)]


def test_without_a_trusted_received_the_first_received_is_the_boundary() -> None:
    view = read_auth_results(message([EXTERNAL, GOOD]), TRUSTED)
    assert view.trusted == []
    assert view.ignored == [("mx.corp.example", BELOW_BOUNDARY)]
    assert len(read_auth_results(message([GOOD]), TRUSTED).trusted) == 3


def test_forged_header_between_entry_and_a_forged_trusted_received() -> None:
    forged_hop = "Received: from a (a [192.0.2.9]) by mx.corp.example; Tue"
    view = read_auth_results(message([ENTRY, GOOD, forged_hop, GOOD]), TRUSTED)
    assert len(view.find("dkim")) == 1
    assert view.ignored == [("mx.corp.example", BELOW_BOUNDARY)]


def test_microsoft_365_header_without_authserv_id() -> None:
    m365 = (
        "Authentication-Results: spf=pass (sender IP is 203.0.113.5) "
        "smtp.mailfrom=northwind-software.com; dkim=pass (signature was verified) "
        "header.d=northwind-software.com;dmarc=pass action=none "
        "header.from=northwind-software.com;compauth=pass reason=100"
    )
    view = read_auth_results(message([m365, ENTRY]), TRUSTED)
    assert view.trusted == []
    assert view.ignored == [("?", f"{UNPARSEABLE}: no authserv-id (Microsoft 365 style)")]


def test_the_library_really_misreads_an_open_comment() -> None:
    text = "mx.corp.example; dkim=pass header.d=legit.example(.evil.example; dmarc=pass"
    parsed = authres_lib.all_features().parse_value(text)
    assert [r.method for r in parsed.results] == ["dkim"]
    assert parsed.results[0].properties == []


def test_open_comment_after_a_domain_is_an_invalid_domain() -> None:
    bad = (
        "Authentication-Results: mx.corp.example; dkim=pass "
        "header.d=legit.example(.evil.example header.s=s1; dmarc=pass header.from=legit.example"
    )
    view = read_auth_results(message([bad, ENTRY]), TRUSTED)
    assert view.trusted == []
    assert len(view.ignored) == 1
    ident, why = view.ignored[0]
    assert ident == "mx.corp.example"
    assert why.startswith(INVALID_DOMAIN)
    assert "legit.example(.evil.example" in why


def test_quote_inside_a_domain_is_an_invalid_domain() -> None:
    bad = "Authentication-Results: mx.corp.example; dkim=pass header.d=legit.example'a.evil.example"
    view = read_auth_results(message([bad, ENTRY]), TRUSTED)
    assert view.trusted == []
    assert view.ignored[0][1].startswith(INVALID_DOMAIN)


def test_invalid_mailfrom_domain() -> None:
    bad = "Authentication-Results: mx.corp.example; spf=pass smtp.mailfrom=a@bad_domain..example"
    view = read_auth_results(message([bad, ENTRY]), TRUSTED)
    assert view.ignored == [
        ("mx.corp.example", f"{INVALID_DOMAIN}: smtp.mailfrom='a@bad_domain..example'")
    ]


def test_unbalanced_comment_without_domains_is_unparseable() -> None:
    bad = "Authentication-Results: mx.corp.example; spf=pass (never closed smtp.mailfrom"
    view = read_auth_results(message([bad, ENTRY]), TRUSTED)
    assert view.trusted == []
    assert view.ignored[0][1].startswith(UNPARSEABLE)


def test_garbage_is_unparseable_not_a_crash() -> None:
    for value in ["mx.corp.example; ===;;; !!", "mx.corp.example; spf", "mx.corp.example;"]:
        view = read_auth_results(message([f"Authentication-Results: {value}", ENTRY]), TRUSTED)
        assert view.trusted == []
        assert view.ignored and view.ignored[0][1].startswith(UNPARSEABLE), value


def test_none_result_is_trusted_and_empty() -> None:
    view = read_auth_results(
        message(["Authentication-Results: mx.corp.example; none", ENTRY]), TRUSTED
    )
    assert view.trusted == []
    assert view.ignored == []


def test_null_sender_and_none_domains_are_dropped_not_fatal() -> None:
    header = (
        "Authentication-Results: mx.corp.example; spf=none smtp.mailfrom=<> "
        "smtp.helo=mail.nw.example; dkim=none header.d=none"
    )
    view = read_auth_results(message([header, ENTRY]), TRUSTED)
    assert view.ignored == []
    assert view.find("spf")[0].properties == {"smtp.helo": "mail.nw.example"}
    assert view.find("dkim")[0].properties == {}


def test_wildcard_authserv_ids() -> None:
    header = GOOD.replace("mx.corp.example 1;", "in2.mail.corp.example;")
    entry = ENTRY.replace("by mx.corp.example", "by in2.mail.corp.example")
    view = read_auth_results(message([header, entry]), ("*.mail.corp.example",))
    assert len(view.trusted) == 3


def test_no_trusted_ids_configured_trusts_nothing() -> None:
    view = read_auth_results(message([GOOD, ENTRY]), ())
    assert view.trusted == []
    assert view.ignored == [("mx.corp.example", NOT_TRUSTED)]
