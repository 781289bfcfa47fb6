"""The "Verify sender" message shortcut and the report buttons (share, re-check, paste modal)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import InputError
from bot.runtime.services import Services
from handlers import blocks as bk
from handlers import ids
from handlers import text as tx
from handlers.commands import answer
from handlers.files import answer_message
from handlers.reply import Destination, post_message, web_call


def _destination(body: dict[str, Any], client: AsyncWebClient) -> Destination:
    channel = (body.get("channel") or {}).get("id")
    response_url = body.get("response_url")
    if not response_url and body.get("response_urls"):
        response_url = body["response_urls"][0].get("response_url")
    return Destination(
        client, user=str(body["user"]["id"]), channel=channel, response_url=response_url
    )


def register(app: AsyncApp, services: Services) -> None:
    """Register the message shortcut, the report buttons and the paste modal."""

    @app.shortcut(ids.SHORTCUT_VERIFY_SENDER)
    async def verify_sender(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await answer_message(services, body.get("message") or {}, _destination(body, client))

    @app.action(ids.ACTION_RECHECK)
    async def recheck(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        destination = _destination(body, client)
        await answer(services, str(action.get("value") or ""), destination, replace=True)

    @app.action(ids.ACTION_SHARE)
    async def share(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        destination = _destination(body, client)
        entry = services.history.find(destination.user, str(action.get("value") or ""))
        if entry is None or not destination.channel:
            text = "That report has expired: run the check again, then share it."
            await destination.send(tx.escape(text), bk.problem_blocks(text))
            return
        keep = tx.registered_domains(services.current_registry)
        blocks = bk.report_blocks(entry.report, keep=keep, shared_by=destination.user)
        await post_message(client, destination.channel, bk.report_text(entry.report, keep), blocks)

    @app.action(ids.ACTION_OPEN_PASTE)
    async def open_paste(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        metadata = json.dumps({"channel": (body.get("channel") or {}).get("id")})
        await web_call(
            client.views_open,
            "views.open",
            trigger_id=body["trigger_id"],
            view=bk.paste_modal(metadata),
        )

    @app.view(ids.VIEW_PASTE)
    async def paste_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = view.get("state", {}).get("values", {})
        source = str(values.get(ids.BLOCK_PASTE, {}).get(ids.INPUT_PASTE, {}).get("value") or "")
        if not source.strip():
            await ack(response_action="errors", errors={ids.BLOCK_PASTE: "Paste the email."})
            return
        await ack()
        user = str(body["user"]["id"])
        destination = Destination(client, user=user, channel=user, ephemeral=False)
        keep = tx.registered_domains(services.current_registry)
        try:
            report = await services.verifier.verify_message(source.encode("utf-8"))
        except InputError as exc:
            text = f"The pasted text could not be verified: {exc}"
            await destination.send(tx.escape(text), bk.problem_blocks(text))
            return
        entry = services.history.add(user, report)
        blocks = bk.report_blocks(report, keep=keep, entry_id=entry.id, share=False)
        await destination.send(bk.report_text(report, keep), blocks)
