"""ARC: validate the Authenticated Received Chain of a message (RFC 8617 §5.2).

The structure is checked first (instances 1..N without gaps, N <= 50, exactly one ARC-Seal,
ARC-Message-Signature and ARC-Authentication-Results per instance, valid sealer domains, cv=none
on the first seal and cv=pass after it). Then every set's signatures are verified from the same
parse of the message DKIM uses (:class:`~bot.mail.signedmsg.SignedMessage`): the newest
ARC-Message-Signature must validate and every ARC-Seal must, as dkimpy's ``ARC.verify`` decides
(the ValiMail suite holds both to the same answers). Tag lists follow RFC 6376 §3.2 like DKIM's.
Keys are fetched through deskguard's resolver; a key that cannot be fetched (DNS failure) makes the
chain ``temperror``: could not check, neither pass nor fail. Whether a sealer is trusted is
decided elsewhere (DESKGUARD_TRUSTED_ARC_SEALERS).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bot.dns import Resolver
from bot.mail.dkimkey import KeyProblem, PublicKey, fetch_record, parse_key
from bot.mail.signedmsg import (
    Header,
    HeaderError,
    SignedMessage,
    hash_fields,
    relaxed_header,
    select_headers,
)
from bot.mail.tagvalue import TagList, TagListError, parse_tag_list, split_list
from bot.names import InvalidName, normalize_domain

NONE, PASS, FAIL, TEMPERROR = "none", "pass", "fail", "temperror"
MAX_INSTANCES = 50
MIN_RSA_BITS = 1024
CLOCK_SLOP = 36000  # dkimpy's leeway for t= in the future and x= in the past
HEADER_NAMES = {
    b"arc-seal": "ARC-Seal",
    b"arc-message-signature": "ARC-Message-Signature",
    b"arc-authentication-results": "ARC-Authentication-Results",
}

_AAR_INSTANCE = re.compile(rb"^\s*i\s*=\s*(\d{1,6})\s*;")
_KEY_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_ARC_HEADER = re.compile(rb"(?im)^arc-(seal|message-signature|authentication-results)[ \t]*:")


@dataclass(frozen=True)
class ArcResult:
    """Chain validation status: ``cv`` is none (no ARC headers), pass, fail or temperror."""

    cv: str
    reason: str
    instances: int
    sealers: tuple[str, ...]
    oldest_pass: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports."""
        return {
            "cv": self.cv,
            "reason": self.reason,
            "instances": self.instances,
            "sealers": list(self.sealers),
            "oldest_pass": self.oldest_pass,
        }


class _Broken(Exception):
    """The chain is invalid: cv=fail, with the reason."""


@dataclass
class _Set:
    """One ARC set: the index of each of its three fields in the header, and parsed tags."""

    fields: dict[bytes, int] = field(default_factory=dict)
    tags: dict[bytes, TagList] = field(default_factory=dict)


@dataclass
class _Chain:
    instances: int
    sealers: tuple[str, ...]
    sets: dict[int, _Set] = field(default_factory=dict)


@dataclass
class _Keys:
    """Keys fetched for this message, and DNS failures met on the way."""

    resolver: Resolver
    failures: list[str] = field(default_factory=list)

    def get(self, tags: dict[bytes, bytes]) -> tuple[PublicKey | None, str]:
        """The key for ``s=``/``d=``, or (None, why it is unusable)."""
        try:
            selector = tags[b"s"].decode("ascii")
            domain = tags[b"d"].decode("ascii").rstrip(".")
        except (KeyError, UnicodeDecodeError):
            return None, "s= or d= is not ASCII"
        name = f"{selector}._domainkey.{domain}"
        if len(name) > 253 or not all(_KEY_LABEL.match(label) for label in name.split(".")):
            return None, f"the key name {name[:80]!r} is not a valid DNS name"
        try:
            return parse_key(fetch_record(self.resolver, name), name), ""
        except KeyProblem as problem:
            if problem.result == "temperror":
                self.failures.append(problem.reason)
            return None, problem.reason


