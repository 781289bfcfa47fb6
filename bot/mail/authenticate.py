"""Authenticate a parsed message: DKIM, SPF at the trusted hop, ARC and DMARC, run concurrently.

DKIM, SPF and ARC are CPU-bound library code with blocking DNS: they run on the event loop when
their DNS answers are all cached, and in a worker thread otherwise (:meth:`Resolver.run_sync`).

deskguard's own computation comes first. A pass in a *trusted* Authentication-Results header is
used only where deskguard's check could not complete (no trusted hop for SPF, an SPF temperror, a
DKIM key that can no longer be fetched, e.g. rotated), and the result says which source decided.

Header evidence (the trusted hop's Received line, trusted Authentication-Results) counts only when
``header_evidence`` is true: for mail that reached us raw through our own mail path, or with an
envelope someone vouches for. For files and attachments anyone could have typed those headers:
there DMARC is computed from signatures alone, and what the headers claim is kept apart
(:attr:`Authentication.claimed_dmarc`) to be shown, never counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.dns import Outcome, Resolver
from bot.mail.arc import ArcResult, verify_arc
from bot.mail.arrival import Envelope
from bot.mail.authres import AuthResult, AuthResultsView, read_auth_results
from bot.mail.dkim import DkimResult, verify_dkim
from bot.mail.dmarc import DmarcResult, evaluate_dmarc
from bot.mail.dmarc_policy import DmarcPolicy, discover_dmarc, walk_names
from bot.mail.message import ParsedMessage
from bot.mail.received import Hop, host_matches, trusted_hop
from bot.mail.signedmsg import HeaderError, SignedMessage
from bot.mail.spf import SpfResult, check_spf
from bot.names import InvalidName, normalize_domain

DESKGUARD, TRUSTED_AR, NO_SOURCE = "deskguard", "trusted_auth_results", "none"
ENVELOPE = "envelope"
# What carried a conclusion (the report's ``auth.evidence``).
SIGNATURE, TRUSTED_HEADER, NOTHING = "signature", "trusted_header", "nothing"
NOT_COUNTED = "not_counted"
FILE_SPF = (
    "this message is a file or an attachment, whose Received and Authentication-Results headers "
    "anyone could have typed: SPF at the trusted hop is not counted, only signatures are"
)
_DKIM_INCOMPLETE = ("temperror", "permerror")


@dataclass(frozen=True)
class SpfOutcome:
    """SPF as used for DMARC: the result, the domain it speaks for, and who decided it."""

    result: str
    domain: str | None
    source: str
    explanation: str
    hop: Hop | None = None
    detail: SpfResult | None = None
    own_result: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports."""
        out: dict[str, Any] = {
            "result": self.result,
            "domain": self.domain,
            "source": self.source,
            "explanation": self.explanation,
        }
        if self.hop is not None:
            out["hop"] = {"ip": self.hop.ip, "helo": self.hop.from_helo, "by": self.hop.by_host}
        if self.own_result is not None and self.own_result != self.result:
            out["deskguard_result"] = self.own_result
        return out


@dataclass(frozen=True)
class DkimOutcome:
    """One DKIM signature: deskguard's result, and the effective result after trusted A-R."""

    signature: DkimResult
    result: str
    source: str

    def to_json(self) -> dict[str, Any]:
        """JSON form: the signature's own fields plus the effective result and its source."""
        out = self.signature.to_json()
        out["deskguard_result"] = self.signature.result
        out["result"] = self.result
        out["source"] = self.source
        return out


