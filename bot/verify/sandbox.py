"""Message verification in worker processes, under a deadline that really stops the work.

A message is hostile input: its parse and checks run in a separate process, never on the event
loop. Past the deadline the process is killed (and replaced on the next call) and the caller gets
a Report, ``unverified`` with the reason ``verification_timeout``, not an exception: the card is
still posted.

Worker processes are started once from a fork server that has already imported the engine, and
are reused while they behave: a message costs one round trip over a pipe. Each worker builds its
own resolver from the parent's configuration (nameservers, timeout, snapshot) and receives the
registry in force whenever it changed since that worker last saw it (reloads reach it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import pickle
import threading
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bot.dns import Resolver, Snapshot
from bot.errors import InputError, TooLargeError
from bot.mail.arrival import Arrival, Envelope
from bot.mail.message import HeadersOnly
from bot.registry import Registry, RegistryHolder
from bot.report import Kind, Reason, Report, decide
from bot.settings import Settings
from bot.verify.verifier import Verifier

__all__ = ["VerifyPool", "attach_verify_pool", "timeout_report"]

REGISTRY_SETUP_SECONDS = 120.0  # a new registry (and its lookalike index) in a fresh worker
LOOP_PAYLOAD_BYTES = 1 << 20  # larger messages are handed over from a thread
_PRELOAD = ["bot.verify.sandbox"]


def timeout_report(target: str, seconds: float) -> Report:
    """The report for a message whose verification was stopped at the deadline."""
    reasons = [
        Reason(
            "verification_timeout",
            f"Verification did not finish within {seconds:g} s and was stopped, so nothing about "
            "this email was verified. It may be built to slow checks down: treat it as "
            "unverified and call the vendor back on the registry's number.",
            data={"seconds": seconds},
        )
    ]
    return Report(
        target=target,
        kind=Kind.MESSAGE,
        verdict=decide(reasons, vendor_matched=False),
        reasons=reasons,
        details={"message": {"notes": [f"stopped after {seconds:g} s"]}},
    )


@dataclass(frozen=True)
class _WorkerConfig:
    """What a worker process needs to build its Verifier (the registry comes per job)."""

    settings: Settings
    nameservers: tuple[tuple[str, int], ...]
    dns_timeout: float
    snapshot: Snapshot | None


@dataclass(frozen=True)
class _Job:
    kind: str  # "message" | "headers"
    payload: bytes | HeadersOnly
    filename: str | None = None
    arrival: Arrival = Arrival.FILE
    envelope: Envelope | None = None


def _portable(settings: Settings) -> Settings:
    """The settings' fields alone, for a worker: no cached values (the environment that
    ``secret_environ`` holds is neither picklable nor the worker's business)."""
    return settings.portable()


def _serve(conn: Connection, config: _WorkerConfig) -> None:  # pragma: no cover - in a child
    """A worker process: set the registry when told, verify jobs, answer each on ``conn``."""
    loop = asyncio.new_event_loop()
    resolver = Resolver(config.nameservers, timeout=config.dns_timeout, snapshot=config.snapshot)
    verifier: Verifier | None = None
    while True:
        try:
            kind, body = conn.recv()
        except (EOFError, OSError):
            return
        if kind == "registry":
            registry = pickle.loads(body)  # noqa: S301 - our own parent's pickle
            if verifier is None:
                verifier = Verifier(config.settings, resolver, RegistryHolder(registry))
            else:
                verifier.registry_holder.replace(registry)
            verifier.lookalikes()
            gc.collect()
            gc.freeze()  # the engine, registry and index live as long as the worker: never scanned
            conn.send(("ready", None))
            continue
        assert verifier is not None, "a job before the registry"
        conn.send(_answer(loop, verifier, body))


def _answer(loop: asyncio.AbstractEventLoop, verifier: Verifier, job: _Job) -> tuple[str, Any]:
    try:
        if job.kind == "headers":
            assert isinstance(job.payload, HeadersOnly)
            report = loop.run_until_complete(verifier.verify_headers(job.payload))
        else:
            assert isinstance(job.payload, bytes)
            report = loop.run_until_complete(
                verifier.verify_message(
                    job.payload,
                    filename=job.filename,
                    arrival=job.arrival,
                    envelope=job.envelope,
                )
            )
    except TooLargeError as exc:
        return ("too_large", str(exc))
    except InputError as exc:
        return ("input", str(exc))
    except Exception as exc:  # reported to the parent, which raises it there
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return ("error", f"{text}\n{traceback.format_exc(limit=8)}")
    return ("ok", report)


