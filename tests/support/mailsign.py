"""Signed test messages: throwaway DKIM keys, DKIM signatures with any tags, ARC sets.

Keys are generated per test session (RSA of any size, ed25519) and come with the
``v=DKIM1`` TXT record to publish. :func:`sign` writes a DKIM-Signature with dkimpy's own
header hashing but lets a test choose every tag, including the ones a careful verifier must
refuse (rsa-sha1, ``h=`` without From, expired ``x=``, ``l=``, a malformed ``d=``), which
``dkim.sign`` will not produce. :func:`arc_seal` adds one ARC set with ``dkim.arc_sign``.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import dkim
import nacl.encoding
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import HASH_ALGORITHMS, RSASSA_PKCS1_v1_5_sign, parse_pem_private_key

DEFAULT_HEADERS = ("from", "to", "subject", "date", "message-id")


class _DnsTarget(Protocol):
    def add(self, name: str, rtype: str, data: Any, ttl: int = 300) -> None: ...


@dataclass(frozen=True)
class SigningKey:
    """A throwaway key: dkimpy's private form, PEM (RSA of 1024 bits and up) and public half."""

    kind: str  # "rsa" | "ed25519"
    private: Any  # dkimpy form: RSA dict, or nacl SigningKey
    public_b64: str
    bits: int
    pem: bytes | None = None
    seed_b64: bytes | None = None

    def txt(self, **tags: str) -> str:
        """The key record, ``v=DKIM1; k=...; [tags;] p=...``; ``p=""`` publishes a revoked key."""
        parts = ["v=DKIM1", f"k={self.kind}"]
        public = tags.pop("p", self.public_b64)
        parts += [f"{k}={v}" for k, v in tags.items()]
        parts.append(f"p={public}")
        return "; ".join(parts)


def _is_probable_prime(n: int, rounds: int = 32) -> bool:
    if n < 4:
        return n in (2, 3)
    for small in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % small == 0:
            return n == small
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, e: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if (candidate - 1) % e and _is_probable_prime(candidate):
            return candidate


