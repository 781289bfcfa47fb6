"""DKIM: verify every signature of a message (RFC 6376), with the policy of RFC 8301 and 8463.

dkimpy does the canonicalization and the cryptography. What it leaves out is done here: every
signature is checked, not just the top one; the key is fetched through deskguard's resolver, so
a DNS failure is a temperror and not "no key"; and a signature whose crypto verifies is still
refused (``policy``) when it uses rsa-sha1, a short RSA key, a testing key (``t=y``), an ``h=``
without From, or has expired. ``l=`` shorter than the body is reported as unsigned bytes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

import dkim
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.crypto import UnparsableKeyError, parse_public_key
from dkim.util import InvalidTagValueList, parse_tag_value

from bot.dns import Outcome, Resolver
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
MAX_RSA_BITS = 8192
MAX_RSA_EXPONENT_BITS = 64
FUTURE_SKEW = 3600  # seconds a t= may lie ahead of our clock
EXPIRY_SKEW = 300
ALGORITHMS = ("rsa-sha256", "rsa-sha1", "ed25519-sha256")
REQUIRED_TAGS = ("v", "a", "b", "bh", "d", "h", "s")

_SELECTOR = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*$")
_DIGITS = re.compile(r"^\d{1,18}$")
_SIGNATURE_HEADER = re.compile(rb"(?im)^dkim-signature[ \t]*:")

_QUIET = logging.getLogger("bot.mail.dkim.dkimpy")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


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
        out = asdict(self)
        out["signed_headers"] = list(self.signed_headers)
        return out


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
    strict_identity: bool = False

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


def verify_dkim(message: bytes, resolver: Resolver) -> list[DkimResult]:
    """Verify every DKIM-Signature of ``message``, top first (blocking: DNS via query_sync)."""
    try:
        signer = dkim.DKIM(message, logger=_QUIET, minkey=1)
    except (dkim.DKIMException, IndexError) as exc:
        if _SIGNATURE_HEADER.search(message) is None:
            return []
        reason = (
            f"the message header cannot be parsed, so no signature can be checked: {_plain(exc)}"
        )
        return [DkimResult(0, None, None, None, PERMERROR, reason)]
    headers = [(n, v) for n, v in signer.headers if n.lower() == b"dkim-signature"]
    results = [
        _verify_one(signer, _Sig(i, (bytes(n), bytes(v))), resolver)
        for i, (n, v) in enumerate(headers[:MAX_SIGNATURES])
    ]
    if len(headers) > MAX_SIGNATURES:
        extra = len(headers) - MAX_SIGNATURES
        reason = f"{extra} further DKIM signature(s) not checked (limit {MAX_SIGNATURES})"
        results.append(DkimResult(MAX_SIGNATURES, None, None, None, PERMERROR, reason))
    return results


async def verify_dkim_async(message: bytes, resolver: Resolver) -> list[DkimResult]:
    """:func:`verify_dkim` in a worker thread."""
    return await asyncio.to_thread(verify_dkim, message, resolver)


def _verify_one(signer: dkim.DKIM, sig: _Sig, resolver: Resolver) -> DkimResult:
    try:
        tags = _parse_signature(sig)
        key_name, record = _fetch_key(sig, resolver)
        _parse_key(sig, record, key_name)
        _check_crypto(signer, sig, tags, record)
        problems = _policy_problems(sig, tags)
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


def _parse_signature(sig: _Sig) -> dict[bytes, bytes]:
    """Tags of the DKIM-Signature, validated (RFC 6376 §3.5, §6.1.1)."""
    try:
        tags: dict[bytes, bytes] = parse_tag_value(sig.raw[1])
    except InvalidTagValueList as exc:
        raise _Refused(PERMERROR, f"malformed DKIM-Signature tag list ({_plain(exc)})") from None
    if b"a" in tags:
        sig.algorithm = _text(tags[b"a"], "a=").lower()[:64]
    if b"h" in tags:
        names = re.split(r"\s*:\s*", _text(tags[b"h"], "h=").strip())
        sig.signed_headers = tuple(n.lower() for n in names if n)
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
        tags[b"d"] = sig.domain.encode("ascii")
    missing = [t for t in REQUIRED_TAGS if t.encode() not in tags]
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
    _check_times(tags)
    _check_identity(sig, tags)
    _check_other_fields(tags)
    return tags


def _number(tags: dict[bytes, bytes], tag: bytes) -> int | None:
    if tag not in tags:
        return None
    text = _text(tags[tag], tag.decode() + "=")
    if not _DIGITS.match(text):
        raise _Refused(PERMERROR, f"{tag.decode()}={_show(text)} is not a decimal number")
    return int(text)


def _check_times(tags: dict[bytes, bytes]) -> None:
    signed, expires = _number(tags, b"t"), _number(tags, b"x")
    if signed is not None and expires is not None and expires < signed:
        raise _Refused(PERMERROR, f"x={expires} is earlier than t={signed}")


def _check_identity(sig: _Sig, tags: dict[bytes, bytes]) -> None:
    if b"i" not in tags or sig.domain is None:
        return
    identity = _text(tags[b"i"], "i=")
    _, at, idomain = identity.rpartition("@")
    if not at:
        raise _Refused(PERMERROR, f"i={_show(identity)} is not of the form [local]@domain")
    try:
        normalized = normalize_domain(idomain)
    except InvalidName:
        raise _Refused(PERMERROR, f"i={_show(identity)} has an invalid domain") from None
    if normalized != sig.domain and not normalized.endswith("." + sig.domain):
        raise _Refused(PERMERROR, f"i= domain {normalized} is not d={sig.domain} or below it")


def _check_other_fields(tags: dict[bytes, bytes]) -> None:
    """dkimpy's own field checks, minus t=/x= (clock policy is decided here) and i= (above)."""
    checked = {k: v for k, v in tags.items() if k not in (b"t", b"x", b"i")}
    try:
        dkim.validate_signature_fields(checked)
    except dkim.ValidationError as exc:
        raise _Refused(PERMERROR, f"invalid signature field: {_plain(exc)}") from None


