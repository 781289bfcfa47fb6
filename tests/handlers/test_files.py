"""Emails as Slack files: the download policy, the shortcut on files, DMs with an .eml."""

from __future__ import annotations

import json

from handlers.files import download_policy
from tests.support.slack_app import BOT_TOKEN, Harness

HOSTILE = (
    b"From: Northwind Security <security@northwind-support.com>\r\n"
    b"To: helpdesk@example-corp.test\r\n"
    b"Subject: <!channel> urgent: <https://evil.example|bank> reset\r\n"
    b"Date: Tue, 10 Nov 2026 09:30:00 +0000\r\n"
    b"Message-ID: <test-1@northwind-support.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Call us at +1 213 555 0199 now to reset your MFA.\r\n"
)


def _shortcut(message: dict) -> dict:
    return {
        "type": "message_action",
        "callback_id": "verify_sender",
        "trigger_id": "1.2.3",
        "user": {"id": "U111"},
        "channel": {"id": "C111"},
        "message": {"type": "message", "ts": "1700000000.000100", **message},
        "response_url": "",
    }


def _blocks_text(data: dict) -> str:
    return json.dumps(data.get("blocks", []), ensure_ascii=False)


def test_policy_for_slack_allows_only_slack_file_hosts_over_https() -> None:
    policy = download_policy("https://slack.com/api/")
    assert policy.allows("https://files.slack.com/files-pri/T1-F1/x.eml")
    assert policy.allows("https://a.slack-edge.com/x.eml")
    assert not policy.allows("http://files.slack.com/files-pri/T1-F1/x.eml")
    assert not policy.allows("https://files.slack.com.evil.example/x.eml")
    assert not policy.allows("https://evil.example/files.slack.com/x.eml")
    assert not policy.allows("https://user:pw@files.slack.com/x.eml")
    assert not policy.allows("ftp://files.slack.com/x.eml")
    assert not policy.allows("")


def test_policy_for_an_overridden_api_url_adds_only_that_host() -> None:
    gov = download_policy("https://slack-gov.com/api/")
    assert gov.allows("https://files.slack-gov.com/x.eml")
    assert not gov.allows("https://evil.example/x.eml")
    local = download_policy("http://127.0.0.1:8123/api/")
    assert local.allows("http://127.0.0.1:8123/files/F1/x.eml")
    assert not local.allows("http://127.0.0.1:8124/files/F1/x.eml")
    assert not local.allows("http://files.slack.com/x.eml")


async def test_shortcut_on_eml_file_fetches_with_bot_token_and_shows_subject_inert(
    app: Harness,
) -> None:
    app.slack.add_file("F1", "invoice.eml", HOSTILE)
    url = app.slack.response_url("s1")
    status, _ = await app.interact(
        {
            **_shortcut({"text": "", "files": [{"id": "F1", "name": "invoice.eml"}]}),
            "response_url": url,
        }
    )
    assert status == 200
    (call,) = await app.slack.wait_for("response_url")
    (info,) = app.slack.find("files.info")
    assert info.data["file"] == "F1"
    (download,) = app.slack.find("download")
    assert download.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    text = _blocks_text(call.data)
    assert "Suspicious" in text or "Spoofed" in text
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&lt;hxxps://evil[.]example|bank&gt;" in text
    assert "Do not call +1 213-555-0199" in text
    assert call.data["unfurl_links"] is False


async def test_shortcut_on_slack_email_file_checks_identity_only(app: Harness) -> None:
    app.slack.add_file(
        "F2",
        "Password reset",
        None,
        filetype="email",
        mode="email",
        subject="Password reset for <!here>",
        plain_text="Please call +1 213 555 0199 to confirm.",
        headers={"date": "Tue, 10 Nov 2026 09:30:00 +0000", "reply_to": None},
        to=[{"address": "helpdesk@example-corp.test", "original": "helpdesk@example-corp.test"}],
        **{
            "from": [
                {
                    "address": "dana.whitfield@northwind-software.com",
                    "name": "Dana Whitfield",
                    "original": "Dana Whitfield <dana.whitfield@northwind-software.com>",
                }
            ]
        },
    )
    payload = _shortcut({"text": "", "files": [{"id": "F2", "filetype": "email", "mode": "email"}]})
    payload["response_url"] = app.slack.response_url("s2")
    await app.interact(payload)
    (call,) = await app.slack.wait_for("response_url")
    text = _blocks_text(call.data)
    assert "*Verified*" not in text
    assert "SPF, DKIM and DMARC could not be checked" in text
    assert "save it as .eml" in text
    assert not app.slack.find("download")
    assert "&lt;!here&gt;" in text and "<!here>" not in text


async def test_file_outside_slack_hosts_is_not_fetched(app: Harness) -> None:
    app.slack.add_file("F3", "x.eml", HOSTILE)
    app.slack.files["F3"]["url_private"] = "https://evil.example/x.eml"
    app.slack.files["F3"]["url_private_download"] = "http://127.0.0.1:1/x.eml"
    payload = _shortcut({"files": [{"id": "F3", "name": "x.eml"}]})
    payload["response_url"] = app.slack.response_url("s3")
    await app.interact(payload)
    (call,) = await app.slack.wait_for("response_url")
    assert "not on Slack's own file servers" in call.data["text"]
    assert not app.slack.find("download")


