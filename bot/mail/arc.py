"""ARC: validate the Authenticated Received Chain of a message (RFC 8617 §5.2).

The structure is checked here first (instances 1..N without gaps, N <= 50, exactly one
ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results per instance, valid sealer
domains, cv=none on the first seal and cv=pass after it); dkimpy's ``ARC.verify`` then checks
the signatures, with keys fetched through deskguard's resolver. A key that cannot be fetched
(DNS failure) makes the chain ``temperror``: could not check, neither pass nor fail. Whether a
sealer is trusted is decided elsewhere (DESKGUARD_TRUSTED_ARC_SEALERS).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import dkim
from dkim.canonicalization import Relaxed
from dkim.util import InvalidTagValueList, parse_tag_value

from bot.dns import Outcome, Resolver
from bot.names import InvalidName, normalize_domain

NONE, PASS, FAIL, TEMPERROR = "none", "pass", "fail", "temperror"
MAX_INSTANCES = 50
HEADER_NAMES = {
    b"arc-seal": "ARC-Seal",
    b"arc-message-signature": "ARC-Message-Signature",
    b"arc-authentication-results": "ARC-Authentication-Results",
}

_AAR_INSTANCE = re.compile(rb"^\s*i\s*=\s*(\d{1,6})\s*;")
_KEY_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_ARC_HEADER = re.compile(rb"(?im)^arc-(seal|message-signature|authentication-results)[ \t]*:")

_QUIET = logging.getLogger("bot.mail.arc.dkimpy")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


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
    """The chain's structure is invalid: cv=fail without looking at signatures."""


@dataclass
class _Chain:
    instances: int
    sealers: tuple[str, ...]


@dataclass
class _KeyFetcher:
    """dkimpy's ``dnsfunc`` on deskguard's resolver, remembering DNS failures."""

    resolver: Resolver
    failures: list[str] = field(default_factory=list)

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        try:
            text = name.decode("ascii").rstrip(".")
        except UnicodeDecodeError:
            return None
        labels = text.split(".")
        if len(text) > 253 or not all(_KEY_LABEL.match(label) for label in labels):
            return None
        answer = self.resolver.query_sync(text, "TXT")
        if answer.outcome is Outcome.TEMPERROR:
            self.failures.append(f"{text} ({answer.error or 'DNS failure'})")
            return None
        keys = [r for r in answer.records if "p=" in r] or list(answer.records)
        return keys[0].encode("utf-8") if keys else None


def verify_arc(message: bytes, resolver: Resolver) -> ArcResult:
    """Validate the ARC chain of ``message`` (blocking: keys via ``resolver.query_sync``)."""
    try:
        arc = dkim.ARC(message, logger=_QUIET)
    except (dkim.DKIMException, IndexError) as exc:
        if _ARC_HEADER.search(message) is None:
            return ArcResult(NONE, "the message carries no ARC headers", 0, ())
        return ArcResult(FAIL, f"the message header cannot be parsed: {_plain(str(exc))}", 0, ())
    try:
        chain = _structure(arc.headers)
    except _Broken as broken:
        return ArcResult(FAIL, str(broken), 0, ())
    if chain.instances == 0:
        return ArcResult(NONE, "the message carries no ARC headers", 0, ())
    fetcher = _KeyFetcher(resolver)
    try:
        cv, data, why = arc.verify(dnsfunc=fetcher)
    except (dkim.DKIMException, ValueError, TypeError, IndexError) as exc:
        cv, data, why = dkim.CV_Fail, [], str(exc)
    if cv == dkim.CV_Pass:
        return ArcResult(
            PASS,
            f"{chain.instances} ARC set(s) validate",
            chain.instances,
            chain.sealers,
            _oldest_pass(data, chain.instances),
        )
    if cv is not None and fetcher.failures:
        reason = "could not fetch the key(s) " + ", ".join(fetcher.failures) + "; try again later"
        return ArcResult(TEMPERROR, reason, chain.instances, chain.sealers)
    reason = why if isinstance(why, str) else "the ARC chain does not validate"
    return ArcResult(FAIL, _plain(reason), chain.instances, chain.sealers)


async def verify_arc_async(message: bytes, resolver: Resolver) -> ArcResult:
    """:func:`verify_arc` in a worker thread."""
    return await asyncio.to_thread(verify_arc, message, resolver)


def _plain(text: str, limit: int = 160) -> str:
    """A library's error message for a reason: bytes reprs unwrapped, cut short."""
    text = re.sub(r"b'([^']*)'", r"\1", text)
    return text if len(text) <= limit else text[:limit] + "..."


def _oldest_pass(data: list[dict[Any, Any]], instances: int) -> int:
    """The lowest instance from which every ARC-Message-Signature up to N validates."""
    oldest = instances
    for entry in sorted(data, key=lambda d: -int(d["instance"])):
        if not entry.get("ams-valid"):
            break
        oldest = int(entry["instance"])
    return oldest


def _instance(name: bytes, value: bytes) -> tuple[int, dict[bytes, bytes] | None]:
    label = HEADER_NAMES[name]
    if name == b"arc-authentication-results":
        match = _AAR_INSTANCE.match(value)
        if match is None:
            raise _Broken(f"an {label} header has no valid i= instance")
        return int(match.group(1)), None
    try:
        tags: dict[bytes, bytes] = parse_tag_value(value)
    except InvalidTagValueList as exc:
        raise _Broken(f"an {label} header has a malformed tag list ({_plain(str(exc))})") from None
    raw = tags.get(b"i", b"")
    if not re.fullmatch(rb"\d{1,6}", raw):
        raise _Broken(f"an {label} header has no valid i= instance")
    return int(raw), tags


def _structure(headers: list[list[bytes]]) -> _Chain:
    """Check the sets' structure (RFC 8617 §5.2 steps 1-3) and read the sealers."""
    relaxed = Relaxed.canonicalize_headers(headers)
    sets: dict[int, dict[bytes, list[dict[bytes, bytes] | None]]] = {}
    count = 0
    for name, value in relaxed:
        key = name.lower()
        if key not in HEADER_NAMES:
            continue
        count += 1
        if count > 3 * MAX_INSTANCES:
            raise _Broken(f"more than {3 * MAX_INSTANCES} ARC header fields")
        instance, tags = _instance(key, value)
        if not 1 <= instance <= MAX_INSTANCES:
            raise _Broken(f"ARC instance i={instance} is outside 1..{MAX_INSTANCES}")
        sets.setdefault(instance, {}).setdefault(key, []).append(tags)
    if not sets:
        return _Chain(0, ())
    total = max(sets)
    sealers: list[str] = []
    for instance in range(1, total + 1):
        found = sets.get(instance, {})
        for key, label in HEADER_NAMES.items():
            n = len(found.get(key, []))
            if n != 1:
                what = "no" if n == 0 else f"{n}"
                raise _Broken(f"ARC instance {instance} has {what} {label} header(s)")
        seal = found[b"arc-seal"][0] or {}
        sealers.append(_sealer(seal, instance))
        _check_cv(seal, instance, total)
    return _Chain(total, tuple(sealers))


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
