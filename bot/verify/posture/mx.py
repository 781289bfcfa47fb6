"""MX posture: the domain's mail exchangers, and the null MX of RFC 7505."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.dns import Outcome, Resolver
from bot.mail.dmarc_policy import CheckStatus
from bot.verify.posture.lookup import NO_DOMAIN, looked_up


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
        return MxPosture(CheckStatus.COULD_NOT_CHECK, error=looked_up(result))
    if not result.found:
        if result.outcome is Outcome.NXDOMAIN:
            return MxPosture(CheckStatus.MISSING, error=NO_DOMAIN, nxdomain=True)
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
