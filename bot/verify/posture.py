"""A domain's email posture: SPF, DMARC, MX, DKIM keys at known selectors, MTA-STS.

Every look-up goes through the project's async :class:`~bot.dns.Resolver`, all at once where they
do not depend on each other. Each part carries a :class:`CheckStatus`; a DNS failure shows as
``could_not_check`` and never as ``missing``. The SPF part is a summary (record, ``all``
qualifier, DNS-lookup count through includes and redirects), not an SPF evaluation.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from bot.dns import DnsResult, Outcome, Resolver
from bot.mail.dmarc_policy import CheckStatus, DmarcPolicy, discover_dmarc, parse_tags
from bot.names import normalize_domain
from bot.report import Reason

__all__ = [
    "CheckStatus",
    "DkimKeyPosture",
    "DmarcPosture",
    "MtaStsPosture",
    "MxHost",
    "MxPosture",
    "Posture",
    "SpfPosture",
    "check_dkim_key",
    "check_mta_sts",
    "check_mx",
    "check_posture",
    "check_spf",
]

DmarcPosture = DmarcPolicy

SPF_LOOKUP_LIMIT = 10
SPF_MAX_RECORDS = 40
MIN_RSA_BITS = 1024
_SPF_V = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
_STS_V = re.compile(r"^v[ \t]*=[ \t]*STSv1[ \t]*(?:;|$)")
_STS_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_SELECTOR = re.compile(
    r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_][A-Za-z0-9_-]{0,62})*$"
)
_MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_COUNTED = ("include", "a", "mx", "ptr", "exists")
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$")
_QUALIFIERS = "+-~?"
_NO_DOMAIN = "the domain does not exist"
_SPF_TARGET = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,62})\.)+[a-z0-9-]{1,63}$")


def _looked_up(result: DnsResult) -> str:
    return f"{result.name} {result.rdtype}: {result.error or 'temporary failure'}"


# SPF


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
                temperrors.append(_looked_up(result))
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
        return SpfPosture(CheckStatus.COULD_NOT_CHECK, error=_looked_up(result))
    text, problem = _pick_spf(result)
    if problem is not None:
        return SpfPosture(CheckStatus.INVALID, error=problem)
    if text is None:
        if result.outcome is Outcome.NXDOMAIN:
            return SpfPosture(CheckStatus.MISSING, error=_NO_DOMAIN, nxdomain=True)
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


# MX


@dataclass(frozen=True)
class MxHost:
    """One MX record."""

    preference: int
    host: str


@dataclass
class MxPosture:
    """The domain's mail exchangers; ``null_mx`` when it publishes ``MX 0 .`` (RFC 7505)."""

    status: CheckStatus
    hosts: list[MxHost] = field(default_factory=list)
    null_mx: bool = False
    error: str | None = None
    nxdomain: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable summary."""
        return {
            "status": self.status.value,
            "hosts": [{"preference": h.preference, "host": h.host} for h in self.hosts],
            "null_mx": self.null_mx,
            "error": self.error,
        }


async def check_mx(domain: str, resolver: Resolver) -> MxPosture:
    """The MX hosts of ``domain``, lowest preference first."""
    result = await resolver.query(domain, "MX")
    if result.temporary:
        return MxPosture(CheckStatus.COULD_NOT_CHECK, error=_looked_up(result))
    if not result.found:
        if result.outcome is Outcome.NXDOMAIN:
            return MxPosture(CheckStatus.MISSING, error=_NO_DOMAIN, nxdomain=True)
        return MxPosture(CheckStatus.MISSING, error="no MX record")
    hosts: list[MxHost] = []
    for record in result.records:
        pref, _, host = record.partition(" ")
        try:
            hosts.append(MxHost(int(pref), host.strip().rstrip(".")))
        except ValueError:
            return MxPosture(CheckStatus.INVALID, error=f"unreadable MX record {record[:60]!r}")
    hosts.sort(key=lambda h: (h.preference, h.host))
    null_mx = len(hosts) == 1 and hosts[0].host == ""
    return MxPosture(CheckStatus.OK, hosts=[] if null_mx else hosts, null_mx=null_mx)


# DKIM


@dataclass
class DkimKeyPosture:
    """The DKIM key at ``<selector>._domainkey.<domain>``."""

    selector: str
    name: str
    status: CheckStatus
    record: str | None = None
    key_type: str | None = None
    rsa_bits: int | None = None
    testing: bool = False
    revoked: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable summary."""
        return {
            "selector": self.selector,
            "name": self.name,
            "status": self.status.value,
            "record": self.record,
            "key_type": self.key_type,
            "rsa_bits": self.rsa_bits,
            "testing": self.testing,
            "revoked": self.revoked,
            "error": self.error,
            "warnings": list(self.warnings),
        }


