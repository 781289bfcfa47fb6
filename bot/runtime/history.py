"""Each user's recent verifications, for App Home and the "Share in channel" button.

Bounded twice: at most ``per_user`` entries per user and ``max_users`` users (least recently
active users are forgotten first). It lives in memory: a restart or another replica starts empty,
so callers must treat a missing entry as "expired", never as an error.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.report import Report


@dataclass(frozen=True)
class Entry:
    """One verification a user asked for."""

    id: str
    user: str
    report: Report
    when: dt.datetime
    recheck: str | None = None  # what "Re-check" verifies again (a domain or address), if anything


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class History:
    """Recent verifications per user (bounded)."""

    def __init__(
        self,
        *,
        per_user: int = 10,
        max_users: int = 10_000,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        if per_user < 1 or max_users < 1:
            raise ValueError("per_user and max_users must be positive")
        self.per_user = per_user
        self.max_users = max_users
        self._clock = clock
        self._users: OrderedDict[str, deque[Entry]] = OrderedDict()

    def add(self, user: str, report: Report, *, recheck: str | None = None) -> Entry:
        """Remember a report delivered to ``user``; return its entry (with a fresh id)."""
        entry = Entry(secrets.token_urlsafe(9), user, report, self._clock(), recheck)
        entries = self._users.pop(user, None) or deque(maxlen=self.per_user)
        entries.appendleft(entry)
        self._users[user] = entries
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)
        return entry

    def recent(self, user: str) -> list[Entry]:
        """The user's entries, newest first."""
        return list(self._users.get(user, ()))

    def find(self, user: str, entry_id: str) -> Entry | None:
        """The user's entry with this id (another user's id is never found)."""
        return next((e for e in self._users.get(user, ()) if e.id == entry_id), None)
