"""The countersign flow in Slack: open a high-risk request, approve or deny each slot, audit.

Entry points: the report's "Start high-risk request" button, the global shortcut "New
high-risk request" and ``/verify-vendor request [vendor]`` open the request modal; its submission
opens the request and posts the card to ``DESKGUARD_APPROVALS_CHANNEL``. The card's Approve and
Deny buttons open a confirmation modal (callback attestation, reason and, for vendors with a
token, the vendor's proof) or the deny modal. ``/verify-vendor audit <id>`` shows the trail.

State first, then Slack: a modal's submission is acknowledged only after the service stored the
transition (a refusal stays in the modal as an error and changes nothing); then the card is
refreshed with ``chat.update`` (retried on connection errors, 429 and 5xx) and, once final, the
requester gets a DM. A Slack failure after the write is logged and told to the person who acted;
it never undoes or repeats the transition. A refused click gets an ephemeral explanation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.machine import (
    MAX_NOTE,
    MAX_SUMMARY,
    Actor,
    Event,
    Request,
    RequestKind,
    Slot,
    State,
    clean_text,
    refuse,
    transition,
)
from bot.approvals.proof import Proof
from bot.approvals.service import ApprovalService, Attestation
from bot.approvals.sweeper import CardUpdater
from bot.errors import StoreError, TransitionRefused
from bot.registry import Vendor
from bot.report import Report
from bot.runtime.services import Services
from handlers import approval_blocks as ab
from handlers import blocks as bk
from handlers import ids
from handlers.commands import destination_for
from handlers.reply import (
    DeliveryError,
    Destination,
    post_message,
    retry_handlers,
    web_call,
)
from handlers.slack_roles import LookupFailed, SlackRoleResolver

log = logging.getLogger("deskguard.approvals")

NOT_CONFIGURED = (
    "High-risk requests need an approvals channel: set DESKGUARD_APPROVALS_CHANNEL to the channel "
    "id where request cards are posted, and invite deskguard to it."
)
WHO_FAILED = (
    "deskguard could not confirm your Slack account (guest or workspace) with Slack, so nothing "
    "was changed. Try again in a minute."
)
STORE_FAILED = "deskguard could not reach its state store, so nothing was changed. Try again."
_FINAL_DM = (State.CLEARED, State.DENIED, State.EXPIRED)


def verification_summary(report: Report) -> dict[str, Any]:
    """What a request keeps of the report it was started from (no message text)."""
    return {
        "target": report.target[:300],
        "kind": report.kind.value,
        "verdict": report.verdict.value,
        "reasons": [r.code for r in report.sorted_reasons()][:10],
        "vendor_id": (report.vendor or {}).get("id"),
    }


def card_client(client: AsyncWebClient) -> AsyncWebClient:
    """A client like ``client`` that also retries 500/503 (chat.update is idempotent)."""
    server_errors = AsyncServerErrorRetryHandler(
        max_retry_count=2, interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=0.2)
    )
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=[*retry_handlers(), server_errors],
    )


class ApprovalsUi:
    """What every listener of the flow shares: the service, who people are, the Slack clients."""

    def __init__(
        self, services: Services, service: ApprovalService, client: AsyncWebClient
    ) -> None:
        self.services = services
        self.service = service
        roles = service.roles
        self.people = (
            roles
            if isinstance(roles, SlackRoleResolver)
            else SlackRoleResolver(client, services.settings)
        )
        self.cards = card_client(client)

    @property
    def keep(self) -> frozenset[str]:
        return bk.registered_domains(self.services.current_registry)

    def vendor(self, vendor_id: str) -> Vendor | None:
        return self.services.current_registry.get(vendor_id)

    def blocks(self, request: Request) -> list[Any]:
        """The card of ``request`` as it stands."""
        challenges = {slot: self.service.challenge(request, slot) for slot in Slot}
        return ab.card_blocks(
            request, self.vendor(request.vendor_id), challenges=challenges, keep=self.keep
        )

    async def actor(self, user_id: str) -> Actor:
        """The Slack user as an Actor (guest flag and own workspace from users.info)."""
        return await self.people.actor(user_id)

    async def update_card(self, request: Request) -> None:
        """Refresh the card, then DM the requester if the request is final.

        Raises DeliveryError (after retries) when Slack refused either; both are attempted.
        """
        failures: list[DeliveryError] = []
        place = await self.service.card(request.id)
        if place is None:
            log.warning("request %s has no card to update", request.id)
        else:
            channel, ts = place
            try:
                await web_call(
                    self.cards.chat_update,
                    "chat.update",
                    channel=channel,
                    ts=ts,
                    text=ab.card_text(request),
                    blocks=self.blocks(request),
                )
            except DeliveryError as exc:
                failures.append(exc)
        if request.state in _FINAL_DM:
            text = ab.outcome_text(request)
            try:
                await post_message(self.cards, request.requester_id, text, ab.message_blocks(text))
            except DeliveryError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    async def after_transition(self, request: Request, user_id: str) -> None:
        """State is stored: refresh Slack, and tell ``user_id`` if Slack failed."""
        try:
            await self.update_card(request)
        except DeliveryError as exc:
            log.error(
                "request %s is %s but Slack was not updated: %s",
                request.id,
                request.state.value,
                exc,
            )
            where = await self.service.card(request.id)
            card = f" in <#{where[0]}>" if where else ""
            text = (
                f"Recorded: request `{request.id}` is now *{request.state.value.replace('_', ' ')}*"
                f". But Slack could not be updated ({bk.escape(exc.detail)}), so the card{card} "
                "may be out of date; the record is safe and "
                f"`{ids.COMMAND} audit {request.id}` shows it."
            )
            try:
                await post_message(self.cards, user_id, text, ab.message_blocks(text))
            except DeliveryError as again:
                log.error("could not tell %s either: %s", user_id, again)

    # --- opening --------------------------------------------------------------------------

    async def open_modal(
        self,
        trigger_id: str,
        reply: Destination,
        *,
        vendor_id: str | None = None,
        verification: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Open the request modal (or say why not)."""
        if not self.services.settings.approvals_channel:
            await reply.send(NOT_CONFIGURED, bk.problem_blocks(NOT_CONFIGURED))
            return
        view = ab.request_modal(
            self.services.current_registry.vendors,
            vendor_id=vendor_id,
            verification=verification,
            metadata=metadata,
            keep=self.keep,
        )
        await web_call(self.cards.views_open, "views.open", trigger_id=trigger_id, view=view)

    async def submit_request(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The request modal's submission: check, store, acknowledge, post the card."""
        user_id = str(body["user"]["id"])
        values = _values(view)
        errors: dict[str, str] = {}
        registry = self.services.current_registry
        raw_vendor = _choice(values, ids.BLOCK_VENDOR, ids.INPUT_VENDOR)
        vendor = (
            (registry.get(raw_vendor) or registry.find_by_name(raw_vendor)) if raw_vendor else None
        )
        if vendor is None:
            errors[ids.BLOCK_VENDOR] = "Choose a vendor from the registry."
        kind = _choice(values, ids.BLOCK_KIND, ids.INPUT_KIND)
        if kind not in {k.value for k in RequestKind}:
            errors[ids.BLOCK_KIND] = "Choose the request type."
        ticket = _checked(
            values, ids.BLOCK_TICKET, ids.INPUT_TICKET, ab.MAX_TICKET, "ticket", errors
        )
        summary = _checked(
            values, ids.BLOCK_SUMMARY, ids.INPUT_SUMMARY, MAX_SUMMARY, "request", errors
        )
        if summary is None and ids.BLOCK_SUMMARY not in errors:
            errors[ids.BLOCK_SUMMARY] = "Say exactly what is requested."
        channel = self.services.settings.approvals_channel
        if not channel:
            errors[ids.BLOCK_VENDOR] = NOT_CONFIGURED
        if errors or vendor is None or summary is None or not channel:
            await ack(response_action="errors", errors=errors)
            return
        context = _metadata(view)
        verification = self._verification(user_id, context)
        if ticket:
            verification["ticket"] = ticket
        try:
            actor = await self.actor(user_id)
            if actor.team_id != await self.people.home_team():
                raise refuse("wrong_workspace", "Only members of this workspace can open requests.")
            request = await self.service.open_request(
                vendor_id=vendor.id,
                kind=kind,
                summary=summary,
                requester=actor,
                verification=verification,
                channel=channel,
            )
        except (StoreError, LookupFailed) as exc:
            await ack(response_action="errors", errors={ids.BLOCK_SUMMARY: _failure_text(exc)})
            return
        await ack()
        await self.post_card(request, channel)

    def _verification(self, user_id: str, context: Mapping[str, Any]) -> dict[str, Any]:
        entry_id, target = context.get("entry"), context.get("target")
        entry = self.services.history.find(user_id, entry_id) if isinstance(entry_id, str) else None
        if entry is not None:
            return verification_summary(entry.report)
        return {"target": target[:300]} if isinstance(target, str) and target else {}

    async def post_card(self, request: Request, channel: str) -> None:
        """Post a new request's card, remember where it is, and tell the requester."""
        try:
            posted = await post_message(
                self.cards, channel, ab.card_text(request), self.blocks(request)
            )
        except DeliveryError as exc:
            log.error("request %s is open but its card was not posted: %s", request.id, exc)
            text = (
                f"Your request `{request.id}` is recorded, but its card could not be posted in "
                f"<#{channel}> ({bk.escape(exc.detail)}): is deskguard in that channel? Ask your "
                "deskguard admins; the approvers cannot see it yet."
            )
            await post_message(self.cards, request.requester_id, text, ab.message_blocks(text))
            return
        ts = posted.get("ts")
        if isinstance(ts, str) and ts:
            await self.service.set_card(request.id, str(posted.get("channel") or channel), ts)
        text = ab.opened_text(request, channel)
        await post_message(self.cards, request.requester_id, text, ab.message_blocks(text))

    # --- approving and denying ------------------------------------------------------------

    async def click(self, body: dict[str, Any], action: dict[str, Any], approve: bool) -> None:
        """An Approve or Deny button: check first, then open the modal; refusals are ephemeral."""
        user_id = str(body["user"]["id"])
        channel = (body.get("channel") or {}).get("id")
        reply = Destination(self.cards, user_id, channel=channel)
        if not channel:
            reply = Destination(self.cards, user_id, channel=user_id, ephemeral=False)
        parsed = ab.parse_slot_value(action.get("value"))
        if parsed is None:
            text = "That button is not a valid approval button; nothing was changed."
            await reply.send(text, bk.problem_blocks(text))
            return
        request_id, slot = parsed
        try:
            actor = await self.actor(user_id)
            request = await self.service.get(request_id)
            actor = actor.with_roles(await self.service.roles.roles_of(user_id))
            event = slot.event if approve else Event.DENY
            transition(request, event, actor, self.service.clock(), note="(check)")
            vendor = self.vendor(request.vendor_id)
            if approve and vendor is None:
                raise refuse("unknown_vendor")
        except TransitionRefused as exc:
            text = f"{exc} Nothing was changed."
            await reply.send(text, bk.problem_blocks(text))
            return
        except LookupFailed:
            await reply.send(WHO_FAILED, bk.problem_blocks(WHO_FAILED))
            return
        await self._remember_card(request, body)
        if approve and vendor is not None:
            challenge = self.service.challenge(request, slot)
            view = ab.approve_modal(request, slot, vendor, challenge=challenge, keep=self.keep)
        else:
            view = ab.deny_modal(request, keep=self.keep)
        await web_call(
            self.cards.views_open, "views.open", trigger_id=body["trigger_id"], view=view
        )

    async def _remember_card(self, request: Request, body: dict[str, Any]) -> None:
        """A card whose place was not stored (its set_card failed) is learnt from a click."""
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if not (isinstance(channel, str) and isinstance(ts, str) and channel and ts):
            return
        if await self.service.card(request.id) is None:
            await self.service.set_card(request.id, channel, ts)

    async def submit_approval(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The confirmation modal: attestation, reason, proof; stored before it closes."""
        user_id = str(body["user"]["id"])
        context = _metadata(view)
        values = _values(view)
        try:
            request_id, slot = str(context["r"]), Slot(str(context["s"]))
        except (KeyError, ValueError):
            await ack(response_action="errors", errors={ids.BLOCK_REASON: "This form is broken."})
            return
        errors: dict[str, str] = {}
        phone = _choice(values, ids.BLOCK_PHONE, ids.INPUT_PHONE)
        if not phone:
            errors[ids.BLOCK_PHONE] = "Choose the registry number you called."
        contact = _checked(
            values, ids.BLOCK_CONTACT, ids.INPUT_CONTACT, ab.MAX_CONTACT, "name", errors
        )
        if contact is None and ids.BLOCK_CONTACT not in errors:
            errors[ids.BLOCK_CONTACT] = "Say who you spoke with."
        if "called_back" not in _checked_boxes(values, ids.BLOCK_CALLED, ids.INPUT_CALLED):
            errors[ids.BLOCK_CALLED] = "Approve only after calling back on a registry number."
        limit = MAX_NOTE - ab.MAX_CONTACT - 20
        reason = _checked(values, ids.BLOCK_REASON, ids.INPUT_REASON, limit, "reason", errors)
        if reason is None and ids.BLOCK_REASON not in errors:
            errors[ids.BLOCK_REASON] = "Give a reason."
        proof = self._proof(values, context, errors)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        note = f"Spoke with {contact}. {reason}"
        try:
            actor = await self.actor(user_id)
            request = await self.service.approve(
                request_id,
                slot,
                actor,
                Attestation(called_back=True, phone=phone),
                reason=note,
                proof=proof,
            )
        except (StoreError, LookupFailed) as exc:
            block = ids.BLOCK_REASON
            if isinstance(exc, TransitionRefused):
                block = _refusal_block(exc.reason, ids.BLOCK_PROOF in values)
            await ack(response_action="errors", errors={block: _failure_text(exc)})
            return
        await ack()
        await self.after_transition(request, user_id)

    @staticmethod
    def _proof(
        values: Mapping[str, Any], context: Mapping[str, Any], errors: dict[str, str]
    ) -> Proof | None:
        """The vendor's proof, when the modal asked for one (the service checks it)."""
        if ids.BLOCK_PROOF not in values:
            return None
        text = _text(values, ids.BLOCK_PROOF, ids.INPUT_PROOF)
        if not text:
            errors[ids.BLOCK_PROOF] = "Enter the vendor's proof."
            return None
        if len(text) > ab.MAX_PROOF:
            errors[ids.BLOCK_PROOF] = "The proof is too long."
            return None
        return Proof("ed25519" if context.get("p") == "ed25519" else "totp", text)

    async def submit_denial(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The deny modal: a reason is required; stored before it closes."""
        user_id = str(body["user"]["id"])
        request_id = str(_metadata(view).get("r") or "")
        values = _values(view)
        errors: dict[str, str] = {}
        reason = _checked(values, ids.BLOCK_REASON, ids.INPUT_REASON, MAX_NOTE, "reason", errors)
        if reason is None and not errors:
            errors[ids.BLOCK_REASON] = "A reason is required to deny."
        if errors or reason is None:
            await ack(response_action="errors", errors=errors)
            return
        try:
            actor = await self.actor(user_id)
            request = await self.service.deny(request_id, actor, reason)
        except (StoreError, LookupFailed) as exc:
            await ack(response_action="errors", errors={ids.BLOCK_REASON: _failure_text(exc)})
            return
        await ack()
        await self.after_transition(request, user_id)


# --- sub-commands -----------------------------------------------------------------------------


async def request_command(
    services: Services, command: Mapping[str, Any], client: AsyncWebClient, rest: str
) -> None:
    """``/verify-vendor request [vendor]``: open the request modal (vendor chosen if named)."""
    reply = destination_for(command, client)
    if services.approvals is None:
        text = "High-risk requests are not enabled on this deskguard."
        await reply.send(text, bk.problem_blocks(text))
        return
    ui = ApprovalsUi(services, services.approvals, client)
    vendor_id = None
    if rest:
        registry = services.current_registry
        vendor = registry.find_by_name(rest) or registry.get(rest.lower())
        if vendor is None:
            text = (
                f"{bk.defang_text(rest[:100])} is not in the vendor registry, so deskguard has no "
                f"verified number to call back. Run `{ids.COMMAND} request` to choose a registered "
                "vendor."
            )
            await reply.send(text, bk.problem_blocks(text))
            return
        vendor_id = vendor.id
    await ui.open_modal(str(command.get("trigger_id") or ""), reply, vendor_id=vendor_id)


async def audit_command(
    services: Services, command: Mapping[str, Any], client: AsyncWebClient, rest: str
) -> None:
    """``/verify-vendor audit <request-id>``: the request's trail, for approvers only."""
    reply = destination_for(command, client)
    service = services.approvals
    if service is None:
        text = "High-risk requests are not enabled on this deskguard."
        await reply.send(text, bk.problem_blocks(text))
        return
    ui = ApprovalsUi(services, service, client)
    user_id = str(command.get("user_id") or "")
    request_id = rest.strip()
    if not request_id:
        text = f"Usage: `{ids.COMMAND} audit <request id>` (the id is on the request card)."
        await reply.send(text, bk.problem_blocks(text))
        return
    try:
        actor = await ui.actor(user_id)
        roles = await service.roles.roles_of(user_id)
        if actor.is_guest or not roles:
            raise refuse(
                "not_in_role", "Only technical approvers and vendor managers can read the audit."
            )
        request = await service.get(request_id)
        events = await service.history(request.id)
    except TransitionRefused as exc:
        await reply.send(str(exc), bk.problem_blocks(str(exc)))
        return
    except LookupFailed:
        await reply.send(WHO_FAILED, bk.problem_blocks(WHO_FAILED))
        return
    text = f"Audit trail of request {request.id}"
    await reply.send(text, ab.audit_blocks(request, events, keep=ui.keep))


SUBCOMMANDS = {"request": request_command, "audit": audit_command}


# --- listeners --------------------------------------------------------------------------------


def card_updater(client: AsyncWebClient, services: Services) -> CardUpdater:
    """What the expiry sweeper calls for each expired request."""
    if services.approvals is None:
        raise ValueError("the approval service is not configured")
    return ApprovalsUi(services, services.approvals, client).update_card


def register_approvals(app: AsyncApp, services: Services) -> None:
    """Register the flow's listeners; without an approval service, cards' buttons say so."""
    if services.approvals is None:

        async def not_enabled(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            text = "High-risk requests are not enabled on this deskguard; nothing was changed."
            await _reply(client, body).send(text, bk.problem_blocks(text))

        app.action(ids.ACTION_APPROVE)(not_enabled)
        app.action(ids.ACTION_DENY)(not_enabled)
        return
    ui = ApprovalsUi(services, services.approvals, app.client)

    @app.action(ids.ACTION_START_REQUEST)
    async def start_from_report(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        user_id = str(body["user"]["id"])
        value = _json(action.get("value"))
        entry_id, target = value.get("entry"), value.get("target")
        entry = services.history.find(user_id, entry_id) if isinstance(entry_id, str) else None
        vendor_id = value.get("vendor_id")
        verification = verification_summary(entry.report) if entry else None
        metadata = {
            "entry": entry_id if isinstance(entry_id, str) else None,
            "target": target[:300] if isinstance(target, str) else None,
        }
        reply = _reply(ui.cards, body)
        await ui.open_modal(
            str(body["trigger_id"]),
            reply,
            vendor_id=vendor_id if isinstance(vendor_id, str) else None,
            verification=verification,
            metadata=metadata,
        )

    @app.shortcut(ids.SHORTCUT_NEW_REQUEST)
    async def new_request(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await ui.open_modal(str(body.get("trigger_id") or ""), _reply(ui.cards, body))

    @app.view(ids.VIEW_NEW_REQUEST)
    async def request_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ui.submit_request(ack, body, view)

    @app.action(ids.ACTION_APPROVE)
    async def approve_clicked(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await ui.click(body, action, approve=True)

    @app.action(ids.ACTION_DENY)
    async def deny_clicked(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await ui.click(body, action, approve=False)

    @app.view(ids.VIEW_APPROVE)
    async def approval_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ui.submit_approval(ack, body, view)

    @app.view(ids.VIEW_DENY)
    async def denial_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ui.submit_denial(ack, body, view)


# --- payload helpers --------------------------------------------------------------------------


def _reply(client: AsyncWebClient, body: Mapping[str, Any]) -> Destination:
    """Where to answer a button or shortcut: its response_url, else a DM."""
    user_id = str(body["user"]["id"])
    response_url = body.get("response_url")
    if isinstance(response_url, str) and response_url:
        return Destination(client, user_id, response_url=response_url)
    return Destination(client, user_id, channel=user_id, ephemeral=False)


def _json(value: object) -> dict[str, Any]:
    if not isinstance(value, str) or len(value) > 2000:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    return _json(view.get("private_metadata"))


def _values(view: Mapping[str, Any]) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values")
    return values if isinstance(values, dict) else {}


def _element(values: Mapping[str, Any], block: str, action: str) -> dict[str, Any]:
    element = (values.get(block) or {}).get(action)
    return element if isinstance(element, dict) else {}


def _text(values: Mapping[str, Any], block: str, action: str) -> str:
    value = _element(values, block, action).get("value")
    return value.strip() if isinstance(value, str) else ""


def _choice(values: Mapping[str, Any], block: str, action: str) -> str:
    """A static_select's chosen value, or a text input's text."""
    element = _element(values, block, action)
    option = element.get("selected_option")
    if isinstance(option, dict) and isinstance(option.get("value"), str):
        return str(option["value"])
    value = element.get("value")
    return value.strip() if isinstance(value, str) else ""


def _checked_boxes(values: Mapping[str, Any], block: str, action: str) -> set[str]:
    options = _element(values, block, action).get("selected_options")
    if not isinstance(options, list):
        return set()
    return {str(o.get("value")) for o in options if isinstance(o, dict)}


def _checked(
    values: Mapping[str, Any],
    block: str,
    action: str,
    limit: int,
    what: str,
    errors: dict[str, str],
) -> str | None:
    """A text input cleaned by the core's rules (length, control characters); '' is None."""
    try:
        return clean_text(_text(values, block, action), limit=limit, what=what)
    except TransitionRefused as exc:
        errors[block] = str(exc)
        return None


def _failure_text(exc: Exception) -> str:
    """What a modal shows when a step was refused or could not be done (nothing changed)."""
    if isinstance(exc, LookupFailed):
        return WHO_FAILED
    if isinstance(exc, StoreError) and not isinstance(exc, TransitionRefused):
        return STORE_FAILED
    return str(exc)


_REFUSAL_BLOCK = {
    "proof_required": ids.BLOCK_PROOF,
    "proof_invalid": ids.BLOCK_PROOF,
    "proof_replayed": ids.BLOCK_PROOF,
    "proof_unavailable": ids.BLOCK_PROOF,
    "unregistered_callback_number": ids.BLOCK_PHONE,
    "callback_not_attested": ids.BLOCK_CALLED,
}


def _refusal_block(reason: str, has_proof: bool) -> str:
    """The modal input a refusal is shown under."""
    block = _REFUSAL_BLOCK.get(reason, ids.BLOCK_REASON)
    return ids.BLOCK_REASON if block == ids.BLOCK_PROOF and not has_proof else block
