"""Pure Block Kit builders, tested without Slack."""

from __future__ import annotations

import datetime as dt
import json

from bot.registry import Registry
from bot.report import Kind, Reason, Report, Verdict
from bot.runtime.history import History
from handlers import blocks as bk
from handlers import home_blocks
from handlers import text as tx


def _report(**details: object) -> Report:
    return Report(
        target="evil.example",
        kind=Kind.MESSAGE,
        verdict=Verdict.SUSPICIOUS,
        reasons=[
            Reason("not_in_registry", "evil.example is not a registered vendor domain."),
            Reason("reply_to_mismatch", "Reply-To points to https://x.evil.example/login."),
        ],
        details=dict(details),
    )


def _dump(blocks: list) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


def test_escape_and_defang() -> None:
    assert tx.escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert tx.defang_text("see https://evil.example/x") == "see hxxps://evil[.]example/x"
    assert tx.defang_text("HTTP://a.example") == "HxxP://a[.]example"
    assert tx.defang_text("mail bob@evil.example") == "mail bob@evil[.]example"
    # only real domains (a public suffix, or a special-use name) are defanged
    assert tx.defang_text("version 1.2.3 and file.pdf") == "version 1.2.3 and file.pdf"
    assert tx.defang_text("ask j.doe about setup.exe") == "ask j.doe about setup.exe"
    assert tx.defang_text("x.com, report.zip, a.co.uk") == "x[.]com, report[.]zip, a[.]co[.]uk"
    keep = frozenset({"northwind.io"})
    assert tx.defang_text("mx.northwind.io and northwind.io.evil.example", keep) == (
        "mx.northwind.io and northwind[.]io[.]evil[.]example"
    )
    assert tx.defang_text("nоrthwind.io") == "nоrthwind[.]io"  # Cyrillic о


def test_hostile_subject_is_inert_in_a_report() -> None:
    report = _report(
        message={"from": "a@evil.example", "subject": "<!channel> <https://evil|bank> & more"}
    )
    shown = _dump(bk.report_blocks(report, entry_id="e1", recheck="evil.example"))
    assert "<!channel>" not in shown and "<https://evil|bank>" not in shown
    assert "&lt;!channel&gt; &lt;hxxps://evil|bank&gt; &amp; more" in shown
    assert "hxxps://x[.]evil[.]example/login" in shown


def test_report_layout_verdict_first_then_reasons_then_steps_then_buttons() -> None:
    blocks = [b.to_dict() for b in bk.report_blocks(_report(), entry_id="e1", recheck="t")]
    assert blocks[0]["text"]["text"] == ":warning: *Suspicious*: evil[.]example"
    assert blocks[-1]["type"] == "actions"
    ids = [e["action_id"] for e in blocks[-1]["elements"]]
    assert ids == ["share_report", "report_to_security", "recheck"]
    assert blocks[-1]["elements"][1]["value"] == "e1"
    severities = blocks[2]["text"]["text"].splitlines()
    assert severities[0].startswith(":large_orange_circle:")  # high before warning


def test_shared_report_has_no_buttons() -> None:
    blocks = [b.to_dict() for b in bk.report_blocks(_report(), shared_by="U1")]
    assert all(b["type"] != "actions" for b in blocks)
    assert "Shared by <@U1>" in json.dumps(blocks)


def test_long_reasons_stay_within_slack_limits() -> None:
    reasons = [Reason("dns_error", "x" * 5000) for _ in range(20)]
    report = Report("a.example", Kind.DOMAIN, Verdict.UNVERIFIED, reasons)
    blocks = [b.to_dict() for b in bk.report_blocks(report)]  # to_dict validates the limits
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "more._" in json.dumps(blocks)


