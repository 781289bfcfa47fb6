"""A local stand-in for Slack's side: a real aiohttp server that records every call.

- ``POST|GET /api/<method>``: the Web API (chat.postMessage, files.info, views.open, ...)
- ``GET /files/<id>/<name>``: url_private downloads (served from :meth:`add_file`)
- ``POST /response/<token>``: response_url posts
- ``GET /ws``: the Socket Mode WebSocket (``apps.connections.open`` answers with its URL)
- ``users.info`` and ``usergroups.users.list`` answer from :attr:`users` and :attr:`usergroups`
- ``conversations.history`` answers with what ``chat.postMessage`` posted (newest first)
- :attr:`delays` holds a method's answer back (the call is recorded and takes effect first), e.g.
  to kill a client between Slack's action and its answer

Any route can be told to fail: :meth:`fail` queues answers (429 with Retry-After, 500, ...).
Tests wait with :meth:`wait_for`, which polls the call log with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_USER = "UBOT"
BOT_ID = "BDESKGUARD"
TEAM = "T0001"


Posted = dict[str, list[dict[str, Any]]]  # channel -> messages posted, oldest first


def post_message(posted: Posted, data: dict[str, Any], ts: str) -> dict[str, Any]:
    """Record a chat.postMessage as the bot's message ``ts`` in ``posted``; Slack's answer."""
    channel = str(data.get("channel"))
    message = {
        "type": "message",
        "ts": ts,
        "text": data.get("text"),
        "blocks": data.get("blocks") or [],
        "bot_id": BOT_ID,
        "user": BOT_USER,
    }
    posted.setdefault(channel, []).append({**message, "_at": time.time()})
    return {"ok": True, "channel": channel, "ts": ts}


def channel_history(posted: Posted, data: dict[str, Any]) -> dict[str, Any]:
    """conversations.history over ``posted``, newest first (a worker looking for its card)."""
    oldest = float(data.get("oldest") or 0)
    # our ts values are fixed (1700000000.N): "oldest" compares with the real post time
    messages = [
        {k: v for k, v in m.items() if k != "_at"}
        for m in posted.get(str(data.get("channel")), [])
        if m["_at"] > oldest
    ]
    return {"ok": True, "messages": messages[::-1], "has_more": False}


@dataclass
class Call:
    """One recorded request."""

    method: str  # Web API method, or "download", "response_url", "ws_ack"
    data: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200

    def text(self) -> str:
        """Everything the call carried, as one string (for "was this shown?" checks)."""
        return json.dumps(self.data, ensure_ascii=False)


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackApiRecorder:
    """The recording server; use ``async with SlackApiRecorder() as slack``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.file_bytes: dict[str, bytes] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.ws: web.WebSocketResponse | None = None
        self.ws_connected = asyncio.Event()
        self._ts = 0
        self.users: dict[str, dict[str, Any]] = {}  # users.info answers, by user id
        self.usergroups: dict[str, list[str]] = {}  # usergroups.users.list answers, by group id
        self.posted: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, oldest first
        self.delays: dict[str, float] = {}  # method -> seconds before its answer is sent
        self._closing = asyncio.Event()

    # lifecycle

    async def __aenter__(self) -> SlackApiRecorder:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files/{file_id}/{name}", self._download)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_get("/ws", self._websocket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # addresses

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL (DESKGUARD_SLACK_API_URL)."""
        return f"{self.origin}/api/"

    def response_url(self, token: str = "r1") -> str:
        return f"{self.origin}/response/{token}"

    # scripting

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        error: str = "internal_error",
    ) -> None:
        """The next ``times`` calls to ``method`` (or "download", "response_url") fail."""
        queue = self._failures.setdefault(method, deque())
        for _ in range(times):
            queue.append(_Failure(status, retry_after, error))

    def add_file(
        self, file_id: str, name: str, content: bytes | None, **fields: Any
    ) -> dict[str, Any]:
        """Publish a file: files.info returns the object, url_private serves ``content``."""
        obj: dict[str, Any] = {
            "id": file_id,
            "name": name,
            "filetype": name.rsplit(".", 1)[-1] if "." in name else "text",
            "size": len(content or b""),
            "url_private": f"{self.origin}/files/{file_id}/{name}",
            "url_private_download": f"{self.origin}/files/{file_id}/{name}",
        }
        obj.update(fields)
        self.files[file_id] = obj
        if content is not None:
            self.file_bytes[file_id] = content
        return obj

    # inspection

    def find(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    async def wait_for(self, method: str, count: int = 1, within: float = 10.0) -> list[Call]:
        """Poll until ``count`` successful calls to ``method`` were recorded; fail on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            found = [c for c in self.find(method) if c.status == 200]
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise AssertionError(
                    f"expected {count} successful {method} call(s); recorded: {self.methods()}"
                )
            await asyncio.sleep(0.02)

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Push a Socket Mode envelope to the connected client."""
        await asyncio.wait_for(self.ws_connected.wait(), 10)
        assert self.ws is not None
        await self.ws.send_str(json.dumps(envelope))

    # handlers

    def _failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        return queue.popleft() if queue else None

    def _failed_response(self, failure: _Failure) -> web.Response:
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
        body = {"ok": False, "error": "ratelimited" if failure.status == 429 else failure.error}
        return web.json_response(body, status=failure.status, headers=headers)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        data: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                data.update(json.loads(raw))
            else:
                data.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        data = {k: _decode(v) for k, v in data.items()}
        call = Call(method, data, dict(request.headers))
        self.calls.append(call)
        failure = self._failure(method)
        if failure is not None:
            call.status = failure.status
            return self._failed_response(failure)
        answer = self._answer(method, data)
        delay = self.delays.get(method)
        if delay:
            with contextlib.suppress(TimeoutError):  # held until the delay passes or we close
                await asyncio.wait_for(self._closing.wait(), delay)
        return web.json_response(answer)

    def _answer(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        self._ts += 1
        ts = f"1700000000.{self._ts:06d}"
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM}
        if method == "files.info":
            file = self.files.get(str(data.get("file")))
            if file is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": file}
        if method in ("views.open", "views.publish", "views.update"):
            return {"ok": True, "view": {"id": f"V{self._ts}"}}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/ws"}
        if method == "chat.postMessage":
            return post_message(self.posted, data, ts)
        if method == "conversations.history":
            return channel_history(self.posted, data)
        if method == "chat.update":
            return {"ok": True, "channel": data.get("channel"), "ts": ts}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "users.info":
            user = self.users.get(str(data.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "usergroups.users.list":
            members = self.usergroups.get(str(data.get("usergroup")))
            if members is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": members}
        return {"ok": True}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        call = Call("download", {"file": file_id}, dict(request.headers))
        self.calls.append(call)
        failure = self._failure("download")
        if failure is not None:
            call.status = failure.status
            return self._failed_response(failure)
        content = self.file_bytes.get(file_id)
        if content is None:
            call.status = 404
            return web.Response(status=404)
        return web.Response(body=content, content_type="application/octet-stream")

    async def _response_url(self, request: web.Request) -> web.Response:
        data = await request.json()
        call = Call("response_url", data, dict(request.headers))
        call.data["_token"] = request.match_info["token"]
        self.calls.append(call)
        failure = self._failure("response_url")
        if failure is not None:
            call.status = failure.status
            return self._failed_response(failure)
        return web.Response(text="ok")

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.ws = ws
        self.calls.append(Call("ws_connect", {}, dict(request.headers)))
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.ws_connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.calls.append(Call("ws_ack", json.loads(message.data)))
        return ws
