"""Requests as Slack sends them: form or JSON bodies with a correct (or deliberately wrong)
``X-Slack-Signature`` (HMAC-SHA256 over ``v0:{timestamp}:{body}``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a test signing secret
TEAM = "T0001"


def signature(secret: str, timestamp: int, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    retry_num: int | None = None,
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def command_body(text: str, *, response_url: str, user: str = "U111", channel: str = "C111") -> str:
    """A /verify-vendor slash command, form-encoded."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "helpdesk",
            "user_id": user,
            "user_name": "analyst",
            "command": "/verify-vendor",
            "text": text,
            "api_app_id": "A0001",
            "response_url": response_url,
            "trigger_id": "1337.42.abcd",
        }
    )


def interactive_body(payload: dict[str, Any]) -> str:
    """An interactivity payload (shortcut, button, view submission), form-encoded."""
    payload = {"team": {"id": TEAM, "domain": "example"}, "api_app_id": "A0001", **payload}
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any], *, event_id: str = "Ev0001") -> str:
    """An Events API callback, JSON."""
    return json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
        }
    )
