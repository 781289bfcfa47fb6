"""The append-only approval audit trail: one :class:`AuditEvent` per event on a request.

Every event on a request (``open`` and each :class:`~bot.approvals.machine.Event`) is written by
the store in the same atomic step as the transition itself, as an :class:`AuditEvent` carrying who,
when, what, the request snapshot after the event (which includes the verification summary taken
when the request was opened) and the evidence the approver gave (callback number, proof method).
Nothing updates or deletes an event: SQLite enforces that with triggers, Redis only appends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.approvals.machine import Request

OPEN = "open"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event: sequence number, time, request, event name, actor, states, snapshot after."""

    seq: int
    at: dt.datetime
    request_id: str
    event: str
    actor_id: str
    from_state: str | None
    to_state: str
    request: Request
    note: str | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (one JSON Lines record)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "request_id": self.request_id,
            "event": self.event,
            "actor_id": self.actor_id,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "note": self.note,
            "evidence": dict(self.evidence),
            "request": self.request.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        """Inverse of :meth:`to_dict`."""
        return cls(
            seq=int(data["seq"]),
            at=dt.datetime.fromisoformat(data["at"]),
            request_id=str(data["request_id"]),
            event=str(data["event"]),
            actor_id=str(data["actor_id"]),
            from_state=data.get("from_state"),
            to_state=str(data["to_state"]),
            request=Request.from_dict(data["request"]),
            note=data.get("note"),
            evidence={str(k): str(v) for k, v in (data.get("evidence") or {}).items()},
        )
