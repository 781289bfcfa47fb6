"""The approval store interface, shared by the SQLite (default) and Redis implementations.

Contract (one suite, tests/approvals/test_store_contract.py, runs against both):

- ``create_request(new, now)`` stores a pending request under a fresh unguessable id and appends
  its ``open`` audit event, atomically.
- ``apply(request_id, event, actor, now, note=, evidence=)`` runs
  :func:`bot.approvals.machine.transition`'s rules and, only if they allow it, writes the new
  snapshot and appends the audit event in ONE atomic step; otherwise it raises
  ``TransitionRefused`` and changes nothing. An unknown id is refused with ``not_found``.
- ``set_card(request_id, channel, ts)`` remembers where the request's Slack card was posted
  (overwriting any earlier place); ``card(request_id)`` gives it back, or None. The card's place
  is not part of the request's state and is not audited.
- ``use_once(kind, key, ttl)`` is True the first time a key is seen within ``ttl`` seconds and
  False afterwards (TOTP code replay, challenge nonces).
- A call returns only after the write is durable as configured (SQLite ``synchronous=FULL``;
  Redis as its AOF setting says), so nobody is told "cleared" for a clearance not stored.
- Backend failures raise ``StoreError``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from typing import Protocol

from bot.approvals.audit import AuditEvent
from bot.approvals.machine import Actor, Event, NewRequest, Request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")


def new_request_id() -> str:
    """A short unguessable id: 96 random bits, 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def is_request_id(value: object) -> bool:
    """True when ``value`` has the shape of a request id (checked before any store look-up)."""
    return isinstance(value, str) and bool(_REQUEST_ID.fullmatch(value))


class ApprovalStore(Protocol):
    """Where requests, their audit trail and single-use proof keys live."""

    async def create_request(self, new: NewRequest, now: dt.datetime) -> Request:
        """Store a new pending request and its ``open`` audit event."""
        ...

    async def get(self, request_id: str) -> Request | None:
        """The current snapshot, or None."""
        ...

    async def apply(
        self,
        request_id: str,
        event: Event,
        actor: Actor,
        now: dt.datetime,
        *,
        note: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> Request:
        """Apply one event atomically (rules, snapshot, audit) or raise TransitionRefused."""
        ...

    async def list_open(self) -> list[Request]:
        """Requests still pending or partially approved, oldest first."""
        ...

    async def expire_due(self, now: dt.datetime) -> list[Request]:
        """Expire every open request whose expiry time has passed; return them as expired."""
        ...

    async def audit_events(
        self, *, request_id: str | None = None, since: dt.datetime | None = None
    ) -> list[AuditEvent]:
        """Audit events in order (of one request, or at/after ``since``, or all)."""
        ...

    async def use_once(self, kind: str, key: str, ttl: float) -> bool:
        """True the first time ``(kind, key)`` is used within ``ttl`` seconds, else False."""
        ...

    async def set_card(self, request_id: str, channel: str, ts: str) -> None:
        """Remember the channel and message ts of the request's card."""
        ...

    async def card(self, request_id: str) -> tuple[str, str] | None:
        """The (channel, ts) of the request's card, or None."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
