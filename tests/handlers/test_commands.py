"""/verify-vendor through the real app: signed HTTP in, recorded Slack calls out."""

from __future__ import annotations

import asyncio

from tests.support.dnsserver import TestDNSServer
from tests.support.slack_app import Harness


def _texts(call_blocks: list[dict]) -> str:
    return "\n".join(
        str(b.get("text", {}).get("text", ""))
        + " ".join(str(e.get("text", "")) for e in b.get("elements", []) if isinstance(e, dict))
        for b in call_blocks
    )


def _action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_domain_report_is_ephemeral_with_verdict_first_and_buttons(app: Harness) -> None:
    assert await app.command("northwind-support.com") == 200
    (call,) = await app.slack.wait_for("response_url")
    data = call.data
    assert data["response_type"] == "ephemeral"
    assert data["unfurl_links"] is False and data["unfurl_media"] is False
    first = data["blocks"][0]["text"]["text"]
    assert first.startswith(":warning: *Suspicious*") and "northwind-support[.]com" in first
    text = _texts(data["blocks"])
    assert "imitates Northwind Software" in text
    assert "Call +1 206-555-0142 (from the vendor registry" in text
    assert _action_ids(data["blocks"]) == ["share_report", "report_to_security", "recheck"]
    assert data["blocks"][1]["text"]["text"].startswith(
        ":telephone_receiver: *Call back on +1 206-555-0142, Mon-Fri 08:00-18:00 Pacific*"
    )
    assert app.services.history.recent("U111")[0].report.target == "northwind-support.com"


async def test_registered_address_is_verified(app: Harness) -> None:
    await app.command("dana.whitfield@northwind-software.com")
    (call,) = await app.slack.wait_for("response_url")
    first = call.data["blocks"][0]["text"]["text"]
    assert first.startswith(":white_check_mark: *Verified*")
    assert "dana.whitfield@northwind-software.com" in first


async def test_unknown_contact_at_vendor_domain_is_not_verified(app: Harness) -> None:
    await app.command("helpdesk@northwind-software.com")
    (call,) = await app.slack.wait_for("response_url")
    assert "*Unverified*" in call.data["blocks"][0]["text"]["text"]
    assert "is not a registered contact" in _texts(call.data["blocks"])


async def test_vendor_name_shows_registry_card(app: Harness) -> None:
    await app.command("Contoso Payroll")
    (call,) = await app.slack.wait_for("response_url")
    text = _texts(call.data["blocks"])
    assert "*Contoso Payroll*" in text
    assert "+1 312-555-0100" in text and "ask for vendor assurance" in text
    assert "Lee Park" in text and "lee.park@contosopayroll.com" in text
    assert "2020-01-01" in text and "overdue" in text


async def test_help_and_empty_show_usage_with_paste_button(app: Harness) -> None:
    await app.command("help")
    await app.command("", token="r2")
    calls = await app.slack.wait_for("response_url", 2)
    for call in calls:
        assert "/verify-vendor" in _texts(call.data["blocks"])
        assert _action_ids(call.data["blocks"]) == ["open_paste_modal"]


async def test_unusable_input_gets_a_specific_answer(app: Harness) -> None:
    await app.command("evil..example")
    (call,) = await app.slack.wait_for("response_url")
    text = _texts(call.data["blocks"])
    assert "not a valid domain" in text
    assert "Verified" not in text


async def test_hostile_command_text_is_inert(app: Harness) -> None:
    await app.command("<!channel> <https://evil.example|bank>")
    (call,) = await app.slack.wait_for("response_url")
    text = _texts(call.data["blocks"])
    assert "<!channel>" not in text and "<https://" not in text
    assert "&lt;!channel&gt;" in text


async def test_response_url_500_is_reported_to_the_user(app: Harness) -> None:
    app.slack.fail("response_url", 500)
    await app.command("northwind-software.com")
    (call,) = await app.slack.wait_for("chat.postEphemeral")
    assert call.data["user"] == "U111" and call.data["channel"] == "C111"
    assert "could not deliver" in call.data["text"] and "HTTP 500" in call.data["text"]
    assert [c.status for c in app.slack.find("response_url")] == [500]


async def test_rate_limited_response_url_is_retried_after_retry_after(app: Harness) -> None:
    app.slack.fail("response_url", 429, retry_after=1)
    await app.command("northwind-software.com")
    calls = await app.slack.wait_for("response_url")
    assert [c.status for c in app.slack.find("response_url")] == [429, 200]
    assert "*Verified*" in calls[0].data["blocks"][0]["text"]["text"]
    assert not app.slack.find("chat.postEphemeral")


async def test_dns_timeout_is_could_not_check_not_verified(
    app: Harness, dns_server: TestDNSServer
) -> None:
    dns_server.servfail.update({"northwind-software.com", "_dmarc.northwind-software.com"})
    await app.command("northwind-software.com")
    (call,) = await app.slack.wait_for("response_url")
    assert "*Verified*" not in call.data["blocks"][0]["text"]["text"]
    assert "could not complete dns look-ups" in _texts(call.data["blocks"]).lower()


async def test_two_commands_in_flight_are_answered_separately(app: Harness) -> None:
    await asyncio.gather(
        app.command("northwind.io", user="U1", token="a"),
        app.command("contosopayroll.com", user="U2", token="b"),
    )
    calls = await app.slack.wait_for("response_url", 2)
    by_token = {c.data["_token"]: c.data["blocks"][0]["text"]["text"] for c in calls}
    assert "northwind.io" in by_token["a"] and "contosopayroll.com" in by_token["b"]