def test_vendor_card_and_home(registry: Registry) -> None:
    vendor = registry.get("northwind")
    assert vendor is not None
    card = _dump(bk.vendor_card_blocks(vendor, overdue=False))
    assert "+1 206-555-0142" in card and "Dana Whitfield" in card and "overdue" not in card
    history = History(clock=lambda: dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC))
    history.add("U1", _report())
    view = home_blocks.home_view(
        vendors=3, overdue=["Contoso Payroll"], recent=history.recent("U1"), keep=frozenset()
    ).to_dict()
    shown = json.dumps(view)
    assert view["type"] == "home"
    assert "reviews overdue: 1 (Contoso Payroll)" in shown
    assert "evil[.]example" in shown and "2026-11-01 09:30 UTC" in shown


def test_paste_modal_respects_the_input_limit() -> None:
    view = bk.paste_modal('{"channel": "C1"}').to_dict()
    element = view["blocks"][0]["element"]
    assert element["max_length"] == 3000 and element["multiline"] is True
    assert view["callback_id"] == "paste_email_source"


# issue 10 section 5: attacker text cannot format, mention, link or add emoji


HOSTILE = ":white_check_mark: *Verified by deskguard* _ok_ ~x~ `code` <!here> <@U1>"


def _inert(text: str) -> bool:
    """No mrkdwn control sequence of the hostile text survives."""
    return not any(
        bad in text
        for bad in (":white_check_mark:", "*Verified", "deskguard*", "_ok_", "~x~", "`code`", "<!")
    )


def test_hostile_text_cannot_format_mention_link_or_add_emoji() -> None:
    shown = tx.safe(HOSTILE)
    assert _inert(shown) and "<@" not in shown
    assert "Verified by deskguard" in shown  # still readable as text
    assert tx.safe("line one\n> quoted\nline three") == "line one &gt; quoted line three"
    assert tx.safe("reset j.doe and svc_northwind now") == "reset j.doe and svc_northwind now"


def test_hostile_message_fields_are_inert_on_a_report_card() -> None:
    report = _report(
        message={
            "from": "a@evil.example",
            "from_display_name": ":lock: *deskguard* <@U0ADMIN>",
            "subject": HOSTILE,
        }
    )
    report.target = ":white_check_mark: *Verified*.eml"
    report.reasons.append(Reason("display_name_impersonation", f"The display name {HOSTILE!r}"))
    blocks = [b.to_dict() for b in bk.report_blocks(report, entry_id="e1", recheck="t")]
    shown = [b for b in blocks if b["type"] != "actions"]  # button values are never displayed
    texts = [json.dumps(b, ensure_ascii=False) for b in shown]
    assert not any(":white_check_mark:" in t for t in texts[1:])
    assert texts[0].count(":") >= 1 and ":white_check_mark: *Verified*.eml" not in texts[0]
    for text in texts:
        assert _inert(text.replace(":warning: *Suspicious*", "")), text
        assert "<@U0ADMIN>" not in text and ":lock:" not in text


def test_duplicate_subject_is_not_shown_as_the_subject() -> None:
    report = _report(
        message={
            "from": "dana@northwind-software.com",
            "subject": None,
            "duplicate_fields": {"Subject": ["attacker's", "signed"]},
        }
    )
    shown = _dump(bk.report_blocks(report, entry_id="e1"))
    assert "2 different Subject headers: none shown" in shown
    assert "attacker's" not in shown


def test_unwrapped_forward_names_who_forwarded_it() -> None:
    report = _report(
        message={"from": "dana@northwind-software.com", "forwarded_by": ["ana@corp.example"]}
    )
    shown = _dump(bk.report_blocks(report, entry_id="e1"))
    assert "*Forwarded by:* ana@corp[.]example" in shown


def test_a_long_request_in_any_script_fits_the_start_button() -> None:
    for summary in ("請求書の支払い先を変更してください" * 60, 'a "quoted"\nline ' * 200):
        value = bk.start_request_value(_report(), "e1", summary)
        assert len(value) <= bk.MAX_BUTTON_VALUE
        kept = json.loads(value)["summary"]
        assert summary.startswith(kept) and len(kept) > 500
