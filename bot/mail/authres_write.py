"""Write an Authentication-Results header (RFC 8601) for a verification.

The input is a report's ``auth`` object (:meth:`bot.mail.authenticate.Authentication.to_json`), so
every surface that holds a report (the CLI's ``--auth-results``, a milter adding the header) writes
the same text. Much of that object comes from the message (DKIM ``d=`` and ``s=``, the From
domain): every value is re-validated here and a property that is not a clean domain or token is
left out, so the header can never carry a line break, a ``;`` or a comment an attacker chose.

- A check that did not run is left out (RFC 8601 §2.2: absence means "not performed"); SPF with
  no known connecting IP is such a check, never ``spf=none``.
- A pass whose identity (the domain it speaks for) is not a clean domain is left out: a pass
  that names nobody would only invite a reader to guess.
- A message with no authentication data at all gives ``authserv-id; none``.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from bot.names import InvalidName, normalize_domain

HEADER = "Authentication-Results"
# RFC 8601 §2.7 result keywords per method (RFC 8617 for arc)
SPF_RESULTS = frozenset(
    {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror", "policy"}
)
DKIM_RESULTS = frozenset({"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"})
DMARC_RESULTS = frozenset({"none", "pass", "fail", "temperror", "permerror"})
ARC_RESULTS = frozenset({"none", "pass", "fail"})
DMARC_POLICIES = frozenset({"none", "quarantine", "reject"})
TRUSTED_AR_SOURCE = "trusted_auth_results"
NOT_EVALUATED = "none"  # the ``source`` of a check nobody could run

# RFC 2045 token: printable ASCII except space and tspecials
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]{1,255}")
_SELECTOR = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,127})")
_ALGORITHM = re.compile(r"[a-z0-9]{1,16}-[a-z0-9]{1,16}")
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")


def resolve_authserv_id(configured: str | None, trusted: Sequence[str]) -> str:
    """The authserv-id to write: ``configured``, else the first exact trusted id, else the host."""
    if configured:
        return configured
    for entry in trusted:
        if not entry.startswith("*") and _HOST.fullmatch(entry):
            return entry
    host = socket.gethostname()
    return host if _HOST.fullmatch(host) else "localhost"


def _value(text: str) -> str:
    """An RFC 8601 ``value``: a token when it is one, else a quoted-string of printable ASCII."""
    if _TOKEN.fullmatch(text):
        return text
    clean = "".join(ch for ch in text[:255] if " " <= ch <= "~")
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _domain(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 1024:
        return None
    try:
        return normalize_domain(value)
    except InvalidName:
        return None


def _spf(spf: Mapping[str, Any]) -> str | None:
    result = str(spf.get("result", "")).lower()
    if spf.get("source") == NOT_EVALUATED or result not in SPF_RESULTS:
        return None
    parts = [f"spf={result}"]
    if spf.get("source") == TRUSTED_AR_SOURCE:
        parts.append("(from a trusted Authentication-Results header)")
    domain = _domain(spf.get("domain"))
    if domain:
        parts.append(f"smtp.mailfrom={domain}")
    elif result == "pass":
        return None
    return " ".join(parts)


def _dkim(signature: Mapping[str, Any]) -> str | None:
    result = str(signature.get("result", "")).lower()
    if result not in DKIM_RESULTS:
        return None
    parts = [f"dkim={result}"]
    if signature.get("source") == TRUSTED_AR_SOURCE:
        parts.append("(from a trusted Authentication-Results header)")
    domain = _domain(signature.get("domain"))
    if domain:
        parts.append(f"header.d={domain}")
    elif result == "pass":
        return None
    selector = signature.get("selector")
    if isinstance(selector, str) and _SELECTOR.fullmatch(selector):
        parts.append(f"header.s={selector}")
    algorithm = signature.get("algorithm")
    if isinstance(algorithm, str) and _ALGORITHM.fullmatch(algorithm):
        parts.append(f"header.a={algorithm}")
    return " ".join(parts)


def _dmarc(dmarc: Mapping[str, Any]) -> str | None:
    result = str(dmarc.get("result", "")).lower()
    if result not in DMARC_RESULTS:
        return None
    parts = [f"dmarc={result}"]
    policy = str(dmarc.get("policy") or "").lower()
    if policy in DMARC_POLICIES:
        parts.append(f"(p={policy})")
    domain = _domain(dmarc.get("from_domain"))
    if domain:
        parts.append(f"header.from={domain}")
    elif result == "pass":
        return None
    return " ".join(parts)


def result_infos(auth: Mapping[str, Any] | None) -> list[str]:
    """The ``resinfo`` items (``method=result property=value ...``) for a report's ``auth``."""
    if not auth:
        return []
    infos: list[str] = []
    spf = auth.get("spf")
    if isinstance(spf, Mapping) and (info := _spf(spf)):
        infos.append(info)
    signatures = auth.get("dkim")
    if isinstance(signatures, list):
        found = [_dkim(s) for s in signatures if isinstance(s, Mapping)]
        infos.extend(info for info in found if info)
        if not signatures:
            infos.append("dkim=none")
    dmarc = auth.get("dmarc")
    if isinstance(dmarc, Mapping) and (info := _dmarc(dmarc)):
        infos.append(info)
    arc = auth.get("arc")
    if isinstance(arc, Mapping) and str(arc.get("cv", "")).lower() in ARC_RESULTS:
        infos.append(f"arc={str(arc['cv']).lower()}")
    return infos


def auth_results_value(authserv_id: str, auth: Mapping[str, Any] | None) -> str:
    """The header's value on one line: ``authserv-id; resinfo; ...`` or ``authserv-id; none``."""
    infos = result_infos(auth)
    return "; ".join([_value(authserv_id), *(infos or ["none"])])


def auth_results_header(
    authserv_id: str, auth: Mapping[str, Any] | None, *, linesep: str = "\n", width: int = 78
) -> str:
    """The whole header field, each result on its own folded line (no trailing line break)."""
    infos = result_infos(auth) or ["none"]
    lines = [f"{HEADER}: {_value(authserv_id)};"]
    for index, info in enumerate(infos):
        end = ";" if index < len(infos) - 1 else ""
        lines.extend(_fold(info + end, width))
    return linesep.join(lines)


def _fold(text: str, width: int) -> list[str]:
    """``text`` on continuation lines (tab first) of at most ``width`` where spaces allow."""
    lines: list[str] = []
    current = "\t"
    for word in text.split(" "):
        if current != "\t" and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = "\t" + word
        else:
            current = current + word if current == "\t" else f"{current} {word}"
    lines.append(current)
    return lines
