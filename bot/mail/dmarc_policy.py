"""DMARC policy discovery (RFC 9989 DNS tree walk) and DMARC record parsing.

The walk asks ``_dmarc.<name>`` for the domain and its ancestors (at most 8 queries, RFC 9989
section 4.10), all at once over the async resolver, then reads the answers in walk order. The
policy record is the one at the domain itself, else the one at its Organizational Domain (or a
``psd=y`` Public Suffix Domain record). A DNS failure on any name the walk needs makes the result
``could_not_check``: it never reads as "no record".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from bot.dns import DnsResult, Resolver
from bot.names import InvalidName, is_subdomain_of, normalize_domain, registrable_domain

MAX_WALK_QUERIES = 8
POLICIES = ("none", "quarantine", "reject")
_DMARC_V = re.compile(r"^v[ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)", re.IGNORECASE)


class CheckStatus(StrEnum):
    """How a posture check came out; ``could_not_check`` is neither pass nor fail."""

    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    COULD_NOT_CHECK = "could_not_check"


@dataclass(frozen=True)
class DmarcPolicy:
    """The DMARC policy that applies to a domain, and where it was found."""

    status: CheckStatus
    record: str | None
    found_at: str | None
    p: str | None
    sp: str | None
    np: str | None
    adkim: str = "r"
    aspf: str = "r"
    psd: str | None = None
    organizational_domain: str | None = None
    error: str | None = None
    domain: str | None = None
    testing: bool = False
    pct: int | None = None
    rua: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    queried: tuple[str, ...] = field(default=())

    @property
    def found_domain(self) -> str | None:
        """The domain whose ``_dmarc`` name holds the record (``found_at`` minus ``_dmarc.``)."""
        if self.found_at is None:
            return None
        return self.found_at.removeprefix("_dmarc.")

    def policy_for(self, from_domain: str, *, exists: bool = True) -> str | None:
        """The policy for ``from_domain``: p at the record's own domain, else np/sp/p.

        ``np`` applies only when the caller knows ``from_domain`` does not exist. None when no
        usable policy was found or ``from_domain`` is outside the record's domain.
        """
        found = self.found_domain
        if self.status is not CheckStatus.OK or self.p is None or found is None:
            return None
        name = from_domain.rstrip(".").lower()
        if name == found:
            return self.p
        if not is_subdomain_of(name, found):
            return None
        if not exists and self.np is not None:
            return self.np
        return self.sp or self.p

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable summary."""
        return {
            "status": self.status.value,
            "domain": self.domain,
            "record": self.record,
            "found_at": self.found_at,
            "inherited": self.found_domain is not None and self.found_domain != self.domain,
            "p": self.p,
            "sp": self.sp,
            "np": self.np,
            "adkim": self.adkim,
            "aspf": self.aspf,
            "psd": self.psd,
            "testing": self.testing,
            "pct": self.pct,
            "rua": list(self.rua),
            "organizational_domain": self.organizational_domain,
            "error": self.error,
            "warnings": list(self.warnings),
            "queried": list(self.queried),
        }


def is_dmarc_record(text: str) -> bool:
    """True when a TXT string starts with the ``v=DMARC1`` tag."""
    return bool(_DMARC_V.match(text))


def parse_tags(record: str) -> tuple[dict[str, str], list[str]]:
    """Split ``tag=value; ...`` into a dict (first occurrence wins) and a list of problems."""
    tags: dict[str, str] = {}
    problems: list[str] = []
    for part in record.split(";"):
        part = part.strip(" \t\r\n")
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip(" \t").lower()
        if not sep or not name:
            problems.append(f"malformed tag {part[:40]!r} ignored")
            continue
        if name in tags:
            problems.append(f"duplicate tag {name!r} ignored")
            continue
        tags[name] = value.strip(" \t")
    return tags, problems


def walk_names(domain: str) -> list[str]:
    """The names the RFC 9989 tree walk queries (``_dmarc.`` omitted), at most 8, longest first."""
    labels = domain.split(".")
    names = [domain]
    count = len(labels) - 1 if len(labels) < 8 else 7
    while count >= 1:
        names.append(".".join(labels[-count:]))
        count -= 1
    return names


@dataclass(frozen=True)
class _Found:
    index: int
    name: str
    record: str
    tags: dict[str, str]


def _psd(found: _Found) -> str | None:
    value = found.tags.get("psd", "").lower()
    return value if value in ("y", "n", "u") else None


def _org_domain(domain: str, walked: list[_Found]) -> str:
    """RFC 9989 section 4.10.2 over the records collected by the walk."""
    if not walked:
        return domain
    last = walked[-1]
    psd = _psd(last)
    if psd == "y" and last.index != 0:
        depth = len(last.name.split(".")) + 1
        return ".".join(domain.split(".")[-depth:])
    return last.name


def _policy_record(walked: list[_Found], org: str) -> _Found | None:
    if not walked:
        return None
    if walked[0].index == 0:
        return walked[0]
    for found in walked:
        if found.name == org:
            return found
    return walked[-1] if _psd(walked[-1]) == "y" else None


