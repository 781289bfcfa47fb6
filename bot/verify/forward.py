"""Which message to verify: the one that arrived, unless it is the organization's own forward.

An email attached to another one is unwrapped only when the message carrying it is a forward
from the organization (its From is in ``DESKGUARD_ORG_DOMAINS``, it has no structural defects)
and, where its headers cannot speak for it, it authenticates as such:

- the message that arrived through our own mail path (:attr:`Arrival.RAW`) must pass DMARC;
- a file (Slack upload, CLI file) counts as the uploader's own forward on its From alone;
- a deeper level is itself an attachment: it must pass DMARC on signatures alone.

Anything else is verified as it arrived; its attachments are reported (``attached_message``) and
never lift its verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.mail.arrival import Arrival, Envelope
from bot.mail.authenticate import Authentication, authenticate
from bot.mail.message import ParsedMessage, open_attached
from bot.names import Address, is_subdomain_of

if TYPE_CHECKING:
    from bot.dns import Resolver
    from bot.settings import Settings


@dataclass
class Chosen:
    """The message to verify, how it arrived, the forwards around it and why it stopped there."""

    message: ParsedMessage
    arrival: Arrival
    envelope: Envelope | None
    auth: Authentication | None = None
    forwards: list[ParsedMessage] = field(default_factory=list)
    kept_because: str = ""


def is_org_address(address: Address | None, org_domains: Sequence[str]) -> bool:
    """True when ``address`` is at (or below) one of the organization's own domains."""
    if address is None:
        return False
    return any(is_subdomain_of(address.domain, org) for org in org_domains)


def header_evidence_counts(arrival: Arrival, envelope: Envelope | None) -> bool:
    """Header evidence counts only for mail that reached us raw, or with a vouched envelope."""
    return arrival is Arrival.RAW or envelope is not None


async def choose_message(
    msg: ParsedMessage,
    resolver: Resolver,
    settings: Settings,
    *,
    arrival: Arrival,
    envelope: Envelope | None,
) -> Chosen:
    """Unwrap the organization's own forwards, one level at a time; see the module text."""
    chosen = Chosen(msg, arrival, envelope)
    while chosen.message.attached:
        current = chosen.message
        if not is_org_address(current.from_address, settings.org_domains):
            chosen.kept_because = (
                "the message carrying it is not a forward from the organization "
                "(DESKGUARD_ORG_DOMAINS)"
            )
            break
        if current.defects:
            chosen.kept_because = "the forward carrying it is malformed"
            break
        if chosen.arrival is Arrival.RAW or current.forward_depth > 0:
            chosen.auth = await authenticate(
                current,
                resolver,
                trusted_authserv_ids=settings.trusted_authserv_ids,
                trusted_arc_sealers=settings.trusted_arc_sealers,
                envelope=chosen.envelope,
                header_evidence=header_evidence_counts(chosen.arrival, chosen.envelope),
            )
            if not chosen.auth.established:
                chosen.kept_because = (
                    f"the forward from {current.from_address} does not authenticate (DMARC)"
                )
                break
        inner = open_attached(current)
        if inner is None:
            chosen.kept_because = "forwarded attachments nest too deep"
            break
        chosen.forwards.append(current)
        chosen.message, chosen.arrival, chosen.envelope, chosen.auth = (
            inner,
            Arrival.FILE,
            None,
            None,
        )
    return chosen
