"""The inbound gate's authentication: HMAC-SHA256 over a timestamp and the raw body.

The mail gateway sends::

    X-Deskguard-Timestamp: <unix seconds>
    X-Deskguard-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>

A signature is accepted once, within a 5-minute window, compared in constant time. The headers
are checked (:func:`check_headers`) before the body is read, so an unsigned or stale request costs
no body read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

TIMESTAMP_HEADER = "X-Deskguard-Timestamp"
SIGNATURE_HEADER = "X-Deskguard-Signature"
WINDOW_SECONDS = 300
SIGNATURE_CHARS = 80  # "v1=" + 64 hex digits, with room for whitespace

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: "²".isdigit() is True


@dataclass(frozen=True, slots=True)
class GateRefusal:
    """Why a request was refused: HTTP status, short code, sentence."""

    status: int
    code: str
    message: str


REPLAYED = GateRefusal(409, "replayed", "this signed request was already accepted")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def check_headers(
    *, timestamp: str | None, signature: str | None, now: float | None = None
) -> GateRefusal | None:
    """Refuse a request whose signature headers are missing, malformed or stale (no body read)."""
    if not timestamp or not signature:
        return GateRefusal(
            401, "missing_signature", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
        )
    if not _TIMESTAMP.fullmatch(timestamp):
        return GateRefusal(400, "bad_timestamp", "timestamp must be Unix seconds")
    if len(signature) > SIGNATURE_CHARS or not signature.isascii():
        return GateRefusal(401, "bad_signature", "signature does not match")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > WINDOW_SECONDS:
        return GateRefusal(401, "stale_timestamp", "timestamp outside the 5-minute window")
    return None


async def check_request(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    max_bytes: int,
    first_use: Callable[[str], Awaitable[bool]],
    now: float | None = None,
) -> GateRefusal | None:
    """Return None when the request may be queued, else the refusal to send back."""
    refusal = check_headers(timestamp=timestamp, signature=signature, now=now)
    if refusal is not None or timestamp is None or signature is None:
        return refusal
    if len(body) > max_bytes:
        return GateRefusal(413, "too_large", f"message larger than {max_bytes} bytes")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return GateRefusal(401, "bad_signature", "signature does not match")
    if not body.strip():
        return GateRefusal(400, "empty_body", "the body must be a raw MIME message")
    if not await first_use(expected):
        return REPLAYED
    return None