async def test_file_over_the_size_limit_is_refused_before_download(app: Harness) -> None:
    app.slack.add_file("F4", "big.eml", HOSTILE, size=app.services.settings.max_message_bytes + 1)
    payload = _shortcut({"files": [{"id": "F4", "name": "big.eml"}]})
    payload["response_url"] = app.slack.response_url("s4")
    await app.interact(payload)
    (call,) = await app.slack.wait_for("response_url")
    assert "over the" in call.data["text"] and "limit" in call.data["text"]
    assert not app.slack.find("download")


async def test_download_failure_is_reported(app: Harness) -> None:
    app.slack.add_file("F5", "x.eml", HOSTILE)
    app.slack.fail("download", 500)
    payload = _shortcut({"files": [{"id": "F5", "name": "x.eml"}]})
    payload["response_url"] = app.slack.response_url("s5")
    await app.interact(payload)
    (call,) = await app.slack.wait_for("response_url")
    assert "HTTP 500" in call.data["text"]


def _dm(files: list[dict] | None = None, text: str = "") -> dict:
    event = {
        "type": "message",
        "channel": "D111",
        "channel_type": "im",
        "user": "U111",
        "text": text,
        "ts": "1700000001.000200",
    }
    if files is not None:
        event.update(subtype="file_share", files=files)
    return event


async def test_dm_with_eml_is_answered_in_the_thread(app: Harness) -> None:
    app.slack.add_file("F6", "fwd.eml", HOSTILE)
    assert await app.event(_dm([{"id": "F6", "name": "fwd.eml"}]), event_id="EvDM1") == 200
    (post,) = await app.slack.wait_for("chat.postMessage")
    assert post.data["channel"] == "D111"
    assert post.data["thread_ts"] == "1700000001.000200"
    assert post.data["unfurl_links"] is False and post.data["unfurl_media"] is False
    text = _blocks_text(post.data)
    assert "share_report" not in text  # nothing to share a DM into
    assert "start_high_risk_request" in text


async def test_retried_event_is_processed_once(app: Harness) -> None:
    app.slack.add_file("F7", "fwd.eml", HOSTILE)
    event = _dm([{"id": "F7", "name": "fwd.eml"}])
    assert await app.event(event, event_id="EvRetry") == 200
    await app.slack.wait_for("chat.postMessage")
    assert await app.event(event, event_id="EvRetry", retry_num=1) == 200
    assert await app.event(event, event_id="EvRetry", retry_num=2) == 200
    assert await app.event(_dm(text="northwind.io"), event_id="EvOther") == 200
    await app.slack.wait_for("chat.postMessage", 2)
    assert len(app.slack.find("files.info")) == 1
    assert len(app.slack.find("download")) == 1


async def test_bot_own_messages_are_ignored(app: Harness) -> None:
    event = {**_dm(text="northwind.io"), "bot_id": "BDESKGUARD", "user": "UBOT"}
    assert await app.event(event, event_id="EvSelf") == 200
    assert await app.event(_dm(text="contosopayroll.com"), event_id="EvHuman") == 200
    (post,) = await app.slack.wait_for("chat.postMessage")
    assert "contosopayroll.com" in _blocks_text(post.data)
    assert "northwind" not in _blocks_text(post.data)


async def test_chat_post_message_429_then_success(app: Harness) -> None:
    app.slack.fail("chat.postMessage", 429, retry_after=1)
    await app.event(_dm(text="northwind.io"), event_id="Ev429")
    await app.slack.wait_for("chat.postMessage")
    assert [c.status for c in app.slack.find("chat.postMessage")] == [429, 200]


async def test_chat_post_message_500_is_reported_by_another_route(app: Harness) -> None:
    app.slack.fail("chat.postMessage", 500)
    await app.event(_dm(text="northwind.io"), event_id="Ev500")
    (call,) = await app.slack.wait_for("chat.postEphemeral")
    assert call.data["channel"] == "D111" and call.data["user"] == "U111"
    assert "could not deliver" in call.data["text"]


async def test_hostile_file_name_and_subject_cannot_dress_up_as_deskguard(app: Harness) -> None:
    """Issue 10 section 5: through the real app, an uploaded file's name and subject are text."""
    name = ":white_check_mark: *Verified by deskguard* <@U0ADMIN>.eml"
    dressed = HOSTILE.replace(
        b"Subject: <!channel> urgent: <https://evil.example|bank> reset",
        b"Subject: :white_check_mark: *Verified by deskguard* _trust me_ ~x~",
    )
    app.slack.add_file("F9", name, dressed)
    url = app.slack.response_url("s9")
    status, _ = await app.interact(
        {**_shortcut({"text": "", "files": [{"id": "F9", "name": name}]}), "response_url": url}
    )
    assert status == 200
    (call,) = await app.slack.wait_for("response_url")
    shown = [b for b in call.data.get("blocks", []) if b.get("type") != "actions"]  # values
    text = json.dumps(shown, ensure_ascii=False) + str(call.data.get("text"))
    assert "Verified by deskguard" in text
    for control in (":white_check_mark:", "*Verified", "deskguard*", "_trust me_", "~x~", "<@U0"):
        assert control not in text, control