def _is_dkim_key_record(text: str) -> bool:
    tags, _ = parse_tags(text)
    return "p" in tags or tags.get("v", "") == "DKIM1"


def _read_key(posture: DkimKeyPosture, tags: dict[str, str]) -> None:
    """Fill key type and size from the ``k=`` and ``p=`` tags; mark problems INVALID."""
    key_type = tags.get("k", "rsa").lower()
    posture.key_type = key_type
    data = re.sub(r"\s+", "", tags["p"])
    if not data:
        posture.status, posture.revoked = CheckStatus.INVALID, True
        posture.error = "the key is revoked (empty p=)"
        return
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        posture.status, posture.error = CheckStatus.INVALID, "p= is not valid base64"
        return
    if key_type == "ed25519":
        if len(raw) != 32:
            posture.status = CheckStatus.INVALID
            posture.error = f"ed25519 key of {len(raw)} bytes (expected 32)"
        else:
            ed25519.Ed25519PublicKey.from_public_bytes(raw)
        return
    if key_type != "rsa":
        posture.status, posture.error = CheckStatus.INVALID, f"unknown key type k={key_type}"
        return
    try:
        key = load_der_public_key(raw)
    except (ValueError, UnsupportedAlgorithm):
        posture.status, posture.error = CheckStatus.INVALID, "p= is not a readable RSA public key"
        return
    if not isinstance(key, rsa.RSAPublicKey):
        posture.status, posture.error = CheckStatus.INVALID, "k=rsa but p= holds another key type"
        return
    posture.rsa_bits = key.key_size
    if key.key_size < MIN_RSA_BITS:
        posture.status = CheckStatus.INVALID
        posture.error = f"RSA key of {key.key_size} bits is under {MIN_RSA_BITS} (RFC 8301)"


async def check_dkim_key(domain: str, selector: str, resolver: Resolver) -> DkimKeyPosture:
    """Fetch and examine the DKIM key for ``selector`` at ``domain``."""
    if not _SELECTOR.match(selector) or len(selector) > 200:
        return DkimKeyPosture(
            selector, "", CheckStatus.INVALID, error=f"not a valid selector: {selector[:60]!r}"
        )
    name = f"{selector}._domainkey.{domain}"
    result = await resolver.query(name, "TXT")
    posture = DkimKeyPosture(selector, name, CheckStatus.OK)
    if result.temporary:
        posture.status, posture.error = CheckStatus.COULD_NOT_CHECK, _looked_up(result)
        return posture
    records = [r for r in result.records if _is_dkim_key_record(r)] if result.found else []
    if not records:
        posture.status, posture.error = CheckStatus.MISSING, "no DKIM key at this selector"
        return posture
    if len(records) > 1:
        posture.status = CheckStatus.INVALID
        posture.error = f"{len(records)} key records at one selector"
        return posture
    posture.record = records[0]
    tags, problems = parse_tags(records[0])
    posture.warnings.extend(problems)
    flags = {f.strip().lower() for f in tags.get("t", "").split(":")}
    posture.testing = "y" in flags
    hashes = {h.strip().lower() for h in tags.get("h", "").split(":") if h.strip()}
    if hashes and "sha256" not in hashes:
        posture.warnings.append("h= allows only sha1, which RFC 8301 forbids")
    if "p" not in tags:
        posture.status, posture.error = CheckStatus.INVALID, "no p= tag"
        return posture
    _read_key(posture, tags)
    return posture


# MTA-STS


