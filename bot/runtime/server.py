"""The composition root: settings → services → Bolt AsyncApp → aiohttp app (and Socket Mode).

This is the only module in ``bot/`` that imports slack_bolt, slack_sdk or handlers. Socket Mode is
used when ``SLACK_APP_TOKEN`` is set; otherwise Slack posts to ``POST /slack/events`` (HTTP mode),
where Bolt checks every request's signature against ``SLACK_SIGNING_SECRET``. The aiohttp app is
built by :func:`build_web_app` so other features can add their routes to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import re
import signal
import socket
from collections.abc import Callable
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.approvals.backends import open_store
from bot.approvals.service import ApprovalService
from bot.approvals.store import ApprovalStore, new_request_id
from bot.approvals.sweeper import run_expiry_sweeper
from bot.dns import Resolver
from bot.errors import ConfigError, DeskguardError
from bot.mail.arrival import Arrival
from bot.registry import unset_secrets
from bot.runtime.dedupe import StoreDeduper
from bot.runtime.ingress import MailIngress, start_mail_ingress
from bot.runtime.logs import configure_logging
from bot.runtime.metrics import Metrics
from bot.runtime.queue import WorkQueue
from bot.runtime.queue_backends import open_queue
from bot.runtime.queue_redis import RedisWorkQueue
from bot.runtime.reload import RegistryReloader
from bot.runtime.reminders import run_schedule
from bot.runtime.services import Services, build_services
from bot.runtime.startup import connect_with_backoff, until_stopped
from bot.runtime.web_ops import (
    EnqueueOnce,
    OpsContext,
    add_ops_routes,
    body_deadline_middleware,
)
from bot.runtime.worker import InboundWorker, QueueHealth
from bot.settings import Settings
from bot.watch.schedule import WatchRun
from bot.watch.schedule import run_schedule as run_watch_schedule
from bot.watch.snapshots import open_snapshots
from handlers.approvals import card_updater
from handlers.approvals.slack_roles import SlackRoleResolver
from handlers.reply import retry_handlers
from handlers.triage import (
    make_post_finder,
    make_reminder_poster,
    make_triage_poster,
    make_watch_poster,
)

log = logging.getLogger("deskguard.server")

EVENTS_PATH = "/slack/events"
BACKLOG = 1024  # Slack bursts (a channel-wide incident) must not overflow the accept queue
SETUP_HINT = 'create the app from manifest.yml and see the README\'s "Slack setup" section'
SERVICES_KEY = web.AppKey("services", Services)
_BOT_TOKEN = re.compile(r"^xoxb-[A-Za-z0-9-]{8,}$")
_APP_TOKEN = re.compile(r"^xapp-[A-Za-z0-9-]{8,}$")
_SLACK_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits: int() takes "²"-free "1_0", " 1"
SLACK_TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
# auth.test / apps.connections.open errors that mean "this token will never work": stop, exit 2
_TOKEN_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "invalid_token",
        "no_permission",
        "missing_scope",
        "team_access_not_granted",
    }
)


class Mode(StrEnum):
    """How Slack reaches deskguard."""

    SOCKET = "socket"
    HTTP = "http"


def slack_mode(settings: Settings) -> Mode:
    """Check the Slack tokens and pick the mode; raise ConfigError naming the bad variable."""
    bot_token = settings.slack_bot_token
    if not bot_token:
        raise ConfigError(
            f"SLACK_BOT_TOKEN is not set: give the app's Bot User OAuth Token (xoxb-...); "
            f"{SETUP_HINT}"
        )
    if not _BOT_TOKEN.match(bot_token.strip()):
        raise ConfigError(
            f"SLACK_BOT_TOKEN does not look like a bot token (xoxb-...); {SETUP_HINT}"
        )
    app_token = settings.slack_app_token
    if app_token:
        if not _APP_TOKEN.match(app_token.strip()):
            raise ConfigError(
                "SLACK_APP_TOKEN does not look like an app-level token (xapp-... with "
                f"connections:write); unset it to use HTTP mode; {SETUP_HINT}"
            )
        return Mode.SOCKET
    if not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode (no SLACK_APP_TOKEN) needs the app's "
            f"Signing Secret, or set SLACK_APP_TOKEN for Socket Mode; {SETUP_HINT}"
        )
    return Mode.HTTP


def make_web_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """The Web API client: base URL from settings, connection-error and 429 retries."""
    base_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else (settings.slack_api_url + "/")
    )
    return AsyncWebClient(
        token=(token or settings.slack_bot_token or "").strip() or None,
        base_url=base_url,
        timeout=15,
        retry_handlers=retry_handlers(),
    )


def attach_approvals(services: Services, store: ApprovalStore) -> ApprovalService:
    """Give ``services`` the approval service on ``store`` (roles: settings + Slack groups)."""
    settings = services.settings
    roles = SlackRoleResolver(make_web_client(settings), settings)
    services.approvals = ApprovalService(store, lambda: services.current_registry, settings, roles)
    return services.approvals


async def warn_staffing(service: ApprovalService) -> list[str]:
    """Say at start-up (in the log, once) when fewer than two people can approve."""
    try:
        warnings = await service.staffing_warnings()
    except DeskguardError as exc:
        warnings = [f"could not read the approver user groups from Slack ({exc})"]
    for warning in warnings:
        text = f"deskguard approvals: {warning}; see DESKGUARD_TECHNICAL_APPROVER_USERS/_GROUPS "
        text += "and DESKGUARD_VENDOR_MANAGER_USERS/_GROUPS"
        log.warning(text)  # once, in the log's format (JSON off a TTY): never also as plain text
    return warnings


def warn_unset_secrets(services: Services) -> list[str]:
    """Log (once each) the registry secrets (``token.secret_env``) that are not set."""
    warnings = unset_secrets(services.current_registry, services.settings.secret)
    for warning in warnings:
        log.warning("deskguard registry: %s", warning)
    return warnings


def build_bolt_app(services: Services, mode: Mode) -> AsyncApp:
    """The Bolt app with every listener registered (no network traffic until a request)."""
    settings = services.settings
    app = AsyncApp(
        client=make_web_client(settings),
        signing_secret=(settings.slack_signing_secret or "").strip(),
        request_verification_enabled=mode is Mode.HTTP,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("deskguard.bolt"),
    )
    handlers.register(app, services)
    return app


def build_web_app(services: Services, bolt_app: AsyncApp | None) -> web.Application:
    """The aiohttp app: ``POST /slack/events`` when ``bolt_app`` is given (HTTP mode).

    Bolt reads the raw body itself (signatures cover it byte for byte): no middleware here may
    consume or rewrite request bodies.
    """
    app = web.Application(
        client_max_size=2 * 1024 * 1024,
        middlewares=[body_deadline_middleware(services.settings.body_read_timeout_seconds)],
    )
    app[SERVICES_KEY] = services
    if bolt_app is not None:
        signatures = SignatureVerifier((services.settings.slack_signing_secret or "").strip())
        in_flight: set[asyncio.Task[object]] = set()

        async def slack_events(request: web.Request) -> web.Response:
            bolt_request = await _bolt_request(request)
            if isinstance(bolt_request, web.Response):
                return bolt_request
            if _is_slash_command(request, bolt_request.raw_body) and signatures.is_valid_request(
                bolt_request.raw_body, dict(request.headers)
            ):
                # A slash command's ack carries nothing (answers go to response_url): answer
                # Slack at once and let Bolt run the listener (it checks the signature again).
                task: asyncio.Task[object] = asyncio.create_task(
                    bolt_app.async_dispatch(bolt_request)
                )
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                return web.Response(status=200)
            bolt_response = await bolt_app.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)

        app.router.add_post(EVENTS_PATH, slack_events)
    return app


async def _bolt_request(request: web.Request) -> AsyncBoltRequest | web.Response:
    """The request for Bolt, or 400 for metadata no Slack request has (never a 500)."""
    timestamp = request.headers.get(SLACK_TIMESTAMP_HEADER)
    if timestamp is not None and not _SLACK_TIMESTAMP.fullmatch(timestamp):
        return _bad_request("bad_timestamp", f"{SLACK_TIMESTAMP_HEADER} must be Unix seconds")
    raw = await request.read()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _bad_request("bad_encoding", "the body must be UTF-8")
    return AsyncBoltRequest(
        body=body,
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]
    )


def _bad_request(code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": code, "message": message}, status=400)


def _is_slash_command(request: web.Request, body: str) -> bool:
    """A form-encoded slash command (interactivity payloads and events are not)."""
    if request.content_type != "application/x-www-form-urlencoded":
        return False
    fields = parse_qs(body, max_num_fields=64)
    return "command" in fields and "payload" not in fields


async def start_web_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving ``app``; return the runner and the bound port (``port=0`` picks one)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=BACKLOG)
    await site.start()
    addresses = runner.addresses
    bound = addresses[0][1] if addresses else port
    return runner, int(bound)


def start_socket_mode(services: Services, bolt_app: AsyncApp) -> AsyncSocketModeHandler:
    """The Socket Mode handler (connect with ``await handler.connect_async()``)."""
    settings = services.settings
    app_token = (settings.slack_app_token or "").strip()
    return AsyncSocketModeHandler(
        bolt_app, app_token, web_client=make_web_client(settings, token=app_token)
    )


def _slack_refusal(variable: str) -> Callable[[Exception], str | None]:
    """Which Slack answers mean ``variable`` will never work (exit 2 naming it)."""

    def refused(exc: Exception) -> str | None:
        if not isinstance(exc, SdkApiError):
            return None
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or "")
        if error in _TOKEN_REFUSED:
            return f"{variable} was refused by Slack ({error}); {SETUP_HINT}"
        return None

    return refused


async def connect_slack(
    settings: Settings, mode: Mode, stop: asyncio.Event, ops: OpsContext
) -> dict[str, Any] | None:
    """Check the tokens with Slack: ``auth.test`` (and ``apps.connections.open`` in Socket Mode).

    A refused token raises ConfigError naming its variable; an unreachable Slack is retried with
    backoff (one log line each, readiness red meanwhile) until it answers or ``stop`` is set
    (then None). Returns auth.test's answer (the bot's user and bot ids).
    """

    def retrying(state: str) -> None:
        ops.slack_state = state
        ops.metrics.slack_connect_retries.inc()

    base_url = make_web_client(settings).base_url
    bot = AsyncWebClient(
        token=(settings.slack_bot_token or "").strip(), base_url=base_url, timeout=10
    )
    identity = await connect_with_backoff(
        bot.auth_test,
        what="Slack (auth.test with SLACK_BOT_TOKEN)",
        stop=stop,
        refused=_slack_refusal("SLACK_BOT_TOKEN"),
        on_retry=retrying,
    )
    if identity is None:
        return None
    if mode is Mode.SOCKET:
        app = AsyncWebClient(base_url=base_url, timeout=10)
        app_token = (settings.slack_app_token or "").strip()
        opened = await connect_with_backoff(
            lambda: app.apps_connections_open(app_token=app_token),
            what="Slack (apps.connections.open with SLACK_APP_TOKEN)",
            stop=stop,
            refused=_slack_refusal("SLACK_APP_TOKEN"),
            on_retry=retrying,
        )
        if opened is None:
            return None
    data = identity.data
    return data if isinstance(data, dict) else {}


async def run(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set (or SIGINT/SIGTERM), then shut down gracefully.

    Start-up: logging, signals, metrics, the state store, the inbound queue, the HTTP listener
    (/healthz answers, /readyz is red until Slack is connected), Slack's check of the tokens
    (refused: ConfigError, exit 2; unreachable: retried until a signal), then Socket Mode, and
    the background jobs (inbound workers, registry reload, review reminders). Shutdown: readiness
    goes red, workers stop claiming and give back what they hold, the listener closes, the store
    closes. Nothing acknowledged is lost.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    metrics = Metrics()
    configure_logging(
        settings.log_format, settings.log_level, on_slack_unreachable=metrics.slack_unreachable.inc
    )
    mode = slack_mode(settings)
    resolver = Resolver.from_settings(settings, observer=metrics.observe_dns)
    services = build_services(settings, resolver=resolver)
    services.verifier.lookalikes()  # build the index now, not on the first Slack request
    services.metrics = metrics
    store = await open_store(settings)
    queue = open_queue(settings)
    services.dedupe = StoreDeduper(store)
    services.watch = open_snapshots(settings)
    approvals = attach_approvals(services, store)
    warn_unset_secrets(services)
    bolt_app = build_bolt_app(services, mode)
    web_app = build_web_app(services, bolt_app if mode is Mode.HTTP else None)
    ops = OpsContext(
        settings=settings,
        registry=services.registry,
        metrics=metrics,
        queue=queue,
        use_once=store.use_once,
        store_ping=lambda: _ping_store(store),
        queue_health=QueueHealth(),
        slack_ready=False,
        slack_state="connecting",
    )
    ops.enqueue_once = _enqueue_once(store, queue)
    add_ops_routes(web_app, ops, probes=settings.ops_port is None)
    jobs = asyncio.Event()  # set to stop the background jobs
    background: list[asyncio.Task[None]] = []
    # one HTTP session (kept-alive connections) for the workers' cards: no TCP set-up per card
    cards_session: aiohttp.ClientSession | None = None
    runner, port = await start_web_app(web_app, settings.host, settings.port)
    socket_handler = None
    ingress = MailIngress()
    ops_runner: web.AppRunner | None = None
    try:
        if settings.ops_port is not None:
            ops_runner = await _start_ops_listener(ops)
        ingress = await start_mail_ingress(services, queue)  # SMTP copies and milter, when set
        identity = await connect_slack(settings, mode, stop, ops)
        if identity is not None and mode is Mode.SOCKET:
            socket_handler = start_socket_mode(services, bolt_app)
            connected, _ = await until_stopped(socket_handler.connect_async(), stop)  # type: ignore[no-untyped-call]
            if not connected:
                identity = None
        if identity is not None:
            ops.slack_ready, ops.slack_state = True, "ok"
            if socket_handler is not None:
                ops.slack_probe = socket_handler.client.is_connected
            if mode is Mode.SOCKET:
                log.info("deskguard connected to Slack in Socket Mode; HTTP on port %d", port)
            else:
                log.info(
                    "deskguard listening for Slack on %s:%d%s", settings.host, port, EVENTS_PATH
                )
            await until_stopped(warn_staffing(approvals), stop)  # Slack may be slow to answer
            cards_session = aiohttp.ClientSession()
            background = _start_background(
                services,
                bolt_app,
                queue,
                store,
                jobs,
                loop,
                ops,
                str(identity.get("bot_id") or ""),
                cards_session,
            )
            gc.collect()
            gc.freeze()  # what start-up built lives as long as the process: never scanned again
            await stop.wait()
    finally:
        log.info("deskguard shutting down")
        ops.draining = True
        await ingress.close()
        jobs.set()
        await asyncio.gather(*background, return_exceptions=True)
        if socket_handler is not None:
            await socket_handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
        if ops_runner is not None:
            await ops_runner.cleanup()
        if cards_session is not None:
            await cards_session.close()
        await queue.close()
        await store.close()
        await services.watch.close()
        if services.verify_pool is not None:
            services.verify_pool.close()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGHUP)
    return 0


def _enqueue_once(store: ApprovalStore, queue: WorkQueue) -> EnqueueOnce | None:
    """The gate's replay guard and enqueue in one Redis step, when both live in Redis (one
    REDIS_URL); the key is the one the store's ``use_once("inbound", ...)`` sets, so replicas
    that still check with ``use_once`` share it."""
    from bot.approvals.store_redis import RedisStore  # as open_store: only with REDIS_URL

    if not isinstance(store, RedisStore) or not isinstance(queue, RedisWorkQueue):
        return None

    async def enqueue_once(body: bytes, key: str, ttl: float) -> str | None:
        return await queue.enqueue_once(body, store.once_key("inbound", key), ttl)

    return enqueue_once


async def _start_ops_listener(ops: OpsContext) -> web.AppRunner:
    """/healthz, /readyz and /metrics on ``DESKGUARD_OPS_PORT``, apart from Slack's listener."""
    app = web.Application()
    add_ops_routes(app, ops, gate=False)
    runner, port = await start_web_app(app, ops.settings.host, ops.settings.ops_port or 0)
    log.info("operations endpoints on %s:%d", ops.settings.host, port)
    return runner


