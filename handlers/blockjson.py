"""Block Kit objects as JSON dicts, without slack_sdk's per-call validation walk.

``JsonObject.to_dict`` validates every attribute of every nested object on each call; for the
cards the inbound workers post (one per message) that walk costs more than building the card.
The block types deskguard's builders use (sections and contexts of mrkdwn text, buttons) are
turned into dicts directly, with exactly what ``to_dict`` gives (a differential test holds it to
that); anything else, or any of them with an attribute set that is not handled here, goes
through ``to_dict``. Lengths are capped where the text is built (handlers/blocks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import TextObject

__all__ = ["block_dicts"]

# Slack's limits that ``to_dict`` would enforce for these shapes: past one, ``to_dict`` runs
# (and raises as it always did).
SECTION_TEXT_MAX = 3000
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255


def _text(obj: TextObject) -> dict[str, Any]:
    fields = vars(obj)
    out: dict[str, Any] = {"text": fields["text"], "type": fields["type"]}
    if fields.get("emoji") is not None:
        out["emoji"] = fields["emoji"]
    if type(obj) is MarkdownTextObject and fields.get("verbatim") is not None:
        out["verbatim"] = fields["verbatim"]
    return out


def _element(obj: Any) -> dict[str, Any]:
    kind = type(obj)
    if kind is MarkdownTextObject or kind is PlainTextObject:
        if isinstance(vars(obj).get("text"), str):
            return _text(obj)
    elif kind is ButtonElement:
        fields = vars(obj)
        extra = ("url", "confirm", "accessibility_label", "agent_prompt", "agent_prompt_display")
        text = fields.get("text")
        if (
            type(text) is PlainTextObject
            and all(fields.get(k) is None for k in extra)
            and len(vars(text)["text"]) <= BUTTON_TEXT_MAX
            and len(fields.get("value") or "") <= BUTTON_VALUE_MAX
            and len(fields.get("action_id") or "") <= ACTION_ID_MAX
        ):
            out: dict[str, Any] = {"action_id": fields["action_id"], "text": _text(text)}
            out["type"] = "button"
            for key in ("style", "value", "visible_to_user_ids"):
                value = fields.get(key)
                if value is not None and (not hasattr(value, "__len__") or len(value) > 0):
                    out[key] = value
            return out
    result: dict[str, Any] = obj.to_dict()
    return result


def _short(text: object, most: int) -> bool:
    if not isinstance(text, TextObject):
        return False
    value = vars(text).get("text")
    return isinstance(value, str) and len(value) <= most


def _block(block: Block) -> dict[str, Any]:
    kind = type(block)
    fields = vars(block)
    if fields.get("block_id") is None:
        if kind is SectionBlock:
            if not fields.get("fields") and fields.get("accessory") is None:
                text = fields.get("text")
                if fields.get("expand") is None and _short(text, SECTION_TEXT_MAX):
                    return {"text": _element(text), "type": "section"}
        elif kind is ContextBlock or kind is ActionsBlock:
            elements = fields.get("elements") or []
            most = CONTEXT_ELEMENTS_MAX if kind is ContextBlock else ACTIONS_ELEMENTS_MAX
            if 0 < len(elements) <= most:
                return {"elements": [_element(e) for e in elements], "type": fields["type"]}
    result: dict[str, Any] = block.to_dict()
    return result


def block_dicts(blocks: Sequence[Block | dict[str, Any]]) -> list[dict[str, Any]]:
    """``blocks`` as the JSON dicts Slack takes (dicts pass through unchanged)."""
    return [b if isinstance(b, dict) else _block(b) for b in blocks]
