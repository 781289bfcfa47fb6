"""bench/leanhttp.py: the inbound bench's lean HTTP ends, against the real clients and servers
they stand in for (slack_sdk's AsyncWebClient; an aiohttp server like the gate)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bench.leanhttp import LeanSlack, build_request, post_raw

JOB = "1700000000000-0123456789abcdef"


def _card(job_id: str, verdict: str) -> dict[str, Any]:
    return {
        "channel": "CTRIAGE",
        "text": f"deskguard: inbound email {verdict} — “quoted” ünïcode",
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Inbound message `{job_id}`"}],
            }
        ],
    }


async def test_slack_stand_in_answers_slack_sdk_and_records_cards() -> None:
    async with LeanSlack() as slack:
        client = AsyncWebClient(token="xoxb-1-2-test", base_url=slack.base_url)
        auth = await client.auth_test()
        assert auth["bot_id"] == "BDESKGUARD" and auth["user_id"] == "UBOT"
        first = await client.chat_postMessage(**_card(JOB, "SPOOFED"))
        second = await client.chat_postMessage(**_card(JOB, "SPOOFED"))  # the same job again
        other = await client.chat_postMessage(**_card("1700000000001-fedcba9876543210", "VERIFIED"))
        plain = await client.chat_postMessage(channel="CTRIAGE", text="no job id here")
        assert first["ts"] != second["ts"] and first["channel"] == "CTRIAGE"
        assert set(slack.cards) == {JOB, "1700000000001-fedcba9876543210"}
        assert slack.duplicates == {JOB: 1}
        assert slack.verdicts == {"SPOOFED": 2, "VERIFIED": 1}
        posted = slack.find("chat.postMessage")
        assert len(posted) == 4 and all(c.status == 200 for c in posted)
        assert posted[0].data["blocks"][0]["type"] == "context"  # decoded as the recorder does
        assert "“quoted” ünïcode" in posted[0].text()
        history = await client.conversations_history(channel="CTRIAGE", oldest="0")
        assert [m["ts"] for m in history["messages"]] == [
            plain["ts"],
            other["ts"],
            second["ts"],
            first["ts"],
        ]
        await client.users_info(user="U1")  # anything else: ok
        assert slack.errors == []
        slack.reset()
        assert not slack.calls and not slack.cards and not slack.duplicates


async def test_slack_stand_in_takes_form_bodies_and_query_strings() -> None:
    async with LeanSlack() as slack:
        client = AsyncWebClient(token="xoxb-1-2-test", base_url=slack.base_url)
        await client.api_call(
            "chat.postMessage",
            data={
                "channel": "C1",
                "text": f"deskguard: inbound email SUSPICIOUS `x` Inbound message `{JOB}`",
            },
        )
        await client.api_call("users.info", params={"user": "U9"})
        assert slack.cards.keys() == {JOB}
        assert slack.verdicts == {"SUSPICIOUS": 1}
        assert slack.find("users.info")[0].data == {"user": "U9"}


async def test_slack_stand_in_refuses_what_it_does_not_speak() -> None:
    async with LeanSlack() as slack:
        reader, writer = await asyncio.open_connection("127.0.0.1", slack.port)
        writer.write(
            b"POST /api/chat.postMessage HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert slack.errors == ["transfer-encoding not supported"]
        client = AsyncWebClient(token="xoxb-1-2-test", base_url=f"http://127.0.0.1:{slack.port}/")
        with pytest.raises(SlackApiError):
            await client.api_call("auth.test")  # /auth.test: not under /api/
        assert slack.errors[-1].startswith("unexpected path")


async def _gate(handler: Any) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/inbound/email", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def test_post_raw_sends_every_request_over_kept_alive_connections() -> None:
    seen: list[tuple[str, bytes, str]] = []
    peers: set[tuple[str, int]] = set()

    async def inbound(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((request.headers["X-Test"], body, request.headers["Content-Type"]))
        peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        if body == b"refuse":
            return web.json_response({"ok": False, "error": "bad"}, status=401)
        if body == b"close":
            return web.json_response(
                {"ok": True, "id": "c"}, status=202, headers={"Connection": "close"}
            )
        return web.json_response({"ok": True, "id": body.decode()}, status=202)

    runners = [await _gate(inbound), await _gate(inbound)]
    try:
        addresses = [("127.0.0.1", port) for _, port in runners]
        bodies = [f"m{i}".encode() for i in range(40)] + [b"refuse", b"close", b"x" * 200_000]
        requests = [
            build_request(*addresses[i % 2], "/inbound/email", [("X-Test", str(i))], body)
            for i, body in enumerate(bodies)
        ]
        answers: dict[int, tuple[int, Any]] = {}
        failures: list[tuple[int, str]] = []
        await post_raw(
            addresses,
            requests,
            4,
            lambda i, status, body: answers.__setitem__(i, (status, json.loads(body))),
            lambda i, error: failures.append((i, error)),
        )
    finally:
        for runner, _ in runners:
            await runner.cleanup()
    assert failures == []
    assert len(answers) == len(bodies)
    assert answers[0] == (202, {"ok": True, "id": "m0"})
    assert answers[40] == (401, {"ok": False, "error": "bad"})
    assert answers[41][0] == 202
    assert answers[42][1]["id"] == "x" * 200_000
    assert sorted(int(tag) for tag, _, _ in seen) == list(range(len(bodies)))
    assert all(ctype == "application/octet-stream" for _, _, ctype in seen)
    assert {body for _, body, _ in seen} == set(bodies)
    assert len(peers) <= 5  # 4 lanes, one of them reconnected after "Connection: close"


async def test_post_raw_reports_each_request_a_peer_hangs_up_on() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    failures: list[tuple[int, str]] = []
    try:
        requests = [build_request("127.0.0.1", port, "/inbound/email", [], b"body")] * 3
        await post_raw(
            [("127.0.0.1", port)],
            requests,
            1,
            lambda *a: None,
            lambda i, e: failures.append((i, e)),
        )
    finally:
        server.close()
        await server.wait_closed()
    assert [i for i, _ in failures] == [0, 1, 2]
    assert {e for _, e in failures} == {"HttpError"}
