"""CSV cells a spreadsheet will not run as formulas (audit export, verify and watch output)."""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """The cell for ``value``: text starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
