"""Slack-facing code: thin listeners and pure Block Kit builders.

:func:`register` installs everything on a Bolt ``AsyncApp``. A feature adds itself by appending
its ``register(app, services)`` to :data:`FEATURES` (before the placeholders, which answer only for
ids no feature took) and its ``/verify-vendor`` words to :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.runtime.services import Services
from handlers import approvals, caller, commands, dm, errors, home, placeholders, shortcuts

Registrar = Callable[[AsyncApp, Services], None]
FEATURES: list[Registrar] = [approvals.register_approvals, caller.register]
SUBCOMMANDS: dict[str, commands.Subcommand] = {**approvals.SUBCOMMANDS, **caller.SUBCOMMANDS}


def register(app: AsyncApp, services: Services) -> None:
    """Install the middleware, every listener and the one error handler on ``app``."""
    errors.register(app)
    app.middleware(_dedupe_middleware(services))
    for feature in FEATURES:
        feature(app, services)
    commands.register(app, services, SUBCOMMANDS)
    shortcuts.register(app, services)
    dm.register(app, services)
    home.register(app, services)
    placeholders.register(app, services)


def _dedupe_middleware(
    services: Services,
) -> Callable[..., Awaitable[BoltResponse]]:
    async def dedupe_events(
        body: dict[str, Any], resp: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse:
        """Acknowledge a redelivered event (same event_id) without processing it again."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await services.dedupe.first_time(f"event:{event_id}"):
            return BoltResponse(status=200, body="")
        await next()
        return resp

    return dedupe_events
