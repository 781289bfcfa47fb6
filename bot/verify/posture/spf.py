"""SPF posture: the record, its ``all`` qualifier, and the DNS-lookup count through includes.

A summary (RFC 7208 section 4.6.4's limit of 10 look-ups, syntax problems), not an SPF evaluation:
include and redirect targets are fetched level by level, concurrently within a level.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from bot.dns import DnsResult, Outcome, Resolver
from bot.mail.dmarc_policy import CheckStatus
from bot.verify.posture.lookup import NO_DOMAIN, looked_up

SPF_LOOKUP_LIMIT = 10
SPF_MAX_RECORDS = 40
_SPF_V = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
_MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_COUNTED = ("include", "a", "mx", "ptr", "exists")
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$")
_QUALIFIERS = "+-~?"
_SPF_TARGET = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,62})\.)+[a-z0-9-]{1,63}$")


@dataclass
class SpfPosture:
    """SPF summary: the record, its ``all`` qualifier, and the DNS-lookup count (limit 10)."""

    status: CheckStatus
    record: str | None = None
    all_qualifier: str | None = None
    lookups: int = 0
    includes: list[str] = field(default_factory=list)
    redirect: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    nxdomain: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable summary."""
        return {
            "status": self.status.value,
            "record": self.record,
            "all": self.all_qualifier,
            "lookups": self.lookups,
            "lookup_limit": SPF_LOOKUP_LIMIT,
            "includes": list(self.includes),
            "redirect": self.redirect,
            "error": self.error,
            "warnings": list(self.warnings),
        }


@dataclass
class _SpfRecord:
    """One parsed SPF record: counted terms, targets to follow, ``all``, syntax problems."""

    text: str
    counted: int = 0
    includes: list[str] = field(default_factory=list)
    redirect: str | None = None
    all_qualifier: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def follows(self) -> list[str]:
        """Domains whose records count toward this one's lookups (redirect only without all)."""
        out = [t for t in self.includes if "%" not in t]
        if self.redirect and self.all_qualifier is None and "%" not in self.redirect:
            out.append(self.redirect)
        return out


def _parse_spf(text: str) -> _SpfRecord:
    rec = _SpfRecord(text)
    for term in text.split()[1:]:
        qualifier = term[0] if term[0] in _QUALIFIERS else ""
        body = term[len(qualifier) :]
        name, value = _split_mechanism(body)
        if name in _MECHANISMS:
            _add_mechanism(rec, qualifier or "+", name, value, term)
            continue
        modifier = _MODIFIER.match(body)
        if modifier and not qualifier:
            _add_modifier(rec, modifier.group(1).lower(), modifier.group(2))
            continue
        rec.errors.append(f"unknown term {term[:60]!r}")
    return rec


def _split_mechanism(body: str) -> tuple[str, str]:
    """(name, argument) of a mechanism; the argument keeps a leading ``/`` (CIDR only)."""
    match = re.match(r"^([A-Za-z0-9]+)([:/].*)?$", body)
    if not match:
        return "", body
    rest = match.group(2) or ""
    return match.group(1).lower(), rest[1:] if rest.startswith(":") else rest


def _add_mechanism(rec: _SpfRecord, qualifier: str, name: str, value: str, term: str) -> None:
    if name == "all":
        if value:
            rec.errors.append(f"'all' takes no argument: {term[:60]!r}")
        elif rec.all_qualifier is None:
            rec.all_qualifier = qualifier
        return
    if name in _COUNTED:
        rec.counted += 1
    if name in ("include", "exists") and not value:
        rec.errors.append(f"{name} needs a domain: {term[:60]!r}")
    elif name == "include":
        target = _target(rec, value, term)
        if target is not None:
            rec.includes.append(target)
    elif name == "ptr":
        rec.warnings.append("ptr is deprecated (RFC 7208 section 5.5)")
    elif name in ("ip4", "ip6"):
        _check_network(rec, name, value, term)


def _target(rec: _SpfRecord, value: str, term: str) -> str | None:
    """The domain an include or redirect points to; None (and an error) when malformed."""
    if "%" in value:
        return value  # a macro: counted, never fetched
    target = value.rstrip(".").lower()
    if len(target) > 253 or not _SPF_TARGET.match(target):
        rec.errors.append(f"not a valid domain in {term[:60]!r}")
        return None
    return target


def _check_network(rec: _SpfRecord, name: str, value: str, term: str) -> None:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        rec.errors.append(f"bad address in {term[:60]!r}")
        return
    if network.version != (4 if name == "ip4" else 6):
        rec.errors.append(f"{name} with an IPv{network.version} address: {term[:60]!r}")


