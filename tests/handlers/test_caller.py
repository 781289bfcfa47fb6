"""Phone numbers, vendor names, "Check a caller" and "Report to security" through the real app:
signed requests in, recorded Slack Web API calls out."""

from __future__ import annotations

import json
from typing import Any

from bot.dns import Resolver
from bot.registry import Registry
from handlers import ids
from tests.support.slack_app import Harness, running_app

CALLBACK_LINE = ":telephone_receiver: *Call back on +1 206-555-0142, Mon-Fri 08:00-18:00 Pacific*"


def _shown(data: dict[str, Any]) -> str:
    return json.dumps(data.get("blocks", []), ensure_ascii=False)


def _buttons(data: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e.get("value", "")
        for b in data.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    }


def _values(vendor: str | None, number: str, name: str = "", request: str = "") -> dict:
    values: dict[str, Any] = {
        ids.BLOCK_CALLER_NAME: {ids.INPUT_CALLER_NAME: {"type": "plain_text_input", "value": name}},
        ids.BLOCK_CALLER_NUMBER: {ids.INPUT_CALLER_NUMBER: {"value": number}},
        ids.BLOCK_CALLER_REQUEST: {ids.INPUT_CALLER_REQUEST: {"value": request or None}},
    }
    option = {"value": vendor} if vendor else None
    values[ids.BLOCK_CALLER_VENDOR] = {ids.INPUT_CALLER_VENDOR: {"selected_option": option}}
    return values


async def _submit(
    app: Harness, values: dict, metadata: dict, user: str = "U111"
) -> tuple[int, str]:
    payload = {
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": ids.VIEW_CHECK_CALLER,
            "private_metadata": json.dumps(metadata),
            "state": {"values": values},
        },
    }
    return await app.interact(payload)


def _click(action_id: str, value: str, response_url: str, user: str = "U111") -> dict:
    return {
        "type": "block_actions",
        "trigger_id": "9.9.9",
        "user": {"id": user},
        "channel": {"id": "C111"},
        "container": {"type": "message"},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    }


async def test_phone_number_command_says_whose_number_with_the_callback_first(
    app: Harness,
) -> None:
    await app.command("(206) 555-0110")
    (call,) = await app.slack.wait_for("response_url")
    blocks = call.data["blocks"]
    assert blocks[0]["text"]["text"] == ":white_check_mark: *Verified*: +12065550110"
    assert blocks[1]["text"]["text"].startswith(CALLBACK_LINE)
    shown = _shown(call.data)
    assert "the number of Dana Whitfield (Account manager)" in shown
    assert "Contacts' own numbers (call the callback line first)" in shown
    assert shown.index("Call back on") < shown.index("Contacts' own numbers")


async def test_unknown_number_is_unverified_and_says_to_call_the_registry(app: Harness) -> None:
    await app.command("1-8OO-555-0199")
    (call,) = await app.slack.wait_for("response_url")
    shown = _shown(call.data)
    assert call.data["blocks"][0]["text"]["text"] == ":grey_question: *Unverified*: +18005550199"
    assert "proves nothing by itself" in shown
    assert "not a valid domain" not in shown


async def test_vendor_names_answer_with_the_card_or_the_closest_names(app: Harness) -> None:
    await app.command("Acme Corp", token="a")
    await app.command("Northwnd", token="b")
    await app.command("northwind", token="c")
    calls = {c.data["_token"]: c.data for c in await app.slack.wait_for("response_url", 3)}
    assert "No vendor named 'Acme Corp' in the registry." in _shown(calls["a"])
    assert "not a valid domain" not in _shown(calls["a"])
    assert (
        "No vendor named 'Northwnd' in the registry. Closest: Northwind Software."
        in (calls["b"]["text"])
    )
    card = calls["c"]["blocks"][0]["text"]["text"]
    lines = card.splitlines()
    assert lines[1].startswith(CALLBACK_LINE)
    assert "own number +1 206-555-0110" in card
    assert "their own numbers; call the callback line first" in card


async def test_caller_subcommand_and_shortcut_open_the_modal(app: Harness) -> None:
    assert await app.command("caller") == 200
    (opened,) = await app.slack.wait_for("views.open")
    assert opened.data["trigger_id"] == "1337.42.abcd"
    view = opened.data["view"]
    assert view["callback_id"] == ids.VIEW_CHECK_CALLER
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert set(blocks) == {
        ids.BLOCK_CALLER_VENDOR,
        ids.BLOCK_CALLER_NAME,
        ids.BLOCK_CALLER_NUMBER,
        ids.BLOCK_CALLER_REQUEST,
    }
    options = [o["value"] for o in blocks[ids.BLOCK_CALLER_VENDOR]["element"]["options"]]
    assert options == ["contoso-payroll", "fabrikam", "northwind"]
    assert json.loads(view["private_metadata"])["response_url"] == app.slack.response_url("r1")
    payload = {
        "type": "shortcut",
        "callback_id": ids.SHORTCUT_CHECK_CALLER,
        "trigger_id": "5.5.5",
        "user": {"id": "U111"},
    }
    assert (await app.interact(payload))[0] == 200
    calls = await app.slack.wait_for("views.open", 2)
    assert calls[1].data["trigger_id"] == "5.5.5"
    assert json.loads(calls[1].data["view"]["private_metadata"]) == {}


async def test_modal_submission_is_checked(app: Harness) -> None:
    status, body = await _submit(app, _values(None, "call me maybe"), {})
    assert status == 200
    errors = json.loads(body)["errors"]
    assert set(errors) == {ids.BLOCK_CALLER_VENDOR, ids.BLOCK_CALLER_NUMBER}
    status, body = await _submit(app, _values("northwind", "+1 555"), {})
    assert set(json.loads(body)["errors"]) == {ids.BLOCK_CALLER_NUMBER}
    assert not app.slack.find("response_url") and not app.slack.find("chat.postMessage")


