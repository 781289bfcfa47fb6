"""The countersign flow end to end: signed interactivity payloads to the real app (HTTP mode),
the recording Slack Web API server, a real SQLite store, the real approval service."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.machine import Request, State
from bot.approvals.service import ApprovalService
from bot.approvals.store_sqlite import SQLiteStore
from bot.approvals.sweeper import sweep_once
from bot.dns import Resolver
from bot.registry import Registry, parse_registry
from bot.runtime.server import Mode, attach_approvals, build_bolt_app, build_web_app, start_web_app
from bot.runtime.services import build_services
from handlers import ids
from handlers.approvals import card_updater
from tests.support.slack_api import Call, SlackApiRecorder
from tests.support.slack_app import BOT_TOKEN, Harness, app_settings

TEAM = "T0001"
CHANNEL = "CAPPROVALS"
TOTP_SECRET = pyotp.random_base32()
SIGNER = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(SIGNER.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
PEOPLE = {
    "UREQ": {},  # the requester; also a technical approver, to show they cannot sign
    "UALICE": {},  # technical approver
    "UDAVID": {},  # both roles
    "UCARMEN": {},  # vendor manager through the user group SMANAGERS
    "UNOBODY": {},  # no role
    "UGUEST": {"is_restricted": True},  # a guest in the technical group
    "UOTHER": {"team_id": "T0999"},  # another workspace, listed as technical approver
}


def _without_none(value: Any) -> Any:
    """JSON data without its None values, at every depth (pydantic's ``exclude_none``)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _registry(base: Registry) -> Registry:
    def vendor(vid: str, phone: str, token: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": vid,
            "name": vid.title(),
            "domains": [f"{vid}.example"],
            "contacts": [
                {"name": "Lee", "role": "Support", "email": f"lee@{vid}.example", "phone": phone}
            ],
            "callback": {"phone": phone, "instructions": "Ask for the security desk."},
            "privileged": True,
            "last_reviewed": "2026-09-15",
            "owner": "Priya",
            "token": token,
        }

    raw = [_without_none(v.to_json()) for v in base.vendors]
    raw.append(vendor("totpco", "+1 206 555 0181", {"type": "totp", "secret_env": "DG_TOTPCO"}))
    raw.append(
        vendor("edco", "+1 206 555 0182", {"type": "ed25519", "public_key": PUBLIC.decode()})
    )
    return parse_registry({"vendors": raw})


class Flow:
    """The harness plus the store, with helpers that speak Slack's payloads."""

    def __init__(self, harness: Harness, store: SQLiteStore) -> None:
        self.app = harness
        self.slack = harness.slack
        self.store = store
        assert harness.services.approvals is not None
        self.service: ApprovalService = harness.services.approvals
        self._trigger = 0

    def trigger(self) -> str:
        self._trigger += 1
        return f"trig.{self._trigger}"

    async def shortcut(self, user: str = "UREQ") -> dict[str, Any]:
        """The global shortcut; returns the modal it opened."""
        before = len(self.slack.find("views.open"))
        payload = {
            "type": "shortcut",
            "callback_id": ids.SHORTCUT_NEW_REQUEST,
            "trigger_id": self.trigger(),
            "user": {"id": user, "team_id": TEAM},
        }
        status, _ = await self.app.interact(payload)
        assert status == 200
        calls = await self.slack.wait_for("views.open", before + 1)
        view: dict[str, Any] = calls[-1].data["view"]
        return view

    async def submit(
        self, callback_id: str, values: dict[str, Any], metadata: str, user: str
    ) -> tuple[int, dict[str, Any]]:
        payload = {
            "type": "view_submission",
            "user": {"id": user, "team_id": TEAM},
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": metadata,
                "state": {"values": values},
            },
        }
        status, body = await self.app.interact(payload)
        return status, (json.loads(body) if body else {})

    async def open_request(
        self, vendor: str = "northwind", summary: str = "Reset MFA for j.doe", user: str = "UREQ"
    ) -> Request:
        """Shortcut + submission; returns the stored request once its card is posted."""
        view = await self.shortcut(user)
        posts = len(self.cards_posted())
        values = {
            ids.BLOCK_VENDOR: {ids.INPUT_VENDOR: {"selected_option": {"value": vendor}}},
            ids.BLOCK_KIND: {ids.INPUT_KIND: {"selected_option": {"value": "mfa_reset"}}},
            ids.BLOCK_TICKET: {ids.INPUT_TICKET: {"value": "INC-42"}},
            ids.BLOCK_SUMMARY: {ids.INPUT_SUMMARY: {"value": summary}},
        }
        status, body = await self.submit(
            ids.VIEW_NEW_REQUEST, values, view["private_metadata"], user
        )
        assert (status, body) == (200, {})
        await self.slack.wait_for("chat.postMessage", 1)
        await self._until(lambda: len(self.cards_posted()) > posts)
        (request,) = [r for r in await self.store.list_open() if r.summary == summary][-1:]
        await self._until_card(request.id)
        return request

    async def _until_card(self, request_id: str) -> None:
        for _ in range(200):
            if await self.store.card(request_id) is not None:
                return
            await _sleep()
        raise AssertionError("the card's place was never stored")

    async def _until(self, check: Any) -> None:
        for _ in range(300):
            if check():
                return
            await _sleep()
        raise AssertionError(f"timed out; calls: {self.slack.methods()}")

    def cards_posted(self) -> list[Call]:
        return [c for c in self.slack.find("chat.postMessage") if c.data.get("channel") == CHANNEL]

    def dms_to(self, user: str) -> list[Call]:
        return [c for c in self.slack.find("chat.postMessage") if c.data.get("channel") == user]

    async def click(self, request: Request, slot: str, user: str, approve: bool = True) -> None:
        ts = (await self.store.card(request.id) or ("", ""))[1]
        payload = {
            "type": "block_actions",
            "trigger_id": self.trigger(),
            "user": {"id": user, "team_id": TEAM},
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "channel_id": CHANNEL, "message_ts": ts},
            "actions": [
                {
                    "action_id": ids.ACTION_APPROVE if approve else ids.ACTION_DENY,
                    "block_id": f"slot_{slot}",
                    "value": f"{request.id}|{slot}",
                    "type": "button",
                }
            ],
        }
        status, _ = await self.app.interact(payload)
        assert status == 200

    async def refused(self, request: Request, slot: str, user: str, approve: bool = True) -> str:
        """Click; expect an ephemeral refusal and no modal; return its text."""
        opened = len(self.slack.find("views.open"))
        before = len(self.slack.find("chat.postEphemeral"))
        await self.click(request, slot, user, approve)
        calls = await self.slack.wait_for("chat.postEphemeral", before + 1)
        assert calls[-1].data["user"] == user and calls[-1].data["channel"] == CHANNEL
        assert len(self.slack.find("views.open")) == opened
        return str(calls[-1].data["text"])

    async def modal_for(
        self, request: Request, slot: str, user: str, approve: bool = True
    ) -> dict[str, Any]:
        before = len(self.slack.find("views.open"))
        await self.click(request, slot, user, approve)
        calls = await self.slack.wait_for("views.open", before + 1)
        view: dict[str, Any] = calls[-1].data["view"]
        return view

    async def approve(
        self,
        request: Request,
        slot: str,
        user: str,
        *,
        proof: str | None = None,
        phone: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Click Approve, then submit the confirmation modal it opened."""
        view = await self.modal_for(request, slot, user)
        assert view["callback_id"] == ids.VIEW_APPROVE
        return await self.confirm(view, user, proof=proof, phone=phone)

    async def confirm(
        self, view: dict[str, Any], user: str, *, proof: str | None = None, phone: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        blocks = {b.get("block_id"): b for b in view["blocks"]}
        number = phone or blocks[ids.BLOCK_PHONE]["element"]["initial_option"]["value"]
        values: dict[str, Any] = {
            ids.BLOCK_PHONE: {ids.INPUT_PHONE: {"selected_option": {"value": number}}},
            ids.BLOCK_CONTACT: {ids.INPUT_CONTACT: {"value": "Dana Whitfield"}},
            ids.BLOCK_CALLED: {ids.INPUT_CALLED: {"selected_options": [{"value": "called_back"}]}},
            ids.BLOCK_REASON: {ids.INPUT_REASON: {"value": "Vendor confirmed the ticket."}},
        }
        if ids.BLOCK_PROOF in blocks:
            values[ids.BLOCK_PROOF] = {ids.INPUT_PROOF: {"value": proof or ""}}
        return await self.submit(ids.VIEW_APPROVE, values, view["private_metadata"], user)

    async def get(self, request: Request) -> Request:
        fresh = await self.store.get(request.id)
        assert fresh is not None
        return fresh


async def _sleep() -> None:
    await asyncio.sleep(0.02)


def _shown(call: Call) -> str:
    return json.dumps(call.data.get("blocks", []), ensure_ascii=False) + str(call.data.get("text"))


def _buttons(call: Call) -> list[str]:
    return [
        e["value"]
        for b in call.data.get("blocks", [])
        if b.get("type") == "actions"
        for e in b["elements"]
    ]


@asynccontextmanager
async def approvals_app(
    resolver: Resolver, registry: Registry, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Flow]:
    async with SlackApiRecorder() as slack:
        for user, extra in PEOPLE.items():
            slack.users[user] = {"id": user, "team_id": TEAM, **extra}
        slack.usergroups["SMANAGERS"] = ["UCARMEN", "UDAVID"]
        slack.usergroups["STECH"] = ["UGUEST"]
        values: dict[str, Any] = {
            "approvals_channel": CHANNEL,
            "technical_approver_users": ("UREQ", "UALICE", "UDAVID", "UOTHER"),
            "technical_approver_groups": ("STECH",),
            "vendor_manager_groups": ("SMANAGERS",),
            "database": tmp_path / "approvals.sqlite3",
        }
        values.update(overrides)
        settings = app_settings(slack, **values)
        services = build_services(settings, resolver=resolver, registry=_registry(registry))
        store = await SQLiteStore.open(settings.database)
        attach_approvals(services, store)
        bolt = build_bolt_app(services, Mode.HTTP)
        runner, port = await start_web_app(build_web_app(services, bolt), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{port}/slack/events"
                yield Flow(Harness(url, slack, services, session), store)
        finally:
            await runner.cleanup()
            await store.close()


@pytest.fixture
async def flow(resolver: Resolver, registry: Registry, tmp_path: Path) -> AsyncIterator[Flow]:
    async with approvals_app(resolver, registry, tmp_path) as running:
        yield running


async def test_two_people_clear_a_request_and_every_refusal_changes_nothing(flow: Flow) -> None:
    modal = await flow.shortcut()
    assert modal["callback_id"] == ids.VIEW_NEW_REQUEST
    request = await flow.open_request(summary="Reset MFA for jdoe <!channel>")
    (card,) = flow.cards_posted()
    shown = _shown(card)
    assert "<@UREQ>" in shown and "Northwind Software" in shown
    assert "Reset MFA for jdoe &lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "+1 206-555-0142" in shown and "Dana Whitfield" in shown and "INC-42" in shown
    assert card.data["unfurl_links"] is False
    assert len(_buttons(card)) == 4
    place = await flow.store.card(request.id)
    assert place is not None and place[0] == CHANNEL and place[1].startswith("1700000000.")
    await flow._until(lambda: flow.dms_to("UREQ"))  # the DM follows the card
    assert "is posted in <#CAPPROVALS>" in _shown(flow.dms_to("UREQ")[0])

    text = await flow.refused(request, "technical", "UREQ")
    assert "opened a request cannot approve" in text and "Nothing was changed" in text
    assert "Only a vendor manager can sign" in await flow.refused(
        request, "vendor_manager", "UALICE"
    )
    assert "Only a technical approver" in await flow.refused(request, "technical", "UNOBODY")
    assert "Guests cannot" in await flow.refused(request, "technical", "UGUEST")
    assert "workspace" in await flow.refused(request, "technical", "UOTHER")
    assert (await flow.get(request)).version == 1

    status, body = await flow.approve(request, "technical", "UDAVID")
    assert (status, body) == (200, {})
    (update,) = await flow.slack.wait_for("chat.update")
    assert update.data["channel"] == CHANNEL
    assert "approved by <@UDAVID>" in _shown(update)
    assert _buttons(update) == [f"{request.id}|vendor_manager"] * 2
    stored = await flow.get(request)
    assert stored.state is State.PARTIALLY_APPROVED
    assert stored.technical is not None and stored.technical.user_id == "UDAVID"
    assert stored.technical.note == "Spoke with Dana Whitfield. Vendor confirmed the ticket."
    assert stored.technical.evidence["callback_phone"] == "+12065550142"

    text = await flow.refused(request, "vendor_manager", "UDAVID")
    assert "One person cannot sign both slots" in text
    text = await flow.refused(request, "technical", "UALICE")
    assert "already" in text
    assert (await flow.get(request)).version == 2

    assert await flow.approve(request, "vendor_manager", "UCARMEN") == (200, {})
    updates = await flow.slack.wait_for("chat.update", 2)
    final = updates[-1]
    assert _buttons(final) == []
    assert "*Cleared*" in _shown(final) and "<@UCARMEN>" in _shown(final)
    assert (await flow.get(request)).state is State.CLEARED
    await flow._until(lambda: len(flow.dms_to("UREQ")) == 2)
    assert "*cleared*" in _shown(flow.dms_to("UREQ")[-1])
    assert "already" in await flow.refused(request, "vendor_manager", "UALICE", approve=False)


async def test_approval_modal_refusals_keep_the_modal_open(flow: Flow) -> None:
    request = await flow.open_request()
    view = await flow.modal_for(request, "technical", "UALICE")
    status, body = await flow.confirm(view, "UALICE", phone="+12135550199")
    assert status == 200 and body["response_action"] == "errors"
    assert "not a number registered for Northwind" in body["errors"][ids.BLOCK_PHONE]
    values = {
        ids.BLOCK_PHONE: {ids.INPUT_PHONE: {"selected_option": {"value": "+12065550142"}}},
        ids.BLOCK_CONTACT: {ids.INPUT_CONTACT: {"value": "  "}},
        ids.BLOCK_CALLED: {ids.INPUT_CALLED: {"selected_options": []}},
        ids.BLOCK_REASON: {ids.INPUT_REASON: {"value": "ok\u202e"}},
    }
    status, body = await flow.submit(ids.VIEW_APPROVE, values, view["private_metadata"], "UALICE")
    assert set(body["errors"]) == {ids.BLOCK_CONTACT, ids.BLOCK_CALLED, ids.BLOCK_REASON}
    assert "control or direction" in body["errors"][ids.BLOCK_REASON]
    # a role lost between the click and the submission is caught by the service
    status, body = await flow.confirm(view, "UNOBODY")
    assert "Only a technical approver can sign" in body["errors"][ids.BLOCK_REASON]
    assert (await flow.get(request)).version == 1
    assert not flow.slack.find("chat.update")


async def test_deny_needs_a_reason_and_tells_the_requester(flow: Flow) -> None:
    request = await flow.open_request()
    assert "Guests cannot" in await flow.refused(request, "technical", "UGUEST", approve=False)
    view = await flow.modal_for(request, "vendor_manager", "UCARMEN", approve=False)
    assert view["callback_id"] == ids.VIEW_DENY
    empty = {ids.BLOCK_REASON: {ids.INPUT_REASON: {"value": ""}}}
    status, body = await flow.submit(ids.VIEW_DENY, empty, view["private_metadata"], "UCARMEN")
    assert body["errors"][ids.BLOCK_REASON] == "A reason is required to deny."
    assert (await flow.get(request)).state is State.PENDING
    reason = {ids.BLOCK_REASON: {ids.INPUT_REASON: {"value": "Callback number <b>unanswered"}}}
    status, body = await flow.submit(ids.VIEW_DENY, reason, view["private_metadata"], "UCARMEN")
    assert (status, body) == (200, {})
    (update,) = await flow.slack.wait_for("chat.update")
    assert _buttons(update) == []
    assert "*Denied* by <@UCARMEN>" in _shown(update)
    assert "Callback number &lt;b&gt;unanswered" in _shown(update)
    stored = await flow.get(request)
    assert stored.state is State.DENIED and stored.close_reason == "Callback number <b>unanswered"
    await flow._until(lambda: len(flow.dms_to("UREQ")) == 2)
    assert "*denied* by <@UCARMEN>" in _shown(flow.dms_to("UREQ")[-1])


async def test_totp_code_is_accepted_once(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_TOTPCO", TOTP_SECRET)
    request = await flow.open_request(vendor="totpco")
    code = pyotp.TOTP(TOTP_SECRET).now()
    _status, body = await flow.approve(request, "technical", "UALICE", proof="000000")
    if code == "000000":  # one chance in a million: the wrong code happens to be right
        return
    assert "wrong or out of date" in body["errors"][ids.BLOCK_PROOF]
    assert await flow.approve(request, "technical", "UALICE", proof=code) == (200, {})
    _, body = await flow.approve(request, "vendor_manager", "UCARMEN", proof=code)
    assert "already used" in body["errors"][ids.BLOCK_PROOF]
    stored = await flow.get(request)
    assert stored.state is State.PARTIALLY_APPROVED and stored.vendor_manager is None
    assert stored.technical is not None and stored.technical.evidence["proof"] == "totp"


async def test_ed25519_challenge_on_card_and_wrong_signature_refused(flow: Flow) -> None:
    request = await flow.open_request(vendor="edco")
    challenge = flow.service.challenge(request, "technical")
    assert challenge is not None
    assert challenge in _shown(flow.cards_posted()[-1])
    view = await flow.modal_for(request, "technical", "UALICE")
    assert challenge in json.dumps(view)
    wrong = base64.b64encode(Ed25519PrivateKey.generate().sign(challenge.encode())).decode()
    _status, body = await flow.confirm(view, "UALICE", proof=wrong)
    assert "does not verify" in body["errors"][ids.BLOCK_PROOF]
    _, body = await flow.confirm(view, "UALICE", proof="not a signature")
    assert "64 bytes" in body["errors"][ids.BLOCK_PROOF]
    assert (await flow.get(request)).version == 1
    right = base64.b64encode(SIGNER.sign(challenge.encode())).decode()
    assert await flow.confirm(view, "UALICE", proof=right) == (200, {})
    stored = await flow.get(request)
    assert stored.technical is not None and stored.technical.evidence["proof"] == "ed25519"


async def test_slack_failure_after_the_write_keeps_the_state_and_says_so(flow: Flow) -> None:
    request = await flow.open_request()
    flow.slack.fail("chat.update", 500, times=3)  # the first try and both retries
    assert await flow.approve(request, "technical", "UALICE") == (200, {})
    await flow._until(lambda: len(flow.dms_to("UALICE")) == 1)
    assert [c.status for c in flow.slack.find("chat.update")] == [500, 500, 500]
    note = _shown(flow.dms_to("UALICE")[0])
    assert "Recorded" in note and "HTTP 500" in note and f"audit {request.id}" in note
    stored = await flow.get(request)
    assert stored.state is State.PARTIALLY_APPROVED and stored.version == 2
    # the next change refreshes the whole card; one 500 is retried away
    flow.slack.fail("chat.update", 500, times=1)
    assert await flow.approve(request, "vendor_manager", "UCARMEN") == (200, {})
    (update,) = await flow.slack.wait_for("chat.update")
    assert "<@UALICE>" in _shown(update) and "*Cleared*" in _shown(update)
    assert (await flow.get(request)).state is State.CLEARED


async def test_expiry_sweeper_updates_the_card_and_tells_the_requester(flow: Flow) -> None:
    request = await flow.open_request()
    later = request.expires_at + dt.timedelta(seconds=1)
    flow.service.clock = lambda: later
    update = card_updater(_client(flow), flow.app.services)
    (expired,) = await sweep_once(flow.service, update)
    assert expired.id == request.id and expired.state is State.EXPIRED
    (call,) = await flow.slack.wait_for("chat.update")
    assert _buttons(call) == [] and "*Expired*" in _shown(call)
    await flow._until(lambda: len(flow.dms_to("UREQ")) == 2)
    assert "*expired*" in _shown(flow.dms_to("UREQ")[-1])
    assert await sweep_once(flow.service, update) == []


def _client(flow: Flow) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=flow.slack.base_url)


async def test_start_from_a_report_attaches_the_verification(flow: Flow) -> None:
    await flow.app.command("helpdesk@northwind-software.com", user="UREQ")
    (answer,) = await flow.slack.wait_for("response_url")
    button = next(
        e
        for b in answer.data["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.ACTION_START_REQUEST
    )
    payload = {
        "type": "block_actions",
        "trigger_id": "t.report",
        "user": {"id": "UREQ", "team_id": TEAM},
        "channel": {"id": "C111"},
        "response_url": flow.slack.response_url("sr"),
        "actions": [{"action_id": ids.ACTION_START_REQUEST, "value": button["value"]}],
    }
    await flow.app.interact(payload)
    (opened,) = await flow.slack.wait_for("views.open")
    view = opened.data["view"]
    vendor = next(b for b in view["blocks"] if b.get("block_id") == ids.BLOCK_VENDOR)
    assert vendor["element"]["initial_option"]["value"] == "northwind"
    assert "helpdesk@northwind-software.com" in json.dumps(view)
    values = {
        ids.BLOCK_VENDOR: {ids.INPUT_VENDOR: {"selected_option": {"value": "northwind"}}},
        ids.BLOCK_KIND: {ids.INPUT_KIND: {"selected_option": {"value": "credential_reset"}}},
        ids.BLOCK_SUMMARY: {ids.INPUT_SUMMARY: {"value": "Password reset for svc-backup"}},
    }
    status, body = await flow.submit(ids.VIEW_NEW_REQUEST, values, view["private_metadata"], "UREQ")
    assert (status, body) == (200, {})
    await flow._until(lambda: len(flow.cards_posted()) == 1)
    (request,) = await flow.store.list_open()
    assert request.verification["target"] == "helpdesk@northwind-software.com"
    assert request.verification["verdict"] == "unverified"
    assert "unknown_contact" in request.verification["reasons"]
    assert "helpdesk@northwind-software.com" in _shown(flow.cards_posted()[0])


async def test_request_modal_submission_is_checked(flow: Flow) -> None:
    view = await flow.shortcut()
    values = {
        ids.BLOCK_VENDOR: {ids.INPUT_VENDOR: {"selected_option": {"value": "evil-corp"}}},
        ids.BLOCK_KIND: {ids.INPUT_KIND: {"selected_option": {"value": "root_access"}}},
        ids.BLOCK_SUMMARY: {ids.INPUT_SUMMARY: {"value": "   "}},
    }
    _, body = await flow.submit(ids.VIEW_NEW_REQUEST, values, view["private_metadata"], "UREQ")
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {ids.BLOCK_VENDOR, ids.BLOCK_KIND, ids.BLOCK_SUMMARY}
    values[ids.BLOCK_VENDOR] = {ids.INPUT_VENDOR: {"selected_option": {"value": "northwind"}}}
    values[ids.BLOCK_KIND] = {ids.INPUT_KIND: {"selected_option": {"value": "other"}}}
    values[ids.BLOCK_SUMMARY] = {ids.INPUT_SUMMARY: {"value": "Install the agent"}}
    _status, body = await flow.submit(
        ids.VIEW_NEW_REQUEST, values, view["private_metadata"], "UGUEST"
    )
    assert "Guests cannot open" in body["errors"][ids.BLOCK_SUMMARY]
    _, body = await flow.submit(ids.VIEW_NEW_REQUEST, values, view["private_metadata"], "UOTHER")
    assert "Only members of this workspace" in body["errors"][ids.BLOCK_SUMMARY]
    assert await flow.store.list_open() == []
    assert flow.cards_posted() == []


async def test_request_subcommand_preselects_or_refuses_an_unknown_vendor(flow: Flow) -> None:
    await flow.app.command("request Northwind Software", user="UREQ")
    (opened,) = await flow.slack.wait_for("views.open")
    assert opened.data["trigger_id"] == "1337.42.abcd"
    vendor = next(b for b in opened.data["view"]["blocks"] if b.get("block_id") == "req_vendor")
    assert vendor["element"]["initial_option"]["value"] == "northwind"
    await flow.app.command("request northwind-support.com", user="UREQ")
    (answer,) = await flow.slack.wait_for("response_url")
    assert "northwind-support[.]com is not in the vendor registry" in answer.data["text"]
    assert len(flow.slack.find("views.open")) == 1


async def test_audit_subcommand_is_for_approvers(flow: Flow) -> None:
    request = await flow.open_request()
    assert await flow.approve(request, "technical", "UALICE") == (200, {})
    await flow.app.command(f"audit {request.id}", user="UCARMEN", token="a1")
    (answer,) = await flow.slack.wait_for("response_url")
    shown = _shown(answer)
    assert answer.data["response_type"] == "ephemeral"
    assert "*opened* by <@UREQ>" in shown
    assert (
        "*technical approval* by <@UALICE> "
        "(waiting for two approvals → waiting for the second approval)"
    ) in shown
    assert "partially_approved" not in shown and "approve_technical" not in shown
    assert "called +1 206-555-0142" in shown and "Spoke with Dana Whitfield" in shown
    await flow.app.command(f"audit {request.id}", user="UNOBODY", token="a2")
    answers = await flow.slack.wait_for("response_url", 2)
    assert "Only technical approvers and vendor managers" in answers[-1].data["text"]
    await flow.app.command("audit ../../etc/passwd", user="UCARMEN", token="a3")
    answers = await flow.slack.wait_for("response_url", 3)
    assert answers[-1].data["text"] == "No such request."


async def test_without_an_approvals_channel_the_shortcut_says_what_to_set(
    resolver: Resolver, registry: Registry, tmp_path: Path
) -> None:
    async with approvals_app(resolver, registry, tmp_path, approvals_channel=None) as flow:
        payload = {
            "type": "shortcut",
            "callback_id": ids.SHORTCUT_NEW_REQUEST,
            "trigger_id": "t1",
            "user": {"id": "UREQ", "team_id": TEAM},
        }
        assert (await flow.app.interact(payload))[0] == 200
        (dm,) = await flow.slack.wait_for("chat.postMessage")
        assert dm.data["channel"] == "UREQ" and "DESKGUARD_APPROVALS_CHANNEL" in dm.data["text"]
        assert not flow.slack.find("views.open")


async def test_caller_check_starts_a_request_prefilled_with_vendor_caller_and_request(
    flow: Flow,
) -> None:
    values = {
        ids.BLOCK_CALLER_VENDOR: {
            ids.INPUT_CALLER_VENDOR: {"selected_option": {"value": "northwind"}}
        },
        ids.BLOCK_CALLER_NAME: {ids.INPUT_CALLER_NAME: {"value": "Dana Whitfield"}},
        ids.BLOCK_CALLER_NUMBER: {ids.INPUT_CALLER_NUMBER: {"value": "+1 206 555 0110"}},
        ids.BLOCK_CALLER_REQUEST: {ids.INPUT_CALLER_REQUEST: {"value": "Reset the MFA for jdoe"}},
    }
    metadata = json.dumps({"response_url": flow.slack.response_url("cc")})
    assert await flow.submit(ids.VIEW_CHECK_CALLER, values, metadata, "UREQ") == (200, {})
    (answer,) = await flow.slack.wait_for("response_url")
    button = next(
        e
        for b in answer.data["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.ACTION_START_REQUEST
    )
    payload = {
        "type": "block_actions",
        "trigger_id": "t.caller",
        "user": {"id": "UREQ", "team_id": TEAM},
        "channel": {"id": "C111"},
        "response_url": flow.slack.response_url("cs"),
        "actions": [{"action_id": ids.ACTION_START_REQUEST, "value": button["value"]}],
    }
    await flow.app.interact(payload)
    (opened,) = await flow.slack.wait_for("views.open")
    view = opened.data["view"]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks[ids.BLOCK_VENDOR]["element"]["initial_option"]["value"] == "northwind"
    assert blocks[ids.BLOCK_SUMMARY]["element"]["initial_value"] == (
        "Dana Whitfield (+1 206-555-0110) says they are from Northwind Software. They ask: "
        "Reset the MFA for jdoe"
    )
    assert "+12065550110" in json.dumps(view)  # the verification it was started from
