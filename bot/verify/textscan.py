"""Check free text (a Slack message): every address, domain and phone number in it, bounded.

Slack writes links as ``<https://host/path|label>`` and ``<mailto:a@b.example|a@b.example>``; the
link target is what counts (the label can lie), so both are read. Mentions (``<@U1>``, ``<!here>``)
are dropped. Bare words count as domains only under a known public suffix (or a reserved test
name), so ``invoice.pdf`` is not a domain; hosts of links and domains of addresses always count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from bot.errors import InputError
from bot.mail.content import find_phone_numbers
from bot.registry import DEFAULT_REGION, Registry
from bot.report import Report
from bot.verify.verifier import Verifier

MAX_TARGETS = 10
MAX_TEXT = 40_000
_PSL = PublicSuffixList(accept_unknown=False)
_RESERVED = ("example", "test", "invalid")
_SLACK_TOKEN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}[A-Za-z0-9]")
_DOMAIN = re.compile(r"(?<![@\w.-])(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z][A-Za-z0-9-]{1,62}(?![\w-])")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


@dataclass(frozen=True)
class PhoneCheck:
    """A phone number found in the text and who (if anyone) it is registered to."""

    raw: str
    e164: str
    registered_to: tuple[str, ...]


@dataclass
class TextScan:
    """What was found in the text and the report for each address or domain."""

    reports: list[Report] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    phones: list[PhoneCheck] = field(default_factory=list)
    truncated: bool = False

    @property
    def empty(self) -> bool:
        """Nothing to check was found."""
        return not (self.reports or self.problems or self.phones)


def _known_suffix(domain: str) -> bool:
    if domain.lower().rsplit(".", 1)[-1] in _RESERVED:
        return True
    return _PSL.publicsuffix(domain.lower()) is not None


def find_targets(text: str) -> tuple[list[str], bool]:
    """Addresses and domains in ``text`` in order of appearance, de-duplicated; at most
    :data:`MAX_TARGETS` (the flag says whether more were found)."""
    text = text[:MAX_TEXT]
    found: list[str] = []
    chunks: list[str] = []

    def unwrap(match: re.Match[str]) -> str:
        inner, label = match.group(1), match.group(2) or ""
        if inner[:1] in ("@", "#", "!"):
            return " "
        chunks.append(label)
        return f" {inner} "

    plain = _SLACK_TOKEN.sub(unwrap, text)
    plain = " ".join([plain, *chunks])
    for url in _URL.findall(plain):
        host = urlsplit(url).hostname
        if host and "." in host:
            found.append(host)
    without_urls = _URL.sub(" ", plain)
    for match in _ADDRESS.finditer(without_urls.replace("mailto:", " ")):
        found.append(match.group(0).strip("."))
    without_addresses = _ADDRESS.sub(" ", without_urls)
    for match in _DOMAIN.finditer(without_addresses):
        word = match.group(0).rstrip(".")
        if _known_suffix(word):
            found.append(word)
    unique = list(dict.fromkeys(t.lower() for t in found))
    return unique[:MAX_TARGETS], len(unique) > MAX_TARGETS


def check_phones(text: str, registry: Registry) -> list[PhoneCheck]:
    """Every phone number in ``text`` with the registry entries it belongs to."""
    checks = []
    for mention in find_phone_numbers(text[:MAX_TEXT], DEFAULT_REGION):
        owners = registry.by_phone(mention.e164)
        names = tuple(
            f"{o.vendor.name} ({'callback number' if o.what == 'callback' else o.what[8:]})"
            for o in owners
        )
        checks.append(PhoneCheck(mention.raw, mention.e164, names))
    return checks


async def scan_text(verifier: Verifier, text: str) -> TextScan:
    """Verify every address and domain in ``text`` and look up every phone number."""
    targets, truncated = find_targets(text)
    scan = TextScan(truncated=truncated, phones=check_phones(text, verifier.registry))
    for target, result in zip(targets, await verifier.verify_many(targets), strict=True):
        if isinstance(result, InputError):
            scan.problems.append(f"{target}: {result}")
        else:
            scan.reports.append(result)
    return scan
