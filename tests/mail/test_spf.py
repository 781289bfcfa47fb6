"""bot.mail.spf against the real test DNS server: results, limits, DNS failures, hostile input."""

from __future__ import annotations

import asyncio

import pytest

from bot.dns import Resolver
from bot.mail.spf import RESULTS, SpfResult, check_spf, check_spf_async
from tests.support.dnsserver import TestDNSServer

D = "spf-unit.example"  # every name below lives under this zone


def _spf(server: TestDNSServer, name: str, record: str | list[str]) -> None:
    server.add(name, "TXT", record)


def _check(
    resolver: Resolver, ip: str, sender: str, helo: str | None = "mx.helo.example"
) -> SpfResult:
    return check_spf(ip, sender, helo=helo, resolver=resolver)


# results through includes


def test_pass_through_include(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, f"v=spf1 include:_spf.{D} -all")
    _spf(dns_server, f"_spf.{D}", "v=spf1 ip4:192.0.2.0/24 -all")

    got = _check(resolver, "192.0.2.10", f"billing@{D}")

    assert got.result == "pass"
    assert got.domain == D
    assert got.mechanism == f"include:_spf.{D}"
    assert got.lookups == 1
    assert "authorizes 192.0.2.10" in got.explanation


def test_fail_when_include_does_not_match(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, f"v=spf1 include:_spf.{D} -all")
    _spf(dns_server, f"_spf.{D}", "v=spf1 ip4:192.0.2.0/24 -all")

    got = _check(resolver, "198.51.100.9", f"billing@{D}")

    assert got.result == "fail"
    assert got.mechanism == "-all"
    assert got.policy_explanation is None
    assert "does not authorize 198.51.100.9" in got.explanation


def test_softfail_after_nested_includes(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, f"v=spf1 include:a.{D} ~all")
    _spf(dns_server, f"a.{D}", f"v=spf1 include:b.{D} -all")
    _spf(dns_server, f"b.{D}", "v=spf1 ip4:203.0.113.1 -all")

    assert _check(resolver, "203.0.113.1", f"x@{D}").result == "pass"
    got = _check(resolver, "203.0.113.2", f"x@{D}")
    assert got.result == "softfail"
    assert got.lookups == 2


def test_neutral_and_exp_text_of_the_domain(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, "v=spf1 ip4:192.0.2.1 ?all")
    _spf(dns_server, f"strict.{D}", f"v=spf1 -all exp=why.{D}")
    _spf(dns_server, f"why.{D}", "%{i} may not send for %{d}")

    assert _check(resolver, "192.0.2.2", f"x@{D}").result == "neutral"
    got = _check(resolver, "192.0.2.2", f"x@strict.{D}")
    assert got.result == "fail"
    assert got.policy_explanation == f"192.0.2.2 may not send for strict.{D}"


def test_ipv6_client_and_mx(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, "v=spf1 mx -all")
    dns_server.add(D, "MX", f"10 mx.{D}.")
    dns_server.add(f"mx.{D}", "AAAA", "2001:db8::25")

    assert _check(resolver, "2001:db8::25", f"x@{D}").result == "pass"
    assert _check(resolver, "2001:db8::26", f"x@{D}").result == "fail"


# processing limits (RFC 7208 4.6.4)


