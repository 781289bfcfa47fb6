"""Structured logs: JSON when not on a TTY, a request id per request, no secrets, no bodies.

Log calls pass context in ``extra={...}``; only keys in ``SAFE_FIELDS`` are emitted, so a message
body or a token can never reach the log by accident, and token-shaped text is masked. Every record
goes through one handler (Python warnings too), so each line is written once, in one format; a
network failure is one line without a traceback (and counted when it was Slack that could not be
reached), and known library noise is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable

import aiohttp

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

SAFE_FIELDS = frozenset(
    {
        "job_id",
        "verdict",
        "attempts",
        "seconds",
        "vendors",
        "path",
        "status",
        "method",
        "route",
        "kind",
        "source",
        "request",
        "event",
        "outcome",
        "error",
        "consumer",
        "channel",
        "user",
        "team",
        "retry_num",
        "reason",
        "count",
        "port",
        "mode",
    }
)
_SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|v[01]=[0-9a-f]{64}|Bearer\s+\S+)"
)
_RESERVED = set(vars(logging.makeLogRecord({})))


def new_request_id() -> str:
    """A short random id for one request or job."""
    return uuid.uuid4().hex[:16]


def redact(text: str) -> str:
    """Mask token- and signature-shaped substrings."""
    return _SECRET.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        rid = request_id.get()
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key in SAFE_FIELDS and key not in _RESERVED:
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the same safe fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={v}" for k, v in vars(record).items() if k in SAFE_FIELDS and k not in _RESERVED
        )
        rid = request_id.get()
        line = f"{record.levelname:<7} {record.name}: {redact(record.getMessage())}"
        if rid:
            line += f" request_id={rid}"
        if fields:
            line += " " + redact(fields)
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


SLACK_LOGGERS = ("slack_sdk", "slack_bolt", "deskguard.bolt")
# Lines libraries write that tell an operator nothing: slack_bolt's AsyncApp warns whenever
# SLACK_BOT_TOKEN is in the environment and a client is given (ours always is), and slack_sdk
# announces every connection retry before the line that says the attempt failed.
_NOISE_MESSAGES = frozenset({"As you gave `client` as well, `token` will be unused."})
_NOISE_PREFIXES = (
    "A retry handler found: AsyncConnectionErrorRetryHandler",
    "A retry handler found: ConnectionErrorRetryHandler",
)
_NETWORK_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, aiohttp.ClientError)


def network_error(exc: BaseException | None) -> BaseException | None:
    """The connection failure or time-out in ``exc``'s cause chain, if there is one."""
    for _ in range(8):  # bounded: cause chains can loop
        if exc is None:
            return None
        if isinstance(exc, _NETWORK_ERRORS):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class LogPolicy(logging.Filter):
    """Drop library noise; turn a network failure's traceback into one line (``error=``).

    ``on_slack_unreachable`` is called once per such line from a Slack logger (the metric).
    """

    def __init__(self, on_slack_unreachable: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.on_slack_unreachable = on_slack_unreachable

    def filter(self, record: logging.LogRecord) -> bool:
        """False for noise; otherwise the record, its traceback removed if it was the network."""
        if isinstance(record.msg, str) and (
            record.msg in _NOISE_MESSAGES or record.msg.startswith(_NOISE_PREFIXES)
        ):
            return False
        cause = network_error(record.exc_info[1]) if record.exc_info else None
        if cause is not None:
            record.exc_info = None
            record.exc_text = None
            if not getattr(record, "error", None):
                record.error = (f"{type(cause).__name__}: {cause}".rstrip(": "))[:300]
            if record.name.startswith(SLACK_LOGGERS) and self.on_slack_unreachable:
                self.on_slack_unreachable()
        return True


def configure_logging(
    fmt: str = "auto",
    level: str = "INFO",
    *,
    on_slack_unreachable: Callable[[], None] | None = None,
) -> None:
    """Install one handler on the root logger (``fmt``: auto | json | text) and route Python
    warnings through it, so every line comes out once and in one format."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(LogPolicy(on_slack_unreachable))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)
