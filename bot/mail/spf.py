"""SPF (RFC 7208): is the connecting IP allowed to send for the envelope sender (or HELO)?

pyspf evaluates the record: it is the implementation the OpenSPF RFC 7208 suite was written
against. Its DNS goes through the project's :class:`bot.dns.Resolver` (our nameservers, our
cache, typed outcomes) by overriding :meth:`spf.query.dns` in a subclass, so nothing touches the
system resolver and nothing global is patched. ``strict=True`` makes pyspf enforce the limits:
more than 10 DNS-querying terms or more than 2 void look-ups is permerror. PTR validation is
overridden too, to follow RFC 7208 5.5 (a DNS error there skips a name instead of aborting).

Results keep "could not check" apart: temperror (DNS failure) and permerror (broken record) are
neither pass nor fail.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import weakref
from dataclasses import asdict, dataclass
from typing import Any

import dns.exception
import dns.name
import spf

from bot.dns import CacheMiss, DnsResult, Outcome, Resolver

log = logging.getLogger(__name__)

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")
_DETAIL_MAX = 300
MEMO_MAX_ENTRIES = 4096
MEMO_MAX_KEY_CHARS = 2048  # longer inputs are evaluated every time, not kept


@dataclass(frozen=True)
class SpfResult:
    """The SPF verdict for one (IP, sender, HELO), with a sentence a help-desk analyst can read.

    ``policy_explanation`` is the domain's own ``exp=`` text: the domain owner wrote it, so it
    is attacker-controlled when the domain is. ``detail`` is the cause of a permerror/temperror.
    """

    result: str
    domain: str
    explanation: str
    ip: str
    sender: str
    helo: str | None
    lookups: int | None = None
    mechanism: str | None = None
    policy_explanation: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return asdict(self)


class _Query(spf.query):  # type: ignore[misc]
    """pyspf's evaluator with its DNS answered by our resolver."""

    def __init__(self, ip: str, sender: str, helo: str, resolver: Resolver) -> None:
        self._resolver = resolver
        self.answers: list[DnsResult] = []  # every answer the evaluation read, in order
        self.missed = False
        super().__init__(ip, sender, helo, strict=True)

    def dns(
        self,
        name: str,
        qtype: str,
        cnames: dict[str, str] | None = None,
        ignore_void: bool = False,
    ) -> list[Any]:
        """Records for (name, qtype) in pyspf's shapes; counts void look-ups; raises TempError."""
        name = str(name)
        if name.endswith("."):
            name = name[:-1]
        labels = name.split(".")
        if not name or not all(0 < len(label) < 64 for label in labels):
            return []  # not a DNS name: pyspf treats it as no data, without a look-up
        records = self._lookup(name.lower(), qtype)
        if not records and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return records

    def validated_ptrs(self) -> list[str]:
        """RFC 7208 5.5: PTR names whose addresses include the client IP, first 10 only.

        A DNS error on the PTR look-up means no match; one on a name's address look-up skips
        that name (pyspf would turn either into temperror).
        """
        try:
            names: list[str] = self.dns_ptr(self.i)[: spf.MAX_PTR]
        except spf.TempError:
            return []
        validated = []
        for name in names:
            try:
                addresses = self.dns_a(name, self.A)
            except spf.TempError:
                continue
            if self.cidrmatch(addresses, self.cidrmax):
                validated.append(name)
        return validated

    def _lookup(self, name: str, qtype: str) -> list[Any]:
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException:
            return []  # unencodable name (e.g. after macro expansion): nothing can exist there
        try:
            answer = self._resolver.query_sync(name, qtype)
        except CacheMiss:
            self.missed = True
            raise
        self.answers.append(answer)
        if answer.outcome is Outcome.TEMPERROR:
            raise spf.TempError(f"DNS {answer.error or 'failure'} looking up {qtype} {name}")
        if answer.outcome is not Outcome.ANSWER:
            return []
        if qtype in ("TXT", "SPF"):
            return [(record.encode("utf-8"),) for record in answer.records]
        if qtype == "MX":
            return [_mx(record) for record in answer.records]
        return list(answer.records)


