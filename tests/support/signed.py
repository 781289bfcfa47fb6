"""Delivery helpers for end-to-end message tests: the headers a receiving host adds on top.

Keys and DKIM/ARC signing live in tests/support/mailsign.py.
"""

from __future__ import annotations


def received(by: str, helo: str, ip: str) -> str:
    """A Received header written by ``by`` for a client that said ``helo`` from ``ip``."""
    return (
        f"Received: from {helo} ({helo} [{ip}])\r\n\tby {by} with ESMTPS id 4AbC1;\r\n"
        "\tTue, 10 Nov 2026 09:30:02 +0000"
    )