@dataclass
class Authentication:
    """Everything authentication established about one message."""

    spf: SpfOutcome
    dkim: list[DkimOutcome]
    arc: ArcResult
    arc_trusted: bool
    dmarc: DmarcResult | None
    auth_results: AuthResultsView
    notes: list[str] = field(default_factory=list)
    header_evidence: bool = True
    claimed_spf: SpfOutcome | None = None
    claimed_dmarc: DmarcResult | None = None

    @property
    def established(self) -> bool:
        """DMARC passed, or (no policy) an aligned identifier passed."""
        return self.dmarc is not None and (self.dmarc.result == "pass" or self.dmarc.aligned_pass)

    @property
    def headers_only_claim(self) -> bool:
        """Header evidence (not counted here) claims what signatures do not establish."""
        claim = self.claimed_dmarc
        if self.header_evidence or self.established or claim is None:
            return False
        return claim.result == "pass" or claim.aligned_pass

    @property
    def evidence(self) -> dict[str, str]:
        """For each check, what carried its conclusion: ``signature`` (verified by deskguard),
        ``trusted_header`` (trusted hop or trusted Authentication-Results), ``envelope`` (the
        SMTP transaction), ``not_counted`` (only typed headers in a file) or ``nothing``."""
        spf = {ENVELOPE: ENVELOPE, TRUSTED_AR: TRUSTED_HEADER, NO_SOURCE: NOTHING}.get(
            self.spf.source, TRUSTED_HEADER
        )
        if self.claimed_spf is not None and self.claimed_spf.source != NO_SOURCE:
            spf = NOT_COUNTED
        dkim = NOTHING
        if self.dkim:
            dkim = TRUSTED_HEADER if self.dkim_source == TRUSTED_AR else SIGNATURE
        return {
            "spf": spf,
            "dkim": dkim,
            "dmarc": self._dmarc_evidence(spf),
            "arc": SIGNATURE if self.arc.cv != "none" else NOTHING,
        }

    def _dmarc_evidence(self, spf: str) -> str:
        dmarc = self.dmarc
        if dmarc is None or not dmarc.aligned_pass:
            return NOT_COUNTED if self.headers_only_claim else NOTHING
        carriers = [
            TRUSTED_HEADER if d.source == TRUSTED_AR else SIGNATURE
            for d in self.dkim
            if d.result == "pass" and d.signature.domain in dmarc.dkim_aligned
        ]
        if SIGNATURE in carriers:
            return SIGNATURE
        if carriers:
            return TRUSTED_HEADER
        return spf

    @property
    def dkim_source(self) -> str:
        """Who decided DKIM: deskguard, a trusted A-R header, or nobody (no signatures)."""
        if not self.dkim:
            return NO_SOURCE
        if any(d.source == TRUSTED_AR for d in self.dkim):
            return TRUSTED_AR
        return DESKGUARD

    @property
    def sources(self) -> dict[str, str]:
        """Which source decided each check."""
        return {
            "spf": self.spf.source,
            "dkim": self.dkim_source,
            "dmarc": DESKGUARD if self.dmarc is not None else NO_SOURCE,
            "arc": DESKGUARD if self.arc.cv != "none" else NO_SOURCE,
        }

    def to_json(self) -> dict[str, Any]:
        """The report's ``auth`` object."""
        return {
            "spf": self.spf.to_json(),
            "dkim": [d.to_json() for d in self.dkim],
            "dmarc": self.dmarc.to_json() if self.dmarc is not None else None,
            "arc": {**self.arc.to_json(), "trusted": self.arc_trusted},
            "sources": self.sources,
            "evidence": self.evidence,
            "header_evidence_counted": self.header_evidence,
            "headers_claim": self._claim_json(),
            "ignored_auth_results": [
                {"authserv_id": ident, "why": why} for ident, why in self.auth_results.ignored
            ],
        }

    def _claim_json(self) -> dict[str, Any] | None:
        if self.header_evidence or self.claimed_spf is None:
            return None
        return {
            "spf": self.claimed_spf.to_json(),
            "dmarc": self.claimed_dmarc.to_json() if self.claimed_dmarc is not None else None,
        }


