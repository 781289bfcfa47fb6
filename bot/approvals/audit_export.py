"""Export the audit trail: ``deskguard audit export [--since DATE] [--format jsonl|csv]``."""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal, TextIO

from bot.approvals.audit import AuditEvent
from bot.approvals.backends import open_store
from bot.csvcell import csv_cell

if TYPE_CHECKING:
    from bot.approvals.store import ApprovalStore
    from bot.settings import Settings

CSV_FIELDS = (
    "seq",
    "at",
    "request_id",
    "event",
    "actor_id",
    "from_state",
    "to_state",
    "vendor_id",
    "kind",
    "requester_id",
    "technical_by",
    "vendor_manager_by",
    "note",
    "evidence",
    "verification",
    "summary",
)


def csv_row(event: AuditEvent) -> dict[str, str]:
    """One CSV row (flattened, formula-safe)."""
    req = event.request
    raw: dict[str, Any] = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "request_id": event.request_id,
        "event": event.event,
        "actor_id": event.actor_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "vendor_id": req.vendor_id,
        "kind": req.kind.value,
        "requester_id": req.requester_id,
        "technical_by": req.technical.user_id if req.technical else None,
        "vendor_manager_by": req.vendor_manager.user_id if req.vendor_manager else None,
        "note": event.note,
        "evidence": json.dumps(dict(event.evidence), sort_keys=True),
        "verification": json.dumps(dict(req.verification), sort_keys=True),
        "summary": req.summary,
    }
    return {key: csv_cell(value) for key, value in raw.items()}


async def export_audit(
    store: ApprovalStore,
    since: dt.datetime | None,
    fmt: Literal["jsonl", "csv"] | str,
    out: TextIO,
) -> int:
    """Write every event at or after ``since`` (all when None) to ``out``; return the count."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown audit format {fmt!r} (jsonl or csv)")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    events = await store.audit_events(since=since)
    if fmt == "jsonl":
        for event in events:
            out.write(json.dumps(event.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
    else:
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for event in events:
            writer.writerow(csv_row(event))
    return len(events)


async def run_audit_export(
    settings: Settings, since: dt.datetime | None, fmt: str, out: TextIO
) -> int:
    """Open the configured store (Redis when REDIS_URL is set, else SQLite), export, exit 0."""
    store = await open_store(settings)
    try:
        await export_audit(store, since, fmt, out)
    finally:
        await store.close()
    return 0