def _mx(record: str) -> tuple[int, str]:
    pref, _, host = record.partition(" ")
    return (int(pref), host)


def _idna(domain: str) -> str | None:
    """ASCII form of a domain for DNS, or None when it cannot be one."""
    if domain.isascii():
        return domain
    try:
        return ".".join(
            label if label.isascii() else label.encode("idna").decode("ascii")
            for label in domain.split(".")
        )
    except UnicodeError:
        return None


def _domain_problem(domain: str) -> str | None:
    """Why ``domain`` cannot hold an SPF record (RFC 7208 4.3: result none), or None."""
    if not domain:
        return "no domain"
    if domain.startswith("["):
        return "an address literal, not a domain"
    if any(ch.isspace() or not ch.isprintable() for ch in domain):
        return "control or space characters in the domain"
    name = domain[:-1] if domain.endswith(".") else domain
    labels = name.split(".")
    if any(not label for label in labels):
        return "an empty label in the domain"
    if any(len(label) > 63 for label in labels):
        return "a domain label longer than 63 characters"
    if len(labels) < 2:
        return "not a fully qualified domain"
    if len(name) > 253:
        return "a domain longer than 253 characters"
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def _explain(result: str, domain: str, ip: str, mechanism: str | None, detail: str | None) -> str:
    domain = _clip(domain)
    matched = f" (matched '{_clip(mechanism)}')" if mechanism else ""
    why = f": {_clip(detail)}" if detail else ""
    sentences = {
        "pass": f"SPF pass: {domain} authorizes {ip} to send its mail{matched}.",
        "fail": f"SPF fail: {domain} does not authorize {ip} to send its mail{matched}.",
        "softfail": (
            f"SPF softfail: {domain} says {ip} is probably not authorized to send its mail"
            f"{matched}."
        ),
        "neutral": f"SPF neutral: {domain} makes no assertion about {ip}{matched}.",
        "none": (
            f"SPF none: not evaluated ({_clip(detail)})."
            if detail
            else f"SPF none: {domain} publishes no SPF policy."
        ),
        "permerror": (
            f"SPF permerror: the SPF policy of {domain} is broken{why}. "
            "This is neither a pass nor a fail."
        ),
        "temperror": (
            f"SPF temperror: the check of {domain} could not be completed{why}. "
            "Could not check; try again later."
        ),
    }
    return sentences[result]


def _result(
    result: str,
    domain: str,
    ip: str,
    sender: str,
    helo: str | None,
    *,
    lookups: int | None = None,
    mechanism: str | None = None,
    policy_explanation: str | None = None,
    detail: str | None = None,
) -> SpfResult:
    return SpfResult(
        result=result,
        domain=domain,
        explanation=_explain(result, domain, ip, mechanism, detail),
        ip=ip,
        sender=sender,
        helo=helo,
        lookups=lookups,
        mechanism=mechanism,
        policy_explanation=policy_explanation,
        detail=_clip(detail) if detail else None,
    )


def _clean_sender(sender: str) -> str:
    text = sender.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    return text


