"""RE2 runs the risk patterns with the same first match as Python's re, on any text."""

from __future__ import annotations

import random
import re
import sys

from bot.mail import content, fastscan
from bot.mail.content import _FAST_RISKS, _RISKS, _normalized, classify_request

ALL_NON_ASCII = "".join(chr(c) for c in range(0x80, sys.maxunicode + 1))


def _positions(pattern: str, flags: int = 0) -> set[int]:
    return {m.start() for m in re.finditer(pattern, ALL_NON_ASCII, flags)}


def test_every_non_ascii_character_keeps_its_class_in_the_stand_in() -> None:
    stand_in = [fastscan._stand_in(ch) for ch in ALL_NON_ASCII]
    for pattern in (r"\w", r"\s", r"\d"):
        python = _positions(pattern)
        ours = {i for i, s in enumerate(stand_in) if re.fullmatch(pattern, s)}
        assert python == ours, pattern
    for letter in "abcdefghijklmnopqrstuvwxyz":
        python = _positions(letter, re.IGNORECASE)
        ours = {i for i, s in enumerate(stand_in) if s == letter}
        assert python == ours, letter


def test_stand_in_is_ascii_of_the_same_length() -> None:
    text = "Reset\u00a0your pass\u200bword ıban \u0663\u0663 caf\u00e9\u2028\x0bend " + "ok " * 40
    out = fastscan.ascii_stand_in(text)
    assert out is not None and len(out) == len(text)
    assert out.isascii()
    assert fastscan.ascii_stand_in("\u4e2d\u6587" * 50 + "mfa") is None  # mostly non-ASCII


def test_all_risk_patterns_run_on_re2() -> None:
    assert all(p.fast is not None for _, p in _FAST_RISKS)


def test_unsupported_pattern_falls_back_to_python() -> None:
    pattern = re.compile(r"(?<!\w)(?:wire(?=\s+now))(?!\w)", re.IGNORECASE)
    bounded = fastscan.compile_bounded(pattern)
    assert bounded.fast is None
    text = "please wire now"
    assert bounded.search(text, fastscan.ascii_stand_in(text)) == (7, 11)


PIECES = (
    "reset",
    "your",
    "password",
    "passwords",
    "Password Reset",
    "MFA",
    "2fa",
    "multi-factor",
    "one-time",
    "passcode",
    "code",
    "team viewer",
    "TeamViewer",
    "any desk",
    "remote",
    "access",
    "install",
    "the",
    "agent",
    "hot-fix",
    "security",
    "patch",
    "firmware update",
    "bank",
    "details",
    "wire",
    "IBAN",
    "swift code",
    "urgent",
    "URGENTLY",
    "within",
    "15",
    "minutes",
    "\u0661\u0665",
    "asap",
    "end of day",
    "before",
    "will be",
    "locked",
    "act now",
    "\u0131ban",
    "\u0130ban",
    "\u017fwift",
    "\u212aey",
    "caf\u00e9",
    "x",
    "_",
    "mfa_",
    "\u00e9mfa",
    "otp\u00e9",
    "\u4e2d",
)
GLUE = (" ", "  ", "\n", "\r\n", "\t", "\x0b", "\x1c", "\u2028", "\u00a0", "\u3000", "", "-", ".")


def _reference(subject: str, body: str) -> list[tuple[str, str]]:
    text = _normalized(f"{subject}\n{body}")
    out = []
    for code, pattern in _RISKS:
        match = pattern.search(text)
        if match is not None:
            out.append((code, " ".join(match.group(0).split())))
    return out


def test_classify_request_agrees_with_python_re_on_random_text() -> None:
    rng = random.Random(13)
    for _ in range(3000):
        words = [rng.choice(PIECES) for _ in range(rng.randint(1, 12))]
        body = "".join(w + rng.choice(GLUE) for w in words)
        if rng.random() < 0.2:
            body = body * rng.randint(2, 4)
        got = [(r.code, r.evidence) for r in classify_request("Subject", body)]
        assert got == _reference("Subject", body), repr(body)


