"""How a look-up that could not complete is described in every part of the posture."""

from __future__ import annotations

from bot.dns import DnsResult

NO_DOMAIN = "the domain does not exist"


def looked_up(result: DnsResult) -> str:
    """``<name> <type>: <error>`` for a temporary DNS failure."""
    return f"{result.name} {result.rdtype}: {result.error or 'temporary failure'}"
