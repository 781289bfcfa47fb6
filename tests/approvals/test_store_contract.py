"""One contract, two stores: every test here runs on SQLite (tmp_path) and real Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from bot.approvals.machine import Actor, Event, Request, State, system_actor
from bot.approvals.store import ApprovalStore, is_request_id
from bot.errors import TransitionRefused
from tests.approvals.conftest import (
    ALICE,
    BRUNO,
    CARMEN,
    DAVID,
    REQUESTER,
    T0,
    TEAM,
    TTL,
    new_request,
)
from tests.approvals.test_machine import TABLE, actor_for

HOUR = dt.timedelta(hours=1)


async def drive(store: ApprovalStore, state: State) -> Request:
    """A stored request brought to ``state`` through real transitions."""
    request = await store.create_request(new_request(), T0)
    now = T0 + dt.timedelta(minutes=5)
    if state is State.PENDING:
        return request
    if state in (State.PARTIALLY_APPROVED, State.CLEARED):
        request = await store.apply(request.id, Event.APPROVE_TECHNICAL, ALICE, now)
        if state is State.CLEARED:
            request = await store.apply(request.id, Event.APPROVE_VENDOR_MANAGER, CARMEN, now)
        return request
    if state is State.DENIED:
        return await store.apply(request.id, Event.DENY, CARMEN, now, note="no")
    if state is State.CANCELLED:
        return await store.apply(request.id, Event.CANCEL, REQUESTER, now)
    return await store.apply(request.id, Event.EXPIRE, system_actor(), T0 + TTL)


async def test_create_and_get(store: ApprovalStore) -> None:
    created = await store.create_request(new_request(), T0)
    assert is_request_id(created.id)
    assert created.state is State.PENDING and created.version == 1
    assert created.requester_id == REQUESTER.user_id and created.team_id == TEAM
    assert created.expires_at == T0 + TTL
    assert await store.get(created.id) == created
    assert await store.get("AAAAAAAAAAAAAAAA") is None
    other = await store.create_request(new_request(), T0)
    assert other.id != created.id
    (opened,) = await store.audit_events(request_id=created.id)
    assert (opened.event, opened.actor_id, opened.from_state, opened.to_state) == (
        "open",
        REQUESTER.user_id,
        None,
        "pending",
    )
    assert opened.request == created
    assert opened.request.verification == {"verdict": "verified", "reasons": ["registered_vendor"]}


@pytest.mark.parametrize(("state", "event"), list(TABLE), ids=lambda v: str(v))
async def test_every_state_event_pair(store: ApprovalStore, state: State, event: Event) -> None:
    request = await drive(store, state)
    before = await store.audit_events(request_id=request.id)
    actor, now, note = actor_for(event)
    if event is Event.APPROVE_TECHNICAL:
        actor = BRUNO  # ALICE already signed in the driven partial state
    expected = TABLE[(state, event)]
    if isinstance(expected, State):
        after = await store.apply(request.id, event, actor, now, note=note)
        assert after.state is expected and after.version == request.version + 1
        assert await store.get(request.id) == after
        events = await store.audit_events(request_id=request.id)
        assert len(events) == len(before) + 1
        last = events[-1]
        assert (last.event, last.actor_id, last.from_state, last.to_state) == (
            event.value,
            actor.user_id,
            state.value,
            expected.value,
        )
        assert last.request == after and last.note == note
    else:
        with pytest.raises(TransitionRefused) as err:
            await store.apply(request.id, event, actor, now, note=note)
        assert err.value.reason == expected
        assert await store.get(request.id) == request
        assert await store.audit_events(request_id=request.id) == before


REFUSED = [
    # (driven state, event, actor, note, reason)
    (
        State.PENDING,
        Event.APPROVE_TECHNICAL,
        Actor(REQUESTER.user_id, TEAM, roles=ALICE.roles),
        None,
        "requester_cannot_approve",
    ),
    (
        State.PARTIALLY_APPROVED,
        Event.APPROVE_VENDOR_MANAGER,
        Actor(ALICE.user_id, TEAM, roles=DAVID.roles),
        None,
        "same_person_both_slots",
    ),
    (State.PENDING, Event.APPROVE_VENDOR_MANAGER, ALICE, None, "not_in_role"),
    (State.PENDING, Event.DENY, Actor("UNOBODY", TEAM), "x", "not_in_role"),
    (
        State.PENDING,
        Event.APPROVE_TECHNICAL,
        Actor("UGUEST", TEAM, True, ALICE.roles),
        None,
        "guest_not_allowed",
    ),
    (
        State.PENDING,
        Event.APPROVE_TECHNICAL,
        Actor("UALICE", "T0002", roles=ALICE.roles),
        None,
        "wrong_workspace",
    ),
    (State.PENDING, Event.DENY, CARMEN, None, "reason_required"),
    (State.PENDING, Event.CANCEL, ALICE, None, "not_requester"),
    (State.PENDING, Event.EXPIRE, system_actor(), None, "not_due"),
    (State.PARTIALLY_APPROVED, Event.APPROVE_TECHNICAL, ALICE, None, "already_decided"),
    (State.PENDING, Event.DENY, CARMEN, "bad\x07bell", "bad_input"),
]


@pytest.mark.parametrize(("state", "event", "actor", "note", "reason"), REFUSED)
async def test_refusals_change_nothing(
    store: ApprovalStore, state: State, event: Event, actor: Actor, note: str | None, reason: str
) -> None:
    request = await drive(store, state)
    before = await store.audit_events(request_id=request.id)
    with pytest.raises(TransitionRefused) as err:
        await store.apply(request.id, event, actor, T0 + HOUR, note=note)
    assert err.value.reason == reason
    assert str(err.value)  # a message for the person who clicked
    assert await store.get(request.id) == request
    assert await store.audit_events(request_id=request.id) == before


async def test_expired_by_time_before_the_sweep(store: ApprovalStore) -> None:
    request = await store.create_request(new_request(), T0)
    with pytest.raises(TransitionRefused) as err:
        await store.apply(request.id, Event.APPROVE_TECHNICAL, ALICE, T0 + TTL)
    assert err.value.reason == "expired"


async def test_unknown_request_is_not_found(store: ApprovalStore) -> None:
    with pytest.raises(TransitionRefused) as err:
        await store.apply("AAAAAAAAAAAAAAAA", Event.APPROVE_TECHNICAL, ALICE, T0)
    assert err.value.reason == "not_found"


async def test_evidence_and_notes_are_stored(store: ApprovalStore) -> None:
    request = await store.create_request(new_request(), T0)
    evidence = {"callback": "attested", "proof": "totp", "totp_step": "123"}
    after = await store.apply(
        request.id, Event.APPROVE_TECHNICAL, ALICE, T0 + HOUR, note="called", evidence=evidence
    )
    assert after.technical is not None
    assert after.technical.evidence == evidence and after.technical.note == "called"
    assert after.technical.at == T0 + HOUR
    last = (await store.audit_events(request_id=request.id))[-1]
    assert last.evidence == evidence and last.at == T0 + HOUR


async def test_list_open_and_expire_due(store: ApprovalStore) -> None:
    soon = await store.create_request(new_request(expires=T0 + HOUR), T0)
    later = await store.create_request(new_request(), T0 + dt.timedelta(seconds=1))
    done = await drive(store, State.DENIED)
    partial = await store.apply(soon.id, Event.APPROVE_TECHNICAL, ALICE, T0)
    open_ids = [r.id for r in await store.list_open()]
    assert soon.id in open_ids and later.id in open_ids and done.id not in open_ids
    assert await store.expire_due(T0 + dt.timedelta(minutes=59)) == []
    expired = await store.expire_due(T0 + HOUR)
    assert [r.id for r in expired] == [soon.id]
    assert expired[0].state is State.EXPIRED and expired[0].version == partial.version + 1
    assert await store.expire_due(T0 + HOUR) == []
    assert [r.id for r in await store.list_open()] == [later.id]
    last = (await store.audit_events(request_id=soon.id))[-1]
    assert (last.event, last.from_state, last.to_state) == (
        "expire",
        "partially_approved",
        "expired",
    )


async def test_audit_filters_and_order(store: ApprovalStore) -> None:
    first = await store.create_request(new_request(), T0)
    second = await store.create_request(new_request(), T0 + HOUR)
    await store.apply(first.id, Event.APPROVE_TECHNICAL, ALICE, T0 + 2 * HOUR)
    everything = await store.audit_events()
    assert [e.event for e in everything] == ["open", "open", "approve_technical"]
    assert [e.seq for e in everything] == sorted(e.seq for e in everything)
    assert len({e.seq for e in everything}) == 3
    recent = await store.audit_events(since=T0 + HOUR)
    assert [(e.request_id, e.event) for e in recent] == [
        (second.id, "open"),
        (first.id, "approve_technical"),
    ]
    assert [e.event for e in await store.audit_events(request_id=first.id)] == [
        "open",
        "approve_technical",
    ]


async def test_use_once(store: ApprovalStore) -> None:
    assert await store.use_once("totp", "northwind:1", 60) is True
    assert await store.use_once("totp", "northwind:1", 60) is False
    assert await store.use_once("totp", "northwind:2", 60) is True
    assert await store.use_once("ed25519", "northwind:1", 60) is True
    assert await store.use_once("short", "k", 0.05) is True
    await asyncio.sleep(0.12)
    assert await store.use_once("short", "k", 0.05) is True  # the marker lapsed


async def test_hundred_concurrent_clicks_clear_exactly_once(store: ApprovalStore) -> None:
    """Bad input #24: two people click at the same instant, a hundred times."""
    request = await store.create_request(new_request(), T0)
    alice = Actor("UALICE", TEAM, roles=DAVID.roles)
    carmen = Actor("UCARMEN", TEAM, roles=DAVID.roles)
    clicks = [
        (person, event)
        for _ in range(25)
        for person in (alice, carmen)
        for event in (Event.APPROVE_TECHNICAL, Event.APPROVE_VENDOR_MANAGER)
    ]

    async def click(person: Actor, event: Event) -> Request | str:
        try:
            return await store.apply(request.id, event, person, T0 + HOUR)
        except TransitionRefused as exc:
            return exc.reason

    results = await asyncio.gather(*(click(p, e) for p, e in clicks))
    assert len(results) == 100
    successes = [r for r in results if isinstance(r, Request)]
    refusals = {r for r in results if isinstance(r, str)}
    assert [s.state for s in successes].count(State.CLEARED) == 1
    assert len(successes) == 2
    assert refusals <= {"already_decided", "same_person_both_slots"}
    final = await store.get(request.id)
    assert final is not None and final.state is State.CLEARED and final.version == 3
    assert final.technical is not None and final.vendor_manager is not None
    assert final.technical.user_id != final.vendor_manager.user_id
    events = await store.audit_events(request_id=request.id)
    assert sorted(e.event for e in events) == [
        "approve_technical",
        "approve_vendor_manager",
        "open",
    ]
    assert len({e.seq for e in events}) == 3


