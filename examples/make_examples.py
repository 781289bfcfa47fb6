"""Regenerate the sample emails and the DNS snapshot they verify against (offline, reproducible).

    .venv/bin/python examples/make_examples.py

Each run makes fresh throwaway DKIM keys (the private keys are not kept), signs the sample emails
with them (no x= expiry, so they keep verifying) and writes the public keys into
examples/dns-snapshot.json next to the vendors' SPF, DMARC and MX records. The Received headers
are written by ``mx.example-corp.test``: set DESKGUARD_TRUSTED_AUTHSERV_IDS=mx.example-corp.test
to evaluate SPF at that hop; without it SPF reads "none" and DKIM alone decides.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
OUR_MX = "mx.example-corp.test"
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"content-type"]


def _key() -> tuple[bytes, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")


def _message(headers: list[str], body: str) -> bytes:
    text = "\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")
    return text.encode("utf-8")


def _received(helo: str, ip: str, stamp: str) -> str:
    return (
        f"Received: from {helo} ({helo} [{ip}])\r\n\tby {OUR_MX} with ESMTPS id {stamp};\r\n"
        "\tTue, 10 Nov 2026 09:30:02 +0000"
    )


def _sign(message: bytes, domain: str, selector: str, pem: bytes) -> bytes:
    signature = dkim.sign(message, selector.encode(), domain.encode(), pem, include_headers=SIGNED)
    return bytes(signature) + message


def main() -> None:
    """Write the .eml files and dns-snapshot.json."""
    northwind_pem, northwind_txt = _key()
    lookalike_pem, lookalike_txt = _key()

    genuine = _message(
        [
            "From: Dana Whitfield <dana.whitfield@northwind-software.com>",
            "To: IT Help Desk <helpdesk@example-corp.test>",
            "Subject: Maintenance window for the licence server, Saturday",
            "Date: Tue, 10 Nov 2026 09:29:41 +0000",
            "Message-ID: <20261110092941.4411@northwind-software.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        ],
        "Hello,\n\nNorthwind will update the licence server on Saturday between 06:00 and 08:00\n"
        "Pacific. No action is needed on your side.\n\nIf anything looks wrong, call our\n"
        "security desk on +1 206 555 0142.\n\n"
        "Dana Whitfield\nAccount manager, Northwind Software\n",
    )
    genuine = _sign(genuine, "northwind-software.com", "s1", northwind_pem)
    genuine = (
        "Return-Path: <dana.whitfield@northwind-software.com>\r\n"
        + _received("mx.northwind-software.com", "192.0.2.25", "g3nU1n3")
        + "\r\n"
    ).encode() + genuine

    spoofed = _message(
        [
            "Return-Path: <billing@northwind-support.com>",
            _received("mail.bulk-sender.test", "203.0.113.66", "sP00f3d"),
            "Received: from localhost (localhost [127.0.0.1])\r\n\tby mail.bulk-sender.test "
            "with ESMTP id 9911; Tue, 10 Nov 2026 09:12:04 +0000",
            "Authentication-Results: mx.example-corp.test; spf=pass "
            "smtp.mailfrom=northwind-software.com; dkim=pass header.d=northwind-software.com",
            'From: "Northwind Software Security" <security@northwind-software.com>',
            "Reply-To: security-team@northwind-support.com",
            "To: IT Help Desk <helpdesk@example-corp.test>",
            "Subject: URGENT: critical security patch - MFA re-enrolment required today",
            "Date: Tue, 10 Nov 2026 09:12:03 +0000",
            "Message-ID: <88213.security@northwind-software.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        ],
        "Hello IT team,\n\nA critical vulnerability affects your Northwind deployment.\n"
        "Our engineer must install a hotfix today through a remote session (AnyDesk).\n"
        "Please reset the MFA of the service account svc-northwind and re-enroll it\n"
        "with our engineer immediately.\n\n"
        "Call our emergency line 1-8OO-555-0199 within the hour.\n\nNorthwind Security Team\n",
    )

    lookalike = _message(
        [
            "From: Northwind Software Support <support@northwind-support.com>",
            "To: IT Help Desk <helpdesk@example-corp.test>",
            "Subject: Action required: verify your credentials for the licence migration",
            "Date: Tue, 10 Nov 2026 08:55:10 +0000",
            "Message-ID: <20261110085510.77@northwind-support.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        ],
        "Hi,\n\nWe are migrating Northwind licences. To keep access, reset your password with\n"
        "our support engineer and confirm the administrator credentials.\n\n"
        "Questions? Call (206) 555-0187.\n\nNorthwind Software Support\n",
    )
    lookalike = _sign(lookalike, "northwind-support.com", "mail", lookalike_pem)
    lookalike = (
        "Return-Path: <support@northwind-support.com>\r\n"
        + _received("mx.northwind-support.com", "203.0.113.5", "l00kAl1k3")
        + "\r\n"
    ).encode() + lookalike

    (HERE / "genuine-northwind.eml").write_bytes(genuine)
    (HERE / "spoofed-northwind.eml").write_bytes(spoofed)
    (HERE / "lookalike-northwind-support.eml").write_bytes(lookalike)

    snapshot = {
        "northwind-software.com": {
            "TXT": ["v=spf1 ip4:192.0.2.0/24 -all"],
            "MX": ["10 mx.northwind-software.com"],
        },
        "mx.northwind-software.com": {"A": ["192.0.2.25"]},
        "_dmarc.northwind-software.com": {
            "TXT": ["v=DMARC1; p=reject; adkim=s; aspf=r; rua=mailto:dmarc@northwind-software.com"]
        },
        "s1._domainkey.northwind-software.com": {"TXT": [northwind_txt]},
        "northwind.io": {"TXT": ["v=spf1 include:northwind-software.com -all"]},
        "_dmarc.northwind.io": {"TXT": ["v=DMARC1; p=quarantine"]},
        "contosopayroll.com": {
            "TXT": ["v=spf1 +all"],
            "MX": ["10 mail.contosopayroll.com"],
        },
        "mail.contosopayroll.com": {"A": ["198.51.100.7"]},
        "_dmarc.contosopayroll.com": {"TXT": ["v=DMARC1; p=none"]},
        "fabrikam.co.uk": {"TXT": ["v=spf1 ~all"], "MX": ["10 mail.fabrikam.co.uk"]},
        "mail.fabrikam.co.uk": {"A": ["198.51.100.44"]},
        "northwind-support.com": {
            "TXT": ["v=spf1 ip4:203.0.113.0/24 -all"],
            "MX": ["10 mx.northwind-support.com"],
        },
        "mx.northwind-support.com": {"A": ["203.0.113.5"]},
        "_dmarc.northwind-support.com": {"TXT": ["v=DMARC1; p=reject"]},
        "mail._domainkey.northwind-support.com": {"TXT": [lookalike_txt]},
    }
    (HERE / "dns-snapshot.json").write_text(json.dumps(snapshot, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