def _plain(exc: Exception | str, limit: int = 160) -> str:
    """A library's error message for a reason: bytes reprs unwrapped, cut short."""
    text = re.sub(r"b'([^']*)'", r"\1", str(exc))
    return text if len(text) <= limit else text[:limit] + "..."


def _fetch_key(sig: _Sig, resolver: Resolver) -> tuple[str, str]:
    """The key record at ``s._domainkey.d`` (RFC 6376 §3.6.2), or a temperror/permerror."""
    name = f"{sig.selector}._domainkey.{sig.domain}"
    if len(name) > 253:
        raise _Refused(PERMERROR, f"key name {name[:60]}... is longer than DNS allows")
    answer = resolver.query_sync(name, "TXT")
    if answer.outcome is Outcome.TEMPERROR:
        why = answer.error or "DNS failure"
        raise _Refused(TEMPERROR, f"could not fetch the key at {name} ({why}); try again later")
    if answer.outcome in (Outcome.NXDOMAIN, Outcome.NODATA) or not answer.records:
        raise _Refused(
            PERMERROR, f"no key published at {name} (never published, removed or rotated)"
        )
    records = [r for r in answer.records if "p=" in r]
    if not records:
        raise _Refused(PERMERROR, f"the TXT record at {name} is not a DKIM key (no p=)")
    if len(set(records)) > 1:
        raise _Refused(PERMERROR, f"{name} publishes {len(records)} different key records")
    return name, records[0]


def _parse_key(sig: _Sig, record: str, name: str) -> None:
    """Check the key record (RFC 6376 §3.6.1, RFC 8463) and note its size and flags."""
    try:
        key: dict[bytes, bytes] = parse_tag_value(record.encode("utf-8"))
    except InvalidTagValueList as exc:
        raise _Refused(PERMERROR, f"malformed key record at {name} ({_plain(exc)})") from None
    if key.get(b"v", b"DKIM1") != b"DKIM1":
        raise _Refused(PERMERROR, f"the key record at {name} has an unknown version")
    kind = key.get(b"k", b"rsa").lower()
    if kind not in (b"rsa", b"ed25519"):
        raise _Refused(
            PERMERROR,
            f"the key at {name} has an unknown type k={_show(kind.decode('ascii', 'replace'))}",
        )
    services = [s.strip() for s in key.get(b"s", b"*").split(b":")]
    if b"*" not in services and b"email" not in services:
        raise _Refused(PERMERROR, f"the key at {name} is not for email (s=)")
    flags = [f.strip() for f in key.get(b"t", b"").split(b":")]
    sig.testing = b"y" in flags
    sig.strict_identity = b"s" in flags
    algorithm = sig.algorithm or ""
    hash_name = algorithm.rsplit("-", 1)[-1].encode()
    if b"h" in key and hash_name not in [h.strip() for h in key[b"h"].split(b":")]:
        raise _Refused(PERMERROR, f"the key at {name} does not allow {hash_name.decode()} (h=)")
    public = re.sub(rb"\s+", b"", key.get(b"p", b""))
    if b"p" not in key:
        raise _Refused(PERMERROR, f"the key record at {name} has no p= tag")
    if not public:
        raise _Refused(PERMERROR, f"the key at {name} is revoked (empty p=)")
    if not algorithm.startswith(kind.decode() + "-"):
        raise _Refused(PERMERROR, f"a={algorithm} does not match the {kind.decode()} key at {name}")
    try:
        der = base64.b64decode(public, validate=True)
    except (binascii.Error, ValueError):
        raise _Refused(PERMERROR, f"the key at {name} is not valid base64") from None
    if kind == b"ed25519":
        _check_ed25519(sig, der, name)
    else:
        _check_rsa(sig, der, name)


