"""Registry reload without restart: on file change (polled) or SIGHUP.

A broken file keeps the last good registry; the reason is logged and kept on the holder, where
``/readyz`` reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from bot.errors import RegistryError
from bot.registry import RegistryHolder, load_registry

log = logging.getLogger("deskguard.registry")


class RegistryReloader:
    """Reloads ``path`` into ``holder`` when it changes."""

    def __init__(
        self,
        holder: RegistryHolder,
        path: Path,
        *,
        on_reload: Callable[[str], None] | None = None,
    ) -> None:
        self.holder = holder
        self.path = path
        self.on_reload = on_reload
        self._stamp = self._current_stamp()
        self._wake = asyncio.Event()

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def reload(self) -> bool:
        """Load the file now; True when the new registry is in force."""
        self._stamp = self._current_stamp()
        try:
            registry = load_registry(self.path)
        except RegistryError as exc:
            self.holder.error = f"registry reload failed, keeping the last good one: {exc}"
            log.error(self.holder.error)
            if self.on_reload:
                self.on_reload("failed")
            return False
        self.holder.replace(registry)
        log.info("registry reloaded", extra={"vendors": len(registry), "path": str(self.path)})
        if self.on_reload:
            self.on_reload("ok")
        return True

    def changed(self) -> bool:
        """True when the file's modification time or size differs from the last load."""
        return self._current_stamp() != self._stamp

    def request_reload(self) -> None:
        """Ask the watch loop to reload at once (the SIGHUP handler)."""
        self._wake.set()

    def install_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reload on SIGHUP (POSIX only)."""
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)

    async def watch(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Poll the file until ``stop`` is set; reload when it changes or on request."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            requested = self._wake.is_set()
            self._wake.clear()
            if requested or self.changed():
                self.reload()
