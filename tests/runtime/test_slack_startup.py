"""Slack start-up as the process does it: tokens checked with auth.test (and, in Socket Mode,
apps.connections.open) against the local Slack stand-in; a refused token is exit 2 naming the
variable; an unreachable Slack is retried with backoff, readiness red, and a signal stops it."""

from __future__ import annotations

import asyncio
import json
import signal

from tests.support.redis_server import free_port
from tests.support.serve import start_serve
from tests.support.slack_api import SlackApiRecorder

APP_TOKEN = "xapp-1-A111-222-apptoken"


def _error_lines(stderr: str) -> list[str]:
    """The CLI's error lines (Bolt's own start-up warning is another line, not an error)."""
    return [line for line in stderr.splitlines() if line.startswith("deskguard:")]


async def test_a_refused_bot_token_is_exit_2_naming_it(tmp_path):
    async with SlackApiRecorder() as slack:
        slack.fail("auth.test", 200, error="invalid_auth")
        serve = await start_serve(tmp_path, slack.base_url)
        assert await asyncio.wait_for(serve.process.wait(), 30) == 2
        lines = _error_lines(serve.stderr)
        assert len(lines) == 1, serve.stderr
        assert lines[0].startswith("deskguard: SLACK_BOT_TOKEN was refused by Slack (invalid_auth)")
        assert "Traceback" not in serve.stderr
        assert slack.methods() == ["auth.test"]


async def test_a_refused_app_token_in_socket_mode_is_exit_2_naming_it(tmp_path):
    async with SlackApiRecorder() as slack:
        slack.fail("apps.connections.open", 200, error="invalid_auth")
        serve = await start_serve(tmp_path, slack.base_url, SLACK_APP_TOKEN=APP_TOKEN)
        assert await asyncio.wait_for(serve.process.wait(), 30) == 2
        lines = _error_lines(serve.stderr)
        assert len(lines) == 1, serve.stderr
        assert lines[0].startswith("deskguard: SLACK_APP_TOKEN was refused by Slack (invalid_auth)")
        assert "Traceback" not in serve.stderr
        (opened,) = slack.find("apps.connections.open")
        assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"


async def test_unreachable_slack_is_retried_not_ready_and_sigterm_stops_it(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    serve = await start_serve(tmp_path, closed)
    try:
        await serve.wait_http("/healthz", 200)
        body = json.loads(await serve.wait_http("/readyz", 503))
        assert body["checks"]["slack"].startswith("connecting")
        for _ in range(400):  # attempts 1 and 2 (1 s apart): one line each
            if serve.stderr.count("not reachable") >= 2:
                break
            await asyncio.sleep(0.05)
        assert serve.stderr.count("not reachable") >= 2
        assert "Traceback" not in serve.stderr
        assert "retrying in 1 s" in serve.stderr and "retrying in 2 s" in serve.stderr
    finally:
        assert await serve.stop(within=10) == 0


async def test_unreachable_socket_mode_is_retried_and_sigint_stops_it(tmp_path):
    async with SlackApiRecorder() as slack:
        slack.fail("apps.connections.open", 503, times=100, error="service_unavailable")
        serve = await start_serve(tmp_path, slack.base_url, SLACK_APP_TOKEN=APP_TOKEN)
        try:
            await slack.wait_for("auth.test")
            for _ in range(400):
                if len(slack.find("apps.connections.open")) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert len(slack.find("apps.connections.open")) >= 2
            body = json.loads(await serve.wait_http("/readyz", 503))
            assert "service_unavailable" in body["checks"]["slack"]
        finally:
            serve.process.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(serve.process.wait(), 10) == 0
        assert "Traceback" not in serve.stderr


async def test_slack_that_comes_back_makes_the_service_ready(tmp_path):
    async with SlackApiRecorder() as slack:
        slack.fail("auth.test", 500, times=2)
        serve = await start_serve(tmp_path, slack.base_url)
        try:
            body = json.loads(await serve.wait_http("/readyz", 200))
            assert body["checks"]["slack"] == "ok"
            assert [c.status for c in slack.find("auth.test")] == [500, 500, 200]
            assert serve.stderr.count("not reachable") == 2
            _, metrics = await serve.get("/metrics")
            assert "deskguard_slack_connect_retries_total 2.0" in metrics
        finally:
            assert await serve.stop() == 0


async def test_socket_mode_connects_then_is_ready(tmp_path):
    async with SlackApiRecorder() as slack:
        serve = await start_serve(tmp_path, slack.base_url, SLACK_APP_TOKEN=APP_TOKEN)
        try:
            await serve.wait_http("/readyz", 200)
            assert slack.find("ws_connect")
            assert slack.methods()[0] == "auth.test"
            # Slack drops the connection and refuses new ones: not ready while it is down
            slack.fail("apps.connections.open", 503, times=1000, error="service_unavailable")
            assert slack.ws is not None
            await slack.ws.close()
            body = json.loads(await serve.wait_http("/readyz", 503))
            assert body["checks"]["slack"].startswith("disconnected")
        finally:
            assert await serve.stop() == 0


async def test_a_signal_stops_it_in_the_middle_of_a_hung_attempt(tmp_path):
    async with SlackApiRecorder() as slack:
        slack.delays["auth.test"] = 60  # Slack accepts the connection and never answers
        serve = await start_serve(tmp_path, slack.base_url)
        try:
            await slack.wait_for("auth.test")
            body = json.loads(await serve.wait_http("/readyz", 503))
            assert body["checks"]["slack"] == "connecting"
        finally:
            assert await serve.stop(within=10) == 0
