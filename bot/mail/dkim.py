"""DKIM: verify every signature of a message (RFC 6376), with the policy of RFC 8301 and 8463.

The message is parsed once (:class:`~bot.mail.signedmsg.SignedMessage`, shared with ARC); each
body is canonicalized and hashed once per (canonicalization, hash), whatever the number of
signatures and ``l=`` values. Tag lists follow RFC 6376 §3.2 in full (whitespace around ``=`` and
``;``, ``q=`` lists with unknown methods ignored, dkim-quoted-printable ``i=``, key records whose
``s=`` lists service types). Every signature is checked, not just the top one; the key is fetched
through deskguard's resolver, so a DNS failure is a temperror and not "no key"; and a signature
whose crypto verifies is still refused (``policy``) when it uses rsa-sha1, a short RSA key, a
testing key (``t=y``), an ``h=`` without From, or has expired. ``l=`` shorter than the body is
reported as unsigned bytes. dkimpy is the reference the differential tests compare against.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
from dataclasses import dataclass
from typing import Any

from bot.dns import Resolver
from bot.mail.dkimkey import KeyProblem, PublicKey, fetch_record, parse_key
from bot.mail.signedmsg import HASHES, HeaderError, SignedMessage, header_hash
from bot.mail.tagvalue import TagListError, decode_quoted_printable, parse_tag_list, split_list
from bot.names import InvalidName, normalize_domain

PASS, FAIL, TEMPERROR, PERMERROR, POLICY, NEUTRAL = (
    "pass",
    "fail",
    "temperror",
    "permerror",
    "policy",
    "neutral",
)
MAX_SIGNATURES = 20
MAX_SIGNED_HEADERS = 200
MIN_RSA_BITS = 1024
FUTURE_SKEW = 3600  # seconds a t= may lie ahead of our clock
EXPIRY_SKEW = 300
ALGORITHMS = ("rsa-sha256", "rsa-sha1", "ed25519-sha256")
REQUIRED_TAGS = ("v", "a", "b", "bh", "d", "h", "s")
_REQUIRED_KEYS = tuple((tag, tag.encode()) for tag in REQUIRED_TAGS)
CANONICALIZATIONS = ("simple", "relaxed")

_SELECTOR = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*$")
_DIGITS = re.compile(r"^\d{1,18}$")
_SIGNATURE_HEADER = re.compile(rb"(?im)^dkim-signature[ \t]*:")


@dataclass(frozen=True)
class DkimResult:
    """The outcome of one DKIM-Signature (``index`` 0 is the top-most)."""

    index: int
    domain: str | None
    selector: str | None
    algorithm: str | None
    result: str  # pass | fail | temperror | permerror | policy | neutral (unsupported)
    reason: str
    signed_headers: tuple[str, ...] = ()
    body_length: int | None = None
    unsigned_body_bytes: int = 0
    key_bits: int | None = None
    testing: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports."""
        return {
            "index": self.index,
            "domain": self.domain,
            "selector": self.selector,
            "algorithm": self.algorithm,
            "result": self.result,
            "reason": self.reason,
            "signed_headers": list(self.signed_headers),
            "body_length": self.body_length,
            "unsigned_body_bytes": self.unsigned_body_bytes,
            "key_bits": self.key_bits,
            "testing": self.testing,
        }


class _Refused(Exception):
    """A signature ends here with ``result`` and ``reason``."""

    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason


@dataclass
class _Sig:
    """What is known about one signature as the checks go on."""

    index: int
    raw: tuple[bytes, bytes]
    domain: str | None = None
    selector: str | None = None
    algorithm: str | None = None
    signed_headers: tuple[str, ...] = ()
    body_length: int | None = None
    unsigned_body_bytes: int = 0
    key_bits: int | None = None
    testing: bool = False
    identity_domain: str | None = None
    # the tags _parse_signature validated, decoded once for the checks after it
    signature: bytes = b""
    body_digest: bytes = b""
    canonicalization: tuple[str, str] = ("simple", "simple")
    length: int | None = None
    signed_at: int | None = None
    expires: int | None = None

    def result(self, result: str, reason: str) -> DkimResult:
        return DkimResult(
            index=self.index,
            domain=self.domain,
            selector=self.selector,
            algorithm=self.algorithm,
            result=result,
            reason=reason,
            signed_headers=self.signed_headers,
            body_length=self.body_length,
            unsigned_body_bytes=self.unsigned_body_bytes,
            key_bits=self.key_bits,
            testing=self.testing,
        )


