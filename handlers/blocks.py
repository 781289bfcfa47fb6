"""Pure Block Kit builders (slack_sdk model classes): reports, vendor cards, help, modal, App Home.

Every piece of text that came from an email or a user goes through :func:`safe` (or at least
:func:`escape`): real domains and links are defanged (registered vendor domains excepted), ``&``,
``<``, ``>`` are escaped and mrkdwn's formatting characters are neutralized, so a subject like
``<!channel>``, ``<https://evil|bank>`` or ``:white_check_mark: *Verified by deskguard*`` shows
as text and pings, links, formats and draws nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.names import ends_in_public_suffix
from bot.registry import Registry, Vendor, display_phone
from bot.report import Report, Severity, Verdict
from bot.runtime.history import Entry
from bot.verify.advice import headline, next_steps
from bot.verify.textscan import TextScan
from handlers import ids

MAX_SECTION = 2900  # Slack's limit is 3000 characters per section text
MAX_LINE = 600
MAX_REASONS = 6
PASTE_MAX_CHARS = 3000  # Slack's limit for a plain_text_input

VERDICT_LABEL = {
    Verdict.VERIFIED: (":white_check_mark:", "Verified"),
    Verdict.UNVERIFIED: (":grey_question:", "Unverified"),
    Verdict.SUSPICIOUS: (":warning:", "Suspicious"),
    Verdict.SPOOFED: (":no_entry:", "Spoofed"),
}
_SEVERITY_MARK = {
    Severity.CRITICAL: ":red_circle:",
    Severity.HIGH: ":large_orange_circle:",
    Severity.WARNING: ":large_yellow_circle:",
    Severity.INFO: ":white_circle:",
}
_SCHEME = re.compile(r"\b(h)(ttps?)(://)", re.IGNORECASE)
_HOST = re.compile(
    r"(?<![\w.-])((?:[\w-]{1,63}\.)+(?:xn--[a-z0-9-]{1,59}|[^\W\d_]{2,63}))(?![\w@-])"
)
EML_HOWTO = (
    "To check SPF, DKIM and DMARC, send the original email as a file: save it as .eml "
    "(Outlook: File > Save As; Gmail: More > Download message) and send it to deskguard in a "
    "direct message."
)


# mrkdwn formatting, made inert by a look-alike that Slack does not parse: bold, strike, code,
# italic (an underscore at a word edge: ``svc_northwind`` keeps its own) and emoji shortcodes.
_FORMAT = str.maketrans({"*": "\u2217", "~": "\u223c", "`": "\u02cb"})
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_SHORTCODE = re.compile(r":(?=[\w+'-]{1,100}:)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def escape_entities(text: str) -> str:
    """Escape only ``&``, ``<`` and ``>``: for deskguard's own text shown as code, which must stay
    exactly as written (a challenge to copy, an id)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Text that shows in mrkdwn exactly as text: ``&``, ``<`` and ``>`` escaped (no mention,
    link or command), and bold, italic, strike, code and ``:emoji:`` neutralized."""
    text = _SHORTCODE.sub("\u2236", escape_entities(text).translate(_FORMAT))
    return _EDGE_UNDERSCORE.sub("\u02cd", text)


def defang_text(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Make every link and real domain name in ``text`` unclickable (``evil[.]example``,
    ``hxxps://``), except hosts at or below a domain in ``keep``. Only names that end in a public
    suffix are domains: ``j.doe`` or ``setup.exe`` stay as typed."""

    def host(match: re.Match[str]) -> str:
        name = match.group(1)
        lowered = name.lower()
        if any(lowered == d or lowered.endswith("." + d) for d in keep):
            return name
        if not ends_in_public_suffix(name):
            return name
        return name.replace(".", "[.]")

    text = _SCHEME.sub(lambda m: f"{m.group(1)}xx{m.group(2)[2:]}{m.group(3)}", text)
    return _HOST.sub(host, text)


def safe(text: str, keep: frozenset[str] = frozenset(), limit: int = MAX_LINE) -> str:
    """Untrusted text ready for mrkdwn: clipped, on one line (no block quote), defanged,
    escaped and neutralized (:func:`escape`)."""
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    return escape(defang_text(_LINE_BREAKS.sub(" ", clipped), keep))


def registered_domains(registry: Registry) -> frozenset[str]:
    """Every registered vendor domain (left clickable in reports)."""
    return frozenset(d for v in registry.vendors for d in v.domains)


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:MAX_SECTION])


def _plain(text: str, limit: int = 75) -> PlainTextObject:
    return PlainTextObject(text=text if len(text) <= limit else text[: limit - 1] + "…", emoji=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_mrkdwn(text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(text)])


def verdict_line(report: Report, keep: frozenset[str]) -> str:
    """``:warning: *Suspicious*: evil[.]example`` (the target defanged and escaped)."""
    emoji, word = VERDICT_LABEL[report.verdict]
    return f"{emoji} *{word}*: {safe(report.target, keep, 300)}"


