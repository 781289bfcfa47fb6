"""Pure Block Kit builders (slack_sdk model classes): reports, vendor cards, help, modal.

Every piece of text that came from an email or a user goes through :func:`~handlers.text.safe`
(or at least :func:`~handlers.text.escape`): real domains and links are defanged (registered
vendor domains excepted), ``&``, ``<``, ``>`` are escaped and mrkdwn's formatting characters are
neutralized, so a subject like ``<!channel>``, ``<https://evil|bank>`` or ``:white_check_mark:
*Verified by deskguard*`` shows as text and pings, links, formats and draws nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.registry import Vendor, display_phone
from bot.report import Report, Severity, Verdict
from bot.verify.advice import headline, next_steps
from bot.verify.textscan import TextScan
from handlers import ids
from handlers.text import (
    escape,
    escape_entities,
    safe,
)

MAX_SELECT_OPTIONS = 100  # Slack's limit for a static select
MAX_VENDOR_TEXT = 100
MAX_SECTION = 2900  # Slack's limit is 3000 characters per section text
MAX_REASONS = 6
PASTE_MAX_CHARS = 3000  # Slack's limit for a plain_text_input
MAX_START_SUMMARY = 1500
MAX_BUTTON_VALUE = 2000  # Slack's limit, counted on the JSON text

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
EML_HOWTO = (
    "To check SPF, DKIM and DMARC, send the original email as a file: save it as .eml "
    "(Outlook: File > Save As; Gmail: More > Download message) and send it to deskguard in a "
    "direct message."
)


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:MAX_SECTION])


def vendor_chooser(
    action_id: str, vendors: Sequence[Vendor], *, selected: str | None = None
) -> StaticSelectElement | PlainTextInputElement:
    """Choose a registered vendor: a select by name (Slack allows 100 options), else a text field
    for a name or registry id; ``selected`` (a vendor id) is filled in."""
    ordered = sorted(vendors, key=lambda v: v.name.lower())
    if ordered and len(ordered) <= MAX_SELECT_OPTIONS:
        options = [Option(text=_plain(v.name), value=v.id) for v in ordered]
        initial = next((o for o, v in zip(options, ordered, strict=True) if v.id == selected), None)
        return StaticSelectElement(
            action_id=action_id,
            placeholder=_plain("Choose the vendor"),
            options=options,
            initial_option=initial,
        )
    return PlainTextInputElement(
        action_id=action_id,
        placeholder=_plain("Vendor name or registry id"),
        initial_value=selected or None,
        max_length=MAX_VENDOR_TEXT,
    )


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


def start_request_value(report: Report, entry_id: str | None, summary: str | None = None) -> str:
    """The "Start high-risk request" button's value: JSON ``{target, vendor_id, entry}`` and,
    from a caller check, the request's ``summary`` to pre-fill."""
    vendor_id = (report.vendor or {}).get("id")
    claimed = report.details.get("claimed_vendor")
    if isinstance(claimed, dict) and claimed.get("id"):
        vendor_id = claimed["id"]
    if vendor_id is None:
        imitates = report.details.get("imitates")
        if isinstance(imitates, dict):
            vendor_id = imitates.get("vendor_id")
    value: dict[str, str | None] = {
        "target": report.target[:300],
        "vendor_id": vendor_id,
        "entry": entry_id,
    }
    if summary:
        value["summary"] = summary[:MAX_START_SUMMARY]
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    while len(encoded) > MAX_BUTTON_VALUE and value.get("summary"):  # quotes, \n escape longer
        kept = value["summary"] or ""
        value["summary"] = kept[: len(kept) - (len(encoded) - MAX_BUTTON_VALUE)]
        encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return encoded


def callback_text(report: Report) -> str | None:
    """The registry's callback number, bold, with its hours: what an answer leads with."""
    callback = report.callback
    if not callback:
        return None
    whose = report.details.get("claimed_vendor") or report.vendor
    name = whose.get("name") if isinstance(whose, dict) else None
    imitates = report.details.get("imitates")
    if not name and isinstance(imitates, dict):
        name = imitates.get("vendor_name")
    hours = f", {escape_entities(str(callback['hours']))}" if callback.get("hours") else ""
    source = f"{escape(str(name))}'s number in the vendor registry" if name else "vendor registry"
    return (
        f":telephone_receiver: *Call back on {display_phone(str(callback['phone']))}{hours}* "
        f"({source}; never a number from the request)"
    )


