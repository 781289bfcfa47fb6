"""Cards the background jobs post: inbound verdicts to the triage channel, review reminders.

Spoofed and suspicious messages get a banner so nobody acts on them before a check.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.registry import Registry, Vendor
from bot.report import Report, Verdict
from bot.runtime.metrics import Metrics
from bot.runtime.queue import Job
from bot.runtime.reminders import Post
from bot.runtime.worker import FindPosted, PostCard
from handlers.blocks import escape, registered_domains, report_blocks
from handlers.reply import ROUTE_MESSAGE, DeliveryError, post_message

log = logging.getLogger("deskguard.triage")

HISTORY_PAGES = 5  # at most 5 x 200 messages since the job arrived are searched
_CANNOT_LOOK = frozenset({"missing_scope", "not_in_channel", "channel_not_found"})

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
    reference = f"Inbound message `{escape(job.id)}` from the mail gateway."
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


def make_post_finder(client: AsyncWebClient, channel: str, bot_id: str) -> FindPosted:
    """The worker's ``find_posted``: the ts of a card for this job already in the channel.

    A worker that died between Slack's answer and recording it left the card without a record:
    the channel's history since the job arrived is searched for our bot's card naming the job id.
    When the history cannot be read (no channels:history scope), None: the card is posted again
    (a second card is better than none).
    """

    async def find(job: Job) -> str | None:
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            try:
                response = await client.conversations_history(
                    channel=channel, oldest=f"{max(job.received_at - 60, 0):.6f}", limit=200,
                    cursor=cursor,
                )  # fmt: skip
            except SdkApiError as exc:
                data = exc.response.data if isinstance(exc.response.data, dict) else {}
                if data.get("error") in _CANNOT_LOOK:
                    log.warning(
                        "cannot read the triage channel's history to find a card (%s); "
                        "posting again",
                        data.get("error"),
                    )
                    return None
                raise DeliveryError("conversations.history", str(data.get("error"))) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DeliveryError(ROUTE_MESSAGE, f"Slack could not be reached: {exc}") from exc
            data = response.data if isinstance(response.data, dict) else {}
            for message in data.get("messages") or []:
                if bot_id and message.get("bot_id") != bot_id:
                    continue
                if job.id in json.dumps(message.get("blocks") or []) and message.get("ts"):
                    return str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not data.get("has_more") or not cursor:
                return None
        return None

    return find


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
