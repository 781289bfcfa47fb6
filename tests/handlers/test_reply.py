"""How a failed Web API call is reported: whether a later attempt may succeed."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from handlers.reply import ROUTE_MESSAGE, DeliveryError, web_call


def _failing(status: int, error: str) -> Any:
    async def method(**kwargs: Any) -> Any:
        response = AsyncSlackResponse(
            client=None,
            http_verb="POST",
            api_url="https://slack.com/api/chat.postMessage",
            req_args={},
            data={"ok": False, "error": error},
            headers={},
            status_code=status,
        )
        raise SdkApiError(error, response)  # type: ignore[no-untyped-call]

    return method


@pytest.mark.parametrize(
    ("status", "error", "transient"),
    [
        (200, "channel_not_found", False),
        (200, "invalid_blocks", False),
        (429, "ratelimited", True),
        (503, "service_unavailable", True),
    ],
)
async def test_only_an_overloaded_slack_is_worth_another_attempt(
    status: int, error: str, transient: bool
) -> None:
    with pytest.raises(DeliveryError) as raised:
        await web_call(_failing(status, error), ROUTE_MESSAGE, channel="C1", text="t")
    assert raised.value.transient is transient
    assert error in str(raised.value)
