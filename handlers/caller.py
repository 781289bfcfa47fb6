""" "Check a caller": the global shortcut and ``/verify-vendor caller`` open a modal; its answer
leads with the verdict and the registry's callback number. "Report to security" sends a
suspicious report to the triage channel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import InputError
from bot.runtime.services import Services
from bot.verify.caller import add_request
from bot.verify.phone import looks_like_phone, parse_phone
from bot.verify.vendors import clean_name, find_vendor
from handlers import blocks as bk
from handlers import caller_blocks, ids
from handlers import text as tx
from handlers.approvals.forms import choice, private_metadata, state_values, text_value
from handlers.reply import Destination, post_message, web_call

TRIAGE_NOT_CONFIGURED = (
    "The security channel is not configured (DESKGUARD_TRIAGE_CHANNEL), so nothing was posted: "
    "tell your security team yourself, and do not act on the request."
)
EXPIRED = "That report has expired: run the check again, then report it."


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


async def open_caller_modal(
    client: AsyncWebClient, services: Services, trigger_id: str, metadata: Mapping[str, Any]
) -> None:
    """Open the modal; ``metadata`` says where the answer goes (a response_url, or none: DM)."""
    view = caller_modal_view(services, metadata)
    await web_call(client.views_open, "views.open", trigger_id=trigger_id, view=view)


def caller_modal_view(services: Services, metadata: Mapping[str, Any]) -> View:
    """The modal with the current registry's vendors."""
    return caller_blocks.caller_modal(
        services.current_registry.vendors, json.dumps(dict(metadata), separators=(",", ":"))
    )


async def caller_subcommand(
    services: Services, command: Mapping[str, Any], client: AsyncWebClient, rest: str
) -> None:
    """``/verify-vendor caller``: open the modal; the answer comes back ephemeral."""
    metadata = {"response_url": command.get("response_url"), "channel": command.get("channel_id")}
    await open_caller_modal(client, services, str(command.get("trigger_id") or ""), metadata)


SUBCOMMANDS = {"caller": caller_subcommand}


def _destination(client: AsyncWebClient, user: str, metadata: Mapping[str, Any]) -> Destination:
    response_url = metadata.get("response_url")
    if isinstance(response_url, str) and response_url:
        return Destination(client, user=user, response_url=response_url)
    return Destination(client, user=user, channel=user, ephemeral=False)


async def submit_caller(
    services: Services,
    ack: AsyncAck,
    body: Mapping[str, Any],
    view: Mapping[str, Any],
    client: AsyncWebClient,
) -> None:
    """Check the submission, close the modal, then answer with the caller report."""
    values = state_values(view)
    registry = services.current_registry
    errors: dict[str, str] = {}
    vendor = find_vendor(registry, choice(values, ids.BLOCK_CALLER_VENDOR, ids.INPUT_CALLER_VENDOR))
    if vendor is None:
        errors[ids.BLOCK_CALLER_VENDOR] = "Choose the vendor they claim to be from."
    number = text_value(values, ids.BLOCK_CALLER_NUMBER, ids.INPUT_CALLER_NUMBER)[:64]
    e164 = None
    if looks_like_phone(number):
        try:
            e164 = parse_phone(number, registry.region)
        except InputError:
            e164 = None
    if e164 is None:
        errors[ids.BLOCK_CALLER_NUMBER] = (
            "Give a phone number, with its country code: +1 206 555 0142"
        )
    if errors or vendor is None or e164 is None:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    name = (
        clean_name(text_value(values, ids.BLOCK_CALLER_NAME, ids.INPUT_CALLER_NAME)[:200]) or None
    )
    request = text_value(values, ids.BLOCK_CALLER_REQUEST, ids.INPUT_CALLER_REQUEST)[:1000] or None
    user = str(body["user"]["id"])
    report = await services.verifier.verify_target(e164, claims=vendor.id, caller=name)
    high_risk = False
    if request:
        report, high_risk = add_request(report, request)
    entry = services.history.add(user, report)
    keep = tx.registered_domains(registry)
    blocks = bk.report_blocks(
        report,
        keep=keep,
        entry_id=entry.id,
        share=False,
        extra=caller_blocks.caller_context(report, vendor, name, request, keep),
        offer_start=high_risk,
        request_summary=caller_blocks.request_summary(report, vendor, name, request),
    )
    destination = _destination(client, user, private_metadata(view))
    await destination.send(bk.report_text(report, keep), blocks)


async def report_to_security(
    services: Services, body: Mapping[str, Any], action: Mapping[str, Any], client: AsyncWebClient
) -> None:
    """Post the user's report to the triage channel (or say it is not configured)."""
    user = str(body["user"]["id"])
    response_url = body.get("response_url")
    channel_id = (body.get("channel") or {}).get("id")
    reply = Destination(
        client,
        user=user,
        channel=channel_id if isinstance(channel_id, str) else None,
        response_url=response_url if isinstance(response_url, str) else None,
    )
    entry = services.history.find(user, str(action.get("value") or ""))
    if entry is None:
        await reply.send(EXPIRED, bk.problem_blocks(EXPIRED))
        return
    channel = services.settings.triage_channel
    if not channel:
        await reply.send(TRIAGE_NOT_CONFIGURED, bk.problem_blocks(TRIAGE_NOT_CONFIGURED))
        return
    keep = tx.registered_domains(services.current_registry)
    flag = _context(f":rotating_light: Reported to security by <@{tx.escape(user)}>.")
    blocks = bk.report_blocks(entry.report, keep=keep, shared_by=user, extra=[flag])
    text = f"Reported to security: {bk.report_text(entry.report, keep)}"
    await post_message(client, channel, text, blocks)
    done = f"Reported to security in <#{tx.escape(channel)}>. Do not act on the request."
    await reply.send(done, [_context(done)])


def register(app: AsyncApp, services: Services) -> None:
    """Register the "Check a caller" shortcut, its modal, and "Report to security"."""

    @app.shortcut(ids.SHORTCUT_CHECK_CALLER)
    async def check_caller(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_caller_modal(client, services, str(body.get("trigger_id") or ""), {})

    @app.view(ids.VIEW_CHECK_CALLER)
    async def caller_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await submit_caller(services, ack, body, view, client)

    @app.action(ids.ACTION_REPORT_SECURITY)
    async def report_clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await report_to_security(services, body, action, client)


__all__ = ["SUBCOMMANDS", "register"]
