"""The running app (HTTP mode, recording Slack server, test DNS server) for handler tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.dns import Resolver
from bot.registry import Registry
from tests.support.slack_app import Harness, running_app


@pytest.fixture
async def app(resolver: Resolver, registry: Registry) -> AsyncIterator[Harness]:
    async with running_app(resolver, registry) as harness:
        yield harness
