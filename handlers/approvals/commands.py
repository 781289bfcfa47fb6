"""The flow's ``/verify-vendor`` words: ``request [vendor]`` and ``audit <request id>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.machine import refuse
from bot.errors import TransitionRefused
from bot.runtime.services import Services
from handlers import blocks as bk
from handlers import ids
from handlers import text as tx
from handlers.approvals import message_blocks
from handlers.approvals.forms import WHO_FAILED
from handlers.approvals.opening import open_modal
from handlers.approvals.slack_roles import LookupFailed
from handlers.approvals.ui import ApprovalsUi
from handlers.commands import destination_for


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
                f"{tx.defang_text(rest[:100])} is not in the vendor registry, so deskguard has no "
                f"verified number to call back. Run `{ids.COMMAND} request` to choose a registered "
                "vendor."
            )
            await reply.send(tx.escape(text), bk.problem_blocks(text))  # as the block shows it
            return
        vendor_id = vendor.id
    await open_modal(ui, str(command.get("trigger_id") or ""), reply, vendor_id=vendor_id)


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
    await reply.send(text, message_blocks.audit_blocks(request, events, keep=ui.keep))


SUBCOMMANDS = {"request": request_command, "audit": audit_command}