def verify_arc(message: bytes | SignedMessage, resolver: Resolver) -> ArcResult:
    """Validate the ARC chain of ``message`` (blocking: keys via ``resolver.query_sync``).

    ``message`` may be the raw bytes or a :class:`SignedMessage` shared with DKIM.
    """
    try:
        msg = SignedMessage.of(message)
    except HeaderError as exc:
        raw = message.raw if isinstance(message, SignedMessage) else message
        if _ARC_HEADER.search(raw) is None:
            return ArcResult(NONE, "the message carries no ARC headers", 0, ())
        return ArcResult(FAIL, f"the message header cannot be parsed: {exc}", 0, ())
    try:
        chain = _structure(msg)
    except _Broken as broken:
        return ArcResult(FAIL, str(broken), 0, ())
    if chain.instances == 0:
        return ArcResult(NONE, "the message carries no ARC headers", 0, ())
    keys = _Keys(resolver)
    try:
        ams_valid = _verify_sets(msg, chain, keys)
    except _Broken as broken:
        if keys.failures:
            return _temperror(keys, chain)
        return ArcResult(FAIL, _plain(str(broken)), chain.instances, chain.sealers)
    return ArcResult(
        PASS,
        f"{chain.instances} ARC set(s) validate",
        chain.instances,
        chain.sealers,
        _oldest_pass(ams_valid, chain.instances),
    )


def _temperror(keys: _Keys, chain: _Chain) -> ArcResult:
    reason = "could not fetch the key(s): " + "; ".join(keys.failures)
    return ArcResult(TEMPERROR, _plain(reason, 400), chain.instances, chain.sealers)


async def verify_arc_async(message: bytes | SignedMessage, resolver: Resolver) -> ArcResult:
    """:func:`verify_arc` in a worker thread."""
    return await asyncio.to_thread(verify_arc, message, resolver)


def _plain(text: str, limit: int = 160) -> str:
    """A reason cut short."""
    return text if len(text) <= limit else text[:limit] + "..."


def _oldest_pass(ams_valid: dict[int, bool], instances: int) -> int:
    """The lowest instance from which every ARC-Message-Signature up to N validates."""
    oldest = instances
    for instance in range(instances, 0, -1):
        if not ams_valid.get(instance):
            break
        oldest = instance
    return oldest


def _verify_sets(msg: SignedMessage, chain: _Chain, keys: _Keys) -> dict[int, bool]:
    """Verify every set, newest first, as dkimpy's ARC.verify; raise _Broken with the reason."""
    ams_valid: dict[int, bool] = {}
    seal_problems: dict[int, str] = {}
    newest_ams = ""
    for instance in range(chain.instances, 0, -1):
        ok, why = _verify_ams(msg, chain, instance, keys)
        ams_valid[instance] = ok
        if instance == chain.instances and not ok:
            newest_ams = why
        ok, why = _verify_seal(msg, chain, instance, keys)
        if not ok:
            seal_problems[instance] = why
    if newest_ams:
        raise _Broken(
            f"the newest ARC-Message-Signature (i={chain.instances}) does not validate: "
            + newest_ams
        )
    for instance in range(chain.instances, 0, -1):
        if instance in seal_problems:
            raise _Broken(f"ARC-Seal i={instance} does not validate: {seal_problems[instance]}")
    return ams_valid


def _check_fields(tags: dict[bytes, bytes], required: tuple[bytes, ...], label: str) -> None:
    """dkimpy's field checks for ARC (a failure ends the chain)."""
    missing = [t.decode() for t in required if t not in tags]
    if missing:
        raise _Broken(f"{label} lacks required tag(s) " + ", ".join(missing))
    if tags[b"a"].lower() != b"rsa-sha256":
        shown = tags[b"a"][:30].decode("ascii", "replace")
        raise _Broken(f"{label} uses a={shown!r}; ARC allows rsa-sha256 only")
    for tag in (b"b", b"bh"):
        if tag in tags:
            _b64(tags, tag, label)
    if b"q" in tags and b"dns/txt" not in [m.lower() for m in split_list(tags[b"q"])]:
        raise _Broken(f"{label} has a q= without dns/txt")
    if b"l" in tags and not (tags[b"l"].isdigit() and len(tags[b"l"]) <= 18):
        raise _Broken(f"{label} has an l= that is not a decimal number")
    now = int(time.time())
    for tag in (b"t", b"x"):
        if tag in tags and not (tags[tag].isdigit() and len(tags[tag]) <= 18):
            raise _Broken(f"{label} has a {tag.decode()}= that is not a decimal number")
    if b"t" in tags and int(tags[b"t"]) > now + CLOCK_SLOP:
        raise _Broken(f"{label} has a t= in the future")
    if b"x" in tags and int(tags[b"x"]) < now - CLOCK_SLOP:
        raise _Broken(f"{label} expired (x=)")


