"""The two-approver countersign state machine: pure data and one pure function.

A high-risk request is cleared only when a technical approver and a vendor relationship manager,
two different people, have each approved after calling the vendor back::

    pending ──approve (one slot)──▶ partially_approved ──approve (other slot)──▶ cleared
       │                                   │
       ├── deny (reason) ──────────────────┼──▶ denied
       ├── cancel (requester) ─────────────┼──▶ cancelled
       └── expire (at/after expires_at) ───┴──▶ expired

:func:`transition` applies one :class:`Event` for one :class:`Actor` at ``now`` and returns the
new :class:`Request`, or raises :class:`~bot.errors.TransitionRefused` with a stable ``reason``
code (see :data:`REFUSALS`). Both stores run exactly these rules inside one atomic step (the Redis
store mirrors them in Lua; the shared contract suite holds the two to the same table).

Double-click rule: approving a slot that is already filled, by anyone including the same person,
is refused with ``already_decided`` and changes nothing; so does any event on a closed request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.errors import TransitionRefused

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SYSTEM_USER = "deskguard"
MAX_SUMMARY = 500
MAX_NOTE = 1000
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class State(enum.StrEnum):
    """Where a request stands."""

    PENDING = "pending"
    PARTIALLY_APPROVED = "partially_approved"
    CLEARED = "cleared"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """True while approvals can still arrive."""
        return self in (State.PENDING, State.PARTIALLY_APPROVED)


class Event(enum.StrEnum):
    """What can happen to a request."""

    APPROVE_TECHNICAL = "approve_technical"
    APPROVE_VENDOR_MANAGER = "approve_vendor_manager"
    DENY = "deny"
    CANCEL = "cancel"
    EXPIRE = "expire"


class Role(enum.StrEnum):
    """An approver role; the service resolves who holds which."""

    TECHNICAL_APPROVER = "technical_approver"
    VENDOR_MANAGER = "vendor_manager"


class Slot(enum.StrEnum):
    """One of the two signatures a request needs."""

    TECHNICAL = "technical"
    VENDOR_MANAGER = "vendor_manager"

    @property
    def role(self) -> Role:
        """The role that may fill this slot."""
        return Role.TECHNICAL_APPROVER if self is Slot.TECHNICAL else Role.VENDOR_MANAGER

    @property
    def event(self) -> Event:
        """The event that fills this slot."""
        if self is Slot.TECHNICAL:
            return Event.APPROVE_TECHNICAL
        return Event.APPROVE_VENDOR_MANAGER

    @property
    def other(self) -> Slot:
        """The other slot."""
        return Slot.VENDOR_MANAGER if self is Slot.TECHNICAL else Slot.TECHNICAL


SLOT_OF_EVENT: dict[Event, Slot] = {s.event: s for s in Slot}


class RequestKind(enum.StrEnum):
    """What the vendor asked for."""

    CREDENTIAL_RESET = "credential_reset"
    MFA_RESET = "mfa_reset"
    SYSTEM_ACCESS = "system_access"
    SOFTWARE_INSTALL = "software_install"
    OTHER = "other"


REFUSALS: dict[str, str] = {
    "not_found": "No such request.",
    "already_decided": "The request or this slot has already been decided.",
    "expired": "The request has expired; open a new one.",
    "not_due": "The request has not reached its expiry time.",
    "not_requester": "Only the person who opened the request can cancel it.",
    "guest_not_allowed": "Guests cannot approve or deny requests.",
    "wrong_workspace": "Only members of the request's workspace can approve or deny it.",
    "not_in_role": "You do not hold the role this action needs.",
    "requester_cannot_approve": "The person who opened a request cannot approve it.",
    "same_person_both_slots": "One person cannot sign both slots; a second person must approve.",
    "reason_required": "A reason is required.",
    "bad_input": "The input is not acceptable.",
    # raised by the service before the store is asked
    "unknown_vendor": "The vendor is not in the registry.",
    "callback_not_attested": "Approve only after calling the vendor back on the registry number.",
    "unregistered_callback_number": "The number called is not the vendor's registered number.",
    "proof_required": "This vendor has a token: a vendor proof is required.",
    "proof_invalid": "The vendor proof did not verify.",
    "proof_replayed": "The vendor proof was already used.",
    "proof_unavailable": "The vendor proof could not be checked (token not configured).",
}


def refuse(reason: str, message: str | None = None) -> TransitionRefused:
    """A TransitionRefused for a catalogued reason code."""
    assert reason in REFUSALS, reason
    return TransitionRefused(reason, message or REFUSALS[reason])


def clean_text(value: str | None, *, limit: int, what: str) -> str | None:
    """Strip ``value``; refuse control/bidi characters and over-long text; '' becomes None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise refuse("bad_input", f"The {what} is longer than {limit} characters.")
    if _CONTROL.search(text):
        raise refuse("bad_input", f"The {what} contains control or direction characters.")
    return text