def verify_dkim(message: bytes | SignedMessage, resolver: Resolver) -> list[DkimResult]:
    """Verify every DKIM-Signature of ``message``, top first (blocking: DNS via query_sync).

    ``message`` may be the raw bytes or a :class:`SignedMessage` shared with ARC.
    """
    try:
        msg = SignedMessage.of(message)
    except HeaderError as exc:
        raw = message.raw if isinstance(message, SignedMessage) else message
        if _SIGNATURE_HEADER.search(raw) is None:
            return []
        reason = f"the message header cannot be parsed, so no signature can be checked: {exc}"
        return [DkimResult(0, None, None, None, PERMERROR, reason)]
    headers = msg.fields(b"dkim-signature")
    results = [
        _verify_one(msg, _Sig(i, header), resolver)
        for i, header in enumerate(headers[:MAX_SIGNATURES])
    ]
    if len(headers) > MAX_SIGNATURES:
        extra = len(headers) - MAX_SIGNATURES
        reason = f"{extra} further DKIM signature(s) not checked (limit {MAX_SIGNATURES})"
        results.append(DkimResult(MAX_SIGNATURES, None, None, None, PERMERROR, reason))
    return results


async def verify_dkim_async(message: bytes | SignedMessage, resolver: Resolver) -> list[DkimResult]:
    """:func:`verify_dkim` in a worker thread."""
    return await asyncio.to_thread(verify_dkim, message, resolver)


def _verify_one(msg: SignedMessage, sig: _Sig, resolver: Resolver) -> DkimResult:
    try:
        tags, spans = _parse_signature(sig)
        key_name = f"{sig.selector}._domainkey.{sig.domain}"
        key = _load_key(sig, resolver, key_name)
        _check_crypto(msg, sig, tags, spans, key)
        problems = _policy_problems(sig, tags, key)
    except _Refused as refused:
        return sig.result(refused.result, refused.reason)
    if problems:
        return sig.result(POLICY, "the signature verifies but is refused: " + "; ".join(problems))
    reason = f"verified with the {sig.key_bits}-bit {_key_kind(sig)} key at {key_name}"
    if sig.unsigned_body_bytes:
        reason += (
            f"; l= signs only the first {sig.body_length} body bytes, "
            f"{sig.unsigned_body_bytes} bytes after them are unsigned"
        )
    return sig.result(PASS, reason)


def _key_kind(sig: _Sig) -> str:
    return "ed25519" if (sig.algorithm or "").startswith("ed25519") else "RSA"


def _show(text: str, limit: int = 80) -> str:
    """Attacker-supplied text for a reason: quoted, escaped and cut short."""
    shown = repr(text[:limit])
    return shown + "..." if len(text) > limit else shown


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(PERMERROR, f"{what} is not valid UTF-8") from None


