"""The milter's decisions without libmilter: real Verifier, real DNS server, real queue.

The engine is driven as libmilter drives it (from another thread, blocking on the deadline);
the pymilter adapter and Postfix itself are covered by tests/runtime/test_postfix.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.dns import Resolver
from bot.mail.arrival import Arrival, Envelope
from bot.registry import Registry, RegistryHolder
from bot.report import Report
from bot.runtime import milter_headers as mh
from bot.runtime.milter_policy import MessageCollector, MilterEngine
from bot.runtime.queue_sqlite import SqliteWorkQueue
from bot.settings import Settings
from bot.verify.verifier import Verifier
from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import SigningKey, build, rsa_key, sign

FIXTURES = Path(__file__).parents[1] / "fixtures"
OUR_ID = "mx.example-corp.test"
NW = "northwind-software.com"
DANA = "Dana Whitfield <dana.whitfield@northwind-software.com>"
HELPDESK = "helpdesk@example-corp.test"


def _settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {
        "registry": FIXTURES / "vendors.yml",
        "trusted_authserv_ids": (OUR_ID,),
        "milter_timeout_seconds": 5.0,
        "milter_helpdesk_recipients": HELPDESK,
    }
    base.update(kw)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


def collect(
    raw: bytes, *, ip: str, mail_from: str, rcpts: tuple[str, ...] = ("someone@example-corp.test",)
) -> MessageCollector:
    """Feed ``raw`` to a collector as an MTA does: header fields one by one, then the body."""
    message = MessageCollector(max_bytes=1024 * 1024, client_ip=ip, helo="mail.sender.test")
    message.new_message(f"<{mail_from}>")
    for rcpt in rcpts:
        message.add_recipient(f"<{rcpt}>")
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: list[list[str]] = []
    for line in head.decode().split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += "\n" + line
        else:
            name, _, value = line.partition(":")
            fields.append([name, value.lstrip(" ")])
    for name, value in fields:
        message.add_header(name, value)
    message.add_body(body)
    return message


@pytest.fixture
def key(dns_server: TestDNSServer) -> SigningKey:
    k = rsa_key(2048)
    dns_server.add(f"s1._domainkey.{NW}", "TXT", k.txt())
    return k


def _engine(
    settings: Settings, resolver: Resolver, registry: Registry, queue: SqliteWorkQueue | None
) -> MilterEngine:
    verifier = Verifier(settings, resolver, RegistryHolder(registry))

    async def verify(raw: bytes, envelope: Envelope | None) -> Report:
        return await verifier.verify_message(raw, arrival=Arrival.RAW, envelope=envelope)

    return MilterEngine(
        settings,
        verify,
        asyncio.get_running_loop(),
        enqueue=queue.enqueue if queue is not None else None,
    )


async def test_signed_vendor_mail_is_verified_and_only_headed(
    resolver: Resolver, registry: Registry, key: SigningKey
) -> None:
    raw = sign(build(from_=DANA), domain=NW, selector="s1", key=key)
    engine = _engine(_settings(), resolver, registry, None)
    message = collect(raw, ip="127.0.0.1", mail_from=f"dana.whitfield@{NW}")
    decision = await asyncio.to_thread(engine.evaluate, message)
    assert decision.verdict == "verified", decision
    assert decision.action == "accept" and decision.subject is None
    assert decision.auth_results.startswith(f"{OUR_ID}; dkim=pass header.d={NW} header.s=s1; ")
    assert "spf=fail" in decision.auth_results or "spf=softfail" in decision.auth_results
    assert f"dmarc=pass header.from={NW}" in decision.auth_results
    assert "; arc=" not in decision.auth_results  # no ARC set in the message
    assert decision.verdict_header.startswith("verified; vendor=northwind; reasons=")


async def test_spoofed_vendor_mail_is_tagged_or_rejected(
    resolver: Resolver, registry: Registry
) -> None:
    raw = build(from_=DANA, subject="Urgent: reset the MFA for our engineer")
    message = collect(raw, ip="203.0.113.9", mail_from=f"dana.whitfield@{NW}")
    engine = _engine(_settings(), resolver, registry, None)
    decision = await asyncio.to_thread(engine.evaluate, message)
    assert decision.verdict == "spoofed"
    assert decision.action == "tag"
    assert decision.subject == "[deskguard: spoofed] Urgent: reset the MFA for our engineer"
    assert "spf=fail smtp.mailfrom=northwind-software.com" in decision.auth_results
    assert "dmarc=fail" in decision.auth_results
    assert decision.verdict_header.startswith("spoofed; vendor=northwind; reasons=")
    assert "dmarc_fail" in decision.verdict_header

    engine = _engine(_settings(milter_action_spoofed="reject"), resolver, registry, None)
    decision = await asyncio.to_thread(engine.evaluate, message)
    assert decision.action == "reject" and "spoofed" in decision.reason


async def test_forged_own_headers_are_removed_and_never_believed(
    resolver: Resolver, registry: Registry
) -> None:
    raw = build(
        from_=DANA,
        extra=(
            f"Authentication-Results: {OUR_ID.upper()} (our MX); dkim=pass header.d={NW}; "
            f"spf=pass smtp.mailfrom={NW}; dmarc=pass header.from={NW}",
            "X-Deskguard-Verdict: verified; vendor=northwind; reasons=dmarc_pass",
            "Authentication-Results: mx.other.example; spf=pass",
        ),
    )
    message = collect(raw, ip="203.0.113.9", mail_from=f"dana.whitfield@{NW}")
    assert message.own_headers(OUR_ID) == [
        ("Authentication-Results", 1),
        ("X-Deskguard-Verdict", 1),
    ]
    stripped = message.raw(OUR_ID)
    assert b"X-Deskguard" not in stripped and OUR_ID.upper().encode() not in stripped
    assert b"mx.other.example" in stripped  # someone else's result stays (and is not trusted)
    engine = _engine(_settings(), resolver, registry, None)
    decision = await asyncio.to_thread(engine.evaluate, message)
    assert decision.verdict == "spoofed"


async def test_timeout_is_unverified_and_mail_flows(
    resolver: Resolver, registry: Registry, dns_server: TestDNSServer
) -> None:
    dns_server.delay = 0.4  # every answer is slow; the deadline is shorter
    raw = build(from_=DANA)
    message = collect(raw, ip="203.0.113.9", mail_from=f"dana.whitfield@{NW}")
    engine = _engine(_settings(milter_timeout_seconds=0.2), resolver, registry, None)
    decision = await asyncio.to_thread(engine.evaluate, message)
    dns_server.delay = 0.0
    assert decision.action == "accept"
    assert decision.verdict == "unverified"
    assert decision.verdict_header == "unverified; reasons=verification_timeout"
    assert decision.auth_results == f"{OUR_ID}; none"


async def test_help_desk_mail_is_queued_once_with_our_results(
    resolver: Resolver, registry: Registry, tmp_path: Path
) -> None:
    queue = SqliteWorkQueue(tmp_path / "q.sqlite3", poll_interval=0.01)
    engine = _engine(_settings(), resolver, registry, queue)
    raw = build(from_=DANA)
    other = collect(raw, ip="203.0.113.9", mail_from=f"dana.whitfield@{NW}")
    await asyncio.to_thread(engine.evaluate, other)
    assert await queue.depth() == 0  # not addressed to the help desk
    to_desk = collect(
        raw,
        ip="203.0.113.9",
        mail_from=f"dana.whitfield@{NW}",
        rcpts=("HelpDesk@example-corp.test",),
    )
    decision = await asyncio.to_thread(engine.evaluate, to_desk)
    (job,) = await queue.claim("w1", block_ms=200)
    first_line = job.body.split(b"\r\n", 1)[0].decode()
    assert first_line == f"Authentication-Results: {decision.auth_results}"
    await queue.close()


def test_too_large_is_unverified_without_verifying() -> None:
    message = MessageCollector(max_bytes=1024, client_ip="127.0.0.1")
    message.new_message("<a@b.example>")
    message.add_header("Subject", "hi")
    message.add_body(b"x" * 2048)
    assert message.too_large and len(message.body) == 0


def test_header_helpers() -> None:
    assert mh.header_authserv_id(" mx.Example-Corp.test. (comment); spf=pass") == OUR_ID
    assert mh.header_authserv_id("(c) mx.example-corp.test; none") == OUR_ID
    assert mh.is_own_header("x-deskguard-anything", "1", OUR_ID)
    assert mh.is_own_header("Authentication-Results", f"{OUR_ID}; none", OUR_ID)
    assert not mh.is_own_header("Authentication-Results", "other.example; none", OUR_ID)
    assert not mh.is_own_header("Subject", f"{OUR_ID}; none", OUR_ID)
    assert mh.verdict_value("unverified", None, []) == "unverified; reasons=none"
    assert (
        mh.verdict_value("spoofed", "nw;evil", ["a", "b"]) == "spoofed; vendor=nwevil; reasons=a,b"
    )
    assert mh.authserv_id(_settings(authserv_id="Filter.Example")) == "filter.example"
    assert mh.authserv_id(_settings()) == OUR_ID


async def test_an_undecodable_subject_is_still_tagged(
    resolver: Resolver, registry: Registry
) -> None:
    raw = build(from_=DANA, subject="Reset").replace(b"Subject: Reset", b"Subject: Reset \xff\xfe")
    message = MessageCollector(max_bytes=1024 * 1024, client_ip="203.0.113.9")
    message.new_message(f"<dana.whitfield@{NW}>")
    head, _, body = raw.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        message.add_header(name.decode(), value.lstrip().decode("utf-8", "surrogateescape"))
    message.add_body(body)
    engine = _engine(_settings(), resolver, registry, None)
    decision = await asyncio.to_thread(engine.evaluate, message)
    assert decision.verdict == "spoofed"
    assert decision.subject is not None
    assert decision.subject.startswith("[deskguard: spoofed] Reset ")
    decision.subject.encode("utf-8")  # what the MTA call needs: no surrogates left