def _collapsed_reference(subject: str, body: str) -> list[tuple[str, str]]:
    text = " ".join(_normalized(f"{subject}\n{body}").split())
    out = []
    for code, pattern in _RISKS:
        match = pattern.search(text)
        if match is not None:
            out.append((code, " ".join(match.group(0).split())))
    return out


RUNS = (
    " ",
    "  ",
    " \r\n ",
    "\r\n",
    "\n\n\t",
    "\t \x0b",
    "\x1c ",
    "\u2028\u00a0",
    "",
    "-",
    ".",
    ", ",
)
PHRASES = (
    "team",
    "viewer",
    "teamviewer",
    "reset",
    "your",
    "account",
    "password",
    "passwords",
    "wire",
    "transfer",
    "within",
    "15",
    "minutes",
    "the",
    "next",
    "hour",
    "end",
    "of",
    "day",
    "install",
    "remote",
    "agent",
    "one",
    "time",
    "code",
    "new",
    "bank",
    "number",
    "details",
    "x",
)


def test_whitespace_runs_match_as_if_collapsed() -> None:
    # classify_request runs RE2 on the text with its whitespace runs; the answer must be Python's
    # on the text with every run collapsed to one space.
    assert content._RUN_SET is not None
    rng = random.Random(17)
    for _ in range(4000):
        words = [rng.choice(PHRASES + PIECES) for _ in range(rng.randint(1, 14))]
        body = rng.choice(RUNS) + "".join(w + rng.choice(RUNS) for w in words)
        got = [(r.code, r.evidence) for r in classify_request("Subject", body)]
        assert got == _collapsed_reference("Subject", body), repr(body)


def test_runs_rewrite_refuses_what_it_cannot_keep() -> None:
    for inner in (r"a\s{2}b", r"a\s+?b", r"a.b", r"a\Wb", r"a[\s]b", "a b", r"a\Sb", r"a\Db"):
        assert fastscan._with_runs(inner) is None, inner
    assert fastscan._with_runs(r"a\s?b\s(?:c\s+d)") == r"a\s*b\s+(?:c\s+d)"


def test_inline_forward_markers_found_as_python_finds_them() -> None:
    from bot.mail.message import _INLINE_MARKERS, _INLINE_MARKERS_FAST, has_inline_markers

    assert _INLINE_MARKERS_FAST.fast is not None
    pieces = (
        "---",
        "----------",
        "-",
        " ",
        "\n",
        "\u2028",
        "\u00a0",
        "\x0b",
        "Forwarded message",
        "FORWARDED MESSAGE",
        "original message",
        "Begin forwarded message",
        ":",
        "\u0130",
        "x",
        "forwarded  message",
        "FoRwArDeD mEsSaGe",
        "Original Message",
        "begin ",
        "BEGIN FORWARDED MESSAGE",
        "--",
        "- --",
    )
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        expected = _INLINE_MARKERS.search(text) is not None
        assert _INLINE_MARKERS_FAST.found(text) is expected, repr(text)
        assert has_inline_markers(text) is expected, repr(text)


def test_patterns_re2_cannot_take_stay_with_python() -> None:
    for source in (r"(a)\1", r"a(?=b)", r"\bword\b", r"x_y"):
        search = fastscan.compile_search(re.compile(source))
        assert search.fast is None
        assert search.found("zz (a)a ab word x_y") is (
            re.search(source, "zz (a)a ab word x_y") is not None
        )


def test_inline_marker_shortcuts_on_ascii_text_keep_every_marker() -> None:
    """The ASCII shortcuts ('---' and ':' looked for first) miss no marker the pattern finds."""
    from bot.mail.message import _INLINE_MARKERS, has_inline_markers

    rng = random.Random(8)
    words = (
        "---",
        "-",
        ":",
        " ",
        "\n",
        "\t",
        "begin forwarded message",
        "forwarded message",
        "original message",
        "begin",
        "message",
        "x",
    )
    found = 0
    for _ in range(6000):
        text = "".join(rng.choice(words) for _ in range(rng.randint(1, 9)))
        text = "".join(ch.upper() if rng.random() < 0.3 else ch for ch in text)
        expected = _INLINE_MARKERS.search(text) is not None
        assert has_inline_markers(text) is expected, text
        found += expected
    assert found > 50  # markers are among the texts