async def _ping_store(store: ApprovalStore) -> None:
    await store.get(new_request_id())  # StoreError when unreachable


def _start_background(
    services: Services,
    bolt_app: AsyncApp,
    queue: WorkQueue,
    store: ApprovalStore,
    stop: asyncio.Event,
    loop: asyncio.AbstractEventLoop,
    ops: OpsContext,
    bot_id: str,
    cards_session: aiohttp.ClientSession | None = None,
) -> list[asyncio.Task[None]]:
    """Inbound workers, registry reload, review reminders and the approval expiry sweeper,
    all stopping on ``stop``."""
    settings = services.settings
    client = bolt_app.client
    tasks: list[asyncio.Task[None]] = []

    def reloaded(outcome: str) -> None:
        services.metrics.registry_reloaded(outcome)
        if outcome == "ok":
            services.verifier.lookalikes()  # rebuild for the new registry before it is asked
            warn_unset_secrets(services)

    reloader = RegistryReloader(services.registry, settings.registry, on_reload=reloaded)
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        reloader.install_sighup(loop)
    tasks.append(asyncio.create_task(reloader.watch(stop)))
    if services.approvals is not None:
        sweeper = run_expiry_sweeper(stop, services.approvals, card_updater(client, services))
        tasks.append(asyncio.create_task(sweeper))
    if settings.triage_channel:
        cards_client = client
        if cards_session is not None:
            cards_client = AsyncWebClient(
                token=client.token,
                base_url=client.base_url,
                timeout=client.timeout,
                retry_handlers=client.retry_handlers,
                session=cards_session,
            )
        poster = make_triage_poster(
            cards_client,
            settings.triage_channel,
            lambda: services.current_registry,
            services.metrics,
        )
        finder = make_post_finder(client, settings.triage_channel, bot_id)
        for index in range(settings.workers):
            worker = InboundWorker(
                queue=queue,
                verify=functools.partial(services.verifier.verify_message, arrival=Arrival.RAW),
                post_card=poster,
                consumer=f"{socket.gethostname()}-{os.getpid()}-{index}",
                find_posted=finder,
                metrics=services.metrics,
                max_attempts=settings.queue_max_attempts,
                health=ops.queue_health or QueueHealth(),
            )
            tasks.append(asyncio.create_task(worker.run(stop)))
    elif settings.inbound_secret:
        log.warning(
            "DESKGUARD_INBOUND_SECRET is set but DESKGUARD_TRIAGE_CHANNEL is not: "
            "inbound messages are queued but nobody posts their verdicts"
        )
    if settings.vendor_channel:
        reminder_post = make_reminder_poster(client, settings.vendor_channel, services.metrics)

        async def first_use(key: str) -> bool:
            return await store.use_once("reminder", key, settings.reminder_interval_days * 86400)

        tasks.append(
            asyncio.create_task(
                run_schedule(
                    stop,
                    lambda: services.current_registry,
                    interval_days=settings.review_interval_days,
                    period_days=settings.reminder_interval_days,
                    first_use=first_use,
                    post=reminder_post,
                )
            )
        )
        tasks.append(asyncio.create_task(_vendor_watch(services, store, client, stop)))
    return tasks


