"""The "Verify sender" shortcut on text, the report buttons, the paste modal, placeholders."""

from __future__ import annotations

import json

from tests.support.slack_app import Harness


def _text(data: dict) -> str:
    return json.dumps(data.get("blocks", []), ensure_ascii=False)


def _action(action_id: str, value: str, *, response_url: str, user: str = "U111") -> dict:
    return {
        "type": "block_actions",
        "trigger_id": "9.9.9",
        "user": {"id": user},
        "channel": {"id": "C111"},
        "container": {"type": "message"},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    }


async def test_shortcut_on_text_checks_every_address_domain_and_phone(app: Harness) -> None:
    text = (
        "Hi, this is Dana <mailto:dana.whitfield@northwind-software.com|"
        "dana.whitfield@northwind-software.com>. Portal: <https://northwind-support.com/login|"
        "northwind-software.com>. Call +1 213 555 0199 or +1 206 555 0142. <!channel>"
    )
    payload = {
        "type": "message_action",
        "callback_id": "verify_sender",
        "trigger_id": "1.2.3",
        "user": {"id": "U111"},
        "channel": {"id": "C111"},
        "message": {"type": "message", "text": text, "ts": "1.2"},
        "response_url": app.slack.response_url("t1"),
    }
    status, _ = await app.interact(payload)
    assert status == 200
    (call,) = await app.slack.wait_for("response_url")
    shown = _text(call.data)
    assert "dana.whitfield@northwind-software.com" in shown
    assert "northwind-support[.]com" in shown  # the link's real target, defanged
    assert "+1 213-555-0199: *not in the vendor registry; do not call it*" in shown
    assert "+1 206-555-0142: registered to Northwind Software (callback number)" in shown
    assert "<!channel>" not in shown


async def test_shortcut_on_text_without_anything_to_check_says_so(app: Harness) -> None:
    payload = {
        "type": "message_action",
        "callback_id": "verify_sender",
        "user": {"id": "U111"},
        "channel": {"id": "C111"},
        "message": {"type": "message", "text": "lunch at noon?", "ts": "1.2"},
        "response_url": app.slack.response_url("t2"),
    }
    await app.interact(payload)
    (call,) = await app.slack.wait_for("response_url")
    assert "No address, domain or phone number found" in _text(call.data)


async def test_share_posts_the_report_in_the_channel(app: Harness) -> None:
    await app.command("northwind-support.com")
    await app.slack.wait_for("response_url")
    entry_id = app.services.history.recent("U111")[0].id
    await app.interact(_action("share_report", entry_id, response_url=app.slack.response_url("x")))
    (post,) = await app.slack.wait_for("chat.postMessage")
    assert post.data["channel"] == "C111"
    assert post.data["unfurl_links"] is False
    shown = _text(post.data)
    assert "Shared by <@U111>" in shown and "northwind-support[.]com" in shown
    assert "share_report" not in shown


async def test_share_by_another_user_or_unknown_id_is_refused(app: Harness) -> None:
    await app.command("northwind-support.com")
    await app.slack.wait_for("response_url")
    entry_id = app.services.history.recent("U111")[0].id
    url = app.slack.response_url("y")
    await app.interact(_action("share_report", entry_id, response_url=url, user="U999"))
    calls = await app.slack.wait_for("response_url", 2)
    assert "expired" in calls[1].data["text"]
    assert not app.slack.find("chat.postMessage")


async def test_recheck_replaces_the_report(app: Harness) -> None:
    url = app.slack.response_url("rc")
    await app.interact(_action("recheck", "contosopayroll.com", response_url=url))
    (call,) = await app.slack.wait_for("response_url")
    assert call.data["replace_original"] is True
    assert "contosopayroll.com" in call.data["blocks"][0]["text"]["text"]


async def test_paste_button_opens_the_modal(app: Harness) -> None:
    await app.interact(_action("open_paste_modal", "paste", response_url=app.slack.response_url()))
    (call,) = await app.slack.wait_for("views.open")
    assert call.data["trigger_id"] == "9.9.9"
    view = call.data["view"]
    assert view["callback_id"] == "paste_email_source"
    element = view["blocks"][0]["element"]
    assert element["type"] == "plain_text_input" and element["multiline"] is True


async def test_paste_submission_verifies_and_answers_by_dm(app: Harness) -> None:
    source = (
        "From: IT Support <it@northwind-support.com>\r\nTo: helpdesk@example-corp.test\r\n"
        "Subject: MFA reset <@U222>\r\nDate: Tue, 10 Nov 2026 09:30:00 +0000\r\n\r\n"
        "Please reset the MFA for jsmith today.\r\n"
    )
    payload = {
        "type": "view_submission",
        "user": {"id": "U111"},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "paste_email_source",
            "private_metadata": "{}",
            "state": {"values": {"paste_block": {"paste_input": {"value": source}}}},
        },
    }
    status, body = await app.interact(payload)
    assert status == 200 and body == ""
    (post,) = await app.slack.wait_for("chat.postMessage")
    assert post.data["channel"] == "U111"
    shown = _text(post.data)
    assert "Suspicious" in shown or "Spoofed" in shown
    assert "&lt;@U222&gt;" in shown and "<@U222>" not in shown


async def test_paste_submission_that_is_not_an_email_gets_a_clear_answer(app: Harness) -> None:
    payload = {
        "type": "view_submission",
        "user": {"id": "U111"},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "paste_email_source",
            "state": {"values": {"paste_block": {"paste_input": {"value": "hello there"}}}},
        },
    }
    await app.interact(payload)
    (post,) = await app.slack.wait_for("chat.postMessage")
    assert "could not be verified" in post.data["text"]


async def test_start_request_and_global_shortcut_answer_until_approvals_exist(
    app: Harness,
) -> None:
    url = app.slack.response_url("sr")
    await app.interact(_action("start_high_risk_request", "{}", response_url=url))
    (call,) = await app.slack.wait_for("response_url")
    assert "not enabled" in call.data["text"]
    shortcut = {"type": "shortcut", "callback_id": "new_high_risk_request", "user": {"id": "U5"}}
    status, _ = await app.interact({**shortcut, "trigger_id": "1.1"})
    assert status == 200
    (post,) = await app.slack.wait_for("chat.postMessage")
    assert post.data["channel"] == "U5" and "not enabled" in post.data["text"]
