"""Received parsing, the trusted entry hop, and the trust boundary."""

from __future__ import annotations

import pytest

from bot.mail.message import ParsedMessage, parse_message
from bot.mail.received import Hop, boundary_index, host_matches, parse_received, trusted_hop
from tests.mail.mailbuild import eml

TRUSTED = ("mx.corp.example", "*.mail.corp.example")
ENTRY = "from mail.nw.example (mail.nw.example [203.0.113.5]) by mx.corp.example with ESMTPS; x"
EXTERNAL = "from relay.evil.example (relay [198.51.100.7]) by relay.evil.example with SMTP; x"


def message(received: list[str]) -> ParsedMessage:
    return parse_message(eml(top=[f"Received: {value}" for value in received]))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("mx.corp.example", True),
        ("MX.Corp.Example.", True),
        ("in1.mail.corp.example", True),
        ("mail.corp.example", False),
        ("evilmail.corp.example", False),
        ("mx.corp.example.evil.example", False),
        ("", False),
    ],
)
def test_host_matches(host: str, expected: bool) -> None:
    assert host_matches(host, TRUSTED) is expected


def test_host_matches_nothing_without_patterns() -> None:
    assert host_matches("mx.corp.example", ()) is False
    assert host_matches("mx.corp.example", ("", " ")) is False


@pytest.mark.parametrize(
    ("value", "by", "helo", "ip"),
    [
        (
            "from mail.example.com (mail.example.com [203.0.113.5]) by mx.corp.example "
            "(Postfix) with ESMTPS id ABC for <x@y>; Tue, 10 Nov 2026 09:30:00 +0000",
            "mx.corp.example",
            "mail.example.com",
            "203.0.113.5",
        ),
        (
            "from foo.example ([198.51.100.7] helo=bar.example) by mx.corp.example with esmtp "
            "(Exim 4.96) id 1abc; Tue",
            "mx.corp.example",
            "bar.example",
            "198.51.100.7",
        ),
        (
            "from unknown (HELO foo.example) (192.0.2.1) by mx.corp.example with SMTP; Tue",
            "mx.corp.example",
            "foo.example",
            "192.0.2.1",
        ),
        (
            "from AM0PR02MB1234.eurprd02.prod.outlook.com (2603:10a6:208:ac::12) by "
            "AM0PR02MB5678.eurprd02.prod.outlook.com (2603:10a6:208:ac::13) with Microsoft SMTP "
            "Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.1; x",
            "am0pr02mb5678.eurprd02.prod.outlook.com",
            "am0pr02mb1234.eurprd02.prod.outlook.com",
            "2603:10a6:208:ac::12",
        ),
        (
            "from [IPv6:2001:db8::1] (host.example [IPv6:2001:DB8::1]) by MX.Corp.Example. "
            "with ESMTP; Tue",
            "mx.corp.example",
            "[ipv6:2001:db8::1]",
            "2001:db8::1",
        ),
        (
            "from by.example.com (by.example.com [203.0.113.9]) by mx.corp.example; x",
            "mx.corp.example",
            "by.example.com",
            "203.0.113.9",
        ),
        (
            "from mail.example.com (mail.example.com [203.0.113.5] (may be forged)) "
            "by mx.corp.example (8.15.2/8.15.2) with ESMTP id x; Tue",
            "mx.corp.example",
            "mail.example.com",
            "203.0.113.5",
        ),
        ("by 2002:a05:6358:1234::c5d6 with SMTP id x; Tue", "2002:a05:6358:1234::c5d6", None, None),
        ("garbage (((", None, None, None),
        ("", None, None, None),
    ],
)
def test_parse_received(value: str, by: str | None, helo: str | None, ip: str | None) -> None:
    hop = parse_received(value, 4)
    assert (hop.by_host, hop.from_helo, hop.ip) == (by, helo, ip)
    assert (hop.index, hop.raw) == (4, value)


def test_invalid_bracketed_ip_is_not_an_ip() -> None:
    hop = parse_received("from x.example (x.example [999.1.2.3]) by mx.corp.example; x")
    assert hop.ip is None


def test_trusted_hop_is_our_entry_host() -> None:
    msg = message([ENTRY, EXTERNAL])
    hop = trusted_hop(msg, TRUSTED)
    assert hop == Hop(0, "mx.corp.example", "mail.nw.example", "203.0.113.5", ENTRY)
    assert boundary_index(msg, TRUSTED) == 1


def test_forged_trusted_hop_below_an_external_one_is_not_used() -> None:
    forged = "from mail.nw.example (mail.nw.example [192.0.2.10]) by mx.corp.example; x"
    msg = message([ENTRY.replace("203.0.113.5", "198.51.100.7"), EXTERNAL, forged])
    hop = trusted_hop(msg, TRUSTED)
    assert hop is not None and hop.ip == "198.51.100.7"


def test_forged_trusted_hop_right_below_the_entry_is_outside_the_boundary() -> None:
    forged = "from mail.nw.example (mail.nw.example [192.0.2.10]) by mx.corp.example; x"
    msg = message([ENTRY.replace("203.0.113.5", "198.51.100.7"), forged])
    hop = trusted_hop(msg, TRUSTED)
    assert hop is not None and hop.ip == "198.51.100.7"
    assert boundary_index(msg, TRUSTED) == 1


def test_internal_relay_hands_over_to_the_entry_hop() -> None:
    internal = "from mx.corp.example (mx.corp.example [10.1.2.3]) by in1.mail.corp.example; x"
    msg = message([internal, ENTRY, EXTERNAL])
    hop = trusted_hop(msg, TRUSTED)
    assert hop is not None and (hop.index, hop.ip) == (1, "203.0.113.5")
    assert boundary_index(msg, TRUSTED) == 2


def test_untrusted_internal_lines_above_the_entry_hop_are_ours() -> None:
    gmail_style = "by 2002:a05:6358:1234::c5d6 with SMTP id x; Tue"
    msg = message([gmail_style, ENTRY])
    hop = trusted_hop(msg, TRUSTED)
    assert hop is not None and hop.index == 1
    assert boundary_index(msg, TRUSTED) == len(msg.headers)


def test_no_trusted_hop() -> None:
    msg = parse_message(eml(top=["X-Top: 1", f"Received: {EXTERNAL}"]))
    assert trusted_hop(msg, TRUSTED) is None
    assert boundary_index(msg, TRUSTED) == 1
    assert trusted_hop(message([ENTRY]), ()) is None


def test_no_received_headers_at_all() -> None:
    msg = message([])
    assert trusted_hop(msg, TRUSTED) is None
    assert boundary_index(msg, TRUSTED) == len(msg.headers)


def test_internal_relay_does_not_hand_over_to_an_untrusted_hop() -> None:
    internal = "from mx.corp.example (mx.corp.example [10.1.2.3]) by in1.mail.corp.example; x"
    msg = message([internal, EXTERNAL, ENTRY])
    hop = trusted_hop(msg, TRUSTED)
    assert hop is not None and (hop.index, hop.ip) == (0, "10.1.2.3")
    assert boundary_index(msg, TRUSTED) == 1
