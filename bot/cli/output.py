"""How ``deskguard verify`` prints reports: text (verdict first), JSON Lines or CSV, and the
progress line a batch shows on a terminal."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from typing import Any, TextIO

from bot.csvcell import csv_cell
from bot.mail.authres_write import auth_results_header, auth_results_value
from bot.registry import display_phone
from bot.report import Kind, Report, Severity, Verdict
from bot.verify.advice import headline, next_steps

FORMATS = ("text", "json", "csv")
CSV_FIELDS = (
    "target",
    "kind",
    "verdict",
    "vendor_id",
    "vendor_name",
    "imitates",
    "callback_phone",
    "reasons",
    "headline",
)
AUTH_RESULTS_FIELD = "authentication_results"

_COLOURS = {
    Verdict.VERIFIED: "\033[1;32m",
    Verdict.UNVERIFIED: "\033[1;33m",
    Verdict.SUSPICIOUS: "\033[1;31m",
    Verdict.SPOOFED: "\033[1;37;41m",
}
_SEVERITY_MARK = {
    Severity.CRITICAL: "!! ",
    Severity.HIGH: "!  ",
    Severity.WARNING: "-  ",
    Severity.INFO: "   ",
}
_RESET = "\033[0m"
_BOLD = "\033[1m"


def callback_line(report: Report) -> str | None:
    """``Call back: +1 206-555-0142 (Northwind Software, vendor registry; hours: …)``."""
    callback = report.callback
    if not callback:
        return None
    whose = report.details.get("claimed_vendor") or report.vendor or {}
    name = whose.get("name") if isinstance(whose, dict) else None
    if not name and isinstance(report.details.get("imitates"), dict):
        name = report.details["imitates"].get("vendor_name")
    parts = [f"{name}, vendor registry" if name else "vendor registry"]
    if callback.get("hours"):
        parts.append(f"hours: {callback['hours']}")
    return f"Call back: {display_phone(callback['phone'])} ({'; '.join(parts)})"


def use_colour(stream: TextIO) -> bool:
    """Colour on a terminal unless NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def render_text(report: Report, *, colour: bool = False) -> str:
    """The terminal form: verdict first, then why, then what to do."""
    verdict = report.verdict.value.upper()
    if colour:
        verdict = f"{_COLOURS[report.verdict]} {verdict} {_RESET}"
    lines = [f"{verdict}  {report.target} ({report.kind.value})", f"  {headline(report)}"]
    call_back = callback_line(report)
    if call_back:
        lines.append(f"  {_BOLD}{call_back}{_RESET}" if colour else f"  {call_back}")
    if report.details.get("verified_part"):
        lines.append(f"  Verified part: {report.details['verified_part']}")
    reasons = report.sorted_reasons()
    if reasons:
        lines.append("Why:")
        for reason in reasons:
            mark = _SEVERITY_MARK[reason.effective_severity]
            lines.append(f"  {mark}{reason.message} [{reason.code}]")
    steps = next_steps(report)
    if steps:
        lines.append("What to do:")
        lines.extend(f"  * {step}" for step in steps)
    callback = report.callback
    if callback and callback.get("contacts"):
        lines.append("Registered contacts (their own numbers; call the callback line first):")
        for contact in callback["contacts"]:
            phone = f", {display_phone(contact['phone'])}" if contact.get("phone") else ""
            lines.append(f"  {contact['name']} ({contact['role']}) <{contact['email']}>{phone}")
    return "\n".join(lines)


def csv_row(report: Report, authserv_id: str | None = None) -> dict[str, str]:
    """One CSV row (flattened, formula-safe like ``audit export``)."""
    vendor = report.vendor or {}
    imitates = report.details.get("imitates") or {}
    callback = report.callback or {}
    raw: dict[str, Any] = {
        "target": report.target,
        "kind": report.kind.value,
        "verdict": report.verdict.value,
        "vendor_id": vendor.get("id"),
        "vendor_name": vendor.get("name"),
        "imitates": imitates.get("vendor_id"),
        "callback_phone": callback.get("phone"),
        "reasons": " ".join(r.code for r in report.sorted_reasons()),
        "headline": headline(report),
    }
    if authserv_id is not None:
        raw[AUTH_RESULTS_FIELD] = _auth_results_value(report, authserv_id)
    return {key: csv_cell(value) for key, value in raw.items()}


def _auth_results_value(report: Report, authserv_id: str) -> str | None:
    if report.kind is not Kind.MESSAGE:
        return None
    return auth_results_value(authserv_id, report.details.get("auth"))


class ReportWriter:
    """Writes reports to ``out`` in one format; ``authserv_id`` adds Authentication-Results."""

    def __init__(
        self,
        out: TextIO,
        fmt: str,
        *,
        colour: bool = False,
        authserv_id: str | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.out = out
        self.fmt = fmt
        self.colour = colour
        self.authserv_id = authserv_id
        self.count = 0
        self._csv: csv.DictWriter[str] | None = None

    def write(self, report: Report) -> None:
        """Write one report and flush, so a pipeline sees each result as it comes."""
        writers: dict[str, Callable[[Report], None]] = {
            "text": self._write_text,
            "json": self._write_json,
            "csv": self._write_csv,
        }
        writers[self.fmt](report)
        self.count += 1
        self.out.flush()

    def _write_text(self, report: Report) -> None:
        if self.count:
            self.out.write("\n")
        self.out.write(render_text(report, colour=self.colour) + "\n")
        if self.authserv_id is not None and report.kind is Kind.MESSAGE:
            header = auth_results_header(self.authserv_id, report.details.get("auth"))
            self.out.write(header + "\n")

    def _write_json(self, report: Report) -> None:
        data = report.to_json()
        if self.authserv_id is not None:
            data[AUTH_RESULTS_FIELD] = _auth_results_value(report, self.authserv_id)
        self.out.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")

    def _csv_writer(self) -> csv.DictWriter[str]:
        if self._csv is None:
            fields = list(CSV_FIELDS)
            if self.authserv_id is not None:
                fields.append(AUTH_RESULTS_FIELD)
            self._csv = csv.DictWriter(self.out, fieldnames=fields, lineterminator="\n")
            self._csv.writeheader()
        return self._csv

    def _write_csv(self, report: Report) -> None:
        self._csv_writer().writerow(csv_row(report, self.authserv_id))

    def start(self) -> None:
        """Write what comes before the first report (the CSV header, even for no rows)."""
        if self.fmt == "csv":
            self._csv_writer()
            self.out.flush()


class Progress:
    """``verified N, M running`` on one line of a terminal (stderr), cleared at the end."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def update(self, done: int, running: int) -> None:
        """Redraw the line."""
        self.stream.write(f"\r\033[Kdeskguard: verified {done}, {running} running")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the line (before an error message, and at the end)."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False
