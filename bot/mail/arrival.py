"""How a message reached us, which decides what header evidence may count.

- :attr:`Arrival.RAW`: through our own mail path (the HTTP gate, the SMTP copy listener, the
  milter). Headers our own servers wrote above the trusted boundary (the trusted hop's Received,
  our Authentication-Results) are evidence.
- :attr:`Arrival.FILE`: a file (Slack upload, CLI file, .msg) or an attachment. Anyone could have
  typed its headers: only evidence that carries its own proof (signatures) counts.

An :class:`Envelope` is what the receiving SMTP server saw (connecting IP, HELO, MAIL FROM). The
milter gives it from the live connection, or an operator on the CLI who vouches for it; SPF is then
evaluated from it instead of from a Received header.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Arrival(StrEnum):
    """Where the bytes of a message came from."""

    RAW = "raw"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP transaction: client IP, HELO name, MAIL FROM ("" for the null sender)."""

    client_ip: str
    helo: str | None = None
    mail_from: str | None = None