def _parse_signature(sig: _Sig) -> tuple[dict[bytes, bytes], dict[bytes, tuple[int, int]]]:
    """Tags of the DKIM-Signature, validated (RFC 6376 §3.5, §6.1.1)."""
    try:
        parsed = parse_tag_list(sig.raw[1])
    except TagListError as exc:
        raise _Refused(PERMERROR, f"malformed DKIM-Signature tag list: {exc}") from None
    tags = parsed.tags
    if b"a" in tags:
        sig.algorithm = _text(tags[b"a"], "a=").lower()[:64]
    if b"h" in tags:
        sig.signed_headers = tuple(_text(n, "h=").lower() for n in split_list(tags[b"h"]))
    if b"s" in tags:
        selector = _text(tags[b"s"], "s=")
        if not _SELECTOR.match(selector):
            raise _Refused(PERMERROR, f"invalid selector s={_show(selector)}")
        sig.selector = selector.lower()
    if b"d" in tags:
        raw_domain = _text(tags[b"d"], "d=")
        try:
            sig.domain = normalize_domain(raw_domain)
        except InvalidName:
            raise _Refused(PERMERROR, f"invalid domain d={_show(raw_domain)}") from None
    missing = [t for t, key in _REQUIRED_KEYS if key not in tags]
    if missing:
        raise _Refused(PERMERROR, "the signature lacks required tag(s) " + ", ".join(missing))
    if tags[b"v"] != b"1":
        raise _Refused(PERMERROR, f"unknown signature version v={_show(_text(tags[b'v'], 'v='))}")
    if sig.algorithm not in ALGORITHMS:
        raise _Refused(PERMERROR, f"unsupported signature algorithm a={_show(sig.algorithm or '')}")
    if not sig.signed_headers:
        raise _Refused(PERMERROR, "h= names no header fields")
    if len(sig.signed_headers) > MAX_SIGNED_HEADERS:
        raise _Refused(PERMERROR, f"h= names more than {MAX_SIGNED_HEADERS} header fields")
    sig.signed_at, sig.expires = _check_times(tags)
    _check_identity(sig, tags)
    _check_other_fields(sig, tags)
    return tags, parsed.spans


def _number(tags: dict[bytes, bytes], tag: bytes) -> int | None:
    if tag not in tags:
        return None
    text = _text(tags[tag], tag.decode() + "=")
    if not _DIGITS.match(text):
        raise _Refused(PERMERROR, f"{tag.decode()}={_show(text)} is not a decimal number")
    return int(text)


def _check_times(tags: dict[bytes, bytes]) -> tuple[int | None, int | None]:
    """t= and x=, checked."""
    signed, expires = _number(tags, b"t"), _number(tags, b"x")
    if signed is not None and expires is not None and expires < signed:
        raise _Refused(PERMERROR, f"x={expires} is earlier than t={signed}")
    return signed, expires


def _check_identity(sig: _Sig, tags: dict[bytes, bytes]) -> None:
    """i= is dkim-quoted-printable (§2.11, §3.5): decode, then it must be at or below d=."""
    if b"i" not in tags or sig.domain is None:
        return
    try:
        decoded = decode_quoted_printable(tags[b"i"])
    except TagListError as exc:
        raise _Refused(PERMERROR, f"i= is not valid dkim-quoted-printable: {exc}") from None
    identity = _text(decoded, "i=")
    _, at, idomain = identity.rpartition("@")
    if not at:
        raise _Refused(PERMERROR, f"i={_show(identity)} is not of the form [local]@domain")
    try:
        normalized = normalize_domain(idomain)
    except InvalidName:
        raise _Refused(PERMERROR, f"i={_show(identity)} has an invalid domain") from None
    if normalized != sig.domain and not normalized.endswith("." + sig.domain):
        raise _Refused(PERMERROR, f"i= domain {normalized} is not d={sig.domain} or below it")
    sig.identity_domain = normalized