def test_eleven_lookups_is_permerror_ten_is_not(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    for i in range(11):
        dns_server.add(f"h{i}.{D}", "A", f"198.51.100.{i + 1}")
    ten = " ".join(f"a:h{i}.{D}" for i in range(10))
    _spf(dns_server, f"ten.{D}", f"v=spf1 {ten} -all")
    _spf(dns_server, f"eleven.{D}", f"v=spf1 {ten} a:h10.{D} -all")

    assert _check(resolver, "192.0.2.99", f"x@ten.{D}").result == "fail"
    got = _check(resolver, "192.0.2.99", f"x@eleven.{D}")
    assert got.result == "permerror"
    assert "Too many DNS lookups" in (got.detail or "")
    assert got.lookups == 11
    assert "neither a pass nor a fail" in got.explanation


def test_lookups_count_across_includes(dns_server: TestDNSServer, resolver: Resolver) -> None:
    for i in range(6):
        dns_server.add(f"h{i}.{D}", "A", f"198.51.100.{i + 1}")
    five = " ".join(f"a:h{i}.{D}" for i in range(5))
    _spf(dns_server, f"inc.{D}", f"v=spf1 {five} -all")
    _spf(dns_server, D, f"v=spf1 include:inc.{D} {five} a:h5.{D} -all")

    got = _check(resolver, "192.0.2.99", f"x@{D}")

    assert got.result == "permerror"
    assert got.lookups == 11


def test_three_void_lookups_is_permerror_two_is_not(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _spf(dns_server, f"two.{D}", f"v=spf1 a:v1.{D} a:v2.{D} -all")
    _spf(dns_server, f"three.{D}", f"v=spf1 a:v1.{D} a:v2.{D} mx:v3.{D} -all")

    assert _check(resolver, "192.0.2.1", f"x@two.{D}").result == "fail"
    got = _check(resolver, "192.0.2.1", f"x@three.{D}")
    assert got.result == "permerror"
    assert "Void lookup limit" in (got.detail or "")


def test_include_loop_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, f"v=spf1 include:loop.{D} -all")
    _spf(dns_server, f"loop.{D}", f"v=spf1 include:{D} -all")

    assert _check(resolver, "192.0.2.1", f"x@{D}").result == "permerror"


def test_two_spf_records_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, "v=spf1 +all")
    _spf(dns_server, D, "v=spf1 -all")
    _spf(dns_server, D, "google-site-verification=abc")

    got = _check(resolver, "192.0.2.1", f"x@{D}")

    assert got.result == "permerror"
    assert "Two or more" in (got.detail or "")


def test_include_without_record_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, f"v=spf1 include:nothing.{D} -all")
    dns_server.add(f"nothing.{D}", "A", "192.0.2.7")

    assert _check(resolver, "192.0.2.7", f"x@{D}").result == "permerror"


def test_syntax_error_is_permerror_not_fail(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, "v=spf1 ip4:192.0.2.300 -all")

    got = _check(resolver, "192.0.2.1", f"x@{D}")

    assert got.result == "permerror"
    assert "192.0.2.300" in (got.detail or "")


# DNS failures are temperror, never fail or none


def test_servfail_is_temperror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.servfail.add(D)

    got = _check(resolver, "192.0.2.1", f"x@{D}")

    assert got.result == "temperror"
    assert "Could not check" in got.explanation


def test_timeout_inside_include_is_temperror(dns_server: TestDNSServer) -> None:
    _spf(dns_server, D, f"v=spf1 ip4:198.51.100.1 include:slow.{D} -all")
    dns_server.timeouts.add(f"slow.{D}")
    quick = Resolver([dns_server.address], timeout=0.3)

    got = check_spf("192.0.2.1", f"x@{D}", helo=None, resolver=quick)

    assert got.result == "temperror"
    assert "timeout" in (got.detail or "")
    # the answer before the slow term still decides when it matches
    assert check_spf("198.51.100.1", f"x@{D}", helo=None, resolver=quick).result == "pass"


def test_no_record_is_none(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, "some other text record")
    dns_server.add(f"mx.{D}", "A", "192.0.2.1")

    assert _check(resolver, "192.0.2.1", f"x@{D}").result == "none"
    assert _check(resolver, "192.0.2.1", f"x@mx.{D}").result == "none"
    got = _check(resolver, "192.0.2.1", f"x@missing.{D}")
    assert got.result == "none"
    assert "publishes no SPF policy" in got.explanation


# senders and HELO


