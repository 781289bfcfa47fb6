"""``/verify-vendor <phone number | domain | address | vendor name | help>``.

Sub-commands (``/verify-vendor request ...``) are looked up in the ``subcommands`` mapping given to
:func:`register`, so features such as the approval flow add theirs without editing this module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import InputError
from bot.runtime.services import Services
from bot.verify.vendors import UnknownVendor, find_vendor
from handlers import blocks as bk
from handlers import ids
from handlers import text as tx
from handlers.reply import Destination

Subcommand = Callable[[Services, Mapping[str, Any], AsyncWebClient, str], Awaitable[None]]
HELP_WORDS = frozenset({"", "help", "-h", "--help", "?"})


def destination_for(command: Mapping[str, Any], client: AsyncWebClient) -> Destination:
    """Answers to a slash command go back through its response_url, ephemeral."""
    return Destination(
        client,
        user=str(command.get("user_id", "")),
        channel=command.get("channel_id"),
        response_url=command.get("response_url"),
    )


async def answer(
    services: Services, text: str, destination: Destination, *, replace: bool = False
) -> None:
    """Help, a registry card, or a verification report for ``text``."""
    text = text.strip()
    registry = services.current_registry
    keep = tx.registered_domains(registry)
    if text.lower() in HELP_WORDS:
        await destination.send(f"How to use {ids.COMMAND}", bk.help_blocks())
        return
    vendor = find_vendor(registry, text)
    if vendor is not None:
        overdue = registry.is_overdue(
            vendor, services.today(), services.settings.review_interval_days
        )
        await destination.send(
            f"{vendor.name}: registry card", bk.vendor_card_blocks(vendor, overdue=overdue)
        )
        return
    try:
        report = await services.verifier.verify_target(text)
    except UnknownVendor as exc:
        problem = tx.defang_text(str(exc), keep)  # quotes what the user typed
        await destination.send(tx.escape(problem), bk.help_blocks(problem))
        return
    except InputError as exc:
        problem = f"{tx.defang_text(text[:200], keep)}: {exc}"
        await destination.send(f"Cannot check that: {tx.escape(problem)}", bk.help_blocks(problem))
        return
    entry = services.history.add(destination.user, report, recheck=report.target)
    blocks = bk.report_blocks(
        report, keep=keep, entry_id=entry.id, recheck=report.target, share=destination.shareable
    )
    await destination.send(bk.report_text(report, keep), blocks, replace_original=replace)


def register(
    app: AsyncApp, services: Services, subcommands: Mapping[str, Subcommand] | None = None
) -> None:
    """Register the slash command."""
    extra = dict(subcommands or {})

    @app.command(ids.COMMAND)
    async def verify_vendor(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        text = str(command.get("text") or "")
        word, _, rest = text.strip().partition(" ")
        handler = extra.get(word.lower())
        if handler is not None:
            await handler(services, command, client, rest.strip())
            return
        await answer(services, text, destination_for(command, client))