class _Memo:
    """Results of recent evaluations, each with the DNS answers it read. A result is reused only
    while every one of those answers is still the resolver's cached answer (the same object):
    pyspf's verdict depends on nothing but the inputs and those answers."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str | None], tuple[SpfResult, list[DnsResult]]] = {}
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str, str | None], resolver: Resolver) -> SpfResult | None:
        with self.lock:
            entry = self.entries.get(key)
        if entry is None:
            return None
        result, answers = entry
        for answer in answers:
            if resolver.peek(answer.name, answer.rdtype) is not answer:
                return None
        return result

    def put(
        self, key: tuple[str, str, str | None], result: SpfResult, answers: list[DnsResult]
    ) -> None:
        with self.lock:
            if len(self.entries) >= MEMO_MAX_ENTRIES:
                self.entries.clear()
            self.entries[key] = (result, answers)


_MEMOS: weakref.WeakKeyDictionary[Resolver, _Memo] = weakref.WeakKeyDictionary()
_MEMOS_LOCK = threading.Lock()


def _memo(resolver: Resolver) -> _Memo:
    with _MEMOS_LOCK:
        memo = _MEMOS.get(resolver)
        if memo is None:
            memo = _MEMOS[resolver] = _Memo()
        return memo


def check_spf(ip: str, sender: str, *, helo: str | None, resolver: Resolver) -> SpfResult:
    """Evaluate SPF for the envelope sender (or postmaster@HELO when the sender is empty).

    The same (ip, sender, helo) against the same cached DNS answers reuses the earlier result
    (:class:`_Memo`): a sender's mail arrives from a few IPs, many messages each."""
    key = (ip, sender, helo)
    if len(ip) + len(sender) + len(helo or "") > MEMO_MAX_KEY_CHARS:
        return _check_spf(ip, sender, helo=helo, resolver=resolver, memo=None)
    memo = _memo(resolver)
    found = memo.get(key, resolver)
    if found is not None:
        return found
    return _check_spf(ip, sender, helo=helo, resolver=resolver, memo=memo)


def _check_spf(
    ip: str, sender: str, *, helo: str | None, resolver: Resolver, memo: _Memo | None
) -> SpfResult:
    helo_text = (helo or "").strip()
    mailfrom = _clean_sender(sender or "")
    if mailfrom:
        local, _, domain = mailfrom.rpartition("@") if "@" in mailfrom else ("", "", mailfrom)
    else:
        local, domain = "postmaster", helo_text
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return _result(
            "none", domain, ip, sender, helo, detail=f"{ip!r} is not an IP address, so not checked"
        )
    ip_text = str(address)
    if not domain:
        return _result(
            "none", "", ip_text, sender, helo, detail="no envelope sender and no HELO name"
        )
    ascii_domain = _idna(domain)
    problem = "a domain that is not valid IDNA" if ascii_domain is None else None
    problem = problem or _domain_problem(ascii_domain or "")
    if problem or ascii_domain is None:
        return _result("none", domain, ip_text, sender, helo, detail=problem)
    query_sender = f"{local or 'postmaster'}@{ascii_domain}" if mailfrom else ""
    query_helo = ascii_domain if not mailfrom else (_idna(helo_text) or helo_text)
    try:
        query = _Query(ip_text, query_sender, query_helo, resolver)
        outcome, _code, text = query.check()
    except Exception as exc:  # a bug or a record pyspf cannot digest: never a pass
        log.exception("SPF evaluation crashed for %s", ascii_domain)
        return _result(
            "temperror", ascii_domain, ip_text, sender, helo, detail=f"internal error: {exc!r}"
        )
    if outcome not in RESULTS:  # pyspf's 'ambiguous' exists only in harsh mode
        outcome = "permerror"
    detail = None
    if outcome in ("permerror", "temperror"):
        detail = str(text).removeprefix("SPF Permanent Error: ")
        detail = detail.removeprefix("SPF Temporary Error: ")
    policy_text = None
    if outcome in ("fail", "softfail", "neutral") and text != spf.EXPLANATIONS.get(outcome):
        policy_text = str(text)
    mechanism = query.mechanism if outcome in ("pass", "fail", "softfail", "neutral") else None
    result = _result(
        outcome,
        ascii_domain,
        ip_text,
        sender,
        helo,
        lookups=query.lookups,
        mechanism=str(mechanism) if mechanism else None,
        policy_explanation=policy_text,
        detail=detail,
    )
    if memo is not None and not query.missed:
        memo.put((ip, sender, helo), result, query.answers)
    return result


async def check_spf_async(
    ip: str, sender: str, *, helo: str | None, resolver: Resolver
) -> SpfResult:
    """:func:`check_spf` in a worker thread (pyspf and the sync resolver block)."""
    return await asyncio.to_thread(check_spf, ip, sender, helo=helo, resolver=resolver)
