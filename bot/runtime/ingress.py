"""Mail server ingress for ``deskguard serve``: the SMTP copy listener and the milter, when set."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from bot.runtime.milter import engine_for, start_milter_thread, stop_milter
from bot.runtime.queue import WorkQueue
from bot.runtime.services import Services
from bot.runtime.smtp import CopyHandler, start_smtp

log = logging.getLogger("deskguard.ingress")


@dataclass
class MailIngress:
    """What is running: the SMTP server (and its port), the milter thread."""

    smtp: asyncio.Server | None = None
    smtp_handler: CopyHandler | None = None
    smtp_port: int | None = None
    milter: threading.Thread | None = None

    async def close(self) -> None:
        """Refuse new mail (451), close the listener, stop the milter."""
        if self.smtp_handler is not None:
            self.smtp_handler.draining = True
        if self.smtp is not None:
            self.smtp.close()
            await self.smtp.wait_closed()
        if self.milter is not None:
            stop_milter()
            await asyncio.to_thread(self.milter.join, 10)


async def start_mail_ingress(services: Services, queue: WorkQueue) -> MailIngress:
    """Start the SMTP listener (DESKGUARD_SMTP_PORT) and the milter (DESKGUARD_MILTER_SOCKET)."""
    settings = services.settings
    ingress = MailIngress()
    if settings.smtp_port is not None:
        ingress.smtp, ingress.smtp_handler, ingress.smtp_port = await start_smtp(settings, queue)
    if settings.milter_socket:
        engine = engine_for(services, asyncio.get_running_loop(), queue)
        ingress.milter = start_milter_thread(engine, settings.milter_socket)
    return ingress