async def discover_dmarc(domain: str, resolver: Resolver) -> DmarcPolicy:
    """Find the DMARC policy record for ``domain`` by the RFC 9989 DNS tree walk."""
    try:
        domain = normalize_domain(domain)
    except InvalidName as exc:
        return DmarcPolicy(
            CheckStatus.INVALID, None, None, None, None, None, error=f"not a valid domain: {exc}"
        )
    names = walk_names(domain)
    results = await resolver.query_many([(f"_dmarc.{n}", "TXT") for n in names])
    walked: list[_Found] = []
    notes: list[str] = []
    queried: list[str] = []
    failure: DnsResult | None = None
    for index, (name, result) in enumerate(zip(names, results, strict=True)):
        queried.append(f"_dmarc.{name}")
        if result.temporary:
            failure = result
            break
        records = [r for r in result.records if is_dmarc_record(r)] if result.found else []
        if len(records) > 1:
            notes.append(f"_dmarc.{name} has {len(records)} DMARC records; all are ignored")
            continue
        if records:
            found = _Found(index, name, records[0], parse_tags(records[0])[0])
            walked.append(found)
            if _psd(found) in ("y", "n"):
                break
    base: dict[str, Any] = {"domain": domain, "queried": tuple(queried)}
    if failure is not None:
        return _from_record(
            walked[0] if walked and walked[0].index == 0 else None,
            CheckStatus.COULD_NOT_CHECK,
            organizational_domain=registrable_domain(domain),
            error=f"DNS look-up of {failure.name} failed ({failure.error or 'temperror'})",
            warnings=notes,
            **base,
        )
    org = _org_domain(domain, walked)
    chosen = _policy_record(walked, org)
    if chosen is None:
        status = CheckStatus.INVALID if notes else CheckStatus.MISSING
        error = "; ".join(notes) if notes else "no DMARC record for the domain or its parents"
        return _from_record(
            None, status, organizational_domain=org, error=error, warnings=[], **base
        )
    return _from_record(chosen, CheckStatus.OK, organizational_domain=org, warnings=notes, **base)


def _from_record(
    found: _Found | None,
    status: CheckStatus,
    *,
    domain: str,
    queried: tuple[str, ...],
    organizational_domain: str | None,
    warnings: list[str],
    error: str | None = None,
) -> DmarcPolicy:
    if found is None:
        return DmarcPolicy(
            status,
            None,
            None,
            None,
            None,
            None,
            organizational_domain=organizational_domain,
            error=error,
            domain=domain,
            warnings=tuple(warnings),
            queried=queried,
        )
    parsed = (
        _parse_cached(found.record)
        if len(found.record) <= MAX_CACHED_RECORD
        else parse_dmarc_record(found.record)
    )
    warnings = warnings + list(parsed.warnings)
    if status is CheckStatus.OK and parsed.p is None:
        status = CheckStatus.INVALID
        error = parsed.error
    return DmarcPolicy(
        status,
        found.record,
        f"_dmarc.{found.name}",
        parsed.p,
        parsed.sp,
        parsed.np,
        adkim=parsed.adkim,
        aspf=parsed.aspf,
        psd=parsed.psd,
        organizational_domain=organizational_domain,
        error=error,
        domain=domain,
        testing=parsed.testing,
        pct=parsed.pct,
        rua=parsed.rua,
        warnings=tuple(warnings),
        queried=queried,
    )


@dataclass(frozen=True)
class ParsedDmarc:
    """The tags of one DMARC record, validated; ``p`` is None when the record is unusable."""

    p: str | None
    sp: str | None
    np: str | None
    adkim: str
    aspf: str
    psd: str | None
    testing: bool
    pct: int | None
    rua: tuple[str, ...]
    warnings: tuple[str, ...]
    error: str | None


def _choice(
    tags: dict[str, str], name: str, allowed: tuple[str, ...], warn: list[str]
) -> str | None:
    if name not in tags:
        return None
    value = tags[name].lower()
    if value in allowed:
        return value
    warn.append(f"{name}={tags[name][:40]!r} is not one of {', '.join(allowed)}; ignored")
    return None


def parse_dmarc_record(record: str) -> ParsedDmarc:
    """Validate a DMARC record's tags (RFC 9989 section 4.7); unknown tags are ignored."""
    tags, warn = parse_tags(record)
    rua = tuple(u.strip() for u in tags.get("rua", "").split(",") if u.strip())
    p = _choice(tags, "p", POLICIES, warn)
    error = None
    if p is None and rua:
        warn.append("p= missing or invalid; with rua= present it is treated as p=none")
        p = "none"
    elif p is None:
        error = "p= is missing or not none, quarantine or reject"
    pct: int | None = None
    if "pct" in tags:
        try:
            pct = int(tags["pct"])
        except ValueError:
            warn.append(f"pct={tags['pct'][:20]!r} is not a number; ignored")
    return ParsedDmarc(
        p=p,
        sp=_choice(tags, "sp", POLICIES, warn),
        np=_choice(tags, "np", POLICIES, warn),
        adkim=_choice(tags, "adkim", ("r", "s"), warn) or "r",
        aspf=_choice(tags, "aspf", ("r", "s"), warn) or "r",
        psd=_choice(tags, "psd", ("y", "n", "u"), warn),
        testing=tags.get("t", "").lower() == "y",
        pct=pct,
        rua=rua,
        warnings=tuple(warn),
        error=error,
    )


# A domain's record is read for every message from it: each short record is validated once (the
# result is frozen, so it is shared).
MAX_CACHED_RECORD = 1024
_parse_cached = lru_cache(maxsize=256)(parse_dmarc_record)
