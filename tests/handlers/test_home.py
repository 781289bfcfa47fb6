"""App Home: views.publish with usage, the registry summary and the caller's recent checks."""

from __future__ import annotations

import datetime as dt
import json

from tests.support.slack_app import Harness


async def test_home_shows_registry_summary_and_recent_checks(app: Harness) -> None:
    app.services.today = lambda: dt.date(2026, 10, 1)
    await app.command("northwind-support.com", user="U42")
    await app.slack.wait_for("response_url")
    event = {"type": "app_home_opened", "user": "U42", "channel": "D42", "tab": "home"}
    assert await app.event(event, event_id="EvHome1") == 200
    (call,) = await app.slack.wait_for("views.publish")
    assert call.data["user_id"] == "U42"
    shown = json.dumps(call.data["view"])
    assert call.data["view"]["type"] == "home"
    assert "3 vendors" in shown
    assert "reviews overdue: 1 (Contoso Payroll)" in shown
    assert "northwind-support[.]com" in shown
    assert "/verify-vendor" in shown


async def test_home_for_a_new_user_has_no_recent_checks(app: Harness) -> None:
    event = {"type": "app_home_opened", "user": "U43", "channel": "D43", "tab": "home"}
    await app.event(event, event_id="EvHome2")
    (call,) = await app.slack.wait_for("views.publish")
    assert "_None yet._" in json.dumps(call.data["view"])


async def test_messages_tab_does_not_publish(app: Harness) -> None:
    event = {"type": "app_home_opened", "user": "U44", "channel": "D44", "tab": "messages"}
    await app.event(event, event_id="EvHome3")
    await app.event(
        {"type": "app_home_opened", "user": "U45", "channel": "D45", "tab": "home"},
        event_id="EvHome4",
    )
    (call,) = await app.slack.wait_for("views.publish")
    assert call.data["user_id"] == "U45"


async def test_home_shows_the_privileged_vendors_posture_from_the_last_watch_run(
    app: Harness, tmp_path, dns_server, resolver
) -> None:
    from bot.watch.schedule import posture_run
    from bot.watch.snapshots import SqliteSnapshots

    event = {"type": "app_home_opened", "user": "U46", "channel": "D46", "tab": "home"}
    app.services.watch = SqliteSnapshots(tmp_path / "state.sqlite3")
    await app.event(event, event_id="EvHome5")
    (call,) = await app.slack.wait_for("views.publish")
    assert "No vendor watch run yet" in json.dumps(call.data["view"])

    await posture_run(app.services.current_registry, resolver, app.services.watch, qps=1000)
    await app.event(event, event_id="EvHome6")
    calls = await app.slack.wait_for("views.publish", count=2)
    shown = json.dumps(calls[-1].data["view"])
    privileged = [v for v in app.services.current_registry.vendors if v.privileged]
    others = [v for v in app.services.current_registry.vendors if not v.privileged]
    assert privileged and others
    assert all(v.domains[0] in shown for v in privileged)
    assert all(v.domains[0] not in shown for v in others)
    assert "DMARC " in shown and "SPF " in shown
