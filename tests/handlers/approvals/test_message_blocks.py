"""The requester's DM texts and the audit trail blocks, without Slack."""

from __future__ import annotations

import datetime as dt

from bot.approvals.audit import AuditEvent
from bot.approvals.machine import Approval, State
from handlers.approvals import message_blocks
from tests.handlers.approvals.samples import T0, dump, request


def test_outcome_texts() -> None:
    approval, manager = Approval("UALICE", T0, None, {}), Approval("UCARMEN", T0, None, {})
    cleared = message_blocks.outcome_text(
        request(state=State.CLEARED, technical=approval, vendor_manager=manager)
    )
    assert "*cleared*" in cleared and "<@UALICE>" in cleared and "<@UCARMEN>" in cleared
    denied = message_blocks.outcome_text(
        request(state=State.DENIED, closed_by="UCARMEN", close_reason="<!channel> no")
    )
    assert "*denied* by <@UCARMEN>: &lt;!channel&gt; no" in denied
    assert "Do not go ahead" in message_blocks.outcome_text(request(state=State.EXPIRED))
    assert "Plain &lt;b&gt;Corp&lt;/b&gt;" in message_blocks.opened_text(request(), "CAPPROVALS")


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
    text = dump(message_blocks.audit_blocks(signed, events))
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
    blocks = message_blocks.audit_blocks(opened, events)
    assert len(blocks) <= 50
    for block in blocks:
        data = block.to_dict()
        if data["type"] == "section":
            assert len(data["text"]["text"]) <= 3000
    assert "Only the last 40 events" in dump(blocks)
