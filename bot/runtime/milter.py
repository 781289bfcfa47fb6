"""The Postfix/Sendmail milter: pymilter (libmilter) callbacks around :mod:`milter_policy`.

pymilter is an optional extra (``pip install 'deskguard[milter]'``, which needs Debian's
``libmilter-dev``): it is imported only when a milter starts. libmilter runs each connection in
its own thread; verification runs on the asyncio loop given to :func:`run_milter` and is waited
for with the deadline, so a slow check never holds mail longer than
``DESKGUARD_MILTER_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

from bot.dns import Resolver
from bot.errors import ConfigError
from bot.mail.arrival import Arrival, Envelope
from bot.report import Report
from bot.runtime import milter_headers as mh
from bot.runtime.logs import configure_logging
from bot.runtime.metrics import Metrics
from bot.runtime.milter_policy import Decision, MessageCollector, MilterEngine
from bot.runtime.queue import WorkQueue
from bot.runtime.queue_backends import open_queue
from bot.runtime.services import Services, build_services
from bot.settings import Settings

log = logging.getLogger("deskguard.milter")

MILTER_NAME = "deskguard"


def _import_milter() -> Any:
    try:
        import Milter
    except ImportError:
        raise ConfigError(
            "the milter needs pymilter: apt-get install libmilter-dev, then "
            "pip install 'deskguard[milter]'"
        ) from None
    return Milter


def milter_class(engine: MilterEngine) -> type[Any]:
    """A pymilter ``Milter.Base`` subclass bound to ``engine`` (one instance per connection)."""
    milter_mod = _import_milter()
    base: Any = milter_mod.Base

    class DeskguardMilter(base):  # type: ignore[misc]
        def __init__(self) -> None:
            self.message = MessageCollector(max_bytes=engine.settings.max_message_bytes)

        def negotiate(self, opts: list[int]) -> Any:
            result = super().negotiate(opts)
            # header values arrive without their leading space; ours are written the same way
            opts[1] = self._protocol = opts[1] & ~milter_mod.P_HDR_LEADSPC
            return result

        def connect(self, hostname: str, family: int, hostaddr: Any) -> Any:
            if family in (socket.AF_INET, socket.AF_INET6) and hostaddr:
                self.message.client_ip = str(hostaddr[0])
            return milter_mod.CONTINUE

        def hello(self, heloname: str) -> Any:
            self.message.helo = str(heloname)[:255]
            return milter_mod.CONTINUE

        def envfrom(self, mailfrom: str, *params: str) -> Any:
            self.message.new_message(str(mailfrom))
            return milter_mod.CONTINUE

        def envrcpt(self, to: str, *params: str) -> Any:
            self.message.add_recipient(str(to))
            return milter_mod.CONTINUE

        def header(self, name: str, value: str) -> Any:
            self.message.add_header(str(name), str(value))
            return milter_mod.CONTINUE

        def body(self, chunk: bytes) -> Any:
            self.message.add_body(bytes(chunk))
            return milter_mod.CONTINUE

        def eom(self) -> Any:
            decision = engine.evaluate(self.message)
            try:
                return self._apply(decision)
            except Exception:
                # mail keeps flowing (as milter_default_action = accept would have it)
                log.exception("milter could not apply its decision; the message is accepted")
                return milter_mod.ACCEPT

        def abort(self) -> Any:
            self.message.new_message("")
            return milter_mod.CONTINUE

        def close(self) -> Any:
            return milter_mod.CONTINUE

        def _apply(self, decision: Decision) -> Any:
            if decision.action == "reject":
                self.setreply("550", "5.7.1", decision.reason[:200])
                log.info("milter rejected a message", extra={"verdict": decision.verdict})
                return milter_mod.REJECT
            for name, index in reversed(self.message.own_headers(engine.our_id)):
                self.chgheader(name, index, "")  # RFC 8601 §5: remove what claims to be ours
            self.addheader(mh.VERDICT_HEADER, decision.verdict_header, 0)
            self.addheader(mh.AUTH_RESULTS_HEADER, decision.auth_results, 0)
            if decision.subject is not None:
                if self.message.subject() is None:
                    self.addheader("Subject", decision.subject)
                else:
                    self.chgheader("Subject", 1, decision.subject)
            if decision.action == "quarantine":
                self.quarantine(decision.reason[:200])
            log.info(
                "milter passed a message",
                extra={"verdict": decision.verdict, "action": decision.action},
            )
            return milter_mod.ACCEPT

    return DeskguardMilter


def milter_available() -> bool:
    """True when pymilter can be imported."""
    try:
        _import_milter()
    except ConfigError:
        return False
    return True


def run_milter(engine: MilterEngine, socket_spec: str, *, timeout: int = 600) -> None:
    """Serve the milter on ``socket_spec`` (``inet:PORT@HOST`` or ``unix:/path``); blocks until
    libmilter stops (SIGTERM/SIGINT, or :func:`stop_milter`)."""
    milter_mod = _import_milter()
    cls = milter_class(engine)
    milter_mod.factory = cls
    milter_mod.set_flags(milter_mod.ADDHDRS | milter_mod.CHGHDRS | milter_mod.QUARANTINE)
    milter_mod.set_exception_policy(milter_mod.ACCEPT)  # a bug never blocks mail
    log.info("deskguard milter listening on %s", socket_spec)
    milter_mod.runmilter(MILTER_NAME, socket_spec, timeout)


def stop_milter() -> None:
    """Ask libmilter to stop accepting connections and return from :func:`run_milter`."""
    import milter

    milter.stop()


def start_milter_thread(engine: MilterEngine, socket_spec: str) -> threading.Thread:
    """Run the milter in a daemon thread (for ``deskguard serve``); ConfigError at once when
    pymilter is missing."""
    _import_milter()

    def target() -> None:
        try:
            run_milter(engine, socket_spec)
        except Exception:
            log.exception("the milter stopped; Postfix's milter_default_action now applies")

    thread = threading.Thread(target=target, name="deskguard-milter", daemon=True)
    thread.start()
    return thread


def serve_milter(settings: Settings) -> int:
    """``deskguard milter``: verification on a loop in a thread, libmilter in this one."""
    if not settings.milter_socket:
        raise ConfigError("DESKGUARD_MILTER_SOCKET is not set (inet:PORT@HOST or unix:/path)")
    _import_milter()
    configure_logging(settings.log_format, settings.log_level)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="deskguard-verify", daemon=True)
    thread.start()
    metrics = Metrics()
    resolver = Resolver.from_settings(settings, observer=metrics.observe_dns)
    services = build_services(settings, resolver=resolver)
    services.verifier.lookalikes()
    queue = open_queue(settings) if settings.milter_helpdesk_recipients else None
    engine = engine_for(services, loop, queue)
    try:
        run_milter(engine, settings.milter_socket)
    finally:
        if queue is not None:
            asyncio.run_coroutine_threadsafe(queue.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
    return 0


def engine_for(
    services: Services, loop: asyncio.AbstractEventLoop, queue: WorkQueue | None
) -> MilterEngine:
    """The engine on ``services``' verifier (raw arrival, live envelope) and ``queue``."""

    async def verify(raw: bytes, envelope: Envelope | None) -> Report:
        return await services.verifier.verify_message(raw, arrival=Arrival.RAW, envelope=envelope)

    return MilterEngine(
        services.settings, verify, loop, enqueue=queue.enqueue if queue is not None else None
    )
