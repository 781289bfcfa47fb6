"""bot.mail.dkimkey: key records and both RSA verification paths."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.crypto import RSASSA_PKCS1_v1_5_sign

from bot.mail import dkimkey
from bot.mail.dkimkey import KeyProblem, parse_key
from tests.support import mailsign


@pytest.mark.parametrize("bits", [512, 1024, 2048])
def test_openssl_and_integer_rsa_paths_agree(bits: int) -> None:
    key = mailsign.rsa_key(bits)
    public = parse_key(key.txt(), "s._domainkey.example")
    assert public.rsa is not None and public.bits == bits
    hasher = hashlib.sha256(b"the signed header fields")
    signature = bytes(RSASSA_PKCS1_v1_5_sign(hasher, key.private))
    digest = hasher.digest()
    wrong = hashlib.sha256(b"changed").digest()

    for verify in (
        public.verify,
        lambda h, d, s: dkimkey._rsa_verify_integers(public.rsa, h, d, s),
    ):  # type: ignore[arg-type]
        assert verify("sha256", digest, signature) is True
        assert verify("sha256", wrong, signature) is False
        assert verify("sha256", digest, signature[:-1] + bytes([signature[-1] ^ 1])) is False
        assert verify("sha1", digest, signature) is False


def test_signature_longer_than_the_modulus_is_refused() -> None:
    key = mailsign.rsa_key(1024)
    public = parse_key(key.txt(), "s._domainkey.example")
    assert public.rsa is not None
    too_big = (public.rsa[0] + 1).to_bytes(129, "big")

    assert dkimkey._rsa_verify_integers(public.rsa, "sha256", b"\0" * 32, too_big) is False
    assert public.verify("sha256", b"\0" * 32, too_big) is False


def test_bare_pkcs1_rsa_key_is_read() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    public = parse_key(f"p={base64.b64encode(der).decode()}", "k")

    assert public.bits == 1024


def test_unknown_tags_and_flags_are_ignored() -> None:
    record = (
        "v=DKIM1; k=rsa; t=y:s:zz; s=email:zz; g=*; n=x; p=" + mailsign.rsa_key(2048).public_b64
    )
    public = parse_key(record, "k")

    assert (public.testing, public.strict_identity) == (True, True)


def test_problems_are_permerrors_with_the_key_name() -> None:
    with pytest.raises(KeyProblem) as caught:
        parse_key("v=DKIM1; k=ed25519; p=AAAA", "ed._domainkey.example")

    assert caught.value.result == "permerror"
    assert "ed._domainkey.example" in caught.value.reason and "32 bytes" in caught.value.reason