def _domain_of(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip().strip("<>")
    text = text.rsplit("@", 1)[-1]
    try:
        return normalize_domain(text)
    except InvalidName:
        return None


async def authenticate(
    msg: ParsedMessage,
    resolver: Resolver,
    *,
    trusted_authserv_ids: Sequence[str],
    trusted_arc_sealers: Sequence[str],
    envelope: Envelope | None = None,
    header_evidence: bool = True,
) -> Authentication:
    """Run DKIM, SPF, ARC and DMARC discovery concurrently and combine them.

    With an ``envelope`` (the live SMTP transaction, or values an operator vouches for) SPF is
    evaluated from it; otherwise from the trusted hop's Received header, which (like trusted
    Authentication-Results) counts only with ``header_evidence`` (mail that reached us raw).
    """
    header_evidence = header_evidence or envelope is not None
    view = read_auth_results(msg, trusted_authserv_ids)
    hop = None if envelope is not None else trusted_hop(msg, trusted_authserv_ids)
    sender = str(msg.return_path) if msg.return_path is not None else ""
    from_domain = msg.from_address.domain if msg.from_address is not None else None
    spf_call: Callable[[], SpfResult | None] | None = None
    if envelope is not None:
        sender = envelope.mail_from if envelope.mail_from is not None else sender
        spf_call = partial(
            check_spf, envelope.client_ip, sender, helo=envelope.helo or "", resolver=resolver
        )
    elif hop is not None and hop.ip:
        spf_call = partial(check_spf, hop.ip, sender, helo=hop.from_helo, resolver=resolver)
    signed: bytes | SignedMessage
    try:
        signed = SignedMessage(msg.raw, msg.scan)  # one parse for DKIM and ARC
    except HeaderError:
        signed = msg.raw  # each reports the unparseable header its own way
    calls: list[Callable[[], Any]] = [
        partial(verify_dkim, signed, resolver),
        partial(verify_arc, signed, resolver),
    ]
    if spf_call is not None:
        calls.append(spf_call)
    done = await _run_all(resolver, calls, _policy_keys(from_domain))
    dkim_results, arc = done[0], done[1]
    spf_result = done[2] if spf_call is not None else None
    policy = await discover_dmarc(from_domain, resolver) if from_domain else None
    exists = await domain_exists(from_domain, resolver) if from_domain else True
    if envelope is not None:
        spf = _envelope_spf(envelope, spf_result, sender)
    else:
        spf = _spf_outcome(hop, spf_result, msg, view)
    dkim = _dkim_outcomes(dkim_results, view)
    arc_trusted = (
        arc.cv == "pass"
        and bool(arc.sealers)
        and host_matches(arc.sealers[-1], trusted_arc_sealers)
    )
    claimed_spf: SpfOutcome | None = None
    claimed_dmarc: DmarcResult | None = None
    if not header_evidence:
        claimed_spf, spf = spf, SpfOutcome("none", None, NO_SOURCE, FILE_SPF)
        claimed_dkim = dkim
        dkim = [DkimOutcome(d.signature, d.signature.result, DESKGUARD) for d in dkim]
        if from_domain is not None and policy is not None:
            claimed_dmarc = _dmarc(from_domain, policy, claimed_spf, claimed_dkim, exists)
    dmarc = None
    if from_domain is not None and policy is not None:
        dmarc = _dmarc(from_domain, policy, spf, dkim, exists)
    return Authentication(
        spf=spf,
        dkim=dkim,
        arc=arc,
        arc_trusted=arc_trusted,
        dmarc=dmarc,
        auth_results=view,
        header_evidence=header_evidence,
        claimed_spf=claimed_spf,
        claimed_dmarc=claimed_dmarc,
    )


def _dmarc(
    from_domain: str,
    policy: DmarcPolicy,
    spf: SpfOutcome,
    dkim: Sequence[DkimOutcome],
    exists: bool,
) -> DmarcResult:
    return evaluate_dmarc(
        from_domain,
        policy,
        spf_domain=spf.domain,
        spf_result=spf.result,
        dkim=[(d.signature.domain, d.result) for d in dkim],
        from_exists=exists,
    )


def _policy_keys(from_domain: str | None) -> list[tuple[str, str]]:
    """The look-ups DMARC discovery and :func:`domain_exists` make for ``from_domain``."""
    if not from_domain:
        return []
    keys = [(from_domain, t) for t in ("A", "AAAA", "MX")]
    try:
        names = walk_names(normalize_domain(from_domain))
    except InvalidName:
        return keys
    return [*keys, *((f"_dmarc.{n}", "TXT") for n in names)]


async def _run_all(
    resolver: Resolver, calls: Sequence[Callable[[], Any]], keys: Sequence[tuple[str, str]]
) -> list[Any]:
    """Run the blocking ``calls`` and fetch ``keys`` concurrently: inline, without tasks, when
    every answer is cached; the calls that need the network go to worker threads."""
    results: list[Any] = []
    missed: list[int] = []
    for index, call in enumerate(calls):
        ok, value = resolver.call_cached(call)
        results.append(value)
        if not ok:
            missed.append(index)
    if not missed:
        await resolver.query_many(keys)
        return results
    fetched = await asyncio.gather(
        resolver.query_many(keys), *(asyncio.to_thread(calls[i]) for i in missed)
    )
    for index, value in zip(missed, fetched[1:], strict=True):
        results[index] = value
    return results


async def domain_exists(domain: str, resolver: Resolver) -> bool:
    """False only when the domain is NXDOMAIN for A, AAAA and MX (RFC 9989 non-existent)."""
    results = await resolver.query_many([(domain, t) for t in ("A", "AAAA", "MX")])
    return not all(r.outcome is Outcome.NXDOMAIN for r in results)


def _spf_outcome(
    hop: Hop | None, own: SpfResult | None, msg: ParsedMessage, view: AuthResultsView
) -> SpfOutcome:
    if own is not None and own.result != "temperror":
        domain = msg.return_path.domain if msg.return_path is not None else _domain_of(own.domain)
        return SpfOutcome(own.result, domain, DESKGUARD, own.explanation, hop, own, own.result)
    trusted = _trusted_spf_pass(view)
    if trusted is not None:
        domain = _domain_of(trusted.properties.get("smtp.mailfrom")) or _domain_of(
            trusted.properties.get("smtp.helo")
        )
        why = "deskguard's own SPF check hit a DNS failure" if own else "no trusted hop"
        return SpfOutcome(
            "pass",
            domain,
            TRUSTED_AR,
            f"SPF pass for {domain} recorded at delivery by a trusted Authentication-Results "
            f"header ({why}).",
            hop,
            own,
            own.result if own else None,
        )
    if own is not None:
        domain = msg.return_path.domain if msg.return_path is not None else _domain_of(own.domain)
        return SpfOutcome(own.result, domain, DESKGUARD, own.explanation, hop, own, own.result)
    if hop is None:
        why = (
            "no Received header written by a trusted host (DESKGUARD_TRUSTED_AUTHSERV_IDS), so "
            "the connecting IP is unknown: SPF not evaluated"
        )
    else:
        why = f"the trusted hop by {hop.by_host} records no connecting IP: SPF not evaluated"
    return SpfOutcome("none", None, NO_SOURCE, why, hop)


def _envelope_spf(envelope: Envelope, own: SpfResult | None, sender: str) -> SpfOutcome:
    assert own is not None
    domain = _domain_of(sender) or _domain_of(envelope.helo) or _domain_of(own.domain)
    return SpfOutcome(own.result, domain, ENVELOPE, own.explanation, None, own, own.result)


def _trusted_spf_pass(view: AuthResultsView) -> AuthResult | None:
    for result in view.find("spf"):
        if result.result.lower() == "pass":
            return result
    return None


def _dkim_outcomes(results: Sequence[DkimResult], view: AuthResultsView) -> list[DkimOutcome]:
    passes = [r for r in view.find("dkim") if r.result.lower() == "pass"]
    out: list[DkimOutcome] = []
    for sig in results:
        incomplete = sig.result in _DKIM_INCOMPLETE and sig.domain
        if incomplete and any(_ar_matches(ar, sig) for ar in passes):
            out.append(DkimOutcome(sig, "pass", TRUSTED_AR))
            continue
        out.append(DkimOutcome(sig, sig.result, DESKGUARD))
    return out


def _ar_matches(ar: AuthResult, sig: DkimResult) -> bool:
    domain = _domain_of(ar.properties.get("header.d") or ar.properties.get("header.i"))
    if domain is None or domain != sig.domain:
        return False
    selector = ar.properties.get("header.s")
    return selector is None or sig.selector is None or selector.lower() == sig.selector.lower()