def test_empty_sender_uses_postmaster_at_helo(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _spf(dns_server, f"mta.{D}", f"v=spf1 -all exp=why.{D}")
    _spf(dns_server, f"why.{D}", "%{l} at %{o}")

    got = check_spf("192.0.2.1", "", helo=f"mta.{D}", resolver=resolver)

    assert got.result == "fail"
    assert got.domain == f"mta.{D}"
    assert got.policy_explanation == f"postmaster at mta.{D}"
    assert got.sender == ""
    assert got.helo == f"mta.{D}"


def test_angle_brackets_and_case(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, "v=spf1 ip4:192.0.2.1 -all")

    got = check_spf("192.0.2.1", " <Billing@SPF-UNIT.example> ", helo=None, resolver=resolver)

    assert got.result == "pass"


def test_unicode_domain_is_queried_as_punycode(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _spf(dns_server, f"xn--bcher-kva.{D}", "v=spf1 ip4:192.0.2.1 -all")

    got = check_spf("192.0.2.1", f"x@bücher.{D}", helo=None, resolver=resolver)

    assert got.result == "pass"
    assert got.domain == f"xn--bcher-kva.{D}"


@pytest.mark.parametrize(
    ("ip", "sender", "helo", "why"),
    [
        ("not-an-ip", "x@spf-unit.example", None, "not an IP address"),
        ("192.0.2.1", "", None, "no envelope sender and no HELO"),
        ("192.0.2.1", "x@[192.0.2.1]", None, "address literal"),
        ("192.0.2.1", "x@localhost", None, "not a fully qualified"),
        ("192.0.2.1", "x@a..spf-unit.example", None, "empty label"),
        ("192.0.2.1", "x@" + "a" * 64 + ".example", None, "longer than 63"),
        ("192.0.2.1", "x@spf-unit.example\r\nX: y", None, "control or space"),
        ("192.0.2.1", "x@xn--zz.example", None, None),
    ],
)
def test_unusable_input_is_none_with_a_reason(
    dns_server: TestDNSServer,
    resolver: Resolver,
    ip: str,
    sender: str,
    helo: str | None,
    why: str | None,
) -> None:
    _spf(dns_server, D, "v=spf1 +all")

    got = check_spf(ip, sender, helo=helo, resolver=resolver)

    assert got.result == "none"
    if why is not None:
        assert why in got.explanation


def test_multiple_strings_are_glued_without_spaces(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _spf(dns_server, D, ["v=spf1 ip4:", "192.0.2.5", "", " -all"])

    assert _check(resolver, "192.0.2.5", f"x@{D}").result == "pass"


def test_ptr_is_validated_forward(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, f"v=spf1 ptr:{D} -all")
    dns_server.add("1.2.0.192.in-addr.arpa", "PTR", f"mx.{D}.")
    dns_server.add("2.2.0.192.in-addr.arpa", "PTR", f"liar.{D}.")
    dns_server.add(f"mx.{D}", "A", "192.0.2.1")
    dns_server.add(f"liar.{D}", "A", "198.51.100.1")

    assert _check(resolver, "192.0.2.1", f"x@{D}").result == "pass"
    assert _check(resolver, "192.0.2.2", f"x@{D}").result == "fail"


def test_to_json_carries_every_field(dns_server: TestDNSServer, resolver: Resolver) -> None:
    _spf(dns_server, D, "v=spf1 ip4:192.0.2.1 -all")

    data = _check(resolver, "192.0.2.1", f"x@{D}").to_json()

    assert data["result"] == "pass"
    assert data["domain"] == D
    assert data["ip"] == "192.0.2.1"
    assert data["sender"] == f"x@{D}"
    assert data["helo"] == "mx.helo.example"
    assert data["lookups"] == 0
    assert set(RESULTS) >= {data["result"]}


async def test_async_checks_run_concurrently_without_mixing(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    for i in range(8):
        _spf(dns_server, f"d{i}.{D}", f"v=spf1 include:i{i}.{D} -all")
        _spf(dns_server, f"i{i}.{D}", f"v=spf1 ip4:192.0.2.{i} -all")

    results = await asyncio.gather(
        *(
            check_spf_async(f"192.0.2.{i}", f"x@d{i}.{D}", helo=None, resolver=resolver)
            for i in range(8)
        ),
        *(
            check_spf_async(f"192.0.2.{i + 1}", f"x@d{i}.{D}", helo=None, resolver=resolver)
            for i in range(8)
        ),
    )

    assert [r.result for r in results[:8]] == ["pass"] * 8
    assert [r.result for r in results[8:]] == ["fail"] * 8
    assert [r.domain for r in results[:8]] == [f"d{i}.{D}" for i in range(8)]


# the memo of recent evaluations


def test_repeat_check_reuses_the_result_only_while_its_answers_are_cached(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _spf(dns_server, f"memo.{D}", "v=spf1 ip4:192.0.2.0/24 -all")
    first = _check(resolver, "192.0.2.10", f"a@memo.{D}")
    assert first.result == "pass"
    assert _check(resolver, "192.0.2.10", f"a@memo.{D}") is first  # reused, not re-evaluated
    assert _check(resolver, "192.0.2.11", f"a@memo.{D}") is not first  # other inputs

    _spf(dns_server, f"memo.{D}", "v=spf1 -all")  # a second record: now a permerror ...
    assert _check(resolver, "192.0.2.10", f"a@memo.{D}") is first  # ... unseen while cached
    resolver.clear_cache()  # the answer it read is gone: evaluated afresh
    again = _check(resolver, "192.0.2.10", f"a@memo.{D}")
    assert again.result == "permerror"
