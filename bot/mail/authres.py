"""Trusted Authentication-Results (RFC 8601): what our own hosts recorded at delivery.

An Authentication-Results header counts only when its authserv-id is one of ours *and* it sits
above the first Received header written outside our hosts (see
:func:`bot.mail.received.boundary_index`); anything else is text the sender typed. Each header is
read twice: by the ``authres`` library and by a plain scan of its text. The scan catches what the
library gets wrong: it reads ``header.d=legit.example(.evil.example`` as ``legit.example`` plus
an endless comment, and it raises on a header without authserv-id (Microsoft 365 writes those).
Every domain-valued property is validated with :func:`bot.names.normalize_domain`. A header that
fails any check is ignored with a reason, never raised.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import authres as authres_lib

from bot.mail.message import ParsedMessage
from bot.mail.received import boundary_index, host_matches
from bot.names import InvalidName, normalize_domain

NOT_TRUSTED = "authserv-id not trusted"
BELOW_BOUNDARY = "below a Received header written outside"
UNPARSEABLE = "unparseable"
INVALID_DOMAIN = "invalid domain"
MAX_VALUE_CHARS = 8192

_DOMAIN_PROPERTIES = frozenset(
    {"header.d", "header.i", "header.from", "smtp.mailfrom", "smtp.helo", "policy.d"}
)
_PROPERTY = re.compile(r"(?<![\w.-])([A-Za-z][\w-]*)\.([A-Za-z][\w-]*)\s*=\s*(\"[^\"]*\"|[^\s;]*)")

# ``smtp.helo=[192.0.2.1]`` and ``smtp.mailfrom=<>`` are common but not RFC 8601 tokens: quoted,
# the library reads them.
_LITERAL = re.compile(r"(=\s*)(<[^\s;()\"<>]*>|\[[^\s;()\"\[\]]*\])")


@dataclass(frozen=True)
class AuthResult:
    """One method's result in a trusted header, e.g. ``dkim=pass header.d=x.com``."""

    method: str
    result: str
    properties: dict[str, str]


@dataclass
class AuthResultsView:
    """The trusted results, and every header that was ignored with the reason why."""

    trusted: list[AuthResult] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def find(self, method: str) -> list[AuthResult]:
        """Trusted results for ``method`` (``spf``, ``dkim``, ``dmarc``, ``arc``), in order."""
        wanted = method.lower()
        return [r for r in self.trusted if r.method == wanted]


class _Ignored(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _strip_comments(text: str) -> str:
    """``text`` without RFC 5322 comments; raises _Ignored on unbalanced parentheses/quotes."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            quoted = ch != '"'
            out.append(ch)
            continue
        if ch == "(":
            depth += 1
            continue
        if ch == ")":
            if depth == 0:
                raise _Ignored(f"{UNPARSEABLE}: unbalanced ')'")
            depth -= 1
            out.append(" ")
            continue
        if depth:
            continue
        if ch == '"':
            quoted = True
        out.append(ch)
    if depth or quoted:
        raise _Ignored(f"{UNPARSEABLE}: unterminated comment or quoted string")
    return "".join(out)


def _authserv_id(stripped: str) -> str:
    head = stripped.split(";", 1)[0].strip()
    if ";" not in stripped or not head or "=" in head:
        raise _Ignored(f"{UNPARSEABLE}: no authserv-id (Microsoft 365 style)")
    return head.split()[0].lower().rstrip(".")


def _leading_id(text: str) -> str | None:
    """The authserv-id as written before the first ``;`` (comments after it ignored)."""
    head = text.split(";", 1)[0] if ";" in text else ""
    head = head.split("(", 1)[0].strip()
    if not head or "=" in head:
        return None
    return head.split()[0].lower().rstrip(".")


def _domain_of(prop: str, value: str) -> str | None:
    """The domain a property names, or None when it names none (empty, ``<>``, IP literal)."""
    text = value.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    text = text.strip("<>")
    if prop in ("header.i", "smtp.mailfrom") and "@" in text:
        text = text.rsplit("@", 1)[1]
    if not text or text.lower() == "none":
        return None
    if prop == "smtp.helo":
        try:
            ipaddress.ip_address(text.strip("[]").removeprefix("IPv6:").removeprefix("ipv6:"))
            return None
        except ValueError:
            pass
    return text


def _check_domains(text: str) -> None:
    """Validate every domain-valued property as written (before any comment is removed)."""
    for match in _PROPERTY.finditer(text):
        prop = f"{match.group(1).lower()}.{match.group(2).lower()}"
        if prop not in _DOMAIN_PROPERTIES:
            continue
        domain = _domain_of(prop, match.group(3))
        if domain is None:
            continue
        try:
            normalize_domain(domain)
        except InvalidName:
            raise _Ignored(f"{INVALID_DOMAIN}: {prop}={match.group(3)[:80]!r}") from None


def _resinfo_count(stripped: str) -> int:
    segments = [s.strip() for s in stripped.split(";")[1:]]
    return sum(1 for s in segments if s and s.lower() != "none")


def _parse(value: str, stripped: str) -> list[AuthResult]:
    try:
        header = authres_lib.all_features().parse_value(_LITERAL.sub(r'\1"\2"', value))
    except Exception as exc:  # authres raises its own and stdlib errors on hostile input
        raise _Ignored(f"{UNPARSEABLE}: {str(exc)[:120]}") from None
    results: list[AuthResult] = []
    for item in header.results:
        properties: dict[str, str] = {}
        for prop in item.properties:
            key = f"{str(prop.type).lower()}.{str(prop.name).lower()}"
            text = str(prop.value)
            if key in _DOMAIN_PROPERTIES and _domain_of(key, text) is None:
                continue
            properties[key] = text
        results.append(
            AuthResult(
                method=str(item.method).lower(),
                result=str(item.result).lower(),
                properties=properties,
            )
        )
    if len(results) != _resinfo_count(stripped):
        raise _Ignored(
            f"{UNPARSEABLE}: the parser found {len(results)} results where the text has "
            f"{_resinfo_count(stripped)}"
        )
    return results


def read_auth_results(msg: ParsedMessage, trusted: Sequence[str]) -> AuthResultsView:
    """The Authentication-Results our own hosts wrote above the trust boundary; every other
    instance is listed in ``ignored`` as (authserv-id or "?", why)."""
    view = AuthResultsView()
    boundary = boundary_index(msg, trusted)
    for index, (name, value) in enumerate(msg.headers):
        if name.lower() != "authentication-results":
            continue
        text = value[:MAX_VALUE_CHARS]
        ident = _leading_id(text)
        try:
            if ident is None:
                raise _Ignored(f"{UNPARSEABLE}: no authserv-id (Microsoft 365 style)")
            if not host_matches(ident, trusted):
                raise _Ignored(NOT_TRUSTED)
            if index >= boundary:
                raise _Ignored(BELOW_BOUNDARY)
            if len(value) > MAX_VALUE_CHARS:
                raise _Ignored(f"{UNPARSEABLE}: longer than {MAX_VALUE_CHARS} characters")
            _check_domains(text)
            stripped = _strip_comments(text)
            if _authserv_id(stripped) != ident:
                raise _Ignored(f"{UNPARSEABLE}: the authserv-id is ambiguous")
            view.trusted.extend(_parse(text, stripped))
        except _Ignored as ignored:
            view.ignored.append((ident or "?", ignored.why))
    return view
