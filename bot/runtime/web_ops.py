"""Operational HTTP routes: the inbound email gate, /healthz, /readyz and /metrics.

The gate checks the signature headers and the declared length before it reads a body, reads at
most ``DESKGUARD_INBOUND_MAX_CONCURRENT_READS`` bodies at once, and gives each read
``DESKGUARD_BODY_READ_TIMEOUT_SECONDS`` (a slow body is a 408, not a held slot).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from redis.exceptions import RedisError

from bot.errors import StoreError
from bot.registry import RegistryHolder
from bot.runtime.inbound import (
    REPLAYED,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WINDOW_SECONDS,
    check_headers,
    check_request,
)
from bot.runtime.logs import new_request_id, request_id
from bot.runtime.metrics import CONTENT_TYPE, Metrics
from bot.runtime.queue import WorkQueue
from bot.runtime.worker import QueueHealth
from bot.settings import Settings

log = logging.getLogger("deskguard.web")

UseOnce = Callable[[str, str, float], Awaitable[bool]]
# (body, signature key, seconds): the replay guard and the enqueue in one step; None for a replay
EnqueueOnce = Callable[[bytes, str, float], Awaitable[str | None]]
Ping = Callable[[], Awaitable[None]]


@dataclass
class OpsContext:
    """What the operational routes need."""

    settings: Settings
    registry: RegistryHolder
    metrics: Metrics
    queue: WorkQueue | None
    use_once: UseOnce
    store_ping: Ping
    draining: bool = False
    started: bool = field(default=False)
    queue_health: QueueHealth | None = None  # the workers' view: can the queue be consumed?
    slack_ready: bool = True  # False until Slack accepted the tokens (start-up)
    slack_state: str = "ok"
    read_slots: asyncio.Semaphore | None = None
    slack_probe: Callable[[], Awaitable[bool]] | None = None  # Socket Mode: still connected?
    # set when the queue and the replay guard live in one Redis: the gate then checks a request's
    # signature key and queues its message in one step (use_once + enqueue otherwise)
    enqueue_once: EnqueueOnce | None = None

    def __post_init__(self) -> None:
        if self.read_slots is None:
            self.read_slots = asyncio.Semaphore(self.settings.inbound_max_concurrent_reads)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": code, "message": message}, status=status)


def add_ops_routes(
    app: web.Application, ctx: OpsContext, *, gate: bool = True, probes: bool = True
) -> None:
    """Register /inbound/email (``gate``) and /healthz, /readyz, /metrics (``probes``) on ``app``.

    With ``DESKGUARD_OPS_PORT`` the probes live on their own listener (see server.py).
    """

    async def inbound(request: web.Request) -> web.Response:
        token = request_id.set(new_request_id())
        try:
            return await _inbound(request, ctx)
        finally:
            request_id.reset(token)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        ready = True
        try:
            await ctx.store_ping()
            checks["store"] = "ok"
        except StoreError as exc:
            checks["store"] = f"unreachable: {exc}"
            ready = False
        if ctx.queue is not None:
            try:
                await ctx.queue.ping()
                checks["queue"] = "ok"
            except StoreError as exc:
                checks["queue"] = f"unreachable: {exc}"
                ready = False
            health = ctx.queue_health
            if health is not None and health.error is not None and checks["queue"] == "ok":
                checks["queue"] = f"cannot be consumed: {health.error}"
                ready = False
        if ctx.slack_ready and ctx.slack_probe is not None and not await ctx.slack_probe():
            checks["slack"] = "disconnected from Socket Mode; reconnecting"
            ready = False
        else:
            checks["slack"] = ctx.slack_state
            ready = ready and ctx.slack_ready
        # A broken file on disk does not take the replica out of rotation: it keeps serving the
        # last good registry, and says so here (and in deskguard_registry_reload_failing).
        checks["registry"] = (
            f"loaded, {len(ctx.registry.registry)} vendors"
            if ctx.registry.error is None
            else f"last good registry in force; {ctx.registry.error}"
        )
        if ctx.draining:
            checks["shutdown"] = "draining"
            ready = False
        body: dict[str, object] = {"ok": ready, "checks": checks}
        if ctx.registry.error is not None:
            body["degraded"] = ["registry"]
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        if ctx.queue is not None:
            try:
                ctx.metrics.queue_depth.set(await ctx.queue.depth())
                ctx.metrics.queue_age.set(await ctx.queue.oldest_age())
                ctx.metrics.queue_dead_letters.set(await ctx.queue.dead_letter_count())
            except (StoreError, RedisError):
                log.warning("queue metrics unavailable")
        return web.Response(body=ctx.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    if gate:
        app.router.add_post(INBOUND_PATH, inbound)
    if probes:
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/readyz", readyz)
        app.router.add_get("/metrics", metrics)


async def _read_body(request: web.Request, ctx: OpsContext, limit: int) -> bytearray | web.Response:
    """The body, read in one of the bounded slots within the read deadline, or the refusal."""
    slots = ctx.read_slots
    assert slots is not None
    timeout = ctx.settings.body_read_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            await slots.acquire()
    except TimeoutError:
        log.warning("inbound refused: every body-read slot is busy")
        return _error(503, "busy", "too many messages are being received at once; retry")
    try:
        body = bytearray()
        async with asyncio.timeout(timeout):
            async for chunk in request.content.iter_chunked(65536):
                body.extend(chunk)
                if len(body) > limit:
                    return _error(413, "too_large", f"message larger than {limit} bytes")
        return body
    except TimeoutError:
        log.warning("inbound refused: the body did not arrive in time")
        return _error(408, "body_timeout", f"the body did not arrive within {timeout:g} seconds")
    finally:
        slots.release()


async def _inbound(request: web.Request, ctx: OpsContext) -> web.Response:
    secret = ctx.settings.inbound_secret
    if ctx.queue is None or not secret:
        return _error(
            503, "not_configured", "the inbound gate needs DESKGUARD_INBOUND_SECRET to be set"
        )
    if ctx.draining:
        return _error(503, "shutting_down", "this replica is shutting down; retry")
    early = check_headers(
        timestamp=request.headers.get(TIMESTAMP_HEADER),
        signature=request.headers.get(SIGNATURE_HEADER),
    )
    if early is not None:  # refused before a byte of the body is read
        log.info("inbound refused", extra={"status": early.status, "reason": early.code})
        return _error(early.status, early.code, early.message)
    limit = ctx.settings.max_message_bytes
    if request.content_length is not None and request.content_length > limit:
        return _error(413, "too_large", f"message larger than {limit} bytes")
    body = await _read_body(request, ctx, limit)
    if isinstance(body, web.Response):
        return body

    raw = bytes(body)
    enqueue_once = ctx.enqueue_once
    signature_key: list[str] = []

    async def first_use(key: str) -> bool:
        if enqueue_once is not None:  # checked below, in the same step as the enqueue
            signature_key.append(key)
            return True
        return await ctx.use_once("inbound", key, WINDOW_SECONDS * 2)

    try:
        refusal = await check_request(
            secret=secret,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=raw,
            max_bytes=limit,
            first_use=first_use,
        )
        job_id: str | None = None
        if refusal is None:
            if enqueue_once is None:
                job_id = await ctx.queue.enqueue(raw)
            else:
                job_id = await enqueue_once(raw, signature_key[0], WINDOW_SECONDS * 2)
                if job_id is None:
                    refusal = REPLAYED
        if refusal is not None:
            log.info("inbound refused", extra={"status": refusal.status, "reason": refusal.code})
            return _error(refusal.status, refusal.code, refusal.message)
    except StoreError as exc:
        log.error("inbound store unavailable", extra={"error": str(exc)})
        return _error(503, "store_unavailable", "the queue cannot be reached; retry later")
    log.info("inbound accepted", extra={"job_id": job_id})
    return web.json_response({"ok": True, "id": job_id}, status=202)


INBOUND_PATH = "/inbound/email"


def body_deadline_middleware(timeout: float) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Read every request body (except the gate's, which streams its own) within ``timeout``.

    A client that trickles its body (slowloris) gets 408 instead of holding a handler open; the
    body is cached by aiohttp, so handlers (Bolt) read it again for free.
    """

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.can_read_body and request.path != INBOUND_PATH:
            try:
                async with asyncio.timeout(timeout):
                    await request.read()
            except TimeoutError:
                log.warning("request refused: the body did not arrive in time")
                return _error(
                    408, "body_timeout", f"the body did not arrive within {timeout:g} seconds"
                )
        return await handler(request)

    return middleware