def _small_rsa(bits: int) -> dict[str, int]:
    """RSA under 1024 bits (cryptography refuses to generate those): plain Python."""
    e = 65537
    while True:
        p, q = _prime(bits // 2, e), _prime(bits - bits // 2, e)
        if p != q and (p * q).bit_length() == bits:
            break
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    return {
        "version": 0,
        "modulus": p * q,
        "publicExponent": e,
        "privateExponent": d,
        "prime1": p,
        "prime2": q,
        "exponent1": d % (p - 1),
        "exponent2": d % (q - 1),
        "coefficient": pow(q, -1, p),
    }


@lru_cache(maxsize=16)
def rsa_key(bits: int = 2048, tag: str = "") -> SigningKey:
    """A throwaway RSA key of ``bits`` bits (cached per size and tag for the session)."""
    if bits >= 1024:
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public = private.public_key()
        return SigningKey("rsa", parse_pem_private_key(pem), _spki_b64(public), bits, pem=pem)
    numbers = _small_rsa(bits)
    public = rsa.RSAPublicNumbers(numbers["publicExponent"], numbers["modulus"]).public_key()
    return SigningKey("rsa", numbers, _spki_b64(public), bits)


def _spki_b64(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


@lru_cache(maxsize=8)
def ed25519_key(tag: str = "") -> SigningKey:
    """A throwaway ed25519 key (RFC 8463: ``p=`` is the raw 32-byte public key)."""
    private = nacl.signing.SigningKey.generate()
    public = private.verify_key.encode(encoder=nacl.encoding.Base64Encoder).decode("ascii")
    seed = private.encode(encoder=nacl.encoding.Base64Encoder)
    return SigningKey("ed25519", private, public, 256, seed_b64=seed)


def publish(dns: _DnsTarget, domain: str, selector: str, key: SigningKey, **tags: str) -> str:
    """Serve ``key``'s record at ``selector._domainkey.domain``; return that name."""
    name = f"{selector}._domainkey.{domain}"
    dns.add(name, "TXT", key.txt(**tags))
    return name


def build(
    *,
    from_: str = "Dana Whitfield <dana.whitfield@northwind-software.com>",
    to: str = "helpdesk@example-corp.test",
    subject: str = "Quarterly maintenance window",
    body: str = "Hello,\r\n\r\nOur maintenance window is on Saturday.\r\n\r\nDana\r\n",
    extra: Sequence[str] = (),
) -> bytes:
    """A plain RFC 5322 message with CRLF line ends; ``extra`` header lines go on top."""
    lines = [*extra]
    lines += [
        f"From: {from_}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Tue, 10 Nov 2026 09:30:00 +0000",
        "Message-ID: <mailsign-1@northwind-software.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


def signature(
    message: bytes,
    *,
    domain: str,
    selector: str,
    key: SigningKey,
    algorithm: str | None = None,
    headers: Iterable[str] = DEFAULT_HEADERS,
    canonicalize: str = "relaxed/simple",
    length: int | bool = False,
    timestamp: int | None = None,
    expires: int | None = None,
    identity: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> bytes:
    """One ``DKIM-Signature:`` header line (CRLF-terminated) over ``message``.

    ``length=True`` signs the whole canonical body with ``l=``; an int sets ``l=`` to that.
    ``extra_tags`` are added as given (and may override any tag, ``d=`` included).
    """
    alg = (algorithm or ("ed25519-sha256" if key.kind == "ed25519" else "rsa-sha256")).encode()
    signer = dkim.DKIM(message, signature_algorithm=alg)
    signer.hasher = HASH_ALGORITHMS[alg]
    policy = CanonicalizationPolicy.from_c_value(canonicalize.encode())
    include = [h.lower().encode() for h in headers]
    body = policy.canonicalize_body(signer.body)
    if length is not False:
        limit = len(body) if length is True else int(length)
        body = body[:limit]
    digest = signer.hasher()
    digest.update(body)
    fields: dict[bytes, bytes] = {
        b"v": b"1",
        b"a": alg,
        b"c": canonicalize.encode(),
        b"d": domain.encode(),
        b"i": (identity or "@" + domain).encode(),
        b"q": b"dns/txt",
        b"s": selector.encode(),
        b"t": str(int(time.time()) if timestamp is None else timestamp).encode(),
    }
    if length is not False:
        fields[b"l"] = str(limit).encode()
    if expires is not None:
        fields[b"x"] = str(expires).encode()
    fields[b"h"] = b" : ".join(include)
    fields[b"bh"] = base64.b64encode(digest.digest())
    for name, value in (extra_tags or {}).items():
        fields[name.encode()] = value.encode()
    fields[b"b"] = b"0" * 60
    value = signer.gen_header(list(fields.items()), include, policy, b"DKIM-Signature", key.private)
    return b"DKIM-Signature: " + bytes(value)


def sign(message: bytes, **kwargs: Any) -> bytes:
    """``message`` with :func:`signature` prepended (as the signing host does)."""
    return signature(message, **kwargs) + message


def arc_seal(
    message: bytes,
    *,
    domain: str,
    selector: str,
    key: SigningKey,
    srv_id: str,
    arc: str | None = None,
    results: str = "spf=pass smtp.mailfrom=northwind-software.com",
) -> bytes:
    """``message`` relayed by ``srv_id``: its Authentication-Results, then one ARC set on top.

    ``arc`` is the chain status the relay found (``pass``/``fail``; None for the first hop).
    RSA keys of 1024 bits and up only (``dkim.arc_sign`` wants PEM).
    """
    if key.pem is None:
        raise ValueError("arc_seal needs an RSA key of 1024 bits or more")
    verdicts = results + (f"; arc={arc}" if arc is not None else "")
    relayed = prepend(message, f"Authentication-Results: {srv_id}; {verdicts}")
    lines = dkim.arc_sign(
        relayed,
        selector.encode(),
        domain.encode(),
        key.pem,
        srv_id.encode(),
        include_headers=[h.encode() for h in DEFAULT_HEADERS],
    )
    if not lines:
        raise ValueError("dkim.arc_sign refused to seal (chain status does not fit)")
    return b"".join(lines) + relayed


def prepend(message: bytes, *headers: str) -> bytes:
    """``message`` with header lines added on top (as each receiving hop does)."""
    return b"".join(h.encode("utf-8") + b"\r\n" for h in headers) + message


def sign_template(
    message: bytes,
    template: str,
    *,
    key: SigningKey,
    algorithm: str | None = None,
    headers: Iterable[str] = DEFAULT_HEADERS,
    canonicalize: str = "relaxed/relaxed",
    name: str = "DKIM-Signature",
) -> bytes:
    """``message`` under a signature written exactly as ``template`` (any spacing, folding, order).

    ``{bh}`` in the template becomes the body hash and ``{b}`` the signature; the header hash is
    dkimpy's own (``dkim.hash_headers``), so the test does not sign with the code it tests.
    """
    alg = (algorithm or ("ed25519-sha256" if key.kind == "ed25519" else "rsa-sha256")).encode()
    signer = dkim.DKIM(message)
    policy = CanonicalizationPolicy.from_c_value(canonicalize.encode())
    digest = HASH_ALGORITHMS[alg]()
    digest.update(policy.canonicalize_body(signer.body))
    body_hash = base64.b64encode(digest.digest()).decode("ascii")
    unsigned = " " + template.replace("{bh}", body_hash)
    hasher = HASH_ALGORITHMS[alg]()
    include = [h.lower().encode() for h in headers]
    canonical = policy.canonicalize_headers(signer.headers)
    # As dkim.gen_header does: a placeholder that hash_headers strips, with the FWS before it.
    sigheader = (name.encode(), unsigned.replace("{b}", "0" * 60).encode())
    dkim.hash_headers(hasher, policy, canonical, include, sigheader, {})
    if key.kind == "ed25519":
        raw = key.private.sign(hasher.digest()).signature
    else:
        raw = RSASSA_PKCS1_v1_5_sign(hasher, key.private)
    value = unsigned.replace("{b}", base64.b64encode(bytes(raw)).decode("ascii"))
    return f"{name}:{value}\r\n".encode() + message
