"""The headers the milter writes, and the incoming ones it must remove (RFC 8601 §5).

- ``Authentication-Results: <authserv-id>; dkim=…; spf=…; dmarc=…`` (plus ``arc=`` when the
  message carries an ARC set): what deskguard itself established, from the report's ``auth``.
- ``X-Deskguard-Verdict: <verdict>; vendor=<id>; reasons=<codes>`` (``vendor=`` left out when
  there is none).

Anything an incoming message carries that looks like ours (an Authentication-Results with our
authserv-id, any ``X-Deskguard-*`` field) is forged from our point of view: it is removed before
verification and never read.
"""

from __future__ import annotations

import re
import socket
from typing import Any

from bot.report import Report, Verdict
from bot.settings import Settings

VERDICT_HEADER = "X-Deskguard-Verdict"
AUTH_RESULTS_HEADER = "Authentication-Results"
OWN_PREFIX = "x-deskguard-"
MAX_VALUE = 100  # characters of any value we copy from the message into a header
MAX_SIGNATURES = 5  # dkim= results written (the header stays well under 1000 characters)

_RESULT = re.compile(r"^[a-z]{1,16}$")
_TOKEN = re.compile(r"[^A-Za-z0-9._@+=-]")  # what may appear in a property value we copy
_COMMENT = re.compile(r"\([^()]{0,200}\)")


def authserv_id(settings: Settings) -> str:
    """DESKGUARD_AUTHSERV_ID, else the first trusted authserv-id, else the host name."""
    if settings.authserv_id:
        return settings.authserv_id.strip().lower()
    if settings.trusted_authserv_ids:
        return settings.trusted_authserv_ids[0]
    return socket.getfqdn().lower()


def header_authserv_id(value: str) -> str:
    """The authserv-id of an Authentication-Results value (lower case, comments removed)."""
    head = value[:512].split(";", 1)[0]
    head = _COMMENT.sub(" ", head)
    parts = head.split()
    return parts[0].lower().rstrip(".") if parts else ""


def is_own_header(name: str, value: str, our_id: str) -> bool:
    """True when an incoming header claims to be one we write (it must be removed)."""
    lowered = name.strip().lower()
    if lowered.startswith(OWN_PREFIX):
        return True
    return lowered == AUTH_RESULTS_HEADER.lower() and header_authserv_id(value) == our_id


def _clean(value: Any) -> str:
    """A property value copied from the message: safe characters only, capped."""
    return _TOKEN.sub("", str(value))[:MAX_VALUE]


def _result(value: Any) -> str:
    text = str(value or "none").lower()
    return text if _RESULT.match(text) else "none"


def authentication_results(report: Report, our_id: str) -> str:
    """The Authentication-Results value for ``report`` (``none`` where nothing was checked)."""
    auth: dict[str, Any] | None = report.details.get("auth")
    parts = [our_id]
    if not auth:
        parts.append("none")
        return "; ".join(parts)
    dkim = auth.get("dkim") or []
    if not dkim:
        parts.append("dkim=none")
    for signature in dkim[:MAX_SIGNATURES]:
        text = f"dkim={_result(signature.get('result'))}"
        if signature.get("domain"):
            text += f" header.d={_clean(signature['domain'])}"
        if signature.get("selector"):
            text += f" header.s={_clean(signature['selector'])}"
        parts.append(text)
    spf = auth.get("spf") or {}
    text = f"spf={_result(spf.get('result'))}"
    if spf.get("domain"):
        text += f" smtp.mailfrom={_clean(spf['domain'])}"
    parts.append(text)
    dmarc = auth.get("dmarc")
    if dmarc:
        text = f"dmarc={_result(dmarc.get('result'))}"
        if dmarc.get("from_domain"):
            text += f" header.from={_clean(dmarc['from_domain'])}"
        parts.append(text)
    else:
        parts.append("dmarc=none")
    arc = auth.get("arc") or {}
    if arc.get("instances"):
        parts.append(f"arc={_result(arc.get('cv'))}")
    return "; ".join(parts)


def verdict_header(report: Report) -> str:
    """The X-Deskguard-Verdict value: verdict, vendor id (when matched), reason codes."""
    return verdict_value(report.verdict.value, _vendor_id(report), report.codes())


def verdict_value(verdict: str, vendor: str | None, codes: list[str]) -> str:
    """Build an X-Deskguard-Verdict value from its parts."""
    parts = [verdict]
    if vendor:
        parts.append(f"vendor={_clean(vendor)}")
    parts.append(f"reasons={','.join(_clean(c) for c in codes[:30]) or 'none'}")
    return "; ".join(parts)


def _vendor_id(report: Report) -> str | None:
    if not report.vendor:
        return None
    vendor_id = report.vendor.get("id")
    return str(vendor_id) if vendor_id else None


def subject_tag(verdict: Verdict | str) -> str:
    """The subject prefix for a tagged verdict, e.g. ``[deskguard: spoofed]``."""
    value = verdict.value if isinstance(verdict, Verdict) else verdict
    return f"[deskguard: {value}]"