def report_text(report: Report, keep: frozenset[str] = frozenset()) -> str:
    """The notification text (fallback) for a report."""
    _, word = VERDICT_LABEL[report.verdict]
    return f"{word}: {safe(report.target, keep, 300)}"


def _reason_lines(report: Report, keep: frozenset[str]) -> str:
    reasons = report.sorted_reasons()
    lines: list[str] = []
    used = 0
    for reason in reasons[:MAX_REASONS]:
        line = f"{_SEVERITY_MARK[reason.effective_severity]} {safe(reason.message, keep)}"
        if used + len(line) > MAX_SECTION - 100:
            break
        lines.append(line)
        used += len(line) + 1
    if len(reasons) > len(lines):
        lines.append(f"_…and {len(reasons) - len(lines)} more._")
    return "\n".join(lines)


def _message_line(report: Report, keep: frozenset[str]) -> str | None:
    message = report.details.get("message")
    if not isinstance(message, dict):
        return None
    parts = []
    duplicates = message.get("duplicate_fields") or {}
    if message.get("from"):
        name = message.get("from_display_name")
        shown = f"{name} <{message['from']}>" if name else str(message["from"])
        parts.append(f"*From:* {safe(shown, keep, 300)}")
    elif "From" in duplicates:
        parts.append(f"*From:* _{len(duplicates['From'])} different From headers: none shown_")
    if message.get("subject"):
        parts.append(f"*Subject:* {safe(str(message['subject']), keep, 300)}")
    elif "Subject" in duplicates:
        count = len(duplicates["Subject"])
        parts.append(f"*Subject:* _{count} different Subject headers: none shown_")
    forwarded_by = message.get("forwarded_by") or []
    if forwarded_by:
        parts.append(f"*Forwarded by:* {safe(', '.join(map(str, forwarded_by)), keep, 300)}")
    return "   ".join(parts) or None


def start_request_value(report: Report, entry_id: str | None) -> str:
    """The "Start high-risk request" button's value: JSON ``{target, vendor_id, entry}``."""
    vendor_id = (report.vendor or {}).get("id")
    if vendor_id is None:
        imitates = report.details.get("imitates")
        if isinstance(imitates, dict):
            vendor_id = imitates.get("vendor_id")
    value = {"target": report.target[:300], "vendor_id": vendor_id, "entry": entry_id}
    return json.dumps(value, separators=(",", ":"))


def report_blocks(
    report: Report,
    *,
    keep: frozenset[str] = frozenset(),
    entry_id: str | None = None,
    recheck: str | None = None,
    share: bool = True,
    note: str | None = None,
    shared_by: str | None = None,
) -> list[Block]:
    """A report: verdict first, top reasons, what to do, then the buttons."""
    blocks: list[Block] = [_section(verdict_line(report, keep)), _context(escape(headline(report)))]
    message = _message_line(report, keep)
    if message:
        blocks.append(_context(message))
    blocks.append(_section(_reason_lines(report, keep) or "_No findings._"))
    steps = next_steps(report)
    if steps:
        text = "*What to do*\n" + "\n".join(f"• {safe(s, keep)}" for s in steps)
        blocks.append(_section(text))
    if note:
        blocks.append(_context(escape(note)))
    if shared_by:
        blocks.append(_context(f"Shared by <@{escape_entities(shared_by)}> from deskguard."))
        return blocks
    buttons = []
    if share and entry_id:
        buttons.append(
            ButtonElement(
                text=_plain("Share in channel"), action_id=ids.ACTION_SHARE, value=entry_id
            )
        )
    buttons.append(
        ButtonElement(
            text=_plain("Start high-risk request"),
            action_id=ids.ACTION_START_REQUEST,
            value=start_request_value(report, entry_id),
        )
    )
    if recheck:
        buttons.append(
            ButtonElement(
                text=_plain("Re-check"), action_id=ids.ACTION_RECHECK, value=recheck[:300]
            )
        )
    blocks.append(ActionsBlock(elements=buttons))
    return blocks


def vendor_card_blocks(vendor: Vendor, *, overdue: bool) -> list[Block]:
    """The registry card: domains, contacts, callback number and instructions, last review."""
    lines = [
        f":ledger: *{escape(vendor.name)}* (registry id `{escape_entities(vendor.id)}`)",
        f"*Domains:* {escape(', '.join(vendor.domains))}",
        f"*Call back on:* {display_phone(vendor.callback.phone)}: "
        f"{escape(vendor.callback.instructions)}",
    ]
    if vendor.callback.hours:
        lines.append(f"*Hours:* {escape(vendor.callback.hours)}")
    if vendor.contacts:
        people = [
            f"• {escape(c.name)}, {escape(c.role)}: {escape(c.email)}"
            + (f", {display_phone(c.phone)}" if c.phone else "")
            for c in vendor.contacts
        ]
        lines.append("*Named contacts:*\n" + "\n".join(people))
    else:
        lines.append("*Named contacts:* none on file")
    review = f"*Last review:* {vendor.last_reviewed.isoformat()} (owner: {escape(vendor.owner)})"
    if overdue:
        review += " :warning: overdue"
    lines.append(review)
    lines.append(f"*Privileged access:* {'yes' if vendor.privileged else 'no'}")
    return [
        _section("\n".join(lines)),
        _context("Only call the number above: never a number given in an email or a call."),
    ]


