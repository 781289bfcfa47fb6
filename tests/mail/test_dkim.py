"""bot.mail.dkim on the real test DNS server: every signature, RFC 8301 policy, DNS failures."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dkim
import pytest

from bot.dns import Resolver
from bot.mail.dkim import MAX_SIGNATURES, DkimResult, verify_dkim, verify_dkim_async
from tests.support import mailsign
from tests.support.dnsserver import TestDNSServer

D = "dkim-unit.example"
ROOT = Path(__file__).resolve().parents[2]


def _signed(server: TestDNSServer, selector: str = "s1", **kwargs: object) -> bytes:
    """A message signed by ``D`` with a 2048-bit key published at ``selector``."""
    key = mailsign.rsa_key(2048)
    mailsign.publish(server, D, selector, key)
    return mailsign.sign(mailsign.build(), domain=D, selector=selector, key=key, **kwargs)


def _only(results: list[DkimResult]) -> DkimResult:
    assert len(results) == 1, results
    return results[0]


# passes


def test_rsa_sha256_passes(dns_server: TestDNSServer, resolver: Resolver) -> None:
    got = _only(verify_dkim(_signed(dns_server), resolver))

    assert got.result == "pass", got.reason
    assert (got.index, got.domain, got.selector, got.algorithm) == (0, D, "s1", "rsa-sha256")
    assert got.key_bits == 2048
    assert got.signed_headers == ("from", "to", "subject", "date", "message-id")
    assert got.unsigned_body_bytes == 0 and got.body_length is None
    assert f"s1._domainkey.{D}" in got.reason


def test_ed25519_passes(dns_server: TestDNSServer, resolver: Resolver) -> None:
    key = mailsign.ed25519_key()
    mailsign.publish(dns_server, D, "ed", key)
    message = mailsign.sign(mailsign.build(), domain=D, selector="ed", key=key)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason
    assert got.algorithm == "ed25519-sha256"
    assert got.key_bits == 256


def test_unicode_domain_is_looked_up_in_punycode(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, "xn--bcher-kva.example", "s1", key)
    message = mailsign.sign(
        mailsign.build(), domain="xn--bcher-kva.example", selector="s1", key=key
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason
    assert got.domain == "xn--bcher-kva.example"


async def test_async_variant_gives_the_same_answer(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _signed(dns_server)

    got = await verify_dkim_async(message, resolver)

    assert got == verify_dkim(message, resolver)
    assert got[0].result == "pass"


# tampering


def test_tampered_body_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server).replace(b"Saturday", b"Sunday!!")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "fail"
    assert "body hash" in got.reason


def test_tampered_signed_header_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server).replace(
        b"Subject: Quarterly maintenance window", b"Subject: Urgent: reset MFA now"
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "fail"
    assert "header" in got.reason


def test_second_from_prepended_breaks_the_signature(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = mailsign.prepend(_signed(dns_server), "From: IT Security <it@attacker.example>")

    assert _only(verify_dkim(message, resolver)).result == "fail"


# policy: verified crypto, refused anyway


def test_h_without_from_is_policy(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, headers=("to", "subject", "date"))

    got = _only(verify_dkim(message, resolver))

    assert got.result == "policy"
    assert "does not cover From" in got.reason
    assert "from" not in got.signed_headers


def test_rsa_sha1_is_policy(dns_server: TestDNSServer, resolver: Resolver) -> None:
    got = _only(verify_dkim(_signed(dns_server, algorithm="rsa-sha1"), resolver))

    assert got.result == "policy"
    assert "rsa-sha1" in got.reason
    assert got.algorithm == "rsa-sha1"


def test_512_bit_key_is_policy(dns_server: TestDNSServer, resolver: Resolver) -> None:
    key = mailsign.rsa_key(512)
    mailsign.publish(dns_server, D, "short", key)
    message = mailsign.sign(mailsign.build(), domain=D, selector="short", key=key)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "policy"
    assert got.key_bits == 512
    assert "512-bit" in got.reason


def test_1024_bit_key_passes(dns_server: TestDNSServer, resolver: Resolver) -> None:
    key = mailsign.rsa_key(1024)
    mailsign.publish(dns_server, D, "k1024", key)
    message = mailsign.sign(mailsign.build(), domain=D, selector="k1024", key=key)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason
    assert got.key_bits == 1024


def test_testing_key_is_policy(dns_server: TestDNSServer, resolver: Resolver) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "testing", key, t="y")
    message = mailsign.sign(mailsign.build(), domain=D, selector="testing", key=key)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "policy"
    assert got.testing is True
    assert "t=y" in got.reason


def test_expired_signature_is_policy(dns_server: TestDNSServer, resolver: Resolver) -> None:
    month_ago = int(time.time()) - 30 * 86400
    message = _signed(dns_server, timestamp=month_ago - 86400, expires=month_ago)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "policy"
    assert "expired" in got.reason


def test_unexpired_signature_passes(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, expires=int(time.time()) + 86400)

    assert _only(verify_dkim(message, resolver)).result == "pass"


def test_several_policy_problems_are_all_named(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(512)
    mailsign.publish(dns_server, D, "bad", key, t="y")
    message = mailsign.sign(
        mailsign.build(),
        domain=D,
        selector="bad",
        key=key,
        algorithm="rsa-sha1",
        headers=("subject",),
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "policy"
    for words in ("From", "rsa-sha1", "512-bit", "t=y"):
        assert words in got.reason


def test_strict_key_refuses_subdomain_identity(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "strict", key, t="s")
    message = mailsign.sign(
        mailsign.build(), domain=D, selector="strict", key=key, identity=f"@mail.{D}"
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "policy"
    assert "t=s" in got.reason


# l=


def test_length_shorter_than_body_counts_unsigned_bytes(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    appended = b"URGENT: call +1 555 0100 to reset your MFA.\r\n"
    message = _signed(dns_server, length=True) + appended

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason
    assert got.unsigned_body_bytes == len(appended)
    assert got.body_length is not None and got.body_length > 0
    assert "unsigned" in got.reason


def test_length_covering_the_body_has_no_unsigned_bytes(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    got = _only(verify_dkim(_signed(dns_server, length=True), resolver))

    assert got.result == "pass"
    assert got.unsigned_body_bytes == 0
    assert got.body_length is not None


def test_length_longer_than_body_is_permerror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    got = _only(verify_dkim(_signed(dns_server, length=100_000), resolver))

    assert got.result == "permerror"
    assert "longer than the body" in got.reason


@pytest.mark.parametrize("canonicalize", ["relaxed/relaxed", "simple/relaxed"])
def test_length_zero_over_an_empty_body_passes_as_dkimpy_says(
    dns_server: TestDNSServer, resolver: Resolver, canonicalize: str
) -> None:
    # a relaxed empty body hashes no bytes at all: l=0 is its whole length, not past its end
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "s1", key)
    raw = mailsign.sign(
        f"From: a@{D}\r\n\r\n".encode(),
        domain=D, selector="s1", key=key, canonicalize=canonicalize, headers=["from"],
        length=True,
    )  # fmt: skip
    assert b"l=0" in raw
    txt = key.txt().encode()

    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: txt)
    got = _only(verify_dkim(raw, resolver))
    assert got.result == "pass", got.reason
    assert got.unsigned_body_bytes == 0


# key problems


def test_revoked_key_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, D, "revoked", key, p="")
    message = mailsign.sign(mailsign.build(), domain=D, selector="revoked", key=key)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "revoked" in got.reason


def test_missing_key_is_permerror_no_key(dns_server: TestDNSServer, resolver: Resolver) -> None:
    key = mailsign.rsa_key(2048)
    message = mailsign.sign(mailsign.build(), domain=D, selector="gone", key=key)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "no key" in got.reason
    assert f"gone._domainkey.{D}" in got.reason


def test_key_lookup_timeout_is_temperror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, selector="slow")
    dns_server.timeouts.add(f"slow._domainkey.{D}")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "temperror"
    assert "timeout" in got.reason


def test_servfail_is_temperror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, selector="broken")
    dns_server.servfail.add(f"broken._domainkey.{D}")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "temperror"
    assert "no key" not in got.reason


def test_wrong_key_fails(dns_server: TestDNSServer, resolver: Resolver) -> None:
    mailsign.publish(dns_server, D, "other", mailsign.rsa_key(2048, "other"))
    message = mailsign.sign(
        mailsign.build(), domain=D, selector="other", key=mailsign.rsa_key(2048)
    )

    assert _only(verify_dkim(message, resolver)).result == "fail"


def test_algorithm_not_matching_key_type_is_permerror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    mailsign.publish(dns_server, D, "mixed", mailsign.rsa_key(2048))
    message = mailsign.sign(
        mailsign.build(), domain=D, selector="mixed", key=mailsign.ed25519_key()
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "does not match" in got.reason


def test_txt_record_that_is_not_a_key_is_permerror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    dns_server.add(f"junk._domainkey.{D}", "TXT", "hello world")
    message = mailsign.sign(mailsign.build(), domain=D, selector="junk", key=mailsign.rsa_key(2048))

    assert _only(verify_dkim(message, resolver)).result == "permerror"


def test_garbage_rsa_key_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    mailsign.publish(dns_server, D, "garbage", mailsign.rsa_key(2048), p="QUJDREVGRw==")
    message = mailsign.sign(
        mailsign.build(), domain=D, selector="garbage", key=mailsign.rsa_key(2048)
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "cannot be parsed" in got.reason


# several signatures


def test_valid_signature_below_a_broken_one_is_found(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    good = _signed(dns_server)
    broken = mailsign.signature(
        good, domain="forwarder.example", selector="gone", key=mailsign.rsa_key(2048)
    )
    message = broken.replace(b"b=", b"b=AAAA", 1) + good

    got = verify_dkim(message, resolver)

    assert [r.index for r in got] == [0, 1]
    assert got[0].result in ("fail", "permerror")
    assert got[0].domain == "forwarder.example"
    assert got[1].result == "pass", got[1].reason
    assert got[1].domain == D


def test_every_signature_gets_its_own_result(dns_server: TestDNSServer, resolver: Resolver) -> None:
    first = _signed(dns_server)
    key = mailsign.ed25519_key()
    mailsign.publish(dns_server, "relay.example", "r1", key)
    message = mailsign.sign(first, domain="relay.example", selector="r1", key=key)

    got = verify_dkim(message, resolver)

    assert [(r.domain, r.result) for r in got] == [("relay.example", "pass"), (D, "pass")]


def test_signatures_past_the_limit_are_summarized(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _signed(dns_server)
    header = mailsign.signature(message, domain=D, selector="gone", key=mailsign.rsa_key(2048))
    flood = header * (MAX_SIGNATURES + 5) + message

    got = verify_dkim(flood, resolver)

    assert len(got) == MAX_SIGNATURES + 1
    assert got[-1].result == "permerror"
    assert "6 further" in got[-1].reason


def test_unsigned_message_has_no_results(resolver: Resolver) -> None:
    assert verify_dkim(mailsign.build(), resolver) == []


# hostile signatures


def test_malformed_domain_with_comment_is_invalid_domain(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _signed(dns_server, extra_tags={"d": "legit.example(.evil.example"})

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "invalid domain" in got.reason
    assert got.domain is None
    assert dns_server.queries == []


def test_quoted_domain_is_invalid_domain(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, extra_tags={"d": '"legit.example"'})

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "invalid domain" in got.reason


def test_invalid_selector_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, extra_tags={"s": "s1..evil.example"})

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "invalid selector" in got.reason
    assert dns_server.queries == []


def test_identity_outside_domain_is_permerror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _signed(dns_server, identity="ceo@evil.example")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "i=" in got.reason


def test_missing_required_tag_is_permerror(resolver: Resolver) -> None:
    message = b"DKIM-Signature: v=1; a=rsa-sha256; d=dkim-unit.example; s=s1\r\n" + (
        mailsign.build()
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert got.reason.endswith("b, bh, h")


def test_unknown_algorithm_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, extra_tags={"a": "rsa-sha512"})

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "rsa-sha512" in got.reason


def test_garbage_tag_list_is_permerror(resolver: Resolver) -> None:
    message = b"DKIM-Signature: this is not a tag list\r\n" + mailsign.build()

    assert _only(verify_dkim(message, resolver)).result == "permerror"


def test_unparseable_header_with_signature_is_permerror(resolver: Resolver) -> None:
    message = b"DKIM-Signature: v=1; d=a.example\r\n\x01garbage line\r\n" + mailsign.build()

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "cannot be parsed" in got.reason


def test_to_json_is_plain_data(dns_server: TestDNSServer, resolver: Resolver) -> None:
    got = _only(verify_dkim(_signed(dns_server), resolver)).to_json()

    assert json.loads(json.dumps(got)) == got
    assert got["result"] == "pass"
    assert got["signed_headers"][0] == "from"
    assert set(got) == {f.name for f in dataclasses.fields(DkimResult)}  # every field, by name


def test_ed25519_verifies_without_pynacl(dns_server: TestDNSServer, tmp_path: Path) -> None:
    key = mailsign.ed25519_key()
    mailsign.publish(dns_server, D, "ed", key)
    message = mailsign.sign(mailsign.build(), domain=D, selector="ed", key=key)
    (tmp_path / "m.eml").write_bytes(message)
    host, port = dns_server.address
    script = (
        "import sys, json; sys.modules['nacl'] = None\n"
        "from bot.dns import Resolver\n"
        "from bot.mail.dkim import verify_dkim\n"
        f"r = Resolver([({host!r}, {port})], timeout=0.5)\n"
        f"res = verify_dkim(open({str(tmp_path / 'm.eml')!r}, 'rb').read(), r)\n"
        "print(json.dumps([x.to_json() for x in res]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, env=env, cwd=ROOT, check=True
    )

    got = json.loads(done.stdout)

    assert len(got) == 1
    assert got[0]["result"] == "pass", got[0]["reason"]
    assert got[0]["algorithm"] == "ed25519-sha256"


def test_lf_line_endings_still_verify(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server).replace(b"\r\n", b"\n")

    assert _only(verify_dkim(message, resolver)).result == "pass"


def test_expiry_before_timestamp_is_permerror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    now = int(time.time())
    message = _signed(dns_server, timestamp=now, expires=now - 60)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "earlier than t=" in got.reason


def test_oversized_header_list_is_permerror(dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _signed(dns_server, headers=("from",) * 5000)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "more than" in got.reason
    assert dns_server.queries == []


def test_hostile_long_domain_is_cut_short_in_the_reason(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _signed(dns_server, extra_tags={"d": "a(" * 3000 + ".example"})

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "invalid domain" in got.reason
    assert len(got.reason) < 200
