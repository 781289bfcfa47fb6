"""DMARC evaluation (RFC 7489, RFC 9989): identifier alignment and the message's DMARC result.

Policy discovery lives in :mod:`bot.mail.dmarc_policy`; this module takes the discovered policy and
the authenticated identifiers (the SPF MAIL FROM domain and each DKIM ``d=``) and decides:

* ``pass``: SPF or DKIM passed for a domain aligned with From;
* ``fail``: a policy exists and nothing aligned passed;
* ``none``: the From domain publishes no (usable) policy (``aligned_pass`` still says whether an
  aligned identifier passed);
* ``temperror``: the policy or an aligned check could not be completed (DNS failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.mail.dmarc_policy import CheckStatus, DmarcPolicy
from bot.names import (
    InvalidName,
    is_subdomain_of,
    normalize_domain,
    public_suffix,
    registrable_domain,
)

PASS, FAIL, NONE, TEMPERROR = "pass", "fail", "none", "temperror"


def _clean(domain: str | None) -> str | None:
    if not domain:
        return None
    try:
        return normalize_domain(domain)
    except InvalidName:
        return None


def organizational_domain(domain: str, hint: str | None = None) -> str:
    """The organizational domain: the tree walk's answer when it covers ``domain``, else PSL."""
    if hint and is_subdomain_of(domain, hint) and public_suffix(hint) != hint:
        return hint
    return registrable_domain(domain)


def is_aligned(
    auth_domain: str, from_domain: str, mode: str, *, org_hint: str | None = None
) -> bool:
    """Alignment: strict means identical names, relaxed the same organizational domain."""
    auth = _clean(auth_domain)
    author = _clean(from_domain)
    if auth is None or author is None:
        return False
    if mode == "s":
        return auth == author
    org = organizational_domain(author, org_hint)
    return is_subdomain_of(auth, org) or registrable_domain(auth) == registrable_domain(author)


@dataclass(frozen=True)
class DmarcResult:
    """The DMARC outcome for one From domain."""

    result: str
    from_domain: str
    reason: str
    policy: str | None = None
    record: str | None = None
    found_at: str | None = None
    adkim: str = "r"
    aspf: str = "r"
    spf_domain: str | None = None
    spf_aligned: bool = False
    dkim_aligned: tuple[str, ...] = ()
    aligned_pass: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports."""
        return {
            "result": self.result,
            "from_domain": self.from_domain,
            "policy": self.policy,
            "record": self.record,
            "found_at": self.found_at,
            "adkim": self.adkim,
            "aspf": self.aspf,
            "spf_domain": self.spf_domain,
            "spf_aligned": self.spf_aligned,
            "dkim_aligned": list(self.dkim_aligned),
            "aligned_pass": self.aligned_pass,
            "reason": self.reason,
        }


def evaluate_dmarc(
    from_domain: str,
    policy: DmarcPolicy,
    *,
    spf_domain: str | None,
    spf_result: str,
    dkim: Sequence[tuple[str | None, str]],
    from_exists: bool = True,
) -> DmarcResult:
    """Evaluate DMARC for ``from_domain`` given SPF (domain, result) and DKIM (d=, result) pairs.

    ``from_exists`` False (NXDOMAIN for the From domain) makes ``np=`` apply (RFC 9989).
    """
    adkim = policy.adkim if policy.adkim in ("r", "s") else "r"
    aspf = policy.aspf if policy.aspf in ("r", "s") else "r"
    hint = policy.organizational_domain
    spf_dom = _clean(spf_domain)
    spf_aligned = spf_dom is not None and is_aligned(spf_dom, from_domain, aspf, org_hint=hint)
    spf_pass = spf_aligned and spf_result == PASS
    spf_unknown = spf_aligned and spf_result == TEMPERROR
    dkim_pass: list[str] = []
    dkim_unknown = False
    for d, result in dkim:
        dom = _clean(d)
        if dom is None or not is_aligned(dom, from_domain, adkim, org_hint=hint):
            continue
        if result == PASS and dom not in dkim_pass:
            dkim_pass.append(dom)
        elif result == TEMPERROR:
            dkim_unknown = True
    aligned_pass = spf_pass or bool(dkim_pass)
    applied = None
    if policy.status is CheckStatus.OK:
        applied = policy.policy_for(from_domain, exists=from_exists)
    base: dict[str, Any] = {
        "from_domain": from_domain,
        "policy": applied,
        "record": policy.record,
        "found_at": policy.found_at,
        "adkim": adkim,
        "aspf": aspf,
        "spf_domain": spf_dom,
        "spf_aligned": spf_aligned,
        "dkim_aligned": tuple(dkim_pass),
        "aligned_pass": aligned_pass,
    }
    passed_by = _passed_by(spf_pass, dkim_pass, spf_dom)
    if policy.status is CheckStatus.COULD_NOT_CHECK:
        why = policy.error or "DNS failure"
        return DmarcResult(
            TEMPERROR, reason=f"the DMARC policy of {from_domain} could not be read ({why})", **base
        )
    if policy.status is not CheckStatus.OK:
        what = "publishes no DMARC policy"
        if policy.status is CheckStatus.INVALID:
            what = f"publishes an invalid DMARC record ({policy.error or 'unparseable'})"
        tail = f"; {passed_by}" if aligned_pass else "; no aligned SPF or DKIM pass"
        return DmarcResult(NONE, reason=f"{from_domain} {what}{tail}", **base)
    if aligned_pass:
        return DmarcResult(PASS, reason=passed_by, **base)
    if spf_unknown or dkim_unknown:
        return DmarcResult(
            TEMPERROR,
            reason="an aligned SPF or DKIM check could not be completed (DNS failure); try again",
            **base,
        )
    return DmarcResult(FAIL, reason=_fail_reason(from_domain, spf_dom, spf_result, dkim), **base)


def _passed_by(spf_pass: bool, dkim_pass: list[str], spf_domain: str | None) -> str:
    parts = []
    if dkim_pass:
        parts.append(f"DKIM passed for {', '.join(dkim_pass)}")
    if spf_pass:
        parts.append(f"SPF passed for {spf_domain}")
    return " and ".join(parts) + " (aligned with From)" if parts else ""


def _fail_reason(
    from_domain: str,
    spf_domain: str | None,
    spf_result: str,
    dkim: Sequence[tuple[str | None, str]],
) -> str:
    bits = []
    if spf_domain is None:
        bits.append("SPF was not evaluated")
    else:
        bits.append(f"SPF {spf_result} for {spf_domain}")
    passing = sorted({d for d, r in dkim if r == PASS and d})
    if not dkim:
        bits.append("no DKIM signature")
    elif passing:
        bits.append(f"DKIM passed only for unaligned {', '.join(passing)}")
    else:
        bits.append("no DKIM signature verified")
    return f"nothing aligned with {from_domain} passed: " + "; ".join(bits)