async def test_unicode_text_round_trips(store: ApprovalStore) -> None:
    new = dataclasses.replace(new_request(), summary='Réinitialiser MFA — 日本 "/\\ 🔐')
    request = await store.create_request(new, T0)
    assert (await store.get(request.id)) == request
    assert request.summary == new.summary
    denied = await store.apply(request.id, Event.DENY, CARMEN, T0, note="pas de rappel 📞 </b>")
    assert denied.close_reason == "pas de rappel 📞 </b>"
    assert (await store.audit_events(request_id=request.id))[-1].request == denied


async def test_card_place_is_remembered_and_overwritten(store: ApprovalStore) -> None:
    request = await store.create_request(new_request(), T0)
    assert await store.card(request.id) is None
    await store.set_card(request.id, "C0APPROVALS", "1700000000.000001")
    assert await store.card(request.id) == ("C0APPROVALS", "1700000000.000001")
    await store.set_card(request.id, "C0OTHER", "1700000000.000002")
    assert await store.card(request.id) == ("C0OTHER", "1700000000.000002")
    other = await store.create_request(new_request(), T0)
    assert await store.card(other.id) is None
    # the card's place is not request state: no audit event, no new version
    assert [e.event for e in await store.audit_events(request_id=request.id)] == ["open"]
    assert await store.get(request.id) == request
