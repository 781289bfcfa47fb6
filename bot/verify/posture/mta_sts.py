"""MTA-STS posture: whether ``_mta-sts.<domain>`` announces a policy (the file is not fetched)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.dns import Resolver
from bot.mail.dmarc_policy import CheckStatus, parse_tags
from bot.verify.posture.lookup import looked_up

_STS_V = re.compile(r"^v[ \t]*=[ \t]*STSv1[ \t]*(?:;|$)")
_STS_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


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
        return MtaStsPosture(CheckStatus.COULD_NOT_CHECK, error=looked_up(result))
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
