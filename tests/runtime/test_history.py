"""History: recent verifications per user, bounded, private to each user."""

from __future__ import annotations

from bot.report import Kind, Report, Verdict
from bot.runtime.history import History


def _report(target: str) -> Report:
    return Report(target, Kind.DOMAIN, Verdict.UNVERIFIED, [])


def test_newest_first_and_bounded_per_user() -> None:
    history = History(per_user=2)
    first = history.add("U1", _report("a.example"))
    history.add("U1", _report("b.example"))
    history.add("U1", _report("c.example"))
    assert [e.report.target for e in history.recent("U1")] == ["c.example", "b.example"]
    assert history.find("U1", first.id) is None


def test_entries_are_private_and_users_bounded() -> None:
    history = History(max_users=2)
    entry = history.add("U1", _report("a.example"), recheck="a.example")
    assert history.find("U2", entry.id) is None
    assert history.find("U1", entry.id) == entry
    history.add("U2", _report("b.example"))
    history.add("U3", _report("c.example"))
    assert history.recent("U1") == []
    assert history.recent("U3")[0].report.target == "c.example"
