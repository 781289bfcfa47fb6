"""DKIM public keys (RFC 6376 §3.6, RFC 8463): fetched through deskguard's resolver, checked, used.

Shared by DKIM and ARC. A DNS failure is a temperror, never "no key". The key record is a tag
list like any other (whitespace around ``=`` and ``;`` allowed); ``s=`` and ``h=`` are lists whose
unknown members are ignored. Signatures are checked with ``cryptography`` (RSASSA-PKCS1-v1_5 over
the digest, Ed25519); an RSA key OpenSSL will not load is checked with Python's integers (the
exponent is bounded, so that is a handful of multiplications).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import load_der_public_key
from dkim.crypto import UnparsableKeyError, parse_public_key

from bot.dns import Outcome, Resolver
from bot.mail.tagvalue import TagListError, parse_tag_list, split_list

MAX_RSA_BITS = 8192
MAX_RSA_EXPONENT_BITS = 64
MAX_CACHED_RECORD = 4096  # longer key records are parsed every time, not kept
KEY_CACHE_SIZE = 1024
_DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
}


class KeyProblem(Exception):
    """No usable key: ``result`` (temperror or permerror) and a reason a person can act on."""

    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason


@dataclass(frozen=True)
class PublicKey:
    """A checked key record: its kind, size, flags and the key itself."""

    name: str
    kind: str  # "rsa" | "ed25519"
    bits: int
    testing: bool
    strict_identity: bool
    hashes: tuple[bytes, ...] | None  # h= of the record, None when absent
    rsa: tuple[int, int] | None = None  # (modulus, exponent)
    ed25519: bytes | None = None

    def verify(self, hash_name: str, digest: bytes, signature: bytes) -> bool:
        """Does ``signature`` sign ``digest`` (computed with ``hash_name``) under this key?"""
        if self.rsa is not None:
            return _rsa_verify(self.rsa, hash_name, digest, signature)
        if self.ed25519 is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.ed25519).verify(signature, digest)
        except (InvalidSignature, ValueError):
            return False
        return True


# rsa-sha1 is verified only to report it as refused (RFC 8301), never as a pass.
_HASHES = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}  # noqa: S303


@lru_cache(maxsize=256)
def _rsa_key(modulus: int, exponent: int) -> RSAPublicKey | None:
    """``cryptography``'s key for fast verification, or None where OpenSSL refuses the numbers."""
    try:
        return RSAPublicNumbers(exponent, modulus).public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None


