"""Emails that arrive as Slack files: find them on a message, fetch them safely, verify them.

A file is looked up with ``files.info`` and its ``url_private`` downloaded with the bot token only
from Slack's own https hosts. When ``DESKGUARD_SLACK_API_URL`` points elsewhere (GovCloud, a proxy,
tests), that host (and ``files.<host>``) is allowed too, and plain http only if the API URL itself
is http. Redirects are not followed: the token must never travel to another host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import InputError, TooLargeError
from bot.mail.message import HeadersOnly
from bot.report import Report
from bot.runtime.services import Services
from bot.verify.textscan import scan_text
from handlers import blocks as bk
from handlers import text as tx
from handlers.reply import Destination, web_call

SLACK_FILE_HOSTS = frozenset({"files.slack.com", "files-origin.slack.com"})
SLACK_FILE_SUFFIXES = (".slack-edge.com",)
EMAIL_EXTENSIONS = (".eml", ".msg")
DOWNLOAD_TIMEOUT = 30.0


@dataclass(frozen=True)
class DownloadPolicy:
    """Which URLs may receive the bot token."""

    hosts: frozenset[str]
    suffixes: tuple[str, ...]
    http_hosts: frozenset[str]  # host:port pairs that may be fetched over plain http

    def allows(self, url: str) -> bool:
        """True when ``url`` is on an allowed host with an allowed scheme."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port
        except ValueError:
            return False
        if parts.username or parts.password or not host:
            return False
        if parts.scheme == "http":
            return f"{host}:{port or 80}" in self.http_hosts
        if parts.scheme != "https":
            return False
        return host in self.hosts or host.endswith(self.suffixes)


def download_policy(api_url: str) -> DownloadPolicy:
    """The policy for a Web API base URL: Slack's file hosts, plus the API's own host when the
    URL is overridden (http allowed only for that host:port, and only if the API URL is http)."""
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower()
    hosts = set(SLACK_FILE_HOSTS)
    http_hosts: set[str] = set()
    if host and host != "slack.com":
        if parts.scheme == "http":
            http_hosts.add(f"{host}:{parts.port or 80}")
        else:
            hosts |= {host, f"files.{host}"}
    return DownloadPolicy(frozenset(hosts), SLACK_FILE_SUFFIXES, frozenset(http_hosts))


def is_email_file(file: Mapping[str, Any]) -> bool:
    """An .eml/.msg file or Slack's forwarded-email file."""
    name = str(file.get("name") or "").lower()
    return (
        file.get("filetype") in ("email", "eml", "msg")
        or file.get("mode") == "email"
        or name.endswith(EMAIL_EXTENSIONS)
    )


def is_slack_email(file: Mapping[str, Any]) -> bool:
    """Slack's own forwarded-email object (headers and text, no raw source)."""
    return file.get("filetype") == "email" or file.get("mode") == "email"


def headers_from_slack_email(file: Mapping[str, Any]) -> HeadersOnly:
    """The fields of Slack's forwarded-email file as a HeadersOnly."""

    def people(key: str) -> str | None:
        values = file.get(key) or []
        shown = [str(p.get("original") or p.get("address") or "") for p in values]
        return ", ".join(s for s in shown if s) or None

    headers = file.get("headers") or {}
    return HeadersOnly(
        from_=people("from") or "",
        subject=str(file.get("subject") or ""),
        reply_to=headers.get("reply_to") or None,
        text=str(file.get("plain_text") or file.get("preview_plain_text") or ""),
        date=headers.get("date") or None,
        message_id=headers.get("message_id") or None,
        to=people("to"),
    )


async def download(url: str, token: str, *, policy: DownloadPolicy, max_bytes: int) -> bytes:
    """Fetch a private Slack file with the bot token; raise InputError if not allowed or
    failed, TooLargeError over ``max_bytes``."""
    if not policy.allows(url):
        raise InputError(
            "the file is not on Slack's own file servers, so deskguard did not fetch it"
        )
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        if response.status != 200:
            raise InputError(f"Slack answered HTTP {response.status} to the file download")
        data = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            data += chunk
            if len(data) > max_bytes:
                raise TooLargeError(f"the file is over the {max_bytes:,}-byte limit")
    return bytes(data)


async def verify_file(services: Services, client: AsyncWebClient, file_id: str) -> Report:
    """files.info, then verify the email it holds; InputError for anything unusable."""
    info = await web_call(client.files_info, "files.info", file=file_id)
    file = info.get("file") or {}
    if is_slack_email(file):
        return await services.verifier.verify_headers(headers_from_slack_email(file))
    limit = services.settings.max_message_bytes
    size = file.get("size")
    if isinstance(size, int) and size > limit:
        raise TooLargeError(f"the file is {size:,} bytes, over the {limit:,}-byte limit")
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    policy = download_policy(services.settings.slack_api_url)
    data = await download(url, client.token or "", policy=policy, max_bytes=limit)
    name = str(file.get("name") or "") or None
    return await services.verifier.verify_message(data, filename=name)


async def answer_message(
    services: Services, message: Mapping[str, Any], destination: Destination
) -> None:
    """Verify what a Slack message carries (an email file, else its text) and answer."""
    keep = tx.registered_domains(services.current_registry)
    email = next((f for f in message.get("files") or () if is_email_file(f)), None)
    if email is None:
        scan = await scan_text(services.verifier, str(message.get("text") or ""))
        await destination.send("deskguard: what this message contains", bk.scan_blocks(scan, keep))
        return
    try:
        report = await verify_file(services, destination.client, str(email.get("id")))
    except InputError as exc:
        await destination.send(
            f"deskguard: {tx.escape(str(exc))}", bk.problem_blocks(f"Not verified: {exc}")
        )
        return
    entry = services.history.add(destination.user, report)
    note = bk.EML_HOWTO if is_slack_email(email) else None
    blocks = bk.report_blocks(
        report, keep=keep, entry_id=entry.id, share=destination.shareable, note=note
    )
    await destination.send(bk.report_text(report, keep), blocks)