async def test_suspicious_caller_answer_leads_with_verdict_and_callback(app: Harness) -> None:
    metadata = {"response_url": app.slack.response_url("m1"), "channel": "C111"}
    values = _values(
        "northwind",
        "+1 800 555 0199",
        name="Sam Okafor <!channel>",
        request="Reset the MFA on jdoe's account <https://evil.example|portal>",
    )
    status, body = await _submit(app, values, metadata)
    assert (status, body) == (200, "")
    (answer,) = await app.slack.wait_for("response_url")
    data = answer.data
    assert data["response_type"] == "ephemeral" and data["unfurl_links"] is False
    assert data["blocks"][0]["text"]["text"] == ":warning: *Suspicious*: +18005550199"
    assert data["blocks"][1]["text"]["text"].startswith(CALLBACK_LINE)
    shown = _shown(data)
    assert "not a number registered for Northwind Software" in shown
    assert "Sam Okafor" in shown and "is not a registered contact of Northwind Software" in shown
    assert "The caller asks for" in shown
    assert "<!channel>" not in shown and "<https://" not in shown
    assert "&lt;!channel&gt;" in shown
    buttons = _buttons(data)
    assert list(buttons) == [ids.ACTION_REPORT_SECURITY]  # never a request for the imitated vendor
    # "Report to security" without a triage channel says so
    await app.interact(
        _click(
            ids.ACTION_REPORT_SECURITY,
            buttons[ids.ACTION_REPORT_SECURITY],
            app.slack.response_url("x"),
        )
    )
    calls = await app.slack.wait_for("response_url", 2)
    assert "DESKGUARD_TRIAGE_CHANNEL" in calls[-1].data["text"]
    assert "not configured" in calls[-1].data["text"]
    assert not app.slack.find("chat.postMessage")


async def test_report_to_security_posts_to_the_triage_channel(
    resolver: Resolver, registry: Registry
) -> None:
    async with running_app(resolver, registry, triage_channel="CSECURITY") as app:
        await app.command("northwind-support.com")
        (answer,) = await app.slack.wait_for("response_url")
        buttons = _buttons(answer.data)
        assert ids.ACTION_START_REQUEST not in buttons
        entry = buttons[ids.ACTION_REPORT_SECURITY]
        await app.interact(_click(ids.ACTION_REPORT_SECURITY, entry, app.slack.response_url("x")))
        (post,) = await app.slack.wait_for("chat.postMessage")
        assert post.data["channel"] == "CSECURITY" and post.data["unfurl_links"] is False
        shown = _shown(post.data)
        assert "Reported to security by <@U111>" in shown
        assert "northwind-support[.]com" in shown and "*Suspicious*" in shown
        assert ids.ACTION_REPORT_SECURITY not in shown  # no buttons in the channel copy
        calls = await app.slack.wait_for("response_url", 2)
        assert "Reported to security in <#CSECURITY>" in calls[-1].data["text"]
        # another user cannot send someone else's report
        await app.interact(
            _click(ids.ACTION_REPORT_SECURITY, entry, app.slack.response_url("y"), user="U999")
        )
        calls = await app.slack.wait_for("response_url", 3)
        assert "expired" in calls[-1].data["text"]
        assert len(app.slack.find("chat.postMessage")) == 1


async def test_verified_caller_with_high_risk_request_offers_a_prefilled_request(
    app: Harness,
) -> None:
    values = _values(
        "northwind", "+1 206 555 0110", name="Dana Whitfield", request="Please reset my MFA"
    )
    assert (await _submit(app, values, {}))[0] == 200  # from the global shortcut: a DM
    (dm,) = await app.slack.wait_for("chat.postMessage")
    assert dm.data["channel"] == "U111"
    blocks = dm.data["blocks"]
    assert blocks[0]["text"]["text"] == ":white_check_mark: *Verified*: +12065550110"
    assert blocks[1]["text"]["text"].startswith(CALLBACK_LINE)
    shown = _shown(dm.data)
    assert "Dana Whitfield is a registered contact of Northwind Software: Account manager" in shown
    value = json.loads(_buttons(dm.data)[ids.ACTION_START_REQUEST])
    assert value["vendor_id"] == "northwind" and value["entry"]
    assert value["summary"] == (
        "Dana Whitfield (+1 206-555-0110) says they are from Northwind Software. They ask: "
        "Please reset my MFA"
    )


async def test_caller_with_a_harmless_request_gets_no_request_button(app: Harness) -> None:
    values = _values("northwind", "+1 206 555 0142", request="Just confirming our meeting")
    await _submit(app, values, {"response_url": app.slack.response_url("m2")})
    (answer,) = await app.slack.wait_for("response_url")
    assert _buttons(answer.data) == {}


async def test_verify_sender_on_a_message_with_a_number_and_an_address(app: Harness) -> None:
    payload = {
        "type": "message_action",
        "callback_id": ids.SHORTCUT_VERIFY_SENDER,
        "trigger_id": "1.2.3",
        "user": {"id": "U111"},
        "channel": {"id": "C111"},
        "message": {
            "type": "message",
            "text": "Sam here, helpdesk@northwind-software.com, call me on 1-8OO-555-0199",
            "ts": "1.2",
        },
        "response_url": app.slack.response_url("vs"),
    }
    assert (await app.interact(payload))[0] == 200
    (call,) = await app.slack.wait_for("response_url")
    shown = _shown(call.data)
    assert "+1 800-555-0199: *not in the vendor registry; do not call it*" in shown
    assert CALLBACK_LINE in shown  # the address's vendor: its registry number, bold
