"""Cards the background jobs post: inbound verdicts to the triage channel, review reminders.

Spoofed and suspicious messages get a banner so nobody acts on them before a check.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.registry import Registry, Vendor
from bot.report import Report, Verdict
from bot.runtime.metrics import Metrics
from bot.runtime.queue import Job
from bot.runtime.reminders import Post
from bot.runtime.worker import PostCard
from handlers.blocks import escape, escape_entities, registered_domains, report_blocks
from handlers.reply import DeliveryError, post_message

_BANNERS = {
    Verdict.SPOOFED: ":rotating_light: *SPOOFED vendor email: do not act on it.* "
    "Do not reply, click, call or reset anything; report it to security.",
    Verdict.SUSPICIOUS: ":warning: *Suspicious: do not act on this email before a check.* "
    "Call the vendor back on the registry number below.",
}


def triage_blocks(
    job: Job, report: Report | None, error: str | None, registry: Registry
) -> tuple[str, list[Block]]:
    """The fallback text and blocks of one inbound card."""
    reference = f"Inbound message `{escape_entities(job.id)}` from the mail gateway."
    if report is None:
        text = f"Inbound message could not be verified: {error or 'unusable input'}"
        return text, [
            SectionBlock(
                text=MarkdownTextObject(
                    text=":grey_question: *Could not verify this inbound message.* "
                    f"{escape(error or 'unusable input')[:500]}\nTreat it as unverified."
                )
            ),
            ContextBlock(elements=[MarkdownTextObject(text=reference)]),
        ]
    blocks: list[Block] = []
    banner = _BANNERS.get(report.verdict)
    if banner:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=banner)))
    blocks.extend(report_blocks(report, keep=registered_domains(registry), share=False, note=None))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=reference)]))
    text = f"deskguard: inbound email {report.verdict.value.upper()}"
    return text, blocks


def make_triage_poster(
    client: AsyncWebClient,
    channel: str,
    registry: Callable[[], Registry],
    metrics: Metrics,
) -> PostCard:
    """The worker's ``post_card``: one chat.postMessage, returning the card's ts."""

    async def post(job: Job, report: Report | None, error: str | None) -> str:
        text, blocks = triage_blocks(job, report, error, registry())
        try:
            data = await post_message(client, channel, text, blocks)
        except DeliveryError:
            metrics.slack_errors.labels("chat.postMessage").inc()
            raise
        return str(data.get("ts") or "")

    return post


def make_reminder_poster(client: AsyncWebClient, channel: str, metrics: Metrics) -> Post:
    """Post the review reminder to the vendor channel."""

    async def post(text: str, overdue: list[Vendor]) -> None:
        blocks: list[Block] = [
            SectionBlock(text=MarkdownTextObject(text=":spiral_calendar_pad: " + escape(text)))
        ]
        try:
            await post_message(client, channel, text, blocks)
        except DeliveryError:
            metrics.slack_errors.labels("chat.postMessage").inc()
            raise

    return post