def check_id(value: str, what: str) -> str:
    """A Slack-style identifier (user, team, vendor id); refuse anything else."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise refuse("bad_input", f"The {what} is not a valid identifier.")
    return value


def to_us(when: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if when.tzinfo is None:
        raise ValueError("naive datetime; use an aware UTC datetime")
    return (when - EPOCH) // dt.timedelta(microseconds=1)


def from_us(value: int) -> dt.datetime:
    """The aware UTC datetime for microseconds since the epoch."""
    return EPOCH + dt.timedelta(microseconds=value)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: Slack user, workspace, guest flag, and the roles the service resolved."""

    user_id: str
    team_id: str
    is_guest: bool = False
    roles: frozenset[Role] = frozenset()

    def __post_init__(self) -> None:
        check_id(self.user_id, "user id")
        check_id(self.team_id, "team id")

    def with_roles(self, roles: frozenset[Role]) -> Actor:
        """This actor holding exactly ``roles`` (caller-supplied roles are never trusted)."""
        return dataclasses.replace(self, roles=frozenset(roles))


def system_actor(team_id: str = "system") -> Actor:
    """The actor that expires requests."""
    return Actor(SYSTEM_USER, team_id)


@dataclass(frozen=True, slots=True)
class Approval:
    """A filled slot: who, when, their note, and the evidence (callback, proof) they gave."""

    user_id: str
    at: dt.datetime
    note: str | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "user_id": self.user_id,
            "at": self.at.isoformat(),
            "note": self.note,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Approval:
        """Inverse of :meth:`to_dict`."""
        return cls(
            user_id=str(data["user_id"]),
            at=dt.datetime.fromisoformat(data["at"]),
            note=data.get("note"),
            evidence={str(k): str(v) for k, v in (data.get("evidence") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Request:
    """A snapshot of one request; every transition makes a new one with ``version`` + 1."""

    id: str
    vendor_id: str
    vendor_name: str
    kind: RequestKind
    summary: str
    requester_id: str
    team_id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    state: State = State.PENDING
    channel: str | None = None
    technical: Approval | None = None
    vendor_manager: Approval | None = None
    closed_by: str | None = None
    closed_at: dt.datetime | None = None
    close_reason: str | None = None
    verification: Mapping[str, Any] = field(default_factory=dict)
    challenges: Mapping[str, str] = field(default_factory=dict)
    version: int = 1

    def slot(self, slot: Slot) -> Approval | None:
        """The approval filling ``slot``, if any."""
        return self.technical if slot is Slot.TECHNICAL else self.vendor_manager

    def challenge(self, slot: Slot) -> str:
        """The nonce the vendor signs for ``slot`` (Ed25519 tokens)."""
        return self.challenges[slot.value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the audit snapshot and the SQLite body)."""
        return {
            "id": self.id,
            "vendor_id": self.vendor_id,
            "vendor_name": self.vendor_name,
            "kind": self.kind.value,
            "summary": self.summary,
            "requester_id": self.requester_id,
            "team_id": self.team_id,
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "state": self.state.value,
            "technical": self.technical.to_dict() if self.technical else None,
            "vendor_manager": self.vendor_manager.to_dict() if self.vendor_manager else None,
            "closed_by": self.closed_by,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "close_reason": self.close_reason,
            "verification": dict(self.verification),
            "challenges": dict(self.challenges),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        """Inverse of :meth:`to_dict`."""
        tech, manager, closed = data.get("technical"), data.get("vendor_manager"), None
        if data.get("closed_at"):
            closed = dt.datetime.fromisoformat(data["closed_at"])
        return cls(
            id=data["id"],
            vendor_id=data["vendor_id"],
            vendor_name=data["vendor_name"],
            kind=RequestKind(data["kind"]),
            summary=data["summary"],
            requester_id=data["requester_id"],
            team_id=data["team_id"],
            channel=data.get("channel"),
            created_at=dt.datetime.fromisoformat(data["created_at"]),
            expires_at=dt.datetime.fromisoformat(data["expires_at"]),
            state=State(data["state"]),
            technical=Approval.from_dict(tech) if tech else None,
            vendor_manager=Approval.from_dict(manager) if manager else None,
            closed_by=data.get("closed_by"),
            closed_at=closed,
            close_reason=data.get("close_reason"),
            verification=dict(data.get("verification") or {}),
            challenges=dict(data.get("challenges") or {}),
            version=int(data["version"]),
        )


@dataclass(frozen=True, slots=True)
class NewRequest:
    """What a store needs to create a request; the store assigns the id."""

    vendor_id: str
    vendor_name: str
    kind: RequestKind
    summary: str
    requester: Actor
    expires_at: dt.datetime
    challenges: Mapping[str, str]
    channel: str | None = None
    verification: Mapping[str, Any] = field(default_factory=dict)

    def build(self, request_id: str, now: dt.datetime) -> Request:
        """The first snapshot (state pending, version 1)."""
        return Request(
            id=request_id,
            vendor_id=self.vendor_id,
            vendor_name=self.vendor_name,
            kind=self.kind,
            summary=self.summary,
            requester_id=self.requester.user_id,
            team_id=self.requester.team_id,
            channel=self.channel,
            created_at=now,
            expires_at=self.expires_at,
            challenges=dict(self.challenges),
            verification=dict(self.verification),
        )


def transition(
    request: Request,
    event: Event,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Request:
    """Apply ``event`` by ``actor`` at ``now``; return the new snapshot or raise TransitionRefused.

    The checks run in a fixed order (the Redis Lua script mirrors it): closed request, expiry,
    cancel rights, guest, workspace, then deny's role and reason or the slot's rules.
    """
    note = clean_text(note, limit=MAX_NOTE, what="reason")
    if not request.state.is_open:
        raise refuse("already_decided", f"The request is already {request.state.value}.")
    if event is Event.EXPIRE:
        if now < request.expires_at:
            raise refuse("not_due")
        return _close(request, State.EXPIRED, actor, now, note)
    if now >= request.expires_at:
        raise refuse("expired")
    if event is Event.CANCEL:
        if actor.user_id != request.requester_id:
            raise refuse("not_requester")
        return _close(request, State.CANCELLED, actor, now, note)
    if actor.is_guest:
        raise refuse("guest_not_allowed")
    if actor.team_id != request.team_id:
        raise refuse("wrong_workspace")
    if event is Event.DENY:
        if not actor.roles & {Role.TECHNICAL_APPROVER, Role.VENDOR_MANAGER}:
            raise refuse("not_in_role", "Only a technical approver or a vendor manager can deny.")
        if note is None:
            raise refuse("reason_required", "Denying needs a reason.")
        return _close(request, State.DENIED, actor, now, note)
    slot = SLOT_OF_EVENT[event]
    if request.slot(slot) is not None:
        raise refuse("already_decided", f"The {slot.value} slot is already signed.")
    if slot.role not in actor.roles:
        raise refuse("not_in_role", f"Only a {slot.role.value.replace('_', ' ')} can sign this.")
    if actor.user_id == request.requester_id:
        raise refuse("requester_cannot_approve")
    other = request.slot(slot.other)
    if other is not None and other.user_id == actor.user_id:
        raise refuse("same_person_both_slots")
    approval = Approval(actor.user_id, now, note, dict(evidence or {}))
    state = State.CLEARED if other is not None else State.PARTIALLY_APPROVED
    cleared = state is State.CLEARED
    return dataclasses.replace(
        request,
        state=state,
        version=request.version + 1,
        technical=approval if slot is Slot.TECHNICAL else request.technical,
        vendor_manager=approval if slot is Slot.VENDOR_MANAGER else request.vendor_manager,
        closed_by=actor.user_id if cleared else None,
        closed_at=now if cleared else None,
    )


def _close(
    request: Request, state: State, actor: Actor, now: dt.datetime, note: str | None
) -> Request:
    return dataclasses.replace(
        request,
        state=state,
        closed_by=actor.user_id,
        closed_at=now,
        close_reason=note,
        version=request.version + 1,
    )
