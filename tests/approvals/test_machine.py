"""The pure state machine: every (state, event) pair, then each rule on its own."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.approvals.machine import (
    REFUSALS,
    Actor,
    Approval,
    Event,
    Request,
    Role,
    Slot,
    State,
    from_us,
    system_actor,
    to_us,
    transition,
)
from bot.errors import TransitionRefused
from tests.approvals.conftest import ALICE, BRUNO, CARMEN, DAVID, REQUESTER, T0, TEAM, new_request

HOUR = dt.timedelta(hours=1)
NOW = T0 + HOUR


def in_state(state: State) -> Request:
    """A snapshot in ``state``; partially approved means ALICE signed the technical slot."""
    base = new_request().build("req0000000000001", T0)
    alice = Approval(ALICE.user_id, T0, None, {})
    carmen = Approval(CARMEN.user_id, T0, None, {})
    if state is State.PENDING:
        return base
    if state is State.PARTIALLY_APPROVED:
        return dataclasses.replace(base, state=state, technical=alice, version=2)
    if state is State.CLEARED:
        return dataclasses.replace(
            base, state=state, technical=alice, vendor_manager=carmen, version=3
        )
    return dataclasses.replace(base, state=state, closed_by="UX", closed_at=T0, version=2)


def actor_for(event: Event) -> tuple[Actor, dt.datetime, str | None]:
    """The canonical actor, time and note for each event."""
    return {
        Event.APPROVE_TECHNICAL: (BRUNO, NOW, None),
        Event.APPROVE_VENDOR_MANAGER: (CARMEN, NOW, None),
        Event.DENY: (CARMEN, NOW, "caller failed the callback"),
        Event.CANCEL: (REQUESTER, NOW, None),
        Event.EXPIRE: (system_actor(), T0 + dt.timedelta(hours=24), None),
    }[event]


CLOSED = "already_decided"
# (state, event) -> resulting state, or the refusal code
TABLE: dict[tuple[State, Event], State | str] = {
    (State.PENDING, Event.APPROVE_TECHNICAL): State.PARTIALLY_APPROVED,
    (State.PENDING, Event.APPROVE_VENDOR_MANAGER): State.PARTIALLY_APPROVED,
    (State.PENDING, Event.DENY): State.DENIED,
    (State.PENDING, Event.CANCEL): State.CANCELLED,
    (State.PENDING, Event.EXPIRE): State.EXPIRED,
    (State.PARTIALLY_APPROVED, Event.APPROVE_TECHNICAL): CLOSED,
    (State.PARTIALLY_APPROVED, Event.APPROVE_VENDOR_MANAGER): State.CLEARED,
    (State.PARTIALLY_APPROVED, Event.DENY): State.DENIED,
    (State.PARTIALLY_APPROVED, Event.CANCEL): State.CANCELLED,
    (State.PARTIALLY_APPROVED, Event.EXPIRE): State.EXPIRED,
    **{
        (state, event): CLOSED
        for state in (State.CLEARED, State.DENIED, State.EXPIRED, State.CANCELLED)
        for event in Event
    },
}


def test_table_covers_every_pair() -> None:
    assert set(TABLE) == {(s, e) for s in State for e in Event}


@pytest.mark.parametrize(("state", "event"), list(TABLE), ids=lambda v: str(v))
def test_every_state_event_pair(state: State, event: Event) -> None:
    request = in_state(state)
    actor, now, note = actor_for(event)
    expected = TABLE[(state, event)]
    if isinstance(expected, State):
        after = transition(request, event, actor, now, note=note)
        assert after.state is expected
        assert after.version == request.version + 1
        assert request.state is state  # the input snapshot is untouched
    else:
        with pytest.raises(TransitionRefused) as err:
            transition(request, event, actor, now, note=note)
        assert err.value.reason == expected


def refusal(
    request: Request, event: Event, actor: Actor, now: dt.datetime = NOW, note: str | None = None
) -> str:
    with pytest.raises(TransitionRefused) as err:
        transition(request, event, actor, now, note=note)
    assert err.value.reason in REFUSALS
    return err.value.reason


def test_two_slots_clear_and_record_who_and_evidence() -> None:
    one = transition(
        in_state(State.PENDING), Event.APPROVE_VENDOR_MANAGER, CARMEN, NOW, evidence={"proof": "x"}
    )
    assert one.vendor_manager == Approval(CARMEN.user_id, NOW, None, {"proof": "x"})
    assert one.closed_at is None
    two = transition(one, Event.APPROVE_TECHNICAL, ALICE, NOW + HOUR, note="checked")
    assert two.state is State.CLEARED
    assert two.technical is not None and two.technical.note == "checked"
    assert two.closed_by == ALICE.user_id and two.closed_at == NOW + HOUR
    assert two.version == 3


def test_requester_cannot_approve_even_with_the_role() -> None:
    requester = Actor(REQUESTER.user_id, TEAM, roles=frozenset(Role))
    assert refusal(in_state(State.PENDING), Event.APPROVE_TECHNICAL, requester) == (
        "requester_cannot_approve"
    )


def test_one_person_cannot_fill_both_slots() -> None:
    one = transition(in_state(State.PENDING), Event.APPROVE_TECHNICAL, DAVID, NOW)
    assert refusal(one, Event.APPROVE_VENDOR_MANAGER, DAVID) == "same_person_both_slots"


def test_role_is_required_for_each_slot() -> None:
    pending = in_state(State.PENDING)
    assert refusal(pending, Event.APPROVE_VENDOR_MANAGER, ALICE) == "not_in_role"
    assert refusal(pending, Event.APPROVE_TECHNICAL, CARMEN) == "not_in_role"
    nobody = Actor("UNOBODY", TEAM)
    assert refusal(pending, Event.DENY, nobody, note="no") == "not_in_role"


def test_guests_and_other_workspaces_are_refused() -> None:
    pending = in_state(State.PENDING)
    guest = dataclasses.replace(ALICE, is_guest=True)
    stranger = dataclasses.replace(ALICE, team_id="T9999")
    assert refusal(pending, Event.APPROVE_TECHNICAL, guest) == "guest_not_allowed"
    assert refusal(pending, Event.DENY, guest, note="x") == "guest_not_allowed"
    assert refusal(pending, Event.APPROVE_TECHNICAL, stranger) == "wrong_workspace"


def test_deny_needs_a_reason() -> None:
    pending = in_state(State.PENDING)
    assert refusal(pending, Event.DENY, CARMEN) == "reason_required"
    assert refusal(pending, Event.DENY, CARMEN, note="   ") == "reason_required"
    denied = transition(pending, Event.DENY, ALICE, NOW, note="  caller hung up  ")
    assert denied.close_reason == "caller hung up" and denied.closed_by == ALICE.user_id


def test_only_the_requester_cancels() -> None:
    assert refusal(in_state(State.PENDING), Event.CANCEL, ALICE) == "not_requester"


def test_expiry_time_rules() -> None:
    pending = in_state(State.PENDING)
    assert refusal(pending, Event.EXPIRE, system_actor(), NOW) == "not_due"
    late = pending.expires_at
    assert refusal(pending, Event.APPROVE_TECHNICAL, ALICE, late) == "expired"
    assert refusal(pending, Event.DENY, CARMEN, late, note="x") == "expired"
    assert transition(pending, Event.EXPIRE, system_actor(), late).state is State.EXPIRED


def test_double_click_same_slot_is_already_decided() -> None:
    one = transition(in_state(State.PENDING), Event.APPROVE_TECHNICAL, ALICE, NOW)
    assert refusal(one, Event.APPROVE_TECHNICAL, ALICE) == "already_decided"


@pytest.mark.parametrize("note", ["x" * 1001, "bad\x00byte", "bidi \u202e trick", "a\x1bb"])
def test_hostile_notes_are_refused(note: str) -> None:
    assert refusal(in_state(State.PENDING), Event.DENY, CARMEN, note=note) == "bad_input"


@pytest.mark.parametrize("user_id", ["", "U 1", "U1,U2", "x" * 65, "U1\n"])
def test_actor_ids_are_checked(user_id: str) -> None:
    with pytest.raises(TransitionRefused) as err:
        Actor(user_id, TEAM)
    assert err.value.reason == "bad_input"


def test_snapshot_round_trips_through_dict() -> None:
    cleared = in_state(State.CLEARED)
    assert Request.from_dict(cleared.to_dict()) == cleared
    assert cleared.slot(Slot.VENDOR_MANAGER) is cleared.vendor_manager


def test_microsecond_times_round_trip() -> None:
    when = dt.datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=dt.UTC)
    assert from_us(to_us(when)) == when
    with pytest.raises(ValueError):
        to_us(dt.datetime(2026, 1, 1))  # a naive datetime