@dataclass
class _Slot:
    process: Any  # multiprocessing.Process from the fork-server context
    conn: Connection
    registry_version: int = -1


@dataclass
class _Slots:
    """The worker processes (shared with the finalizer that stops them)."""

    idle: list[_Slot] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    all: dict[int, _Slot] = field(default_factory=dict)

    def stop_all(self) -> None:
        with self.lock:
            slots = list(self.all.values())
            self.all.clear()
            self.idle.clear()
        for slot in slots:
            _kill(slot)


def _kill(slot: _Slot) -> None:
    with contextlib.suppress(Exception):
        slot.process.kill()
    with contextlib.suppress(Exception):
        slot.process.join(5)
    with contextlib.suppress(Exception):
        slot.conn.close()


class VerifyPool:
    """Runs message verification in worker processes with a per-message deadline.

    ``processes`` workers at most run at once (more callers wait their turn); each call's
    deadline (``timeout`` seconds) starts when its job is handed to a worker. Workers come from
    a fork server that has imported the engine once (``start_method="forkserver"``, safe in a
    threaded service); a short-lived single-threaded caller such as the CLI may fork directly
    (``"fork"``), which costs no second import of the engine.
    """

    def __init__(
        self,
        settings: Settings,
        resolver: Resolver,
        registry: RegistryHolder,
        *,
        timeout: float,
        processes: int = 2,
        start_method: str = "forkserver",
    ) -> None:
        self.timeout = timeout
        self.processes = max(1, processes)
        self._holder = registry
        self._config = _WorkerConfig(
            settings=_portable(settings),
            nameservers=tuple(resolver.nameservers),
            dns_timeout=resolver.timeout,
            snapshot=resolver.snapshot,
        )
        self._context: Any = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(_PRELOAD)
        self._slots = _Slots()
        self._executor = ThreadPoolExecutor(self.processes, thread_name_prefix="deskguard-verify")
        self._running = threading.BoundedSemaphore(self.processes)  # jobs in workers now
        self._registry_lock = threading.Lock()
        self._registry: Registry | None = None
        self._registry_blob = b""
        self._registry_version = 0
        self.started = 0  # worker processes started so far (tests and metrics read it)
        self.stopped = 0  # worker processes killed at a deadline or after dying
        self.from_loop = 0  # jobs handed over on the event loop (no thread)
        self._finalizer = weakref.finalize(self, _finish, self._slots, self._executor)

    async def verify_message(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        arrival: Arrival = Arrival.FILE,
        envelope: Envelope | None = None,
    ) -> Report:
        """Parse and verify a raw email in a worker; ``verification_timeout`` past the deadline.

        Raises InputError / TooLargeError as :meth:`Verifier.verify_message` does, and
        RuntimeError when the worker failed or died (the caller may try again).
        """
        job = _Job("message", bytes(data), filename, arrival, envelope)
        return await self._submit(job, filename or "message")

    async def verify_headers(self, fields: HeadersOnly) -> Report:
        """Verify a headers-only email in a worker, under the same deadline."""
        return await self._submit(_Job("headers", fields), "message")

    def close(self) -> None:
        """Stop every worker process (a later call starts new ones)."""
        self._slots.stop_all()

    async def _submit(self, job: _Job, target: str) -> Report:
        outcome = await self._on_the_loop(job)
        if outcome is None:  # no ready worker free, or a large message: from a thread
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(self._executor, self._run, job)
        kind, body = outcome
        if kind == "ok":
            assert isinstance(body, Report)
            return body
        if kind == "timeout":
            return timeout_report(target, self.timeout)
        if kind == "too_large":
            raise TooLargeError(body)
        if kind == "input":
            raise InputError(body)
        raise RuntimeError(f"message verification failed in its worker process: {body}")

    # -- on the event loop: an idle worker that has the registry in force ---------------------

    async def _on_the_loop(self, job: _Job) -> tuple[str, Any] | None:
        """Hand ``job`` to an idle worker and wait for its answer without a thread; None when
        that cannot be done at once (the thread path then starts, or waits for, a worker)."""
        payload = job.payload
        if isinstance(payload, bytes) and len(payload) > LOOP_PAYLOAD_BYTES:
            return None  # sending it would hold the loop while the worker reads
        if not self._running.acquire(blocking=False):
            return None
        try:
            version = self._version_in_force()
            slot = None if version is None else self._take_ready(version)
            if slot is None:
                return None
            self.from_loop += 1
            return await self._exchange(slot, job)
        finally:
            self._running.release()

    async def _exchange(self, slot: _Slot, job: _Job) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = slot.conn.fileno()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        try:
            slot.conn.send(("job", job))
            loop.add_reader(fd, ready)
            try:
                async with asyncio.timeout(self.timeout):
                    await readable
            finally:
                loop.remove_reader(fd)
            answer: tuple[str, Any] = slot.conn.recv()
        except TimeoutError:
            self._discard(slot)
            return ("timeout", None)
        except (EOFError, OSError, pickle.PicklingError) as exc:
            self._discard(slot)
            return ("died", f"the worker process stopped ({type(exc).__name__}: {exc})")
        except BaseException:  # cancelled mid-job, or a job that cannot be sent
            self._discard(slot)
            raise
        self._give_back(slot)
        return answer

    def _version_in_force(self) -> int | None:
        """The registry version workers hold when it is still the one in force; None when a
        reload is not yet pickled (the thread path does that, off the loop) or is being so."""
        if not self._registry_lock.acquire(blocking=False):
            return None
        try:
            current = self._holder.registry is self._registry
            return self._registry_version if current else None
        finally:
            self._registry_lock.release()

    def _take_ready(self, version: int) -> _Slot | None:
        """An idle live worker that already has registry ``version``, or None."""
        with self._slots.lock:
            for index in range(len(self._slots.idle) - 1, -1, -1):
                slot = self._slots.idle[index]
                if slot.registry_version == version and slot.process.is_alive():
                    del self._slots.idle[index]
                    return slot
        return None

    # -- in an executor thread ------------------------------------------------------------

    def _run(self, job: _Job) -> tuple[str, Any]:
        with self._running:
            return self._run_held(job)

    def _run_held(self, job: _Job) -> tuple[str, Any]:
        version, blob = self._current_registry()
        slot = self._take()
        try:
            if slot.registry_version != version:
                slot.conn.send(("registry", blob))
                if not slot.conn.poll(REGISTRY_SETUP_SECONDS):
                    raise EOFError("the worker did not load the registry in time")
                slot.conn.recv()
                slot.registry_version = version
            slot.conn.send(("job", job))
            if not slot.conn.poll(self.timeout):
                self._discard(slot)
                return ("timeout", None)
            answer: tuple[str, Any] = slot.conn.recv()
        except (EOFError, OSError, pickle.PicklingError) as exc:
            self._discard(slot)
            return ("died", f"the worker process stopped ({type(exc).__name__}: {exc})")
        except BaseException:  # a job that cannot be sent: the worker's state is unknown
            self._discard(slot)
            raise
        self._give_back(slot)
        return answer

    def _current_registry(self) -> tuple[int, bytes]:
        with self._registry_lock:
            registry = self._holder.registry
            if registry is not self._registry:
                self._registry = registry
                self._registry_blob = pickle.dumps(registry, pickle.HIGHEST_PROTOCOL)
                self._registry_version += 1
            return self._registry_version, self._registry_blob

    def _take(self) -> _Slot:
        with self._slots.lock:
            while self._slots.idle:
                slot = self._slots.idle.pop()
                if slot.process.is_alive():
                    return slot
                self._slots.all.pop(id(slot), None)
        return self._start()

    def _start(self) -> _Slot:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_serve, args=(child, self._config), name="deskguard-verify", daemon=True
        )
        process.start()
        child.close()
        slot = _Slot(process, parent)
        with self._slots.lock:
            self._slots.all[id(slot)] = slot
        self.started += 1
        return slot

    def _give_back(self, slot: _Slot) -> None:
        with self._slots.lock:
            if id(slot) in self._slots.all:
                self._slots.idle.append(slot)
                return
        _kill(slot)  # the pool was closed meanwhile

    def _discard(self, slot: _Slot) -> None:
        with self._slots.lock:
            self._slots.all.pop(id(slot), None)
        _kill(slot)
        self.stopped += 1


def _finish(slots: _Slots, executor: ThreadPoolExecutor) -> None:
    slots.stop_all()
    executor.shutdown(wait=False)


def attach_verify_pool(
    verifier: Verifier, *, start_method: str = "forkserver", processes: int | None = None
) -> VerifyPool:
    """Verify ``verifier``'s emails in worker processes under the configured deadline
    (``DESKGUARD_VERIFY_TIMEOUT_SECONDS``); at most ``processes`` workers
    (``DESKGUARD_VERIFY_PROCESSES`` by default); no process starts before the first email."""
    settings = verifier.settings
    pool = VerifyPool(
        settings,
        verifier.resolver,
        verifier.registry_holder,
        timeout=settings.verify_timeout_seconds,
        processes=processes or settings.verify_processes,
        start_method=start_method,
    )
    verifier.runner = pool
    return pool
