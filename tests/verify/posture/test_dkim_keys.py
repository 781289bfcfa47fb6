"""DKIM keys at known selectors: type, size, testing, revoked, unreadable (real test DNS)."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bot.dns import Resolver
from bot.verify.posture import CheckStatus, Posture, check_posture
from tests.support.dnsserver import TestDNSServer


def _codes(posture: Posture) -> list[str]:
    return [r.code for r in posture.reasons()]


def _rsa_key_b64(bits: int) -> str:
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return base64.b64encode(
        public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()


def _short_rsa_key_b64() -> str:
    # cryptography will not generate keys under 1024 bits; a 512-bit public modulus is enough here
    modulus = (1 << 511) | 0xC0FFEE1
    public = rsa.RSAPublicNumbers(65537, modulus).public_key()
    return base64.b64encode(
        public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()


async def test_dkim_selectors(dns_server: TestDNSServer, resolver: Resolver) -> None:
    domain = "northwind-software.com"
    dns_server.add(f"s2048._domainkey.{domain}", "TXT", f"v=DKIM1; k=rsa; p={_rsa_key_b64(2048)}")
    dns_server.add(f"test._domainkey.{domain}", "TXT", f"v=DKIM1; t=y; p={_rsa_key_b64(1024)}")
    dns_server.add(f"short._domainkey.{domain}", "TXT", f"v=DKIM1; p={_short_rsa_key_b64()}")
    dns_server.add(f"gone._domainkey.{domain}", "TXT", "v=DKIM1; k=rsa; p=")
    ed_raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    ed_key = base64.b64encode(ed_raw).decode()
    dns_server.add(f"ed._domainkey.{domain}", "TXT", f"v=DKIM1; k=ed25519; p={ed_key}")
    dns_server.add(f"junk._domainkey.{domain}", "TXT", "v=DKIM1; p=not*base64")
    selectors = ["s2048", "test", "short", "gone", "ed", "junk", "absent", "bad selector"]
    posture = await check_posture(domain, resolver, dkim_selectors=selectors)
    keys = {k.selector: k for k in posture.dkim}
    assert [k.selector for k in posture.dkim] == selectors
    assert keys["s2048"].status is CheckStatus.OK
    assert (keys["s2048"].key_type, keys["s2048"].rsa_bits) == ("rsa", 2048)
    assert keys["test"].status is CheckStatus.OK and keys["test"].testing is True
    assert keys["test"].rsa_bits == 1024
    assert keys["short"].status is CheckStatus.INVALID and keys["short"].rsa_bits == 512
    assert "RFC 8301" in (keys["short"].error or "")
    assert keys["gone"].status is CheckStatus.INVALID and keys["gone"].revoked is True
    assert keys["ed"].status is CheckStatus.OK and keys["ed"].key_type == "ed25519"
    assert keys["junk"].status is CheckStatus.INVALID
    assert keys["absent"].status is CheckStatus.MISSING
    assert keys["bad selector"].status is CheckStatus.INVALID
    assert posture.reasons() == []
    assert json.loads(json.dumps(posture.to_json()))["dkim"][0]["rsa_bits"] == 2048


async def test_dkim_timeout_is_a_dns_error(dns_server: TestDNSServer, resolver: Resolver) -> None:
    dns_server.timeouts.add("s1._domainkey.northwind-software.com")
    posture = await check_posture("northwind-software.com", resolver, dkim_selectors=["s1"])
    assert posture.dkim[0].status is CheckStatus.COULD_NOT_CHECK
    assert _codes(posture) == ["dns_error"]
    assert "DKIM selector s1" in posture.reasons()[0].message
