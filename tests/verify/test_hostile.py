"""Hostile emails: shapes that crashed verification, and shapes that took seconds to minutes.

Each crasher must come back as a Report (an undecodable part is a finding, never an exception).
Each slow shape is verified in process (no worker, no deadline) under a generous bound: several
times faster than the same shape took before (noted per case), so a return of the quadratic
pattern fails while a busy machine does not.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.dns import Resolver
from bot.mail.addresses import MAX_ADDRESS_FIELD_CHARS
from bot.mail.message import parse_message
from bot.mail.rawheaders import decode_bytes, decode_words
from bot.registry import Registry, RegistryHolder
from bot.report import Report
from bot.settings import Settings
from bot.verify.verifier import Verifier

FIXTURES = Path(__file__).parents[1] / "fixtures"
REGRESSIONS = FIXTURES / "hostile"
MB4 = 4 * 2**20
DANA = b"Dana Whitfield <dana.whitfield@northwind-software.com>"


def _eml(
    body: bytes = b"Hello.\r\n",
    *,
    extra: list[bytes] | None = None,
    from_: bytes = DANA,
    content_type: bytes = b"text/plain; charset=utf-8",
) -> bytes:
    head = [
        b"From: " + from_,
        b"To: helpdesk@corp.example",
        b"Subject: Maintenance",
        b"Date: Tue, 10 Nov 2026 09:30:00 +0000",
        b"Message-ID: <m1@northwind-software.com>",
        *(extra or []),
        b"MIME-Version: 1.0",
        b"Content-Type: " + content_type,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _multipart(part_headers: bytes, body: bytes = b"Reset your password now.\r\n") -> bytes:
    return _eml(
        b"--b1\r\n" + part_headers + b"\r\n\r\n" + body + b"\r\n--b1--\r\n",
        content_type=b"multipart/mixed; boundary=b1",
    )


@pytest.fixture
def verifier(resolver: Resolver, registry: Registry) -> Verifier:
    settings = Settings(_env_file=None, registry=FIXTURES / "vendors.yml")  # type: ignore[call-arg]
    return Verifier(settings, resolver, RegistryHolder(registry))


def _verify(verifier: Verifier, data: bytes) -> Report:
    return asyncio.run(verifier.verify_message(data))


CRASHERS: dict[str, bytes] = {
    "unknown charset in an encoded word": _eml(extra=[b"Subject: =?undefined?Q?x?="]),
    "punycode charset in an encoded word": _eml(extra=[b"Subject: =?punycode?Q?abc-?="]),
    "NUL in an encoded word's charset": _eml(extra=[b"Subject: =?utf\x00-8?Q?x?="]),
    "unknown charset in the display name": _eml(
        from_=b"=?undefined?Q?Dana?= <dana.whitfield@northwind-software.com>"
    ),
    "punycode body": _multipart(b"Content-Type: text/plain; charset=punycode", b"a" * 5000),
    "undefined body charset": _multipart(b"Content-Type: text/plain; charset=undefined"),
    "NUL in the body charset": _multipart(b'Content-Type: text/plain; charset="utf\x00-8"'),
    "rot13 body charset": _multipart(b"Content-Type: text/plain; charset=rot13"),
    "non-ASCII byte in Content-Transfer-Encoding": _multipart(
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\xff"
    ),
    "non-ASCII byte in Content-Disposition": _multipart(
        b"Content-Type: text/plain\r\nContent-Disposition: attach\xe9ment; filename=a.eml"
    ),
    "non-ASCII byte in a boundary": _eml(
        b"--b\xff\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\xff--\r\n",
        content_type=b"multipart/mixed; boundary=b\xff",
    ),
    "RFC 2231 filename in an unknown charset": _multipart(
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment; "
        b"filename*=undefined''x%FF.eml",
        _eml(),
    ),
}


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_crashers_are_reported_not_raised(verifier: Verifier, name: str) -> None:
    report = _verify(verifier, CRASHERS[name])
    assert report.verdict.value in ("unverified", "suspicious", "spoofed")


def test_saved_fuzz_crashers_are_reported_not_raised(verifier: Verifier) -> None:
    """Crashers the fuzz test found (tests/fixtures/hostile): each is now a Report."""
    cases = sorted(REGRESSIONS.glob("crash-*"))
    assert len(cases) >= 4
    for path in cases:
        report = _verify(verifier, path.read_bytes())
        assert "malformed_message" in report.codes(), path.name


def test_unknown_charsets_are_notes() -> None:
    notes: list[str] = []
    assert decode_bytes(b"abc", "undefined", notes) == "abc"
    assert decode_bytes(b"abc", "punycode", notes) == "abc"
    assert decode_bytes(b"abc", "utf\x00-8", notes) == "abc"
    assert decode_bytes(b"\xe9t\xe9", "latin-1", notes) == "été"
    assert len(notes) == 3 and all("unknown charset" in note for note in notes)
    text, more = decode_words("=?undefined?Q?caf=C3=A9?=")
    assert text == "café" and more


def test_non_ascii_header_bytes_become_findings(verifier: Verifier) -> None:
    report = _verify(verifier, CRASHERS["non-ASCII byte in Content-Transfer-Encoding"])
    assert report.details["message"]["from"] == "dana.whitfield@northwind-software.com"


def test_an_overlong_from_is_malformed_and_not_parsed() -> None:
    name = b"Dana " * 12_000  # 60 KB: the stdlib parser took ~21 s on this shape
    msg = parse_message(_eml(from_=name + b"<dana.whitfield@northwind-software.com>"))
    assert msg.from_address is None
    assert any(
        d.code == "malformed_message" and "longer than any real one" in d.message
        for d in msg.defects
    )
    real = b"=?utf-8?B?" + b"RGFuYSBXaGl0ZmllbGQ=" * 20 + b"?= <dana@northwind-software.com>"
    assert len(real) < MAX_ADDRESS_FIELD_CHARS
    assert parse_message(_eml(from_=real)).from_address is not None


def test_overlong_reply_to_is_malformed_and_not_parsed() -> None:
    extra = [b"Reply-To: " + b"word " * 20_000 + b"<a@b.example>" for _ in range(20)]
    msg = parse_message(_eml(extra=extra))
    assert msg.reply_to == []
    assert any("Reply-To header is" in d.message for d in msg.defects)


def _bounded(verifier: Verifier, data: bytes, seconds: float) -> Report:
    started = time.perf_counter()
    report = _verify(verifier, data)
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    return report


SLOW: dict[str, tuple[bytes, float]] = {
    # shape: (message, generous bound in seconds); before the fix in comments
    "200,000 dashes": (_eml(b"-" * 200_000), 5.0),  # ~30 min (30,000 took 13-48 s)
    "200,000 blank lines": (_eml(b"\r\n" * 200_000), 5.0),  # 84-110 s
    "dashes around a marker": (_eml(b"-" * 100_000 + b" forwarded message " + b"-" * 3), 5.0),
    "60 KB display name": (_eml(from_=b"Dana " * 12_000 + b"<d@northwind-software.com>"), 5.0),
    "20 Reply-To of 20K words": (
        _eml(extra=[b"Reply-To: " + b"word " * 20_000 + b"<a@b.example>" for _ in range(20)]),
        5.0,
    ),
    "open quote and 100,000 ';' in a part's Content-Type": (
        _multipart(b'Content-Type: text/plain; name="' + b";" * 100_000),
        5.0,
    ),
    "2,000 Received headers of colons": (
        _eml(extra=[b"Received: from x (" + b":" * 4000 + b") by y" for _ in range(2000)]),
        10.0,
    ),
    "4 MB of stray header lines": (_eml(extra=[b"yy"] * (MB4 // 4)), 10.0),
    "HTML body of '<!--' x 200,000": (
        _eml(b"<!--" * 200_000, content_type=b"text/html; charset=utf-8"),
        5.0,
    ),  # 238 s for 100,000
    "Received header of 'from ' clauses": (
        _eml(extra=[b"Received: " + b"(from " * 800 + b") by y" for _ in range(500)]),
        10.0,
    ),
}


@pytest.mark.parametrize("name", list(SLOW))
def test_slow_shapes_are_bounded(verifier: Verifier, name: str) -> None:
    data, seconds = SLOW[name]
    _bounded(verifier, data, seconds)


def test_the_inline_forward_marker_still_matches() -> None:
    for body in (
        b"---------- Forwarded message ---------\r\nFrom: x",
        b"-----Original Message-----\r\nFrom: x",
        b"Hi\r\n\r\n  Begin forwarded message:\r\n\r\nFrom: x",
    ):
        assert parse_message(_eml(body)).inline_forward, body
    assert not parse_message(_eml(b"-" * 50_000)).inline_forward
