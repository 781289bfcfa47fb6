"""App Home: how to use deskguard, the registry summary, the caller's recent verifications."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.services import Services
from handlers import blocks as bk
from handlers import ids
from handlers.reply import web_call


def register(app: AsyncApp, services: Services) -> None:
    """Register the app_home_opened listener."""

    @app.event(ids.EVENT_HOME)
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])
        registry = services.current_registry
        view = bk.home_view(
            vendors=len(registry),
            overdue=services.overdue(),
            recent=services.history.recent(user),
            keep=bk.registered_domains(registry),
        )
        await web_call(client.views_publish, "views.publish", user_id=user, view=view)