def _b64(tags: dict[bytes, bytes], tag: bytes, label: str) -> bytes:
    try:
        return base64.b64decode(b"".join(tags[tag].split()), validate=True)
    except (binascii.Error, ValueError):
        raise _Broken(f"{label} has a {tag.decode()}= that is not valid base64") from None


def _canon(tags: dict[bytes, bytes]) -> tuple[str, str] | None:
    header, _, body = (
        tags.get(b"c", b"relaxed/relaxed").lower().decode("ascii", "replace").partition("/")
    )
    body = body or "simple"
    if header not in ("simple", "relaxed") or body not in ("simple", "relaxed"):
        return None
    return header, body


def _usable(key: PublicKey | None, why: str) -> tuple[PublicKey | None, str]:
    if key is not None and key.kind != "rsa":
        return None, f"the key at {key.name} is not an RSA key"
    if key is not None and key.bits < MIN_RSA_BITS:
        return None, f"the {key.bits}-bit key at {key.name} is under {MIN_RSA_BITS} bits"
    if key is not None and key.hashes is not None and b"sha256" not in key.hashes:
        return None, f"the key at {key.name} does not allow sha256 (h=)"
    return key, why


def _verify_ams(msg: SignedMessage, chain: _Chain, instance: int, keys: _Keys) -> tuple[bool, str]:
    label = f"ARC-Message-Signature i={instance}"
    found = chain.sets[instance]
    parsed = found.tags[b"arc-message-signature"]
    tags = parsed.tags
    _check_fields(tags, (b"i", b"a", b"b", b"bh", b"d", b"h", b"s"), label)
    names = [n.lower() for n in split_list(tags[b"h"])]
    if b"arc-seal" in names:
        raise _Broken(f"{label} signs ARC-Seal, which it must not")
    canon = _canon(tags)
    if canon is None:
        return False, "invalid c="
    key, why = _usable(*keys.get(tags))
    if key is None:
        return False, why
    length = int(tags[b"l"]) if b"l" in tags else None
    digest, _ = msg.body_hash(canon[1], "sha256", length)
    if digest is None or digest != _b64(tags, b"bh", label):
        return False, "body hash mismatch: the body changed after this set was added"
    if b"from" in names:
        names.append(b"from")
    name, value = msg.headers[found.fields[b"arc-message-signature"]]
    signature = (name, _without_b(value))
    signed = _hash_selected(msg, canon[0] == "relaxed", names, signature)
    if not key.verify("sha256", signed, _b64(tags, b"b", label)):
        return (
            False,
            "a signed header changed after this set was added, or the key is not the sealer's",
        )
    return True, ""


def _hash_selected(
    msg: SignedMessage, relaxed: bool, names: list[bytes], signature: Header
) -> bytes:
    source = msg.relaxed_headers if relaxed else msg.headers
    return hash_fields(select_headers(source, names), relaxed, "sha256", signature)


def _verify_seal(msg: SignedMessage, chain: _Chain, instance: int, keys: _Keys) -> tuple[bool, str]:
    label = f"ARC-Seal i={instance}"
    parsed = chain.sets[instance].tags[b"arc-seal"]
    tags = parsed.tags
    _check_fields(tags, (b"i", b"a", b"b", b"cv", b"d", b"s"), label)
    if b"h" in tags:
        raise _Broken(f"{label} has an h= tag, which ARC-Seal must not have")
    canon = _canon(tags)
    if canon is None:
        return False, "invalid c="
    key, why = _usable(*keys.get(tags))
    if key is None:
        return False, why
    relaxed = canon[0] == "relaxed"
    fields: list[Header] = []
    for number in range(1, instance + 1):
        for name in (b"arc-authentication-results", b"arc-message-signature", b"arc-seal"):
            if number == instance and name == b"arc-seal":
                break
            raw = msg.headers[chain.sets[number].fields[name]]
            fields.append(relaxed_header(*raw) if relaxed else raw)
    name, value = msg.headers[chain.sets[instance].fields[b"arc-seal"]]
    signed = hash_fields(fields, relaxed, "sha256", (name, _without_b(value)))
    if not key.verify("sha256", signed, _b64(tags, b"b", label)):
        return False, "the ARC header fields changed after sealing, or the key is not the sealer's"
    return True, ""