@dataclass
class MtaStsPosture:
    """Whether ``_mta-sts.<domain>`` announces MTA-STS (the policy file is not fetched)."""

    status: CheckStatus
    record: str | None = None
    policy_id: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable summary."""
        return {
            "status": self.status.value,
            "record": self.record,
            "id": self.policy_id,
            "error": self.error,
        }


async def check_mta_sts(domain: str, resolver: Resolver) -> MtaStsPosture:
    """Read the ``_mta-sts`` TXT record of ``domain``."""
    result = await resolver.query(f"_mta-sts.{domain}", "TXT")
    if result.temporary:
        return MtaStsPosture(CheckStatus.COULD_NOT_CHECK, error=_looked_up(result))
    records = [r for r in result.records if _STS_V.match(r)] if result.found else []
    if not records:
        return MtaStsPosture(CheckStatus.MISSING)
    if len(records) > 1:
        return MtaStsPosture(CheckStatus.INVALID, error=f"{len(records)} MTA-STS records")
    tags, _ = parse_tags(records[0])
    policy_id = tags.get("id")
    if policy_id is None or not _STS_ID.match(policy_id):
        return MtaStsPosture(CheckStatus.INVALID, records[0], error="missing or bad id=")
    return MtaStsPosture(CheckStatus.OK, records[0], policy_id)


# the whole posture

_ALL_WEAKNESS = {
    "+": "SPF +all lets anyone send as the domain",
    "~": "SPF ~all only soft-fails forged mail",
    "?": "SPF ?all is neutral about forged mail",
    None: "SPF has no all mechanism (neutral by default)",
}


@dataclass
class Posture:
    """SPF, DMARC, MX, DKIM and MTA-STS posture of one domain."""

    domain: str
    spf: SpfPosture
    dmarc: DmarcPosture
    mx: MxPosture
    dkim: list[DkimKeyPosture]
    mta_sts: MtaStsPosture | None = None

    @property
    def exists(self) -> bool | None:
        """False when the domain is NXDOMAIN, None when that could not be told."""
        if self.spf.nxdomain or self.mx.nxdomain:
            return False
        if CheckStatus.COULD_NOT_CHECK in (self.spf.status, self.mx.status):
            return None
        return True

    def weaknesses(self) -> list[str]:
        """What makes the domain easy to spoof; parts that could not be checked are left out."""
        out: list[str] = []
        dmarc = self.dmarc
        if dmarc.status is CheckStatus.MISSING:
            out.append("no DMARC record")
        elif dmarc.status is CheckStatus.INVALID:
            out.append(f"DMARC record unusable ({dmarc.error})")
        elif dmarc.status is CheckStatus.OK:
            policy = dmarc.policy_for(self.domain, exists=self.exists is not False)
            if policy == "none":
                out.append("DMARC policy is none (monitoring only)")
        spf = self.spf
        if spf.status is CheckStatus.MISSING:
            out.append("no SPF record")
        elif spf.status is CheckStatus.INVALID:
            out.append(f"SPF record broken ({spf.error})")
        elif spf.status is CheckStatus.OK and spf.all_qualifier != "-":
            out.append(_ALL_WEAKNESS[spf.all_qualifier])
        return out

    def could_not_check(self) -> list[str]:
        """The look-ups that could not complete (MTA-STS is informational and left out)."""
        out: list[str] = []
        for label, part in (("SPF", self.spf), ("DMARC", self.dmarc), ("MX", self.mx)):
            if part.status is CheckStatus.COULD_NOT_CHECK:
                out.append(f"{label}: {part.error}")
        for key in self.dkim:
            if key.status is CheckStatus.COULD_NOT_CHECK:
                out.append(f"DKIM selector {key.selector}: {key.error}")
        return out

    def reasons(self) -> list[Reason]:
        """``weak_domain_policy`` (all weaknesses in one) and ``dns_error`` (failed look-ups)."""
        reasons: list[Reason] = []
        weak = self.weaknesses()
        if weak:
            reasons.append(
                Reason(
                    "weak_domain_policy",
                    f"{self.domain} is easy to spoof: {'; '.join(weak)}.",
                    data={"domain": self.domain, "weaknesses": weak},
                )
            )
        failed = self.could_not_check()
        if failed:
            reasons.append(
                Reason(
                    "dns_error",
                    f"Could not complete DNS look-ups for {self.domain}: {'; '.join(failed)}.",
                    data={"domain": self.domain, "lookups": failed},
                )
            )
        return reasons

    def to_json(self) -> dict[str, Any]:
        """The report's ``posture`` object."""
        return {
            "domain": self.domain,
            "exists": self.exists,
            "spf": self.spf.to_json(),
            "dmarc": self.dmarc.to_json(),
            "mx": self.mx.to_json(),
            "dkim": [k.to_json() for k in self.dkim],
            "mta_sts": self.mta_sts.to_json() if self.mta_sts else None,
            "weaknesses": self.weaknesses(),
            "could_not_check": self.could_not_check(),
        }


async def check_posture(
    domain: str, resolver: Resolver, *, dkim_selectors: Sequence[str] = ()
) -> Posture:
    """Check every part of ``domain``'s posture concurrently; raise InvalidName for a bad domain."""
    domain = normalize_domain(domain)
    selectors = list(dict.fromkeys(dkim_selectors))
    core = asyncio.gather(
        check_spf(domain, resolver),
        discover_dmarc(domain, resolver),
        check_mx(domain, resolver),
        check_mta_sts(domain, resolver),
    )
    keys = asyncio.gather(*(check_dkim_key(domain, s, resolver) for s in selectors))
    (spf, dmarc, mx, mta_sts), dkim = await asyncio.gather(core, keys)
    return Posture(domain, spf, dmarc, mx, list(dkim), mta_sts)