def _check_ed25519(sig: _Sig, raw: bytes, name: str) -> None:
    if getattr(dkim, "nacl", None) is None:
        raise _Refused(NEUTRAL, "unsupported: ed25519-sha256 needs PyNaCl, which is not installed")
    if len(raw) != 32:
        raise _Refused(PERMERROR, f"the ed25519 key at {name} is not 32 bytes")
    sig.key_bits = 256


def _check_rsa(sig: _Sig, der: bytes, name: str) -> None:
    try:
        numbers = parse_public_key(der)
    except (UnparsableKeyError, IndexError, ValueError, TypeError):
        raise _Refused(PERMERROR, f"the RSA key at {name} cannot be parsed") from None
    modulus, exponent = int(numbers["modulus"]), int(numbers["publicExponent"])
    bits = modulus.bit_length()
    if bits > MAX_RSA_BITS or exponent.bit_length() > MAX_RSA_EXPONENT_BITS or exponent < 3:
        raise _Refused(PERMERROR, f"the RSA key at {name} has unreasonable parameters")
    sig.key_bits = bits


def _check_crypto(signer: dkim.DKIM, sig: _Sig, tags: dict[bytes, bytes], record: str) -> None:
    """Body length and hash, then the signature, with dkimpy on the already fetched key."""
    try:
        policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
    except InvalidCanonicalizationPolicyError as exc:
        raise _Refused(PERMERROR, f"invalid c= value ({_plain(exc)})") from None
    length = _number(tags, b"l")
    if length is not None:
        body = policy.canonicalize_body(signer.body)
        if length > len(body):
            raise _Refused(PERMERROR, f"l={length} is longer than the body ({len(body)} bytes)")
        sig.body_length = length
        sig.unsigned_body_bytes = len(body) - length
    key_bytes = record.encode("utf-8")

    def dnsfunc(_name: bytes, timeout: float = 5) -> bytes:
        return key_bytes

    include = [h.encode() for h in sig.signed_headers]
    try:
        valid = signer.verify_sig(dict(tags), include, sig.raw, dnsfunc)
    except dkim.ValidationError as exc:
        if "body hash" in str(exc):
            raise _Refused(FAIL, "body hash mismatch: the body changed after signing") from None
        raise _Refused(PERMERROR, f"invalid signature: {_plain(exc)}") from None
    except dkim.NaClNotFoundError:
        raise _Refused(NEUTRAL, "unsupported: ed25519-sha256 needs PyNaCl") from None
    except (dkim.DKIMException, ValueError, TypeError, IndexError) as exc:
        raise _Refused(PERMERROR, f"signature cannot be checked: {_plain(exc)}") from None
    if not valid:
        raise _Refused(
            FAIL,
            "signature does not verify: a signed header changed after signing, "
            "or the key is not the signer's",
        )


def _policy_problems(sig: _Sig, tags: dict[bytes, bytes]) -> list[str]:
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
    expires, signed = _number(tags, b"x"), _number(tags, b"t")
    if expires is not None and expires + EXPIRY_SKEW < now:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires))
        problems.append(f"the signature expired at {when} (x=)")
    if signed is not None and signed > now + FUTURE_SKEW:
        problems.append("the signature timestamp t= is in the future")
    if sig.strict_identity and b"i" in tags:
        idomain = _text(tags[b"i"], "i=").rpartition("@")[2].lower()
        if idomain != sig.domain:
            problems.append("the key forbids subdomain identities (t=s) but i= is a subdomain")
    return problems