def _add_modifier(rec: _SpfRecord, name: str, value: str) -> None:
    if name == "redirect":
        if rec.redirect is not None:
            rec.errors.append("more than one redirect= modifier")
        rec.redirect = _target(rec, value, f"redirect={value}")
        rec.counted += 1
    elif name == "exp" and not value:
        rec.errors.append("exp= needs a domain")


def _pick_spf(result: DnsResult) -> tuple[str | None, str | None]:
    """(record, problem) from a TXT answer; both None means no SPF record."""
    records = [r for r in result.records if _SPF_V.match(r)] if result.found else []
    if len(records) > 1:
        return None, f"{result.name} has {len(records)} SPF records (permerror)"
    return (records[0], None) if records else (None, None)


async def _fetch_tree(
    root: _SpfRecord, resolver: Resolver
) -> tuple[dict[str, _SpfRecord], list[str], list[str]]:
    """Fetch include/redirect targets level by level (concurrently within a level)."""
    records: dict[str, _SpfRecord] = {}
    problems: list[str] = []
    temperrors: list[str] = []
    pending = list(dict.fromkeys(root.follows))
    while pending and len(records) < SPF_MAX_RECORDS:
        pending = pending[: SPF_MAX_RECORDS - len(records)]
        results = await asyncio.gather(*(resolver.query(t, "TXT") for t in pending))
        next_level: list[str] = []
        for target, result in zip(pending, results, strict=True):
            if result.temporary:
                temperrors.append(looked_up(result))
                continue
            text, problem = _pick_spf(result)
            if text is None:
                problems.append(problem or f"{target} has no SPF record (permerror)")
                continue
            parsed = _parse_spf(text)
            records[target] = parsed
            problems.extend(f"{target}: {e}" for e in parsed.errors)
            next_level.extend(t for t in parsed.follows if t not in records)
        pending = [t for t in dict.fromkeys(next_level) if t not in records]
    return records, problems, temperrors


def _count(rec: _SpfRecord, tree: dict[str, _SpfRecord], path: tuple[str, ...]) -> int:
    """DNS-querying terms of ``rec`` and everything it pulls in; a loop counts as over the limit."""
    total = rec.counted
    for target in rec.follows:
        if total > SPF_LOOKUP_LIMIT:
            break
        if target in path:
            return SPF_LOOKUP_LIMIT + 1
        child = tree.get(target)
        if child is not None:
            total += _count(child, tree, (*path, target))
    return total


def _effective_all(rec: _SpfRecord, tree: dict[str, _SpfRecord], depth: int = 0) -> str | None:
    if rec.all_qualifier is not None or rec.redirect is None or depth > SPF_LOOKUP_LIMIT:
        return rec.all_qualifier
    target = tree.get(rec.redirect)
    return _effective_all(target, tree, depth + 1) if target is not None else None


async def check_spf(domain: str, resolver: Resolver) -> SpfPosture:
    """Summarize the SPF record of ``domain`` (a normalized domain)."""
    result = await resolver.query(domain, "TXT")
    if result.temporary:
        return SpfPosture(CheckStatus.COULD_NOT_CHECK, error=looked_up(result))
    text, problem = _pick_spf(result)
    if problem is not None:
        return SpfPosture(CheckStatus.INVALID, error=problem)
    if text is None:
        if result.outcome is Outcome.NXDOMAIN:
            return SpfPosture(CheckStatus.MISSING, error=NO_DOMAIN, nxdomain=True)
        return SpfPosture(CheckStatus.MISSING, error="no SPF record")
    root = _parse_spf(text)
    tree, problems, temperrors = await _fetch_tree(root, resolver)
    lookups = _count(root, tree, (domain,))
    posture = SpfPosture(
        CheckStatus.OK,
        record=text,
        all_qualifier=_effective_all(root, tree),
        lookups=lookups,
        includes=list(root.includes),
        redirect=root.redirect,
        warnings=sorted(set(root.warnings).union(*(r.warnings for r in tree.values()))),
    )
    if "%" in text:
        posture.warnings.append("macros are not expanded; their lookups are counted once")
    if lookups > SPF_LOOKUP_LIMIT:
        posture.status = CheckStatus.INVALID
        posture.error = f"more than {SPF_LOOKUP_LIMIT} DNS lookups (permerror)"
    elif temperrors:
        posture.status = CheckStatus.COULD_NOT_CHECK
        posture.error = "could not fetch " + "; ".join(temperrors)
    elif root.errors or problems:
        posture.status = CheckStatus.INVALID
        posture.error = "; ".join(root.errors + problems)
    return posture
