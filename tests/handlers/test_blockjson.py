"""The fast block serializer gives exactly what slack_sdk's ``to_dict`` gives."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.dns import Resolver, Snapshot
from bot.mail.arrival import Arrival
from bot.registry import load_registry
from bot.report import Kind, Reason, Report, Verdict
from bot.runtime.queue import Job
from bot.settings import Settings
from bot.verify.verifier import RegistryHolder, Verifier
from handlers import blocks as bk
from handlers.blockjson import block_dicts
from handlers.triage import triage_blocks

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _same(blocks: list[Block]) -> None:
    assert block_dicts(blocks) == [b.to_dict() for b in blocks]


def _reports() -> list[Report]:
    settings = Settings(registry=EXAMPLES / "vendors.yml")
    snapshot = Snapshot.load(EXAMPLES / "dns-snapshot.json")
    registry = load_registry(settings.registry)
    verifier = Verifier(settings, Resolver(snapshot=snapshot), RegistryHolder(registry))

    async def run() -> list[Report]:
        out = []
        for path in sorted(EXAMPLES.glob("*.eml")):
            out.append(await verifier.verify_message(path.read_bytes(), arrival=Arrival.RAW))
            out.append(await verifier.verify_message(path.read_bytes(), arrival=Arrival.FILE))
        for target in ("northwind-software.com", "northwind-support.com", "unknown.example"):
            out.append(await verifier.verify_target(target))
        return out

    reports = asyncio.run(run())
    reports.append(
        Report(
            "evil.example",
            Kind.MESSAGE,
            Verdict.SUSPICIOUS,
            [Reason("dns_error", "x" * 5000) for _ in range(20)],
            details={"message": {"from": "a@evil.example", "subject": "<!channel> `x` *y*"}},
        )
    )
    return reports


def test_every_report_card_matches_to_dict() -> None:
    registry = load_registry(EXAMPLES / "vendors.yml")
    keep = frozenset(d for v in registry.vendors for d in v.domains)
    reports = _reports()
    assert {r.verdict for r in reports} >= {Verdict.VERIFIED, Verdict.SPOOFED, Verdict.SUSPICIOUS}
    job = Job("1700000000000-0123456789abcdef", b"", 0.0, 1, "1", None)
    for report in reports:
        _same(bk.report_blocks(report, keep=keep))
        _same(bk.report_blocks(report, keep=keep, entry_id="e1", recheck="r" * 400))
        _same(bk.report_blocks(report, shared_by="U1", note="a note"))
        _same(triage_blocks(job, report, None, registry)[1])
    _same(triage_blocks(job, None, "unusable <input>", registry)[1])
    for vendor in registry.vendors:
        _same(bk.vendor_card_blocks(vendor, overdue=True))
    _same(bk.help_blocks("a problem"))


def test_other_shapes_go_through_to_dict() -> None:
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text="Header"),
        SectionBlock(text=MarkdownTextObject(text="a", verbatim=True), block_id="b1"),
        SectionBlock(fields=[MarkdownTextObject(text="f1"), PlainTextObject(text="f2")]),
        SectionBlock(
            text="t",
            accessory=ButtonElement(text="Open", action_id="o", url="https://example.com"),
        ),
        ContextBlock(elements=[PlainTextObject(text="p", emoji=False)], block_id="c1"),
        ActionsBlock(
            elements=[
                ButtonElement(text="Go", action_id="go", value="v", style="primary"),
                ButtonElement(text=PlainTextObject(text="No", emoji=True), action_id="no"),
            ]
        ),
    ]
    _same(blocks)
    passed: dict[str, Any] = {"type": "divider"}
    assert block_dicts([passed])[0] is passed


def test_over_the_limits_still_raises() -> None:
    with pytest.raises(SlackObjectFormationError):
        block_dicts([SectionBlock(text=MarkdownTextObject(text="x" * 3001))])
    with pytest.raises(SlackObjectFormationError):
        block_dicts([ContextBlock(elements=[MarkdownTextObject(text="x")] * 11)])
    with pytest.raises(SlackObjectFormationError):
        block_dicts([ActionsBlock(elements=[ButtonElement(text="x" * 76, action_id="a")])])
