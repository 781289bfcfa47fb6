"""Authentication reasons for a message, with the floors the issue's verdict rules need.

* From at a registered vendor's domain (or a subdomain) that authentication does not establish
  (DMARC fails, or no aligned SPF/DKIM pass) -> ``spoofed``.
* DMARC fail on a domain that is not a vendor's -> ``unverified``, not "spoofed" (nobody is being
  impersonated by the domain itself; the registry decides identity).
* A check that could not complete -> ``unverified``; per-mechanism failures do not lower the verdict
  when DMARC passed anyway.
* A trusted ARC pass never overrules DMARC for a vendor's domain.
* The organization's own domains (``DESKGUARD_ORG_DOMAINS``) are held like a vendor's: a DMARC
  failure for one of them is ``spoofed``.
* In a file or an attachment, header evidence (the trusted hop's SPF, trusted
  Authentication-Results) is not counted; when only it would have passed DMARC the message is at
  most ``unverified`` with ``header_evidence_only``, which says what the headers claim.
"""

from __future__ import annotations

from bot.mail.authenticate import TRUSTED_AR, Authentication
from bot.names import to_unicode
from bot.report import Reason, Severity, Verdict

_V, _U, _X = Verdict.VERIFIED, Verdict.UNVERIFIED, Verdict.SPOOFED


def auth_reasons(
    auth: Authentication,
    *,
    vendor_domain: bool,
    vendor_name: str | None,
    org_domain: bool = False,
) -> list[Reason]:
    """Reasons from SPF, DKIM, DMARC, ARC and the Authentication-Results trust decisions."""
    established = auth.established
    reasons: list[Reason] = []
    if auth.headers_only_claim:
        reasons.append(_header_evidence_only(auth, vendor_name))
    else:
        reasons.extend(
            _dmarc_reasons(
                auth,
                vendor_domain=vendor_domain or org_domain,
                vendor_name=vendor_name,
                org_domain=org_domain,
            )
        )
    reasons.extend(_spf_reasons(auth, established))
    reasons.extend(_dkim_reasons(auth, established))
    reasons.extend(_arc_reasons(auth, established))
    if auth.auth_results.ignored:
        ids = sorted({ident for ident, _ in auth.auth_results.ignored})
        whys = "; ".join(f"{ident}: {why}" for ident, why in auth.auth_results.ignored[:5])
        reasons.append(
            Reason(
                "untrusted_auth_results",
                f"{len(auth.auth_results.ignored)} Authentication-Results header(s) written "
                f"outside the trusted boundary were ignored ({whys}).",
                data={"authserv_ids": ids},
            )
        )
    used = [s for s, src in auth.sources.items() if src == TRUSTED_AR]
    if used:
        reasons.append(
            Reason(
                "trusted_auth_results_used",
                f"{' and '.join(u.upper() for u in used)} decided by the trusted "
                "Authentication-Results written at delivery, because deskguard's own check "
                "could not complete.",
                data={"checks": used},
            )
        )
    return reasons


_CARRIED_BY = {
    "signature": ", carried by a DKIM signature deskguard verified",
    "trusted_header": ", carried by a header our own mail server wrote (trusted boundary)",
    "envelope": ", carried by the SMTP envelope the mail server gave",
}


def _header_evidence_only(auth: Authentication, vendor_name: str | None) -> Reason:
    claim = auth.claimed_dmarc
    assert claim is not None
    domain = to_unicode(claim.from_domain)
    said = []
    if auth.claimed_spf is not None and auth.claimed_spf.source != "none":
        said.append(f"SPF {auth.claimed_spf.result}: {auth.claimed_spf.explanation}")
    said.append(f"DMARC {claim.result}: {claim.reason}")
    call = f"; or call {vendor_name} back on the registry number" if vendor_name else ""
    return Reason(
        "header_evidence_only",
        f"The headers of this copy claim that {domain} sent it ({'; '.join(said)}). These "
        "headers are in a file or an attachment, where anyone could have typed them, and no "
        f"DKIM signature from {domain} verifies, so they are shown but not counted. For a "
        "checkable copy, forward the original email as an attachment to the deskguard mail gate "
        "or upload the original .eml as it was received, with its DKIM signature intact; mail "
        f"the sender does not sign can only be confirmed by a callback{call}.",
        data={
            "from_domain": claim.from_domain,
            "claimed": claim.to_json(),
            "claimed_spf": auth.claimed_spf.to_json() if auth.claimed_spf else None,
        },
    )


