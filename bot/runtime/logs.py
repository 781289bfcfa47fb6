"""Structured logs: JSON when not on a TTY, a request id per request, no secrets, no bodies.

Log calls pass context in ``extra={...}``; only keys in ``SAFE_FIELDS`` are emitted, so a message
body or a token can never reach the log by accident, and token-shaped text is masked.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid

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


def configure_logging(fmt: str = "auto", level: str = "INFO") -> None:
    """Install the formatter on the root logger (``fmt``: auto | json | text)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
