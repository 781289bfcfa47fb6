"""App Home: how to use deskguard, the registry summary, the privileged vendors' mail posture and
the caller's recent checks (a pure builder)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot.runtime.history import Entry
from bot.watch.posture import PostureRow
from handlers.blocks import _plain, _section, help_blocks, verdict_line
from handlers.text import escape


def posture_lines(rows: Sequence[PostureRow], *, limit: int = 20) -> list[str]:
    """One line per vendor domain: DMARC policy, SPF all, DKIM keys; weak ones flagged."""
    lines = []
    for row in rows[:limit]:
        dkim = ", ".join(f"{s} {v}" for s, v in row.dkim.items()) or "no selectors registered"
        mark = ":warning: " if row.weak else ""
        lines.append(
            f"{mark}*{escape(row.vendor_name)}* {escape(row.domain)}: DMARC {row.dmarc_policy}, "
            f"SPF {row.spf_all}, DKIM {escape(dkim)}"
        )
    if len(rows) > limit:
        lines.append(f"_and {len(rows) - limit} more (deskguard vendors posture)_")
    return lines


def home_view(
    *,
    vendors: int,
    overdue: Sequence[str],
    recent: Iterable[Entry],
    keep: frozenset[str],
    posture: Sequence[PostureRow] | None = None,
) -> View:
    """App Home: how to use deskguard, the registry summary, the caller's recent checks."""
    blocks: list[Block] = [
        HeaderBlock(text=_plain("deskguard", 150)),
        _section(
            "Before you act on a vendor's request (a password or MFA reset, access, an install), "
            "check who is asking, then call back on the number from the vendor registry: never "
            "on a number from the request."
        ),
        *help_blocks()[:1],
        DividerBlock(),
    ]
    registry_line = f"*Vendor registry:* {vendors} vendor{'s' if vendors != 1 else ''}"
    if overdue:
        names = ", ".join(escape(n) for n in overdue[:10])
        more = f" and {len(overdue) - 10} more" if len(overdue) > 10 else ""
        registry_line += f"; reviews overdue: {len(overdue)} ({names}{more})"
    else:
        registry_line += "; no reviews overdue"
    blocks.append(_section(registry_line))
    if posture is None:
        blocks.append(_section("*Mail posture of privileged vendors*\n_No vendor watch run yet._"))
    else:
        lines = posture_lines(posture) or ["_No privileged vendors._"]
        blocks.append(_section("*Mail posture of privileged vendors*\n" + "\n".join(lines)))
    blocks.append(DividerBlock())
    lines = [
        f"{verdict_line(e.report, keep)}  _{e.when.strftime('%Y-%m-%d %H:%M')} UTC_" for e in recent
    ]
    blocks.append(
        _section("*Your recent checks*\n" + ("\n".join(lines) if lines else "_None yet._"))
    )
    return View(type="home", blocks=blocks)
