"""Bench-only HTTP ends for bench_inbound.py: a lean load client and a lean Slack stand-in.

The load generator and the recording Slack server share the machine's cores with the gate they
measure: every millisecond they spend per message is a millisecond the gate does not get (with
two processes on two cores, the harness's CPU per message caps how far B can scale over A). Both
ends here do the least HTTP/1.1 the bench needs, on plain asyncio:

- :func:`build_request` makes each signed POST as raw bytes before the clock starts;
  :func:`post_raw` sends them over ``concurrency`` persistent keep-alive connections and reads
  each answer (status line, ``Content-Length`` body) with a minimal reader.
- :class:`LeanSlack` answers the Web API calls ``deskguard serve`` makes (auth.test,
  chat.postMessage, conversations.history, anything else ``{"ok": true}``) from an
  :class:`asyncio.Protocol`, records every call, and notes each inbound card by job id (arrival
  time, duplicates, verdicts), as the bench's checks need.

The tests' stand-in (tests/support/slack_api.py, on aiohttp) is left as it is: it does much more
(failures, delays, files, Socket Mode). These ends are for the bench only: they trust their
peer (a local gate or a local client), refuse what they do not understand loudly and keep no
limits beyond a cap on the header block.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests.support.slack_api import BOT_ID, BOT_USER, TEAM, channel_history, post_message

HEADER_CAP = 64 * 1024  # bytes of request or response head (both ends are local)
JOB_ID = re.compile(r"Inbound message `(\d{13}-[0-9a-f]{16})`")
VERDICT = re.compile(r"deskguard: inbound email ([A-Z]+)|(could not be verified)")


# --- the load client --------------------------------------------------------------------------


def build_request(
    host: str, port: int, path: str, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """One HTTP/1.1 POST as bytes (keep-alive, ``Content-Length`` body)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["Content-Type: application/octet-stream", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HttpError(Exception):
    """An answer the minimal reader does not understand (or none at all)."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One answer: (status, body, keep the connection open)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise HttpError("response head too large") from None
    except asyncio.IncompleteReadError as exc:
        raise HttpError("connection closed before an answer") from exc
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad status line {lines[0][:80]!r}")
    length: int | None = None
    keep = parts[0] == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding":
            raise HttpError(f"transfer-encoding {value.strip()} not supported")
        elif name == "connection":
            keep = value.strip().lower() == "keep-alive"
    if length is None:
        body, keep = await reader.read(), False  # until the peer closes
    else:
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise HttpError("connection closed inside the body") from exc
    return int(parts[1]), body, keep


Answer = Callable[[int, int, bytes], None]  # (request index, status, body)
Failure = Callable[[int, str], None]  # (request index, error name)


async def post_raw(
    addresses: Sequence[tuple[str, int]],
    requests: Sequence[bytes],
    concurrency: int,
    on_answer: Answer,
    on_failure: Failure,
    per_request: float = 120.0,
) -> None:
    """Send ``requests[i]`` to ``addresses[i % len(addresses)]`` over ``concurrency`` keep-alive
    connections in all (spread evenly over the addresses); each answer goes to ``on_answer``,
    each failure (connection lost, timeout, an answer not understood) to ``on_failure``."""
    todo: list[deque[int]] = [deque() for _ in addresses]
    for index in range(len(requests)):
        todo[index % len(addresses)].append(index)

    async def lane(target: int) -> None:
        host, port = addresses[target]
        queue = todo[target]
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while queue:
                index = queue.popleft()
                try:
                    async with asyncio.timeout(per_request):
                        if writer is None or reader is None:
                            reader, writer = await asyncio.open_connection(
                                host, port, limit=HEADER_CAP
                            )
                        writer.write(requests[index])
                        status, body, keep = await read_response(reader)
                except (OSError, HttpError, TimeoutError, ValueError) as exc:
                    on_failure(index, type(exc).__name__)
                    keep = False
                else:
                    on_answer(index, status, body)
                if not keep and writer is not None:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    lanes = max(1, min(concurrency, len(requests)))
    await asyncio.gather(*(lane(i % len(addresses)) for i in range(lanes)))


# --- the Slack stand-in -----------------------------------------------------------------------


@dataclass(slots=True)
class Call:
    """One recorded Web API call."""

    method: str
    data: dict[str, Any]
    status: int = 200

    def text(self) -> str:
        """Everything the call carried, as one string (as tests/support/slack_api.py gives it)."""
        return json.dumps(self.data, ensure_ascii=False)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class LeanSlack:
    """The recording Slack stand-in; use ``async with LeanSlack() as slack``."""

    calls: list[Call] = field(default_factory=list)
    cards: dict[str, float] = field(default_factory=dict)  # job id -> perf_counter of arrival
    duplicates: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    posted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages
    errors: list[str] = field(default_factory=list)  # requests it could not understand
    port: int = 0
    _ts: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> LeanSlack:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Responder(self), "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def base_url(self) -> str:
        """The Web API base URL (DESKGUARD_SLACK_API_URL)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def find(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        """Forget every call and card."""
        self.calls.clear()
        self.cards.clear()
        self.duplicates.clear()
        self.verdicts.clear()

    def handle(self, target: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Record one request; return (status, JSON answer)."""
        path, _, query = target.partition("?")
        if not path.startswith("/api/"):
            self.errors.append(f"unexpected path {path[:80]!r}")
            return 404, {"ok": False, "error": "unknown_path"}
        method = path[5:]
        data: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        is_json = content_type.partition(";")[0].strip().lower() == "application/json"
        if body:
            if is_json:
                data.update(json.loads(body))
            else:
                data.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        data = {k: _decode(v) for k, v in data.items()}
        call = Call(method, data)
        self.calls.append(call)
        answer = self._answer(method, data)
        if method == "chat.postMessage":
            # a JSON body as sent: the patterns are ASCII with nothing JSON escapes, so they
            # match there as in the decoded text (Call.text), without encoding the card again
            self._note_card(body.decode("utf-8") if is_json and not query else call.text())
        return 200, answer

    def _note_card(self, text: str) -> None:
        found = JOB_ID.search(text)
        if found is None:
            return
        job_id = found.group(1)
        if job_id in self.cards:
            self.duplicates[job_id] += 1
        else:
            self.cards[job_id] = time.perf_counter()
        verdict = VERDICT.search(text)
        self.verdicts[(verdict.group(1) or "UNUSABLE") if verdict else "?"] += 1

    def _answer(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        self._ts += 1
        ts = f"1700000000.{self._ts:06d}"
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM}
        if method == "chat.postMessage":
            return post_message(self.posted, data, ts)
        if method == "conversations.history":  # a worker looking for a card it may have posted
            return channel_history(self.posted, data)
        return {"ok": True}


class _Responder(asyncio.Protocol):
    """HTTP/1.1 with ``Content-Length`` bodies, keep-alive, one request at a time."""

    def __init__(self, owner: LeanSlack) -> None:
        self.owner = owner
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def _refuse(self, why: str) -> None:
        self.owner.errors.append(why)
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        self.transport.close()
        self.buffer.clear()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and not self.transport.is_closing():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > HEADER_CAP:
                    self._refuse("request head too large")
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                self._refuse(f"bad request line {lines[0][:80]!r}")
                return
            length, content_type, close = 0, "", parts[2] == "HTTP/1.0"
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value.strip())
                elif name == "content-type":
                    content_type = value.strip()
                elif name == "connection":
                    close = value.strip().lower() == "close"
                elif name in ("transfer-encoding", "expect"):
                    self._refuse(f"{name} not supported")
                    return
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            try:
                status, answer = self.owner.handle(parts[1], content_type, body)
            except (ValueError, UnicodeDecodeError) as exc:
                self._refuse(f"{parts[1][:80]}: {type(exc).__name__}: {exc}")
                return
            payload = json.dumps(answer).encode()
            reason = b"OK" if status == 200 else b"Not Found"
            self.transport.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                b"Content-Length: %d\r\n%s\r\n"
                % (status, reason, len(payload), b"Connection: close\r\n" if close else b"")
                + payload
            )
            if close:
                self.transport.close()
                return