def _without_b(raw: bytes) -> bytes:
    """The raw field value with its b= value removed (the tags were read from the relaxed form)."""
    try:
        return parse_tag_list(raw).without_value(raw, b"b")
    except TagListError:
        return raw


def _instance(name: bytes, value: bytes) -> tuple[int, TagList | None]:
    label = HEADER_NAMES[name]
    if name == b"arc-authentication-results":
        match = _AAR_INSTANCE.match(value)
        if match is None:
            raise _Broken(f"an {label} header has no valid i= instance")
        return int(match.group(1)), None
    try:
        parsed = parse_tag_list(value)
    except TagListError as exc:
        raise _Broken(f"an {label} header has a malformed tag list: {exc}") from None
    raw = parsed.tags.get(b"i", b"")
    if not re.fullmatch(rb"\d{1,6}", raw):
        raise _Broken(f"an {label} header has no valid i= instance")
    return int(raw), parsed


def _structure(msg: SignedMessage) -> _Chain:
    """Check the sets' structure (RFC 8617 §5.2 steps 1-3) and read the sealers."""
    sets: dict[int, dict[bytes, list[tuple[int, TagList | None]]]] = {}
    if not any(name in HEADER_NAMES for name in msg.names):
        return _Chain(0, ())  # no ARC field: no need for the relaxed header fields
    count = 0
    for index, (name, value) in enumerate(msg.relaxed_headers):
        if name not in HEADER_NAMES:
            continue
        count += 1
        if count > 3 * MAX_INSTANCES:
            raise _Broken(f"more than {3 * MAX_INSTANCES} ARC header fields")
        instance, tags = _instance(name, value)
        if not 1 <= instance <= MAX_INSTANCES:
            raise _Broken(f"ARC instance i={instance} is outside 1..{MAX_INSTANCES}")
        sets.setdefault(instance, {}).setdefault(name, []).append((index, tags))
    if not sets:
        return _Chain(0, ())
    total = max(sets)
    sealers: list[str] = []
    chain = _Chain(total, ())
    for instance in range(1, total + 1):
        found = sets.get(instance, {})
        one = _Set()
        for key, label in HEADER_NAMES.items():
            n = len(found.get(key, []))
            if n != 1:
                what = "no" if n == 0 else f"{n}"
                raise _Broken(f"ARC instance {instance} has {what} {label} header(s)")
            index, tags = found[key][0]
            one.fields[key] = index
            if tags is not None:
                one.tags[key] = tags
        seal = one.tags[b"arc-seal"].tags
        sealers.append(_sealer(seal, instance))
        _check_cv(seal, instance, total)
        chain.sets[instance] = one
    chain.sealers = tuple(sealers)
    return chain


def _sealer(seal: dict[bytes, bytes], instance: int) -> str:
    try:
        return normalize_domain(seal.get(b"d", b"").decode("utf-8"))
    except (UnicodeDecodeError, InvalidName):
        raise _Broken(f"ARC-Seal i={instance} has no valid d= domain") from None


def _check_cv(seal: dict[bytes, bytes], instance: int, total: int) -> None:
    cv = seal.get(b"cv", b"").lower()
    if cv == b"fail":
        raise _Broken(f"ARC-Seal i={instance} reports cv=fail: the chain was already broken")
    expected = b"none" if instance == 1 else b"pass"
    if cv != expected:
        shown = cv.decode("ascii", "replace") or "(missing)"
        raise _Broken(f"ARC-Seal i={instance} has cv={shown}, expected {expected.decode()}")