def help_blocks(problem: str | None = None) -> list[Block]:
    """Usage, with the button that opens the paste-email modal."""
    blocks: list[Block] = []
    if problem:
        blocks.append(_section(f":x: {escape(problem)}"))
    blocks += [
        _section(
            f"*{ids.COMMAND}* checks a vendor before you act on a request:\n"
            f"• `{ids.COMMAND} vendor.example`: a domain\n"
            f"• `{ids.COMMAND} someone@vendor.example`: an address\n"
            f"• `{ids.COMMAND} Northwind`: a vendor's registry card and callback number\n"
            "• *Verify sender* (message menu ⋮ > More message shortcuts): an email file or the "
            "text of any message\n"
            "• Send an .eml or .msg file to deskguard in a direct message\n"
            f"• `{ids.COMMAND} request Northwind`: open a high-risk request (two approvals)\n"
            f"• `{ids.COMMAND} audit <request-id>`: a request's audit trail (approvers)"
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=_plain("Paste email source"),
                    action_id=ids.ACTION_OPEN_PASTE,
                    value="paste",
                    style="primary",
                )
            ]
        ),
    ]
    return blocks


def problem_blocks(text: str) -> list[Block]:
    """A short answer for unusable input or a failed step (``text`` is escaped here)."""
    return [_section(f":x: {escape(text)}")]


def paste_modal(private_metadata: str = "") -> View:
    """The modal where raw email source is pasted."""
    return View(
        type="modal",
        callback_id=ids.VIEW_PASTE,
        title=_plain("Verify email source", 24),
        submit=_plain("Verify", 24),
        close=_plain("Cancel", 24),
        private_metadata=private_metadata[:3000],
        blocks=[
            InputBlock(
                block_id=ids.BLOCK_PASTE,
                label=_plain("Raw email source (headers and body)"),
                hint=_plain(
                    "Outlook: File > Properties > Internet headers; Gmail: More > Show original. "
                    f"Up to {PASTE_MAX_CHARS:,} characters: for longer emails send the .eml file "
                    "to deskguard in a direct message.",
                    2000,
                ),
                element=PlainTextInputElement(
                    action_id=ids.INPUT_PASTE, multiline=True, max_length=PASTE_MAX_CHARS
                ),
            )
        ],
    )


def scan_blocks(scan: TextScan, keep: frozenset[str]) -> list[Block]:
    """Results of checking every address, domain and phone number in a message's text."""
    if scan.empty:
        return [
            _section(
                ":mag: No address, domain or phone number found in this message. Use "
                f"`{ids.COMMAND} <domain>` or send the email as an .eml file."
            )
        ]
    blocks: list[Block] = [_section(f"*Checked {_count(scan)} from this message*")]
    for report in scan.reports:
        lines = [verdict_line(report, keep)]
        top = report.sorted_reasons()[:2]
        lines += [f"{_SEVERITY_MARK[r.effective_severity]} {safe(r.message, keep)}" for r in top]
        steps = next_steps(report)
        if steps:
            lines.append(f"*What to do:* {safe(steps[0], keep)}")
        blocks.append(_section("\n".join(lines)))
    phone_lines = []
    for phone in scan.phones:
        shown = display_phone(phone.e164)
        if phone.registered_to:
            who = escape(", ".join(phone.registered_to))
            phone_lines.append(f":telephone_receiver: {shown}: registered to {who}")
        else:
            phone_lines.append(
                f":no_mobile_phones: {shown}: *not in the vendor registry; do not call it*"
            )
    if phone_lines:
        blocks.append(_section("\n".join(phone_lines)))
    notes = [safe(p, keep) for p in scan.problems]
    if scan.truncated:
        notes.append("Only the first 10 addresses and domains were checked.")
    if notes:
        blocks.append(_context("\n".join(notes)))
    return blocks[:50]


def _count(scan: TextScan) -> str:
    parts = []
    if scan.reports or scan.problems:
        n = len(scan.reports) + len(scan.problems)
        parts.append(f"{n} address{'es' if n != 1 else ''} or domain{'s' if n != 1 else ''}")
    if scan.phones:
        n = len(scan.phones)
        parts.append(f"{n} phone number{'s' if n != 1 else ''}")
    return " and ".join(parts)


def home_view(
    *, vendors: int, overdue: Sequence[str], recent: Iterable[Entry], keep: frozenset[str]
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
    blocks.append(DividerBlock())
    lines = [
        f"{verdict_line(e.report, keep)}  _{e.when.strftime('%Y-%m-%d %H:%M')} UTC_" for e in recent
    ]
    blocks.append(
        _section("*Your recent checks*\n" + ("\n".join(lines) if lines else "_None yet._"))
    )
    return View(type="home", blocks=blocks)
