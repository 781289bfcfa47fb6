"""App Home: how to use deskguard, the registry summary, the caller's recent verifications."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.services import Services
from bot.watch.posture import PostureRow
from bot.watch.snapshots import POSTURE
from handlers import home_blocks, ids
from handlers import text as tx
from handlers.reply import web_call


async def _privileged_posture(services: Services) -> list[PostureRow] | None:
    """The last stored posture of the privileged vendors' domains; None before the first run."""
    if services.watch is None:
        return None
    stored = await services.watch.load(POSTURE)
    if stored is None:
        return None
    privileged = {v.id for v in services.current_registry.vendors if v.privileged}
    rows = [PostureRow.from_json(r) for r in stored]
    return sorted((r for r in rows if r.vendor in privileged), key=PostureRow.risk)


def register(app: AsyncApp, services: Services) -> None:
    """Register the app_home_opened listener."""

    @app.event(ids.EVENT_HOME)
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])
        registry = services.current_registry
        view = home_blocks.home_view(
            vendors=len(registry),
            overdue=services.overdue(),
            recent=services.history.recent(user),
            keep=tx.registered_domains(registry),
            posture=await _privileged_posture(services),
        )
        await web_call(client.views_publish, "views.publish", user_id=user, view=view)
