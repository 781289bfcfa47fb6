"""The watch's output formats: a text table sorted by risk, JSON Lines, CSV (formula-safe)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any, TextIO

from bot.csvcell import csv_cell

_QUALIFIERS = ("-all", "~all", "+all", "?all")  # SPF's, shown as written


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = " ".join(f"{k}={v}" for k, v in value.items())
    elif isinstance(value, bool):
        value = "yes" if value else "no"
    text = "" if value is None else str(value)
    return text if text in _QUALIFIERS else csv_cell(text)


def write_jsonl(records: Sequence[dict[str, Any]], out: TextIO) -> None:
    """One JSON object per line."""
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")


def write_csv(records: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """A header row, then one row per record."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])


def write_table(records: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Aligned columns for a terminal."""
    rows = [[_cell(r.get(c)).lstrip("'") for c in columns] for r in records]
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    out.write("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    out.write("\n")
    for row in rows:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


def write(records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, out: TextIO) -> None:
    """In the format asked for."""
    if fmt == "json":
        write_jsonl(records, out)
    elif fmt == "csv":
        write_csv(records, columns, out)
    else:
        write_table(records, columns, out)
