"""What the milter does with one message: collect it, verify it, decide the action.

Nothing here knows libmilter: :class:`MessageCollector` gathers what the MTA sends (capped),
:class:`MilterEngine` verifies the message on an asyncio loop within the deadline and queues
help-desk messages, and :func:`decide` turns a report into the header edits and the action. The
pymilter adapter (bot/runtime/milter.py) only forwards callbacks and applies the decision.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.errors import DeskguardError
from bot.mail.arrival import Envelope
from bot.report import Report, Verdict
from bot.runtime import milter_headers as mh
from bot.settings import Settings

log = logging.getLogger("deskguard.milter")

MAX_HEADERS = 1000
TIMEOUT_REASON = "verification_timeout"
TOO_LARGE_REASON = "message_too_large"
UNUSABLE_REASON = "malformed_message"

Verify = Callable[[bytes, Envelope | None], Awaitable[Report]]
Enqueue = Callable[[bytes], Awaitable[str]]


@dataclass
class MessageCollector:
    """One message as the MTA hands it over: envelope, headers in order, body (capped)."""

    max_bytes: int
    client_ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None
    recipients: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    size: int = 0
    too_large: bool = False

    def new_message(self, mail_from: str) -> None:
        """MAIL FROM: a new transaction on the same connection (keeps IP and HELO)."""
        self.mail_from = mail_from.strip().strip("<>")[:998]
        self.recipients = []
        self.headers = []
        self.body = bytearray()
        self.size = 0
        self.too_large = False

    def add_recipient(self, rcpt: str) -> None:
        """RCPT TO (lower-cased, angle brackets removed)."""
        if len(self.recipients) < MAX_HEADERS:
            self.recipients.append(rcpt.strip().strip("<>").lower()[:998])

    def add_header(self, name: str, value: str) -> None:
        """One header field (value without the leading space)."""
        self.size += len(name) + len(value) + 4
        if self.size > self.max_bytes or len(self.headers) >= MAX_HEADERS:
            self.too_large = True
            return
        self.headers.append((name, value))

    def add_body(self, chunk: bytes) -> None:
        """A body chunk; past the size limit the rest is dropped and the message is too large."""
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.too_large = True
            return
        self.body.extend(chunk)

    def own_headers(self, our_id: str) -> list[tuple[str, int]]:
        """(name, 1-based index among fields of that name) of every header claiming to be ours."""
        seen: dict[str, int] = {}
        out = []
        for name, value in self.headers:
            key = name.lower()
            seen[key] = seen.get(key, 0) + 1
            if mh.is_own_header(name, value, our_id):
                out.append((name, seen[key]))
        return out

    def subject(self) -> str | None:
        """The first Subject field's value."""
        for name, value in self.headers:
            if name.lower() == "subject":
                return value
        return None

    def raw(self, our_id: str) -> bytes:
        """The message as it will be delivered, minus the headers claiming to be ours."""
        lines = []
        for name, value in self.headers:
            if mh.is_own_header(name, value, our_id):
                continue
            text = value.replace("\r\n", "\n").replace("\n", "\r\n")
            lines.append(f"{name}: {text}".encode("utf-8", "surrogateescape"))
        return b"\r\n".join(lines) + b"\r\n\r\n" + bytes(self.body)

    def envelope(self) -> Envelope | None:
        """The SMTP transaction, when the MTA told us the client's IP."""
        if not self.client_ip:
            return None
        return Envelope(self.client_ip, helo=self.helo, mail_from=self.mail_from)


@dataclass(frozen=True)
class Decision:
    """What to do with a message: the action and the header edits."""

    action: str  # accept | tag | quarantine | reject
    verdict: str
    auth_results: str
    verdict_header: str
    subject: str | None = None  # the new Subject when tagged
    reason: str = ""


def _action_for(verdict: str, settings: Settings) -> str:
    if verdict == Verdict.SPOOFED:
        return settings.milter_action_spoofed
    if verdict == Verdict.SUSPICIOUS:
        return settings.milter_action_suspicious
    return "accept"