def _base64(tags: dict[bytes, bytes], tag: bytes) -> bytes:
    compact = b"".join(tags[tag].split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise _Refused(PERMERROR, f"{tag.decode()}= is not valid base64") from None


def _canonicalization(tags: dict[bytes, bytes]) -> tuple[str, str]:
    raw = _text(tags.get(b"c", b"simple/simple"), "c=").lower()
    header, _, body = raw.partition("/")
    body = body or "simple"
    if header not in CANONICALIZATIONS or body not in CANONICALIZATIONS or raw.count("/") > 1:
        raise _Refused(
            PERMERROR, f"invalid c={_show(raw)}: expected simple or relaxed, as header/body"
        )
    return header, body


def _check_other_fields(sig: _Sig, tags: dict[bytes, bytes]) -> None:
    """q= must offer dns/txt (unknown methods are ignored, §3.5); b=, bh=, c= and l= well formed
    (and kept decoded on ``sig``)."""
    if b"q" in tags:
        methods = [m.lower() for m in split_list(tags[b"q"])]
        if b"dns/txt" not in methods:
            shown = _show(tags[b"q"].decode("ascii", "replace"))
            raise _Refused(PERMERROR, f"q={shown} offers no key query method we know (dns/txt)")
    sig.signature = _base64(tags, b"b")
    sig.body_digest = _base64(tags, b"bh")
    sig.canonicalization = _canonicalization(tags)
    sig.length = _number(tags, b"l")


def _load_key(sig: _Sig, resolver: Resolver, name: str) -> PublicKey:
    """The key at ``s._domainkey.d``, checked against the signature (RFC 6376 §3.6, §6.1.2)."""
    try:
        key = parse_key(fetch_record(resolver, name), name)
    except KeyProblem as problem:
        raise _Refused(problem.result, problem.reason) from None
    sig.testing = key.testing
    algorithm = sig.algorithm or ""
    hash_name = algorithm.rsplit("-", 1)[-1].encode()
    if key.hashes is not None and hash_name not in key.hashes:
        raise _Refused(PERMERROR, f"the key at {name} does not allow {hash_name.decode()} (h=)")
    if not algorithm.startswith(key.kind + "-"):
        raise _Refused(PERMERROR, f"a={algorithm} does not match the {key.kind} key at {name}")
    sig.key_bits = key.bits
    return key


def _check_crypto(
    msg: SignedMessage,
    sig: _Sig,
    tags: dict[bytes, bytes],
    spans: dict[bytes, tuple[int, int]],
    key: PublicKey,
) -> None:
    """Body length and hash, then the header hash and the signature."""
    header_canon, body_canon = sig.canonicalization
    hash_name = HASHES[sig.algorithm or ""]
    length = sig.length
    digest, total = msg.body_hash(body_canon, hash_name, length)
    if length is not None:
        if digest is None:
            raise _Refused(PERMERROR, f"l={length} is longer than the body ({total} bytes)")
        sig.body_length = length
        sig.unsigned_body_bytes = total - length
    if digest != sig.body_digest:
        raise _Refused(FAIL, "body hash mismatch: the body changed after signing")
    names = [n.encode() for n in sig.signed_headers]
    if "from" in sig.signed_headers:
        names.append(b"from")  # a From added above the signed one breaks the signature (dkimpy)
    name, value = sig.raw
    span = spans[b"b"]
    stripped = (name, value[: span[0]] + value[span[1] :])
    signed = header_hash(msg, header_canon == "relaxed", hash_name, names, stripped)
    if not key.verify(hash_name, signed, sig.signature):
        raise _Refused(
            FAIL,
            "signature does not verify: a signed header changed after signing, "
            "or the key is not the signer's",
        )


def _policy_problems(sig: _Sig, tags: dict[bytes, bytes], key: PublicKey) -> list[str]:
    """Why a cryptographically valid signature is still not a pass (RFC 6376 §6.1.1, 8301)."""
    problems: list[str] = []
    if "from" not in sig.signed_headers:
        problems.append("h= does not cover From, so the From header is not vouched for")
    if sig.algorithm == "rsa-sha1":
        problems.append("rsa-sha1 is no longer acceptable (RFC 8301)")
    if _key_kind(sig) == "RSA" and (sig.key_bits or 0) < MIN_RSA_BITS:
        problems.append(f"the {sig.key_bits}-bit RSA key is under {MIN_RSA_BITS} bits (RFC 8301)")
    if sig.testing:
        problems.append("the key is in testing mode (t=y): treat the message as unsigned")
    now = time.time()
    expires, signed = sig.expires, sig.signed_at
    if expires is not None and expires + EXPIRY_SKEW < now:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires))
        problems.append(f"the signature expired at {when} (x=)")
    if signed is not None and signed > now + FUTURE_SKEW:
        problems.append("the signature timestamp t= is in the future")
    identity = sig.identity_domain
    if key.strict_identity and identity is not None and identity != sig.domain:
        problems.append("the key forbids subdomain identities (t=s) but i= is a subdomain")
    return problems
