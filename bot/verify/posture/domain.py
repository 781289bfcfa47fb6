"""A domain's whole posture: every part looked up at once, its weaknesses and its reasons."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.dns import Resolver
from bot.mail.dmarc_policy import CheckStatus, DmarcPolicy, discover_dmarc
from bot.names import normalize_domain
from bot.report import Reason
from bot.verify.posture.dkim_keys import DkimKeyPosture, check_dkim_key
from bot.verify.posture.mta_sts import MtaStsPosture, check_mta_sts
from bot.verify.posture.mx import MxPosture, check_mx
from bot.verify.posture.spf import SpfPosture, check_spf

DmarcPosture = DmarcPolicy

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