def decide(
    report: Report | None,
    settings: Settings,
    our_id: str,
    *,
    subject: str | None,
    failure: str | None = None,
) -> Decision:
    """The decision for ``report`` (``None`` with ``failure`` = unverified, mail flows)."""
    if report is None:
        return Decision(
            action="accept",
            verdict=Verdict.UNVERIFIED.value,
            auth_results=f"{our_id}; none",
            verdict_header=mh.verdict_value(Verdict.UNVERIFIED.value, None, [failure or "none"]),
        )
    verdict = report.verdict.value
    action = _action_for(verdict, settings)
    new_subject = None
    if action == "tag":
        tag = mh.subject_tag(verdict)
        # undecodable bytes (kept as surrogates) would make the MTA call fail: replace them
        current = (subject or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        new_subject = current if current.startswith(tag) else f"{tag} {current}".rstrip()
    codes = [c for c in report.codes() if c]
    return Decision(
        action=action,
        verdict=verdict,
        auth_results=mh.authentication_results(report, our_id),
        verdict_header=mh.verdict_header(report),
        subject=new_subject,
        reason=f"deskguard: {verdict} vendor mail ({', '.join(codes[:3]) or 'no reason'})",
    )


class MilterEngine:
    """Shared by every milter connection: verifies on ``loop`` within the deadline."""

    def __init__(
        self,
        settings: Settings,
        verify: Verify,
        loop: asyncio.AbstractEventLoop,
        *,
        enqueue: Enqueue | None = None,
    ) -> None:
        self.settings = settings
        self.verify = verify
        self.loop = loop
        self.enqueue = enqueue
        self.our_id = mh.authserv_id(settings)
        self.helpdesk = frozenset(settings.milter_helpdesk_recipients)

    def _run(self, coro: Awaitable[object], timeout: float) -> object:
        future = asyncio.run_coroutine_threadsafe(_wrap(coro), self.loop)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def evaluate(self, message: MessageCollector) -> Decision:
        """Verify ``message`` (called from a libmilter thread) and decide; never raises."""
        subject = message.subject()
        if message.too_large:
            return decide(
                None, self.settings, self.our_id, subject=subject, failure=TOO_LARGE_REASON
            )
        raw = message.raw(self.our_id)
        envelope = message.envelope()
        try:
            report = self._run(self._verify(raw, envelope), self.settings.milter_timeout_seconds)
        except concurrent.futures.TimeoutError:
            log.warning("milter verification timed out; the message is marked unverified")
            decision = decide(
                None, self.settings, self.our_id, subject=subject, failure=TIMEOUT_REASON
            )
        except DeskguardError as exc:
            log.info("milter: message not verifiable", extra={"error": str(exc)[:200]})
            decision = decide(
                None, self.settings, self.our_id, subject=subject, failure=UNUSABLE_REASON
            )
        except Exception:
            log.exception("milter verification failed; the message is marked unverified")
            decision = decide(
                None, self.settings, self.our_id, subject=subject, failure="internal_error"
            )
        else:
            assert isinstance(report, Report)
            decision = decide(report, self.settings, self.our_id, subject=subject)
        self._queue_for_triage(message, raw, decision)
        return decision

    async def _verify(self, raw: bytes, envelope: Envelope | None) -> Report:
        # no envelope (a local submission over non_smtpd_milters): SPF from the trusted hop only
        return await self.verify(raw, envelope)

    def _queue_for_triage(self, message: MessageCollector, raw: bytes, decision: Decision) -> None:
        """Queue a help-desk message for its card, carrying our Authentication-Results."""
        if self.enqueue is None or not self.helpdesk.intersection(message.recipients):
            return
        stamped = f"{mh.AUTH_RESULTS_HEADER}: {decision.auth_results}\r\n".encode() + raw
        try:
            self._run(self.enqueue(stamped), max(5.0, self.settings.milter_timeout_seconds))
        except Exception:
            # the mail path never waits on the triage queue: log and let the message go on
            log.exception("milter: could not queue a help-desk message for triage")


async def _wrap(coro: Awaitable[object]) -> object:
    return await coro
