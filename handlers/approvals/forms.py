"""Reading the flow's modal submissions: typed values, choices, boxes, and the error texts.

Slack sends what a person typed; every value is read defensively (wrong types read as empty) and
cleaned by the core's rules (length, control characters) before the service sees it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.approvals.machine import clean_text
from bot.errors import StoreError, TransitionRefused
from handlers import ids
from handlers.approvals.slack_roles import LookupFailed

WHO_FAILED = (
    "deskguard could not confirm your Slack account (guest or workspace) with Slack, so nothing "
    "was changed. Try again in a minute."
)
STORE_FAILED = "deskguard could not reach its state store, so nothing was changed. Try again."


def json_object(value: object) -> dict[str, Any]:
    """A JSON object from a short string (button value, private_metadata); {} for anything else."""
    if not isinstance(value, str) or len(value) > 2000:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def private_metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    """The view's private_metadata as a JSON object."""
    return json_object(view.get("private_metadata"))


def state_values(view: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted view's ``state.values`` (block id → action id → element)."""
    values = (view.get("state") or {}).get("values")
    return values if isinstance(values, dict) else {}


def input_element(values: Mapping[str, Any], block: str, action: str) -> dict[str, Any]:
    """One submitted input element; {} when missing or malformed."""
    element = (values.get(block) or {}).get(action)
    return element if isinstance(element, dict) else {}


def text_value(values: Mapping[str, Any], block: str, action: str) -> str:
    """A text input's value, stripped; '' when missing."""
    value = input_element(values, block, action).get("value")
    return value.strip() if isinstance(value, str) else ""


def choice(values: Mapping[str, Any], block: str, action: str) -> str:
    """A static_select's chosen value, or a text input's text."""
    element = input_element(values, block, action)
    option = element.get("selected_option")
    if isinstance(option, dict) and isinstance(option.get("value"), str):
        return str(option["value"])
    value = element.get("value")
    return value.strip() if isinstance(value, str) else ""


def checked_boxes(values: Mapping[str, Any], block: str, action: str) -> set[str]:
    """The values of a checkboxes element's ticked options."""
    options = input_element(values, block, action).get("selected_options")
    if not isinstance(options, list):
        return set()
    return {str(o.get("value")) for o in options if isinstance(o, dict)}


def checked_text(
    values: Mapping[str, Any],
    block: str,
    action: str,
    limit: int,
    what: str,
    errors: dict[str, str],
) -> str | None:
    """A text input cleaned by the core's rules (length, control characters); '' is None."""
    try:
        return clean_text(text_value(values, block, action), limit=limit, what=what)
    except TransitionRefused as exc:
        errors[block] = str(exc)
        return None


def failure_text(exc: Exception) -> str:
    """What a modal shows when a step was refused or could not be done (nothing changed)."""
    if isinstance(exc, LookupFailed):
        return WHO_FAILED
    if isinstance(exc, StoreError) and not isinstance(exc, TransitionRefused):
        return STORE_FAILED
    return str(exc)


REFUSAL_BLOCK = {
    "proof_required": ids.BLOCK_PROOF,
    "proof_invalid": ids.BLOCK_PROOF,
    "proof_replayed": ids.BLOCK_PROOF,
    "proof_unavailable": ids.BLOCK_PROOF,
    "unregistered_callback_number": ids.BLOCK_PHONE,
    "callback_not_attested": ids.BLOCK_CALLED,
}


def refusal_block(reason: str, has_proof: bool) -> str:
    """The modal input a refusal is shown under."""
    block = REFUSAL_BLOCK.get(reason, ids.BLOCK_REASON)
    return ids.BLOCK_REASON if block == ids.BLOCK_PROOF and not has_proof else block