def _rsa_verify(key: tuple[int, int], hash_name: str, digest: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 over a precomputed digest: OpenSSL when it takes the key, else integers."""
    modulus, exponent = key
    loaded = _rsa_key(modulus, exponent)
    if loaded is not None:
        try:
            loaded.verify(signature, digest, padding.PKCS1v15(), Prehashed(_HASHES[hash_name]))
        except (InvalidSignature, ValueError):
            return False
        return True
    return _rsa_verify_integers(key, hash_name, digest, signature)


def _rsa_verify_integers(
    key: tuple[int, int], hash_name: str, digest: bytes, signature: bytes
) -> bool:
    modulus, exponent = key
    size = (modulus.bit_length() + 7) // 8
    value = int.from_bytes(signature, "big")
    if value >= modulus or len(signature) > size:
        return False
    encoded = pow(value, exponent, modulus).to_bytes(size, "big")
    info = _DIGEST_INFO[hash_name] + digest
    padding = size - 3 - len(info)
    if padding < 8:
        return False
    return encoded == b"\x00\x01" + b"\xff" * padding + b"\x00" + info


def fetch_record(resolver: Resolver, name: str) -> str:
    """The one key record at ``name``, or :class:`KeyProblem`."""
    if len(name) > 253:
        raise KeyProblem("permerror", f"key name {name[:60]}... is longer than DNS allows")
    answer = resolver.query_sync(name, "TXT")
    if answer.outcome is Outcome.TEMPERROR:
        why = answer.error or "DNS failure"
        raise KeyProblem("temperror", f"could not fetch the key at {name} ({why}); try again later")
    if answer.outcome in (Outcome.NXDOMAIN, Outcome.NODATA) or not answer.records:
        raise KeyProblem(
            "permerror", f"no key published at {name} (never published, removed or rotated)"
        )
    records = [r for r in answer.records if "p=" in r or "p =" in r]
    if not records:
        raise KeyProblem("permerror", f"the TXT record at {name} is not a DKIM key (no p=)")
    if len(set(records)) > 1:
        raise KeyProblem("permerror", f"{name} publishes {len(records)} different key records")
    return records[0]


def parse_key(record: str, name: str) -> PublicKey:
    """Check the key record (RFC 6376 §3.6.1, RFC 8463) and load its key.

    Records up to :data:`MAX_CACHED_RECORD` characters are parsed once per (record, name): the
    outcome depends on nothing else, and a domain signs many messages with one key."""
    if len(record) > MAX_CACHED_RECORD:
        return _parse_key(record, name)
    outcome = _parse_key_cached(record, name)
    if isinstance(outcome, PublicKey):
        return outcome
    raise KeyProblem(*outcome)


@lru_cache(maxsize=KEY_CACHE_SIZE)
def _parse_key_cached(record: str, name: str) -> PublicKey | tuple[str, str]:
    try:
        return _parse_key(record, name)
    except KeyProblem as problem:
        return problem.result, problem.reason


def _parse_key(record: str, name: str) -> PublicKey:
    try:
        key = parse_tag_list(record.encode("utf-8")).tags
    except TagListError as exc:
        raise KeyProblem("permerror", f"malformed key record at {name}: {exc}") from None
    if key.get(b"v", b"DKIM1") != b"DKIM1":
        raise KeyProblem("permerror", f"the key record at {name} has an unknown version v=")
    kind = key.get(b"k", b"rsa").lower()
    if kind not in (b"rsa", b"ed25519"):
        shown = repr(kind[:20].decode("ascii", "replace"))
        raise KeyProblem("permerror", f"the key at {name} has an unknown type k={shown}")
    services = [s.lower() for s in split_list(key.get(b"s", b"*"))]
    if b"*" not in services and b"email" not in services:
        raise KeyProblem(
            "permerror", f"the key at {name} is not for email (s= lists no email or *)"
        )
    flags = [f.lower() for f in split_list(key.get(b"t", b""))]
    hashes = tuple(h.lower() for h in split_list(key[b"h"])) if b"h" in key else None
    if b"p" not in key:
        raise KeyProblem("permerror", f"the key record at {name} has no p= tag")
    public = b"".join(key[b"p"].split())
    if not public:
        raise KeyProblem("permerror", f"the key at {name} is revoked (empty p=)")
    try:
        der = base64.b64decode(public, validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem("permerror", f"the key at {name} is not valid base64") from None
    common = {
        "name": name,
        "testing": b"y" in flags,
        "strict_identity": b"s" in flags,
        "hashes": hashes,
    }
    if kind == b"ed25519":
        if len(der) != 32:
            raise KeyProblem("permerror", f"the ed25519 key at {name} is not 32 bytes")
        return PublicKey(kind="ed25519", bits=256, ed25519=der, **common)  # type: ignore[arg-type]
    modulus, exponent = _rsa_numbers(der, name)
    bits = modulus.bit_length()
    if bits > MAX_RSA_BITS or exponent.bit_length() > MAX_RSA_EXPONENT_BITS or exponent < 3:
        raise KeyProblem("permerror", f"the RSA key at {name} has unreasonable parameters")
    return PublicKey(kind="rsa", bits=bits, rsa=(modulus, exponent), **common)  # type: ignore[arg-type]


def _rsa_numbers(der: bytes, name: str) -> tuple[int, int]:
    """(modulus, exponent) from SubjectPublicKeyInfo or a bare PKCS#1 RSAPublicKey.

    ``cryptography`` reads the usual form; dkimpy's ASN.1 reader takes what it refuses.
    """
    try:
        loaded = load_der_public_key(der)
    except (ValueError, TypeError):
        loaded = None
    if isinstance(loaded, RSAPublicKey):
        numbers = loaded.public_numbers()
        return numbers.n, numbers.e
    try:
        numbers = parse_public_key(der)
        return int(numbers["modulus"]), int(numbers["publicExponent"])
    except (UnparsableKeyError, IndexError, ValueError, TypeError, KeyError):
        raise KeyProblem("permerror", f"the RSA key at {name} cannot be parsed") from None