def _dmarc_reasons(
    auth: Authentication, *, vendor_domain: bool, vendor_name: str | None, org_domain: bool
) -> list[Reason]:
    dmarc = auth.dmarc
    if dmarc is None:
        return []
    domain = to_unicode(dmarc.from_domain)
    data = {"policy": dmarc.policy, "from_domain": dmarc.from_domain}
    whose = f" (a registered domain of {vendor_name})" if vendor_domain and vendor_name else ""
    if org_domain:
        whose = " (one of the organization's own domains, DESKGUARD_ORG_DOMAINS)"
    carried = auth.evidence["dmarc"]
    by = _CARRIED_BY.get(carried, "")
    if dmarc.aligned_pass:
        data = {**data, "evidence": carried}
    if dmarc.result == "pass":
        return [Reason("dmarc_pass", f"DMARC passed for {domain}: {dmarc.reason}{by}.", data=data)]
    if dmarc.result == "temperror":
        return [Reason("dmarc_temperror", f"DMARC for {domain}: {dmarc.reason}.", data=data)]
    if dmarc.result == "none":
        if dmarc.aligned_pass:
            return [
                Reason(
                    "dmarc_none",
                    f"{dmarc.reason}{by}; the From domain is authenticated but publishes no "
                    "DMARC policy.",
                    floor=_V,
                    data=data,
                )
            ]
        if vendor_domain:
            return [
                Reason(
                    "dmarc_none",
                    f"{dmarc.reason}: nothing shows that {domain}{whose} sent this message.",
                    severity=Severity.CRITICAL,
                    floor=_X,
                    data=data,
                )
            ]
        return [Reason("dmarc_none", f"{dmarc.reason}.", data=data)]
    # fail
    if vendor_domain:
        if auth.arc_trusted:
            note = " A trusted ARC sealer vouches for the message, but ARC never overrules DMARC "
            note += "for a registered vendor's domain."
        else:
            note = ""
        return [
            Reason(
                "dmarc_fail",
                f"DMARC failed for {domain}{whose}: {dmarc.reason}.{note}",
                data=data,
            )
        ]
    if auth.arc_trusted:
        return [
            Reason(
                "dmarc_fail",
                f"DMARC failed for {domain} ({dmarc.reason}), but a trusted ARC sealer "
                f"({auth.arc.sealers[-1]}) vouches that it passed before forwarding.",
                severity=Severity.WARNING,
                floor=_U,
                data=data,
            )
        ]
    return [
        Reason(
            "dmarc_fail",
            f"DMARC failed for {domain}: {dmarc.reason}. {domain} is not a registered vendor "
            "domain, so this says only that the sender is not authenticated.",
            severity=Severity.HIGH,
            floor=_U,
            data=data,
        )
    ]


def _spf_reasons(auth: Authentication, established: bool) -> list[Reason]:
    spf = auth.spf
    floor = _V if established else None
    domain = spf.domain or "?"
    if spf.result in ("fail", "softfail"):
        return [
            Reason(
                "spf_fail",
                f"SPF {spf.result} for {domain}: {spf.explanation}",
                floor=floor,
                data={"result": spf.result, "domain": spf.domain},
            )
        ]
    if spf.result == "temperror":
        return [Reason("spf_temperror", f"SPF for {domain}: {spf.explanation}", floor=floor)]
    if spf.result == "permerror":
        return [Reason("spf_permerror", f"SPF for {domain}: {spf.explanation}", floor=floor)]
    return []


def _dkim_reasons(auth: Authentication, established: bool) -> list[Reason]:
    floor = _V if established else None
    reasons: list[Reason] = []
    for outcome in auth.dkim:
        sig = outcome.signature
        label = f"DKIM signature #{sig.index + 1} (d={sig.domain or '?'}, s={sig.selector or '?'})"
        data = {"index": sig.index, "domain": sig.domain, "result": outcome.result}
        if sig.unsigned_body_bytes > 0 and outcome.result == "pass":
            reasons.append(
                Reason(
                    "unsigned_body_content",
                    f"{label} signs only the first {sig.body_length} bytes of the body (l=); "
                    f"{sig.unsigned_body_bytes} bytes were appended unsigned and may be anyone's.",
                    data={**data, "unsigned_body_bytes": sig.unsigned_body_bytes},
                )
            )
        if outcome.result == "pass":
            continue
        if outcome.result == "temperror":
            reasons.append(
                Reason("dkim_temperror", f"{label}: {sig.reason}", floor=floor, data=data)
            )
        else:
            reasons.append(
                Reason(
                    "dkim_fail",
                    f"{label} is not a pass ({outcome.result}): {sig.reason}",
                    floor=floor,
                    data=data,
                )
            )
    return reasons


def _arc_reasons(auth: Authentication, established: bool) -> list[Reason]:
    arc = auth.arc
    if arc.cv == "fail":
        return [
            Reason(
                "arc_fail",
                f"The ARC chain is broken: {arc.reason}",
                floor=_V if established else None,
            )
        ]
    if auth.arc_trusted:
        return [
            Reason(
                "arc_pass",
                f"The ARC chain ({arc.instances} instance(s)) validates and its latest sealer "
                f"{arc.sealers[-1]} is trusted (DESKGUARD_TRUSTED_ARC_SEALERS).",
                data={"sealers": list(arc.sealers)},
            )
        ]
    return []
