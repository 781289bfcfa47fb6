"""``deskguard queue dead-letters`` and ``deskguard queue retry ID``: the operator's side of the
dead-letter list (the queue the service uses: Redis when ``REDIS_URL`` is set, else SQLite)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TextIO

from bot.errors import ConfigError, InputError
from bot.runtime.queue import DeadLetter, open_queue
from bot.settings import Settings


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def _line(letter: DeadLetter) -> str:
    error = "".join(ch if ch.isprintable() else "?" for ch in " ".join(letter.error.split()))
    return f"{letter.id}\t{_when(letter.received_at)}\t{letter.attempts}\t{error}"


async def run_queue_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """List the dead letters (id, received, attempts, error) or put one back; exit status."""
    if not settings.redis_url and not settings.database.exists():
        raise ConfigError(
            f"no database at {settings.database}: set DESKGUARD_DATABASE (or REDIS_URL) as the "
            "service has it"
        )
    queue = open_queue(settings)
    try:
        if args.queue_command == "retry":
            new_id = await queue.retry(args.id)
            if new_id is None:
                raise InputError(f"no dead letter with id {args.id!r}")
            print(f"{args.id} is queued again as {new_id}", file=out)
            return 0
        letters = await queue.dead_letters(max(1, args.limit))
        for letter in letters:
            if args.json:
                record = {
                    "id": letter.id,
                    "received": _when(letter.received_at),
                    "failed": _when(letter.failed_at),
                    "attempts": letter.attempts,
                    "error": letter.error,
                }
                print(json.dumps(record, ensure_ascii=False), file=out)
            else:
                print(_line(letter), file=out)
        if not letters and not args.json:
            print("no dead letters", file=out)
        return 0
    finally:
        await queue.close()