def contact_numbers_text(report: Report) -> str | None:
    """Registered contacts' own numbers: secondary to the callback line, and labelled so."""
    contacts = (report.callback or {}).get("contacts") or []
    shown = [
        f"{escape(str(c['name']))} ({escape(str(c['role']))}): {display_phone(str(c['phone']))}"
        for c in contacts
        if c.get("phone")
    ]
    if not shown:
        return None
    return "Contacts' own numbers (call the callback line first): " + "; ".join(shown)


def report_blocks(
    report: Report,
    *,
    keep: frozenset[str] = frozenset(),
    entry_id: str | None = None,
    recheck: str | None = None,
    share: bool = True,
    note: str | None = None,
    shared_by: str | None = None,
    extra: Sequence[Block] = (),
    offer_start: bool = True,
    request_summary: str | None = None,
) -> list[Block]:
    """A report: verdict first, the callback number, top reasons, what to do, then the buttons
    ("Report to security" instead of "Start high-risk request" when suspicious or spoofed)."""
    blocks: list[Block] = [_section(verdict_line(report, keep))]
    call_back = callback_text(report)
    if call_back:
        blocks.append(_section(call_back))
    blocks.append(_context(escape(headline(report))))
    if extra:
        blocks.extend(extra)
    message = _message_line(report, keep)
    if message:
        blocks.append(_context(message))
    blocks.append(_section(_reason_lines(report, keep) or "_No findings._"))
    steps = next_steps(report)
    if steps:
        text = "*What to do*\n" + "\n".join(f"• {safe(s, keep)}" for s in steps)
        blocks.append(_section(text))
    numbers = contact_numbers_text(report)
    if numbers:
        blocks.append(_context(numbers))
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
    if report.verdict in (Verdict.SUSPICIOUS, Verdict.SPOOFED):
        if entry_id:
            buttons.append(
                ButtonElement(
                    text=_plain("Report to security"),
                    action_id=ids.ACTION_REPORT_SECURITY,
                    value=entry_id,
                    style="danger",
                )
            )
    elif offer_start:
        buttons.append(
            ButtonElement(
                text=_plain("Start high-risk request"),
                action_id=ids.ACTION_START_REQUEST,
                value=start_request_value(report, entry_id, request_summary),
            )
        )
    if recheck:
        buttons.append(
            ButtonElement(
                text=_plain("Re-check"), action_id=ids.ACTION_RECHECK, value=recheck[:300]
            )
        )
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def vendor_card_blocks(vendor: Vendor, *, overdue: bool) -> list[Block]:
    """The registry card: domains, contacts, callback number and instructions, last review."""
    hours = f", {escape_entities(vendor.callback.hours)}" if vendor.callback.hours else ""
    lines = [
        f":ledger: *{escape(vendor.name)}* (registry id `{escape_entities(vendor.id)}`)",
        f":telephone_receiver: *Call back on {display_phone(vendor.callback.phone)}{hours}*: "
        f"{escape(vendor.callback.instructions)}",
        f"*Domains:* {escape(', '.join(vendor.domains))}",
    ]
    if vendor.contacts:
        people = [
            f"• {escape(c.name)}, {escape(c.role)}: {escape(c.email)}"
            + (f", own number {display_phone(c.phone)}" if c.phone else "")
            for c in vendor.contacts
        ]
        lines.append(
            "*Named contacts* (their own numbers; call the callback line first):\n"
            + "\n".join(people)
        )
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
            f"• `{ids.COMMAND} +1 206 555 0142`: whose number this is in the registry\n"
            f"• `{ids.COMMAND} caller` or the *Check a caller* shortcut: someone on the phone "
            "claims to be from a vendor\n"
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
        call_back = callback_text(report)
        if call_back:
            lines.append(call_back)
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
