"""Throwaway DKIM keys and signed test messages (dkimpy), with the DNS records to publish."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class Key:
    """An RSA key pair: PEM private key and the ``v=DKIM1`` TXT record of its public half."""

    pem: bytes
    txt: str


@lru_cache(maxsize=8)
def rsa_key(bits: int = 2048, tag: str = "") -> Key:
    """A throwaway RSA key (cached per size and tag for the test session)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Key(pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii"))


def build(
    *,
    from_: str = "Dana Whitfield <dana.whitfield@northwind-software.com>",
    to: str = "helpdesk@example-corp.test",
    subject: str = "Quarterly maintenance window",
    body: str = "Hello,\r\n\r\nOur maintenance window is on Saturday.\r\n\r\nDana\r\n",
    extra: list[str] | None = None,
    received: list[str] | None = None,
) -> bytes:
    """An RFC 5322 message with CRLF line ends (``extra`` headers go right after Received)."""
    lines = list(received or [])
    lines += list(extra or [])
    lines += [
        f"From: {from_}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Tue, 10 Nov 2026 09:30:00 +0000",
        "Message-ID: <test-1@northwind-software.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


def sign(
    message: bytes,
    domain: str,
    selector: str,
    key: Key,
    *,
    headers: list[bytes] | None = None,
    length: bool = False,
    algorithm: bytes = b"rsa-sha256",
) -> bytes:
    """``message`` with a DKIM-Signature prepended (relaxed/simple, no x=)."""
    signature = dkim.sign(
        message,
        selector.encode(),
        domain.encode(),
        key.pem,
        include_headers=headers or [b"from", b"to", b"subject", b"date", b"message-id"],
        length=length,
        signature_algorithm=algorithm,
    )
    return bytes(signature) + message


def received(by: str, helo: str, ip: str) -> str:
    """A Received header written by ``by`` for a client ``helo`` at ``ip``."""
    return (
        f"Received: from {helo} ({helo} [{ip}])\r\n\tby {by} with ESMTPS id 4AbC1;\r\n"
        "\tTue, 10 Nov 2026 09:30:02 +0000"
    )


def prepend(message: bytes, *headers: str) -> bytes:
    """``message`` with header lines added on top (as each receiving hop does)."""
    return b"".join(h.encode("utf-8") + b"\r\n" for h in headers) + message