async def _vendor_watch(
    services: Services, store: ApprovalStore, client: AsyncWebClient, stop: asyncio.Event
) -> None:
    """The vendor watch, once per DESKGUARD_WATCH_INTERVAL_HOURS across replicas."""
    settings = services.settings
    assert settings.vendor_channel is not None
    snapshots = services.watch or open_snapshots(settings)
    period = settings.watch_interval_hours * 3600

    async def first_use(key: str) -> bool:
        return await store.use_once("watch", key, period)

    def record(run: WatchRun) -> None:
        services.metrics.watch_checked.labels("posture").inc(len(run.rows))
        services.metrics.watch_checked.labels("lookalikes").inc(run.stats.permutations)
        services.metrics.watch_lookalikes.set(len(run.findings))
        services.metrics.watch_dns_errors.inc(run.stats.dns_errors)

    await run_watch_schedule(
        stop,
        lambda: services.current_registry,
        services.resolver,
        snapshots,
        interval_hours=settings.watch_interval_hours,
        qps=settings.watch_qps,
        fuzzers=settings.watch_fuzzers,
        first_use=first_use,
        post=make_watch_poster(client, settings.vendor_channel, services.metrics),
        on_run=record,
    )


def serve(settings: Settings) -> int:
    """``deskguard serve``: check the configuration, then run until interrupted."""
    slack_mode(settings)
    return asyncio.run(run(settings))
