"""The countersign flow's Block Kit builders, without Slack: card, modals, DM text, audit."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from slack_sdk.models.blocks import Block

from bot.approvals.audit import AuditEvent
from bot.approvals.machine import Approval, Request, RequestKind, Slot, State
from bot.registry import Registry, parse_registry
from handlers import approval_blocks as ab
from handlers import ids

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HOSTILE = "Reset MFA <!channel> for <https://evil.example|j.doe> & co"


def _registry() -> Registry:
    def vendor(vid: str, token: dict[str, Any] | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": vid,
            "name": f"{vid.title()} <b>Corp</b>",
            "domains": [f"{vid}.example"],
            "contacts": [
                {
                    "name": "Dana <@U999>",
                    "role": "Account manager",
                    "email": f"dana@{vid}.example",
                    "phone": "+1 206 555 0110",
                }
            ],
            "callback": {
                "phone": "+1 206 555 0142",
                "instructions": "Ask for the security desk <!here>",
                "hours": "Mon-Fri",
            },
            "privileged": True,
            "last_reviewed": "2026-09-15",
            "owner": "Priya",
        }
        if token:
            entry["token"] = token
        return entry

    key = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    return parse_registry(
        {
            "vendors": [
                vendor("plain", None),
                vendor("totpco", {"type": "totp", "secret_env": "TOTPCO"}),
                vendor("edco", {"type": "ed25519", "public_key": key}),
            ]
        }
    )


REGISTRY = _registry()


def request(**changes: Any) -> Request:
    base = Request(
        id="AbCdEfGhIjKlMnOp",
        vendor_id="plain",
        vendor_name="Plain <b>Corp</b>",
        kind=RequestKind.MFA_RESET,
        summary=HOSTILE,
        requester_id="UREQ",
        team_id="T0001",
        created_at=T0,
        expires_at=T0 + dt.timedelta(hours=24),
        channel="CAPPROVALS",
        verification={
            "target": "northwind-support.com",
            "verdict": "suspicious",
            "reasons": ["lookalike_domain"],
            "ticket": "INC-1 <!here>",
        },
        challenges={"technical": "aa" * 16, "vendor_manager": "bb" * 16},
    )
    return dataclasses.replace(base, **changes)


def dump(blocks: list[Block]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


def buttons(blocks: list[Block]) -> list[dict[str, Any]]:
    out = []
    for block in blocks:
        data = block.to_dict()
        if data["type"] == "actions":
            out += data["elements"]
    return out


def test_card_shows_who_what_vendor_verification_and_callback() -> None:
    vendor = REGISTRY.get("plain")
    blocks = ab.card_blocks(request(), vendor)
    text = dump(blocks)
    assert "High-risk request: MFA reset" in text
    assert "<@UREQ>" in text
    assert "Plain &lt;b&gt;Corp&lt;/b&gt;" in text
    assert "+1 206-555-0142" in text and "Ask for the security desk &lt;!here&gt;" in text
    assert "Dana &lt;@U999&gt;, Account manager, +1 206-555-0110" in text
    assert ":warning: Suspicious: northwind-support[.]com (`lookalike_domain`)" in text
    assert "INC-1 &lt;!here&gt;" in text
    assert "Technical approval" in text and "Vendor manager approval" in text
    assert "/verify-vendor audit AbCdEfGhIjKlMnOp" in text


def test_card_escapes_and_defangs_what_the_requester_typed() -> None:
    text = dump(ab.card_blocks(request(), REGISTRY.get("plain")))
    assert "<!channel>" not in text and "<!here>" not in text and "<@U999>" not in text
    assert "&lt;!channel&gt;" in text
    assert "hxxps://evil[.]example" in text
    assert "&amp; co" in text


def test_pending_card_has_approve_and_deny_on_both_slots() -> None:
    found = buttons(ab.card_blocks(request(), REGISTRY.get("plain")))
    pairs = [(b["action_id"], b["value"]) for b in found]
    assert pairs == [
        (ids.ACTION_APPROVE, "AbCdEfGhIjKlMnOp|technical"),
        (ids.ACTION_DENY, "AbCdEfGhIjKlMnOp|technical"),
        (ids.ACTION_APPROVE, "AbCdEfGhIjKlMnOp|vendor_manager"),
        (ids.ACTION_DENY, "AbCdEfGhIjKlMnOp|vendor_manager"),
    ]
    assert {b["style"] for b in found} == {"primary", "danger"}


def test_signed_slot_shows_who_and_when_and_loses_its_buttons() -> None:
    signed = request(
        state=State.PARTIALLY_APPROVED,
        technical=Approval("UALICE", T0 + dt.timedelta(minutes=5), "ok", {}),
        version=2,
    )
    blocks = ab.card_blocks(signed, REGISTRY.get("plain"))
    text = dump(blocks)
    assert "approved by <@UALICE>" in text
    assert f"<!date^{int((T0 + dt.timedelta(minutes=5)).timestamp())}^" in text
    assert "waiting for a vendor manager" in text
    values = {b["value"] for b in buttons(blocks)}
    assert values == {"AbCdEfGhIjKlMnOp|vendor_manager"}


def test_final_cards_have_no_buttons() -> None:
    approval = Approval("UALICE", T0, None, {})
    manager = Approval("UCARMEN", T0, None, {})
    finals = [
        request(state=State.CLEARED, technical=approval, vendor_manager=manager, closed_at=T0),
        request(state=State.DENIED, closed_by="UCARMEN", closed_at=T0, close_reason="no <b>"),
        request(state=State.EXPIRED, closed_by="deskguard", closed_at=T0),
        request(state=State.CANCELLED, closed_by="UREQ", closed_at=T0),
    ]
    for final in finals:
        blocks = ab.card_blocks(final, REGISTRY.get("plain"))
        assert buttons(blocks) == [], final.state
    denied = dump(ab.card_blocks(finals[1], REGISTRY.get("plain")))
    assert "*Denied* by <@UCARMEN>" in denied and "no &lt;b&gt;" in denied
    cleared = dump(ab.card_blocks(finals[0], REGISTRY.get("plain")))
    assert "*Cleared*" in cleared and "<@UALICE>" in cleared and "<@UCARMEN>" in cleared


def test_card_without_a_registered_vendor_says_not_to_approve() -> None:
    text = dump(ab.card_blocks(request(), None))
    assert "no longer in the registry" in text


def test_card_shows_the_challenge_only_on_open_slots() -> None:
    challenges = {Slot.TECHNICAL: "deskguard-challenge:X:aa", Slot.VENDOR_MANAGER: "c2"}
    pending = dump(ab.card_blocks(request(), REGISTRY.get("edco"), challenges=challenges))
    assert "deskguard-challenge:X:aa" in pending and "`c2`" in pending
    signed = request(
        state=State.PARTIALLY_APPROVED, technical=Approval("UALICE", T0, None, {}), version=2
    )
    text = dump(ab.card_blocks(signed, REGISTRY.get("edco"), challenges=challenges))
    assert "deskguard-challenge:X:aa" not in text and "`c2`" in text


def test_verification_line_without_a_report() -> None:
    assert "none attached" in ab.verification_line({}, frozenset())
    expired = ab.verification_line({"target": "evil.example"}, frozenset())
    assert "had expired" in expired and "evil[.]example" in expired
    assert "none attached" in ab.verification_line({"verdict": "<b>"}, frozenset())


def test_slot_values_round_trip_and_reject_anything_else() -> None:
    assert ab.parse_slot_value(ab.slot_value("AbCdEfGhIjKlMnOp", Slot.TECHNICAL)) == (
        "AbCdEfGhIjKlMnOp",
        Slot.TECHNICAL,
    )
    for bad in (None, 5, "", "x", "a|b|c", "id|owner", "northwind.io"):
        assert ab.parse_slot_value(bad) is None, bad


def _inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_request_modal_lists_registry_vendors_and_preselects() -> None:
    view = ab.request_modal(
        REGISTRY.vendors, vendor_id="totpco", metadata={"entry": "e1"}
    ).to_dict()
    assert view["callback_id"] == ids.VIEW_NEW_REQUEST
    inputs = _inputs(view)
    assert set(inputs) == {ids.BLOCK_VENDOR, ids.BLOCK_KIND, ids.BLOCK_TICKET, ids.BLOCK_SUMMARY}
    vendor = inputs[ids.BLOCK_VENDOR]["element"]
    assert [o["value"] for o in vendor["options"]] == ["edco", "plain", "totpco"]
    assert vendor["initial_option"]["value"] == "totpco"
    kinds = [o["value"] for o in inputs[ids.BLOCK_KIND]["element"]["options"]]
    assert kinds == [k.value for k in RequestKind]
    assert inputs[ids.BLOCK_TICKET].get("optional") is True
    assert inputs[ids.BLOCK_SUMMARY].get("optional", False) is False
    assert inputs[ids.BLOCK_SUMMARY]["element"]["max_length"] == 500
    assert json.loads(view["private_metadata"]) == {"entry": "e1"}


def test_request_modal_with_many_vendors_takes_a_name() -> None:
    vendors = [
        REGISTRY.vendors[0].model_copy(update={"id": f"v{i}", "name": f"Vendor {i}"})
        for i in range(150)
    ]
    view = ab.request_modal(vendors).to_dict()
    element = _inputs(view)[ids.BLOCK_VENDOR]["element"]
    assert element["type"] == "plain_text_input"


def test_approve_modal_asks_for_callback_contact_reason_and_no_proof_without_token() -> None:
    view = ab.approve_modal(request(), Slot.TECHNICAL, REGISTRY.get("plain")).to_dict()
    assert view["callback_id"] == ids.VIEW_APPROVE
    assert json.loads(view["private_metadata"]) == {
        "r": "AbCdEfGhIjKlMnOp",
        "s": "technical",
        "p": None,
    }
    inputs = _inputs(view)
    assert set(inputs) == {ids.BLOCK_PHONE, ids.BLOCK_CONTACT, ids.BLOCK_CALLED, ids.BLOCK_REASON}
    numbers = [o["value"] for o in inputs[ids.BLOCK_PHONE]["element"]["options"]]
    assert numbers == ["+12065550142", "+12065550110"]
    called = inputs[ids.BLOCK_CALLED]
    assert called["element"]["options"][0]["value"] == "called_back"
    assert "the callback line is +1 206-555-0142" in called["label"]["text"]
    assert "Dana" in inputs[ids.BLOCK_CONTACT]["hint"]["text"]


def test_approve_modal_asks_totp_vendors_for_a_code() -> None:
    view = ab.approve_modal(request(vendor_id="totpco"), Slot.TECHNICAL, REGISTRY.get("totpco"))
    data = view.to_dict()
    assert json.loads(data["private_metadata"])["p"] == "totp"
    proof = _inputs(data)[ids.BLOCK_PROOF]
    assert "one-time code" in proof["label"]["text"]


def test_approve_modal_shows_ed25519_vendors_the_challenge() -> None:
    view = ab.approve_modal(
        request(vendor_id="edco"),
        Slot.VENDOR_MANAGER,
        REGISTRY.get("edco"),
        challenge="deskguard-challenge:AbCdEfGhIjKlMnOp:bb",
    ).to_dict()
    assert json.loads(view["private_metadata"])["p"] == "ed25519"
    assert "deskguard-challenge:AbCdEfGhIjKlMnOp:bb" in json.dumps(view)
    assert "signature" in _inputs(view)[ids.BLOCK_PROOF]["label"]["text"]


def test_deny_modal_requires_a_reason() -> None:
    view = ab.deny_modal(request()).to_dict()
    assert view["callback_id"] == ids.VIEW_DENY
    reason = _inputs(view)[ids.BLOCK_REASON]
    assert reason.get("optional", False) is False
    assert "&lt;!channel&gt;" in json.dumps(view)


def test_outcome_texts() -> None:
    approval, manager = Approval("UALICE", T0, None, {}), Approval("UCARMEN", T0, None, {})
    cleared = ab.outcome_text(
        request(state=State.CLEARED, technical=approval, vendor_manager=manager)
    )
    assert "*cleared*" in cleared and "<@UALICE>" in cleared and "<@UCARMEN>" in cleared
    denied = ab.outcome_text(
        request(state=State.DENIED, closed_by="UCARMEN", close_reason="<!channel> no")
    )
    assert "*denied* by <@UCARMEN>: &lt;!channel&gt; no" in denied
    assert "Do not go ahead" in ab.outcome_text(request(state=State.EXPIRED))
    assert "Plain &lt;b&gt;Corp&lt;/b&gt;" in ab.opened_text(request(), "CAPPROVALS")


def test_audit_blocks_list_events_with_evidence_and_escaped_notes() -> None:
    opened = request()
    signed = request(state=State.PARTIALLY_APPROVED, version=2)
    events = [
        AuditEvent(1, T0, opened.id, "open", "UREQ", None, "pending", opened),
        AuditEvent(
            2,
            T0 + dt.timedelta(minutes=3),
            opened.id,
            "approve_technical",
            "UALICE",
            "pending",
            "partially_approved",
            signed,
            note="Spoke with Dana. <!channel>",
            evidence={"callback": "attested", "callback_phone": "+12065550142", "proof": "totp"},
        ),
    ]
    text = dump(ab.audit_blocks(signed, events))
    assert "2026-11-02 09:00:00 UTC: *open* by <@UREQ> (pending)" in text
    assert "*approve_technical* by <@UALICE> (pending → partially_approved)" in text
    assert "called +1 206-555-0142" in text and "vendor proof: totp" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text


def test_audit_blocks_stay_within_slack_limits() -> None:
    opened = request()
    events = [
        AuditEvent(i, T0, opened.id, "open", "UREQ", None, "pending", opened, note="x" * 900)
        for i in range(100)
    ]
    blocks = ab.audit_blocks(opened, events)
    assert len(blocks) <= 50
    for block in blocks:
        data = block.to_dict()
        if data["type"] == "section":
            assert len(data["text"]["text"]) <= 3000
    assert "Only the last 40 events" in dump(blocks)
