"""ApprovalService end to end on a real store: roles, callback, proofs, refusals, expiry."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bot.approvals.machine import Actor, Request, Role, Slot, State
from bot.approvals.proof import Proof
from bot.approvals.service import ApprovalService, Attestation, StaticRoleResolver
from bot.approvals.store import ApprovalStore
from bot.errors import TransitionRefused
from bot.registry import Registry, parse_registry
from bot.settings import Settings

TEAM = "T0001"
REQ = Actor("UREQ", TEAM)
ALICE = Actor("UALICE", TEAM)  # technical approver
CARMEN = Actor("UCARMEN", TEAM)  # vendor manager
DAVID = Actor("UDAVID", TEAM)  # both roles
SECRET = pyotp.random_base32()
SIGNER = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(SIGNER.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
CALLED = Attestation(called_back=True, phone="+1 206 555 0142")


def vendor(vid: str, domain: str, phone: str, token: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": vid,
        "name": vid.title(),
        "domains": [domain],
        "contacts": [{"name": "Dana", "role": "AM", "email": f"dana@{domain}", "phone": phone}],
        "callback": {"phone": "+1 206 555 0142", "instructions": "Ask for security."},
        "privileged": True,
        "last_reviewed": "2026-09-15",
        "owner": "Priya",
    }
    if token:
        entry["token"] = token
    return entry


TOTP_TOKEN = {"type": "totp", "secret_env": "TOTPCO"}
ED_TOKEN = {"type": "ed25519", "public_key": PUBLIC.decode()}
REGISTRY: Registry = parse_registry(
    {
        "vendors": [
            vendor("plain", "plain.example", "+1 206 555 0110", None),
            vendor("totpco", "totp.example", "+1 206 555 0111", TOTP_TOKEN),
            vendor("edco", "ed.example", "+1 206 555 0112", ED_TOKEN),
        ]
    }
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: ApprovalStore, clock: Clock) -> ApprovalService:
    settings = Settings(
        technical_approver_users=("UALICE", "UDAVID"),
        vendor_manager_users=("UCARMEN", "UDAVID"),
        approval_ttl_hours=24,
    )
    return ApprovalService(
        store,
        lambda: REGISTRY,
        settings,
        StaticRoleResolver.from_settings(settings),
        clock,
        environ={"TOTPCO": SECRET},
    )


async def reason(coro: Any) -> str:
    with pytest.raises(TransitionRefused) as err:
        await coro
    return err.value.reason


async def open_for(service: ApprovalService, vendor_id: str = "plain") -> Request:
    return await service.open_request(
        vendor_id=vendor_id,
        kind="mfa_reset",
        summary="Reset MFA for j.doe",
        requester=REQ,
        verification={"verdict": "verified"},
        channel="C0001",
    )


async def test_full_flow_without_token(service: ApprovalService, clock: Clock) -> None:
    request = await open_for(service)
    assert request.expires_at == clock.now + dt.timedelta(hours=24)
    assert service.challenge(request, Slot.TECHNICAL) is None
    one = await service.approve(request.id, "technical", ALICE, CALLED)
    assert one.state is State.PARTIALLY_APPROVED
    assert one.technical is not None and one.technical.evidence == {
        "callback": "attested",
        "callback_phone": "+12065550142",
        "proof": "none",
    }
    two = await service.approve(request.id, Slot.VENDOR_MANAGER, CARMEN, Attestation(True), "ok")
    assert two.state is State.CLEARED
    history = await service.history(request.id)
    assert [e.event for e in history] == ["open", "approve_technical", "approve_vendor_manager"]
    assert history[-1].request.verification == {"verdict": "verified"}


async def test_roles_come_from_the_resolver_not_the_caller(service: ApprovalService) -> None:
    request = await open_for(service)
    impostor = Actor("UMALLORY", TEAM, roles=frozenset(Role))
    assert await reason(service.approve(request.id, "technical", impostor, CALLED)) == "not_in_role"
    assert await reason(service.deny(request.id, impostor, "no")) == "not_in_role"


async def test_bad_input_23_refusals(service: ApprovalService) -> None:
    request = await open_for(service)
    requester_with_role = Actor("UREQ", TEAM)
    settings_roles = StaticRoleResolver(["UREQ"], [])
    service.roles = settings_roles
    assert await reason(service.approve(request.id, "technical", requester_with_role, CALLED)) == (
        "requester_cannot_approve"
    )
    service.roles = StaticRoleResolver(["UALICE", "UDAVID"], ["UCARMEN", "UDAVID"])
    await service.approve(request.id, "technical", DAVID, CALLED)
    assert await reason(service.approve(request.id, "vendor_manager", DAVID, CALLED)) == (
        "same_person_both_slots"
    )
    guest = Actor("UCARMEN", TEAM, is_guest=True)
    other_team = Actor("UCARMEN", "T0002")
    assert await reason(service.approve(request.id, "vendor_manager", guest, CALLED)) == (
        "guest_not_allowed"
    )
    assert await reason(service.approve(request.id, "vendor_manager", other_team, CALLED)) == (
        "wrong_workspace"
    )
    after = await service.get(request.id)
    assert after.state is State.PARTIALLY_APPROVED and after.version == 2


async def test_callback_must_be_attested_on_a_registered_number(service: ApprovalService) -> None:
    request = await open_for(service)
    no_call = service.approve(request.id, "technical", ALICE, Attestation(called_back=False))
    assert await reason(no_call) == "callback_not_attested"
    wrong = Attestation(called_back=True, phone="+1 415 555 0199")  # the number in the email
    assert await reason(service.approve(request.id, "technical", ALICE, wrong)) == (
        "unregistered_callback_number"
    )
    junk = Attestation(called_back=True, phone="12")
    assert await reason(service.approve(request.id, "technical", ALICE, junk)) == "bad_input"
    contact = Attestation(called_back=True, phone="(206) 555-0110")  # a registered contact
    assert (await service.approve(request.id, "technical", ALICE, contact)).technical is not None


async def test_totp_vendor_needs_a_fresh_code_per_slot(
    service: ApprovalService, clock: Clock
) -> None:
    request = await open_for(service, "totpco")
    code = pyotp.TOTP(SECRET).at(clock.now)
    assert await reason(service.approve(request.id, "technical", ALICE, CALLED)) == "proof_required"
    # a refused click burns no code: the requester's attempt is stopped before the proof
    service.roles = StaticRoleResolver(["UREQ", "UALICE"], ["UCARMEN"])
    requester = service.approve(request.id, "technical", REQ, CALLED, proof=Proof("totp", code))
    assert await reason(requester) == "requester_cannot_approve"
    one = await service.approve(request.id, "technical", ALICE, CALLED, proof=Proof("totp", code))
    assert one.technical is not None and one.technical.evidence["proof"] == "totp"
    replay = service.approve(
        request.id, "vendor_manager", CARMEN, CALLED, proof=Proof("totp", code)
    )
    assert await reason(replay) == "proof_replayed"
    clock.now += dt.timedelta(seconds=30)
    fresh = Proof("totp", pyotp.TOTP(SECRET).at(clock.now))
    assert (
        await service.approve(request.id, "vendor_manager", CARMEN, CALLED, proof=fresh)
    ).state is (State.CLEARED)
    wrong_kind = service.approve(
        request.id, "technical", ALICE, CALLED, proof=Proof("ed25519", "x")
    )
    assert await reason(wrong_kind) == "already_decided"


async def test_double_click_with_a_proof_is_already_decided(
    service: ApprovalService, clock: Clock
) -> None:
    request = await open_for(service, "totpco")
    proof = Proof("totp", pyotp.TOTP(SECRET).at(clock.now))
    await service.approve(request.id, "technical", ALICE, CALLED, proof=proof)
    again = service.approve(request.id, "technical", ALICE, CALLED, proof=proof)
    assert await reason(again) == "already_decided"


async def test_ed25519_vendor_signs_each_slot_challenge(service: ApprovalService) -> None:
    request = await open_for(service, "edco")
    texts = {slot: service.challenge(request, slot) for slot in Slot}
    assert texts[Slot.TECHNICAL] != texts[Slot.VENDOR_MANAGER]
    for slot, text in texts.items():
        assert text is not None and text.startswith(f"deskguard-challenge:{request.id}:")
        assert len(bytes.fromhex(request.challenge(slot))) == 16
    sig_t = SIGNER.sign(str(texts[Slot.TECHNICAL]).encode()).hex()
    wrong_slot = service.approve(
        request.id, "vendor_manager", CARMEN, CALLED, proof=Proof("ed25519", sig_t)
    )
    assert await reason(wrong_slot) == "proof_invalid"
    await service.approve(request.id, "technical", ALICE, CALLED, proof=Proof("ed25519", sig_t))
    sig_v = base64.b64encode(SIGNER.sign(str(texts[Slot.VENDOR_MANAGER]).encode())).decode()
    done = await service.approve(
        request.id, "vendor_manager", CARMEN, CALLED, proof=Proof("ed25519", sig_v)
    )
    assert done.state is State.CLEARED
    assert done.vendor_manager is not None
    assert done.vendor_manager.evidence["challenge"] == request.challenge(Slot.VENDOR_MANAGER)


async def test_proof_for_a_vendor_without_token_is_refused(service: ApprovalService) -> None:
    request = await open_for(service)
    extra = service.approve(request.id, "technical", ALICE, CALLED, proof=Proof("totp", "123456"))
    assert await reason(extra) == "bad_input"


async def test_deny_and_cancel(service: ApprovalService) -> None:
    request = await open_for(service)
    assert await reason(service.deny(request.id, CARMEN, "  ")) == "reason_required"
    denied = await service.deny(request.id, CARMEN, "callback number did not answer")
    assert denied.state is State.DENIED and denied.close_reason == "callback number did not answer"
    other = await open_for(service)
    assert await reason(service.cancel(other.id, ALICE)) == "not_requester"
    assert (await service.cancel(other.id, REQ, "duplicate")).state is State.CANCELLED


async def test_open_request_validation(service: ApprovalService) -> None:
    def open_(**kw: Any) -> Any:
        args: dict[str, Any] = {
            "vendor_id": "plain",
            "kind": "other",
            "summary": "s",
            "requester": REQ,
        }
        return service.open_request(**{**args, **kw})

    assert await reason(open_(vendor_id="evil-corp")) == "unknown_vendor"
    assert await reason(open_(kind="wire_transfer")) == "bad_input"
    assert await reason(open_(summary="  ")) == "bad_input"
    assert await reason(open_(summary="x" * 501)) == "bad_input"
    assert await reason(open_(summary="reset \u202egnp.exe")) == "bad_input"
    assert await reason(open_(channel="C1 <!here>")) == "bad_input"
    assert await reason(open_(verification={"x": object()})) == "bad_input"
    assert await reason(open_(verification={"x": "y" * 30_000})) == "bad_input"
    assert (
        await reason(open_(requester=Actor("UGUEST", TEAM, is_guest=True))) == "guest_not_allowed"
    )
    assert await service.list_open() == []


@pytest.mark.parametrize(
    "bad_id", ["", "../../etc", "x" * 200, "AAAAAAAAAAAAAAA\n", "AAAAAAAAAAAAAAAA"]
)
async def test_bad_request_ids_are_not_found(service: ApprovalService, bad_id: str) -> None:
    assert await reason(service.approve(bad_id, "technical", ALICE, CALLED)) == "not_found"
    assert await reason(service.deny(bad_id, CARMEN, "x")) == "not_found"


async def test_unknown_slot(service: ApprovalService) -> None:
    request = await open_for(service)
    assert await reason(service.approve(request.id, "both", ALICE, CALLED)) == "bad_input"


async def test_expire_due_uses_the_clock(service: ApprovalService, clock: Clock) -> None:
    request = await open_for(service)
    clock.now += dt.timedelta(hours=23)
    assert await service.expire_due() == []
    clock.now += dt.timedelta(hours=1)
    assert await reason(service.approve(request.id, "technical", ALICE, CALLED)) == "expired"
    (expired,) = await service.expire_due()
    assert expired.id == request.id and expired.state is State.EXPIRED
    assert await service.list_open() == []


async def test_staffing_warnings(service: ApprovalService) -> None:
    assert await service.eligible_people_count() == 3
    assert await service.staffing_warnings() == []
    service.roles = StaticRoleResolver(["UDAVID"], ["UDAVID"])
    assert await service.eligible_people_count() == 1
    assert await service.staffing_warnings() == [
        "fewer than two eligible people are configured: no request can ever be cleared"
    ]
    service.roles = StaticRoleResolver(["UA", "UB"], [])
    assert "no vendor relationship manager is configured" in await service.staffing_warnings()
