"""The request, approval and deny modals, without Slack."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from bot.approvals.machine import RequestKind, Slot
from handlers import ids
from handlers.approvals import modal_blocks
from tests.handlers.approvals.samples import REGISTRY, request


def _inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_request_modal_lists_registry_vendors_and_preselects() -> None:
    view = modal_blocks.request_modal(
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
        dataclasses.replace(REGISTRY.vendors[0], id=f"v{i}", name=f"Vendor {i}") for i in range(150)
    ]
    view = modal_blocks.request_modal(vendors).to_dict()
    element = _inputs(view)[ids.BLOCK_VENDOR]["element"]
    assert element["type"] == "plain_text_input"


def test_approve_modal_asks_for_callback_contact_reason_and_no_proof_without_token() -> None:
    view = modal_blocks.approve_modal(request(), Slot.TECHNICAL, REGISTRY.get("plain")).to_dict()
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
    view = modal_blocks.approve_modal(
        request(vendor_id="totpco"), Slot.TECHNICAL, REGISTRY.get("totpco")
    )
    data = view.to_dict()
    assert json.loads(data["private_metadata"])["p"] == "totp"
    proof = _inputs(data)[ids.BLOCK_PROOF]
    assert "one-time code" in proof["label"]["text"]


def test_approve_modal_shows_ed25519_vendors_the_challenge() -> None:
    view = modal_blocks.approve_modal(
        request(vendor_id="edco"),
        Slot.VENDOR_MANAGER,
        REGISTRY.get("edco"),
        challenge="deskguard-challenge:AbCdEfGhIjKlMnOp:bb",
    ).to_dict()
    assert json.loads(view["private_metadata"])["p"] == "ed25519"
    assert "deskguard-challenge:AbCdEfGhIjKlMnOp:bb" in json.dumps(view)
    assert "signature" in _inputs(view)[ids.BLOCK_PROOF]["label"]["text"]


def test_deny_modal_requires_a_reason() -> None:
    view = modal_blocks.deny_modal(request()).to_dict()
    assert view["callback_id"] == ids.VIEW_DENY
    reason = _inputs(view)[ids.BLOCK_REASON]
    assert reason.get("optional", False) is False
    assert "&lt;!channel&gt;" in json.dumps(view)
