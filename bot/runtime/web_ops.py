"""Operational HTTP routes: the inbound email gate, /healthz, /readyz and /metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.errors import StoreError
from bot.registry import RegistryHolder
from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, WINDOW_SECONDS, check_request
from bot.runtime.logs import new_request_id, request_id
from bot.runtime.metrics import CONTENT_TYPE, Metrics
from bot.runtime.queue import WorkQueue
from bot.settings import Settings

log = logging.getLogger("deskguard.web")

UseOnce = Callable[[str, str, float], Awaitable[bool]]
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
            if ctx.queue is not None:
                await ctx.queue.ping()
            checks["store"] = "ok"
        except StoreError as exc:
            checks["store"] = f"unreachable: {exc}"
            ready = False
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
            except StoreError:
                log.warning("queue metrics unavailable")
        return web.Response(body=ctx.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    if gate:
        app.router.add_post("/inbound/email", inbound)
    if probes:
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/readyz", readyz)
        app.router.add_get("/metrics", metrics)


async def _inbound(request: web.Request, ctx: OpsContext) -> web.Response:
    secret = ctx.settings.inbound_secret
    if ctx.queue is None or not secret:
        return _error(
            503, "not_configured", "the inbound gate needs DESKGUARD_INBOUND_SECRET to be set"
        )
    if ctx.draining:
        return _error(503, "shutting_down", "this replica is shutting down; retry")
    limit = ctx.settings.max_message_bytes
    if request.content_length is not None and request.content_length > limit:
        return _error(413, "too_large", f"message larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        body.extend(chunk)
        if len(body) > limit:
            return _error(413, "too_large", f"message larger than {limit} bytes")

    async def first_use(key: str) -> bool:
        return await ctx.use_once("inbound", key, WINDOW_SECONDS * 2)

    try:
        refusal = await check_request(
            secret=secret,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=bytes(body),
            max_bytes=limit,
            first_use=first_use,
        )
        if refusal is not None:
            log.info("inbound refused", extra={"status": refusal.status, "reason": refusal.code})
            return _error(refusal.status, refusal.code, refusal.message)
        job_id = await ctx.queue.enqueue(bytes(body))
    except StoreError as exc:
        log.error("inbound store unavailable", extra={"error": str(exc)})
        return _error(503, "store_unavailable", "the queue cannot be reached; retry later")
    log.info("inbound accepted", extra={"job_id": job_id})
    return web.json_response({"ok": True, "id": job_id}, status=202)
