"""The SMTP copy listener (aiosmtpd): any mail system can send deskguard a copy.

Copies routed by a Postfix ``recipient_bcc_maps``, a Microsoft 365 connector or a Google
Workspace routing rule land in the same durable queue as the HTTP gate (one card per message,
posted by the same workers). Rules:

- only clients in ``DESKGUARD_SMTP_ALLOWED_CLIENTS`` may send: others get ``554`` before DATA;
- any recipient is accepted (this is a copy sink);
- ``SIZE`` is advertised from ``DESKGUARD_MAX_MESSAGE_BYTES``; a larger message gets ``552``;
- ``250`` only once the message is durably queued; ``451`` when the store is down (the sender
  retries) or the replica is shutting down.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Sequence
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.errors import StoreError
from bot.runtime.queue import WorkQueue
from bot.settings import Settings

log = logging.getLogger("deskguard.smtp")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
REFUSED = "554 5.7.1 this client may not send mail to deskguard"


def parse_networks(entries: Sequence[str]) -> list[Network]:
    """CIDR strings as networks (a bare address is a /32 or /128)."""
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def client_allowed(peer: Any, networks: Sequence[Network]) -> bool:
    """True when the peer's address is inside one of ``networks``."""
    try:
        address = ipaddress.ip_address(peer[0] if isinstance(peer, tuple) else peer)
    except (ValueError, TypeError, IndexError):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in networks)


class CopyHandler:
    """aiosmtpd handler: refuse strangers, queue the message, answer after it is durable."""

    def __init__(self, queue: WorkQueue, networks: Sequence[Network]) -> None:
        self.queue = queue
        self.networks = list(networks)
        self.draining = False
        self.accepted = 0

    def _refused(self, session: Session) -> bool:
        return not client_allowed(session.peer, self.networks)

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self._refused(session):
            log.warning("smtp client refused", extra={"client": str(session.peer)})
            return REFUSED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self._refused(session):
            return REFUSED
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._refused(session):
            return REFUSED
        if self.draining:
            return "451 4.3.2 deskguard is shutting down; try again later"
        content = envelope.original_content or envelope.content or b""
        body = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        try:
            job_id = await self.queue.enqueue(body)
        except StoreError as exc:
            log.error("smtp copy not queued: store unavailable", extra={"error": str(exc)})
            return "451 4.3.0 deskguard cannot queue the message now; try again later"
        self.accepted += 1
        log.info("smtp copy queued", extra={"job_id": job_id})
        return f"250 2.0.0 OK queued as {job_id}"


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server TLS context when DESKGUARD_SMTP_TLS_CERT and _KEY are both set."""
    if not (settings.smtp_tls_cert and settings.smtp_tls_key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(settings.smtp_tls_cert), str(settings.smtp_tls_key))
    return context


async def start_smtp(
    settings: Settings, queue: WorkQueue, *, port: int | None = None
) -> tuple[asyncio.Server, CopyHandler, int]:
    """Listen on DESKGUARD_SMTP_HOST:PORT; return the server, its handler and the bound port."""
    handler = CopyHandler(queue, parse_networks(settings.smtp_allowed_clients))
    context = tls_context(settings)
    limit = settings.max_message_bytes

    def factory() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=None,
            ident="deskguard",
            tls_context=context,
            require_starttls=False,
        )

    loop = asyncio.get_running_loop()
    host = settings.smtp_host or settings.host
    wanted = settings.smtp_port if port is None else port
    server = await loop.create_server(factory, host=host, port=wanted or 0)
    bound = int(server.sockets[0].getsockname()[1])
    log.info("deskguard SMTP copy listener on %s:%d", host, bound)
    return server, handler, bound
