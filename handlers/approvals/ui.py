"""What every listener of the countersign flow shares: the service, who people are, the clients."""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.machine import Actor, Request, Slot
from bot.approvals.service import ApprovalService
from bot.registry import Vendor
from bot.runtime.services import Services
from handlers import blocks as bk
from handlers.approvals import card_blocks
from handlers.approvals.slack_roles import SlackRoleResolver
from handlers.reply import retry_handlers


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
        return card_blocks.card_blocks(
            request, self.vendor(request.vendor_id), challenges=challenges, keep=self.keep
        )

    async def actor(self, user_id: str) -> Actor:
        """The Slack user as an Actor (guest flag and own workspace from users.info)."""
        return await self.people.actor(user_id)
