"""Text from an email or a user, made safe for mrkdwn: escaped, neutralized and defanged."""

from __future__ import annotations

import re
from functools import lru_cache

from bot.names import ends_in_public_suffix
from bot.registry import Registry

MAX_LINE = 600

_SCHEME = re.compile(r"\b(h)(ttps?)(://)", re.IGNORECASE)
_HOST = re.compile(
    r"(?<![\w.-])((?:[\w-]{1,63}\.)+(?:xn--[a-z0-9-]{1,59}|[^\W\d_]{2,63}))(?![\w@-])"
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
    text = escape_entities(text).translate(_FORMAT)
    if ":" in text:
        text = _SHORTCODE.sub("\u2236", text)
    return _EDGE_UNDERSCORE.sub("\u02cd", text) if "_" in text else text


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

    if "://" in text:
        text = _SCHEME.sub(lambda m: f"{m.group(1)}xx{m.group(2)[2:]}{m.group(3)}", text)
    return _HOST.sub(host, text) if "." in text else text


def safe(text: str, keep: frozenset[str] = frozenset(), limit: int = MAX_LINE) -> str:
    """Untrusted text ready for mrkdwn: clipped, on one line (no block quote), defanged,
    escaped and neutralized (:func:`escape`)."""
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    return escape(defang_text(_LINE_BREAKS.sub(" ", clipped), keep))


@lru_cache(maxsize=1)  # the registry in force: every card asks
def registered_domains(registry: Registry) -> frozenset[str]:
    """Every registered vendor domain (left clickable in reports)."""
    return frozenset(d for v in registry.vendors for d in v.domains)
