"""The request card and its shared pieces (verification line, button values), without Slack."""

from __future__ import annotations

import datetime as dt

from bot.approvals.machine import Approval, Slot, State
from handlers import ids
from handlers.approvals import card_blocks, pieces
from tests.handlers.approvals.samples import REGISTRY, T0, buttons, dump, request


def test_card_shows_who_what_vendor_verification_and_callback() -> None:
    vendor = REGISTRY.get("plain")
    blocks = card_blocks.card_blocks(request(), vendor)
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
    text = dump(card_blocks.card_blocks(request(), REGISTRY.get("plain")))
    assert "<!channel>" not in text and "<!here>" not in text and "<@U999>" not in text
    assert "&lt;!channel&gt;" in text
    assert "hxxps://evil[.]example" in text
    assert "&amp; co" in text


def test_pending_card_has_approve_and_deny_on_both_slots() -> None:
    found = buttons(card_blocks.card_blocks(request(), REGISTRY.get("plain")))
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
    blocks = card_blocks.card_blocks(signed, REGISTRY.get("plain"))
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
        blocks = card_blocks.card_blocks(final, REGISTRY.get("plain"))
        assert buttons(blocks) == [], final.state
    denied = dump(card_blocks.card_blocks(finals[1], REGISTRY.get("plain")))
    assert "*Denied* by <@UCARMEN>" in denied and "no &lt;b&gt;" in denied
    cleared = dump(card_blocks.card_blocks(finals[0], REGISTRY.get("plain")))
    assert "*Cleared*" in cleared and "<@UALICE>" in cleared and "<@UCARMEN>" in cleared


def test_card_without_a_registered_vendor_says_not_to_approve() -> None:
    text = dump(card_blocks.card_blocks(request(), None))
    assert "no longer in the registry" in text


def test_card_shows_the_challenge_only_on_open_slots() -> None:
    challenges = {Slot.TECHNICAL: "deskguard-challenge:X:aa", Slot.VENDOR_MANAGER: "c2"}
    pending = dump(card_blocks.card_blocks(request(), REGISTRY.get("edco"), challenges=challenges))
    assert "deskguard-challenge:X:aa" in pending and "`c2`" in pending
    signed = request(
        state=State.PARTIALLY_APPROVED, technical=Approval("UALICE", T0, None, {}), version=2
    )
    text = dump(card_blocks.card_blocks(signed, REGISTRY.get("edco"), challenges=challenges))
    assert "deskguard-challenge:X:aa" not in text and "`c2`" in text


def test_verification_line_without_a_report() -> None:
    assert "none attached" in pieces.verification_line({}, frozenset())
    expired = pieces.verification_line({"target": "evil.example"}, frozenset())
    assert "had expired" in expired and "evil[.]example" in expired
    assert "none attached" in pieces.verification_line({"verdict": "<b>"}, frozenset())


def test_slot_values_round_trip_and_reject_anything_else() -> None:
    assert pieces.parse_slot_value(pieces.slot_value("AbCdEfGhIjKlMnOp", Slot.TECHNICAL)) == (
        "AbCdEfGhIjKlMnOp",
        Slot.TECHNICAL,
    )
    for bad in (None, 5, "", "x", "a|b|c", "id|owner", "northwind.io"):
        assert pieces.parse_slot_value(bad) is None, bad
