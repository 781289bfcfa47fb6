"""manifest.yml and the code agree: every command, shortcut and event in the manifest is handled,
and every one the code handles is in the manifest."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.dns import Resolver
from bot.registry import Registry
from handlers import ids
from tests.support.slack_app import running_app

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
SCOPES = {
    "commands",
    "channels:history",  # the inbound worker finds a card it posted but never recorded
    "chat:write",
    "files:read",
    "groups:history",  # the same, when the triage channel is private
    "im:history",
    "usergroups:read",
    "users:read",
}


def _manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_manifest_lists_exactly_what_the_code_handles() -> None:
    manifest = _manifest()
    features = manifest["features"]
    commands = {c["command"] for c in features["slash_commands"]}
    message = {s["callback_id"] for s in features["shortcuts"] if s["type"] == "message"}
    global_ = {s["callback_id"] for s in features["shortcuts"] if s["type"] == "global"}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert commands == set(ids.COMMANDS)
    assert message == set(ids.MESSAGE_SHORTCUTS)
    assert global_ == set(ids.GLOBAL_SHORTCUTS)
    assert events == set(ids.BOT_EVENTS)


def test_manifest_is_complete_and_minimal() -> None:
    manifest = _manifest()
    assert manifest["display_information"]["name"] == "deskguard"
    assert manifest["features"]["bot_user"]["display_name"]
    for command in manifest["features"]["slash_commands"]:
        assert command["description"] and command["usage_hint"]
    names = {s["name"] for s in manifest["features"]["shortcuts"]}
    assert names == {"Verify sender", "New high-risk request"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == SCOPES
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


async def test_every_manifest_entry_reaches_a_listener(
    resolver: Resolver, registry: Registry
) -> None:
    manifest = _manifest()
    async with running_app(resolver, registry) as app:
        for command in manifest["features"]["slash_commands"]:
            assert command["command"] == ids.COMMAND
            assert await app.command("help") == 200
        for shortcut in manifest["features"]["shortcuts"]:
            payload = {
                "type": "message_action" if shortcut["type"] == "message" else "shortcut",
                "callback_id": shortcut["callback_id"],
                "trigger_id": "1.2",
                "user": {"id": "U1"},
                "channel": {"id": "C1"},
                "message": {"type": "message", "text": "", "ts": "1.1"},
                "response_url": app.slack.response_url("m"),
            }
            status, _ = await app.interact(payload)
            assert status == 200, shortcut["callback_id"]
        samples = {
            "app_home_opened": {"type": "app_home_opened", "user": "U1", "tab": "home"},
            "message.im": {
                "type": "message",
                "channel_type": "im",
                "channel": "D1",
                "user": "U1",
                "text": "northwind.io",
                "ts": "1.3",
            },
        }
        for index, event in enumerate(manifest["settings"]["event_subscriptions"]["bot_events"]):
            assert await app.event(samples[event], event_id=f"EvM{index}") == 200
        await app.slack.wait_for("views.publish")
        await app.slack.wait_for("chat.postMessage")  # the DM answer
        await app.slack.wait_for("response_url", 3)  # help and both shortcuts
        for action in ids.ACTIONS:
            payload = {
                "type": "block_actions",
                "trigger_id": "1.2",
                "user": {"id": "U1"},
                "channel": {"id": "C1"},
                "response_url": app.slack.response_url("a"),
                "actions": [{"action_id": action, "value": "northwind.io", "type": "button"}],
            }
            status, _ = await app.interact(payload)
            assert status == 200, action
        status, _ = await app.interact(
            {"type": "shortcut", "callback_id": "x", "user": {"id": "U1"}}
        )
        assert status == 404
