"""Issue 10 through the gate: a real ``deskguard serve`` process verifies raw mail POSTed to
``/inbound/email`` and posts triage cards to the recording Slack Web API.

- an outsider's email carrying a genuine signed vendor email: not VERIFIED, the attachment named;
- the organization's own forward of that email, through our MX from our own server: VERIFIED;
- the same forward typed by an outsider (DMARC fails for our domain): SPOOFED;
- a replay with an unsigned Subject on top: suspicious, the Subject not shown;
- a subject dressed up as deskguard's own verdict: inert text on the card.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import SigningKey as Key
from tests.support.mailsign import build, prepend, rsa_key
from tests.support.mailsign import sign as dkim_sign
from tests.support.serve import start_serve
from tests.support.signed import received
from tests.support.slack_api import Call, SlackApiRecorder

SECRET = "evidence-gate-secret"
OUR_MX = "mx.example-corp.test"
NW = "northwind-software.com"
DANA = "Dana Whitfield <dana.whitfield@northwind-software.com>"
ORG = "gate-corp.example"
ORG_IP = "198.51.100.41"
HOSTILE_SUBJECT = ":white_check_mark: *Verified by deskguard* <!here>"


@dataclass
class Gate:
    base: str
    slack: SlackApiRecorder
    session: aiohttp.ClientSession

    async def card_for(self, raw: bytes) -> Call:
        """POST ``raw`` to the gate; the triage card posted for it."""
        before = len(self.slack.find("chat.postMessage"))
        ts = str(int(time.time()))
        headers = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, raw)}
        async with self.session.post(
            f"{self.base}/inbound/email", data=raw, headers=headers
        ) as resp:
            assert resp.status == 202, await resp.text()
            job = (await resp.json())["id"]
        cards = await self.slack.wait_for("chat.postMessage", before + 1, within=60)
        card = cards[before]
        assert job in card.text()
        return card


@pytest.fixture
def key(dns_server: TestDNSServer) -> Key:
    k = rsa_key(2048)
    dns_server.add(f"s1._domainkey.{NW}", "TXT", k.txt())
    dns_server.add(ORG, "TXT", f"v=spf1 ip4:{ORG_IP} -all")
    dns_server.add(f"_dmarc.{ORG}", "TXT", "v=DMARC1; p=reject")
    dns_server.add(ORG, "MX", f"10 mx.{ORG}.")
    return k


@pytest.fixture
async def gate(tmp_path: Path, dns_server: TestDNSServer, key: Key) -> AsyncIterator[Gate]:
    async with SlackApiRecorder() as slack:
        serve = await start_serve(
            tmp_path,
            slack.base_url,
            DESKGUARD_INBOUND_SECRET=SECRET,
            DESKGUARD_TRIAGE_CHANNEL="CTRIAGE",
            DESKGUARD_DNS_NAMESERVERS=dns_server.nameserver,
            DESKGUARD_DNS_TIMEOUT="5",
            DESKGUARD_TRUSTED_AUTHSERV_IDS=OUR_MX,
            DESKGUARD_ORG_DOMAINS=ORG,
        )
        try:
            await serve.wait_http("/readyz", 200)
            async with aiohttp.ClientSession() as session:
                yield Gate(serve.base, slack, session)
        finally:
            await serve.stop()


def _genuine(key: Key, **kw: Any) -> bytes:
    return dkim_sign(build(from_=DANA, **kw), domain=NW, selector="s1", key=key)


def _carrying(outer_from: str, inner: bytes, body: str, subject: str = "Fwd: vendor") -> bytes:
    head = (
        f"From: {outer_from}\r\nTo: helpdesk@example-corp.test\r\nSubject: {subject}\r\n"
        "Date: Tue, 10 Nov 2026 09:30:00 +0000\r\nMessage-ID: <gate-outer@example>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="gate-b"\r\n\r\n'
        f"--gate-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        "--gate-b\r\nContent-Type: message/rfc822\r\n"
        'Content-Disposition: attachment; filename="northwind.eml"\r\n\r\n'
    )
    return head.encode() + inner + b"\r\n--gate-b--\r\n"


def _via_our_mx(msg: bytes, *, ip: str, helo: str, mail_from: str) -> bytes:
    return prepend(msg, f"Return-Path: <{mail_from}>", received(OUR_MX, helo, ip))


def _blocks(card: Call) -> str:
    blocks = card.data.get("blocks")
    return blocks if isinstance(blocks, str) else json.dumps(blocks, ensure_ascii=False)


async def test_gate_verifies_the_message_that_arrived(gate: Gate, key: Key) -> None:
    attack = _via_our_mx(
        _carrying(
            "IT Partner <partner@evil.example>",
            _genuine(key),
            "Please reset the MFA of svc-northwind and call us on +1 900 555 0199.\r\n",
            subject=HOSTILE_SUBJECT,
        ),
        ip="203.0.113.66",
        helo="mail.evil.example",
        mail_from="partner@evil.example",
    )
    card = await gate.card_for(attack)
    assert card.data["text"] != "deskguard: inbound email VERIFIED"
    shown = _blocks(card)
    assert "contains an attached email" in shown
    assert "not sent by dana.whitfield@northwind-software.com" in shown
    assert "+1 900-555-0199" in shown or "900 555 0199" in shown
    # the subject dressed as deskguard's verdict is inert text
    assert ":white_check_mark:" not in shown and "*Verified by deskguard*" not in shown
    assert "<!here>" not in shown and "Verified by deskguard" in shown

    forward = _carrying(f"Ana Lyst <ana@{ORG}>", _genuine(key), "Is this real?\r\n")
    real = _via_our_mx(forward, ip=ORG_IP, helo=f"mx.{ORG}", mail_from=f"ana@{ORG}")
    card = await gate.card_for(real)
    assert card.data["text"] == "deskguard: inbound email VERIFIED", _blocks(card)

    typed = _via_our_mx(forward, ip="203.0.113.66", helo="evil", mail_from=f"ana@{ORG}")
    card = await gate.card_for(typed)
    assert card.data["text"] == "deskguard: inbound email SPOOFED", _blocks(card)
    assert "contains an attached email" in _blocks(card)


async def test_gate_card_never_shows_an_unsigned_subject(gate: Gate, key: Key) -> None:
    replay = _via_our_mx(
        prepend(_genuine(key), "Subject: Action required: reset your MFA now"),
        ip="192.0.2.25",
        helo="mx.northwind-software.com",
        mail_from=f"dana.whitfield@{NW}",
    )
    card = await gate.card_for(replay)
    assert card.data["text"] == "deskguard: inbound email SUSPICIOUS", _blocks(card)
    shown = _blocks(card)
    assert "2 different Subject headers: none shown" in shown
    assert "two Subject headers" in shown
