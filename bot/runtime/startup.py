"""Connecting to a service at start-up: retry with backoff until it answers, stop on a signal.

The caller says which failures are final (a token the far side refused: retrying cannot help,
so :class:`ConfigError` with one line naming the variable) and which are worth waiting out (the
network, a 5xx). Each wait is one log line, never a traceback, and a set ``stop`` event ends the
wait at once, even in the middle of an attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.errors import ConfigError
from bot.runtime.worker import describe

log = logging.getLogger("deskguard.startup")

T = TypeVar("T")

Refusal = Callable[[Exception], str | None]  # the ConfigError's message when final, else None


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> tuple[bool, T | None]:
    """Run ``work`` unless ``stop`` is set first; (True, result) or (False, None) when stopped."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return False, None


async def connect_with_backoff(
    connect: Callable[[], Awaitable[T]],
    *,
    what: str,
    stop: asyncio.Event,
    refused: Refusal,
    on_retry: Callable[[str], None] | None = None,
    initial: float = 1.0,
    cap: float = 30.0,
) -> T | None:
    """``connect()`` until it succeeds (its result), ``stop`` is set (None), or it is refused."""
    delay = initial
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            finished, result = await until_stopped(connect(), stop)
        except Exception as exc:
            final = refused(exc)
            if final is not None:
                raise ConfigError(final) from None
            reason = describe(exc)
            log.warning(
                "%s: not reachable (%s); attempt %d, retrying in %g s",
                what,
                reason,
                attempt,
                delay,
                extra={"attempt": attempt, "delay": delay},
            )
            if on_retry is not None:
                on_retry(f"connecting: {reason} (attempt {attempt})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, cap)
            continue
        if not finished:
            return None
        return result
    return None
