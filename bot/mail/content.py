"""What a message says: the phone numbers it gives and the high-risk things it asks for.

Both work on bounded text (the first :data:`MAX_TEXT` characters). Phone numbers are found on the
text as written and on a copy with letter-for-digit tricks undone (``1-8OO-555-0199``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers

from bot.mail.fastscan import PatternSet, ascii_stand_in, compile_bounded

MAX_TEXT = 100_000
MAX_PHONES = 20

# Digits and digit-lookalike letters (with single separators), not inside a word: 1-8OO-555-O199
_LOOKALIKE_RUN = re.compile(
    r"(?<![A-Za-z])[0-9OoIl|](?:[0-9OoIl|]|[-. ()](?=[0-9OoIl|]))*(?![A-Za-z])"
)
_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


@dataclass(frozen=True)
class PhoneMention:
    """A phone number in the text: as written, and its E.164 form."""

    raw: str
    e164: str


@dataclass(frozen=True)
class RiskCategory:
    """A high-risk request category and the words that showed it."""

    code: str
    evidence: str


def _undo_lookalikes(text: str) -> str:
    """``text`` with O/o as 0 and I/l/| as 1 inside digit runs; same length as ``text``."""

    def fix(match: re.Match[str]) -> str:
        run = match.group(0)
        if sum(ch.isdigit() for ch in run) < 3:
            return run
        return run.translate(_LOOKALIKE_DIGITS)

    return _LOOKALIKE_RUN.sub(fix, text)


# A phone number is digit blocks with a little punctuation between them: text more than
# _PHONE_MARGIN characters from any digit cannot be part of one, so only windows around digit
# clusters are scanned (phonenumbers' own matcher, unchanged, runs on each window).
_PHONE_MARGIN = 64
# No region has valid numbers shorter than 4 digits (phonenumbers' metadata); with 3 real digits
# a run's lookalike letters could still make a fourth. Fewer digits than this: no phone number.
_MIN_WINDOW_DIGITS = 3
# So a window (or its lookalikes-undone copy) with fewer decimal digits is not handed to the
# matcher: it could find nothing there.
_MIN_PHONE_DIGITS = 4
_DIGITS = re.compile(r"\d+")
# On the ASCII stand-in every decimal digit is 0-9: mark digits 1, the rest 0, and find runs.
_DIGIT_MARKS = bytes.maketrans(
    bytes(range(256)), bytes(49 if 48 <= b <= 57 else 48 for b in range(256))
)
_DIGIT_BYTES = tuple(bytes([b]) for b in b"0123456789")


def _digit_runs(text: str, stand_in: bytes | None) -> Iterator[tuple[int, int]]:
    if stand_in is None:
        yield from (m.span() for m in _DIGITS.finditer(text))
        return
    # Only the span from the first digit to the last is marked: twenty memchr passes find it,
    # and most text has its digits in a few places (a date, a ticket number).
    firsts = [at for at in map(stand_in.find, _DIGIT_BYTES) if at >= 0]
    if not firsts:
        return
    low = min(firsts)
    high = max(map(stand_in.rfind, _DIGIT_BYTES)) + 1
    marks = stand_in[low:high].translate(_DIGIT_MARKS)
    start = marks.find(b"1")
    while start >= 0:
        end = marks.find(b"0", start)
        if end < 0:
            end = len(marks)
        yield low + start, low + end
        start = marks.find(b"1", end)


def _digit_windows(text: str, stand_in: bytes | None = None) -> list[tuple[int, int]]:
    """Spans of ``text`` around its digit runs, with :data:`_PHONE_MARGIN` either side, merged
    where they touch; a span with fewer than :data:`_MIN_WINDOW_DIGITS` digits is left out.
    ``stand_in`` is ``ascii_stand_in(text)`` when the caller already has it."""
    return [(lo, hi) for lo, hi, _ in _digit_windows_counted(text, stand_in)]


def _decimal_count(text: str) -> int:
    return sum(map(str.isdecimal, text))


def _digit_windows_counted(text: str, stand_in: bytes | None = None) -> list[tuple[int, int, int]]:
    """:func:`_digit_windows` with the number of decimal digits in each window."""
    windows: list[tuple[int, int, int]] = []
    if stand_in is None:
        stand_in = ascii_stand_in(text)
    for start, end in _digit_runs(text, stand_in):
        lo = max(0, start - _PHONE_MARGIN)
        hi = min(len(text), end + _PHONE_MARGIN)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi, windows[-1][2] + end - start)
        else:
            windows.append((lo, hi, end - start))
    return [window for window in windows if window[2] >= _MIN_WINDOW_DIGITS]


def find_phone_numbers(
    text: str, region: str = "US", *, stand_in: bytes | None = None
) -> list[PhoneMention]:
    """Valid phone numbers in ``text`` (numbers without a country code read in ``region``),
    de-duplicated by E.164, in order of appearance, at most :data:`MAX_PHONES`. ``stand_in`` is
    ``ascii_stand_in(text)`` when the caller already has it (``text`` within :data:`MAX_TEXT`)."""
    if len(text) > MAX_TEXT:
        text, stand_in = text[:MAX_TEXT], None
    found: dict[str, tuple[int, str]] = {}
    tries = 1000
    for lo, hi, digits in _digit_windows_counted(text, stand_in):
        window = text[lo:hi]
        variants = [window] if digits >= _MIN_PHONE_DIGITS else []
        undone = _undo_lookalikes(window)
        if undone != window and _decimal_count(undone) >= _MIN_PHONE_DIGITS:
            variants.append(undone)
        for variant in variants:
            if tries <= 0:
                break
            matcher = phonenumbers.PhoneNumberMatcher(
                variant, region, leniency=phonenumbers.Leniency.VALID, max_tries=tries
            )
            for match in matcher:
                e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
                start = lo + match.start
                if e164 not in found or start < found[e164][0]:
                    found[e164] = (start, text[start : lo + match.end])
            tries = getattr(matcher, "_max_tries", tries)
    ordered = sorted(found.items(), key=lambda item: item[1][0])
    return [PhoneMention(raw=raw, e164=e164) for e164, (_, raw) in ordered[:MAX_PHONES]]


def _patterns(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(phrases) + r")(?!\w)", re.IGNORECASE)


_OWNER = r"(?:your|the|their|his|her|my|our|this|that|a|an)\s+"
_RISKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "credential_reset",
        _patterns(
            rf"reset\s+(?:{_OWNER})?(?:account\s+|user\s+|admin\s+)?passwords?",
            r"password\s+resets?",
            rf"(?:verify|confirm|validate|update)\s+(?:{_OWNER})?(?:login\s+)?credentials",
            rf"(?:confirm|send|share|provide)\s+(?:me\s+|us\s+)?(?:{_OWNER})?passwords?",
            r"(?:new|temporary|temp|one-time)\s+password",
            rf"change\s+(?:{_OWNER})?passwords?",
            rf"unlock\s+(?:{_OWNER})?account",
            r"(?:login|sign-in|admin)\s+credentials",
        ),
    ),
    (
        "mfa_reset",
        _patterns(
            r"mfa",
            r"2fa",
            r"multi-?factor",
            r"two-?factor",
            r"authenticator(?:\s+app)?",
            r"re-?enrol(?:l|ls|led|ling|ment)?",
            r"one-?time\s+(?:pass)?code",
            r"verification\s+code",
            r"security\s+key",
            r"otp",
        ),
    ),
    (
        "remote_access",
        _patterns(
            r"team\s?viewer",
            r"any\s?desk",
            r"screen\s?connect",
            r"connectwise(?:\s+control)?",
            r"splashtop",
            r"logmein",
            r"quick\s+assist",
            r"rdp",
            r"remote\s+(?:access|session|support|desktop|control)",
            rf"install\s+(?:{_OWNER})?(?:remote\s+|support\s+|monitoring\s+)?(?:agent|client|tool)",
        ),
    ),
    (
        "patch_install",
        _patterns(
            r"hot-?fix(?:es)?",
            r"security\s+(?:patch|patches|update|updates|fix)",
            r"(?:critical|emergency|urgent)\s+(?:patch|update|fix)",
            rf"(?:install|apply|run|deploy|download)\s+(?:{_OWNER})?(?:patch|update|installer|"
            r"fix|script|firmware)",
            r"firmware\s+update",
        ),
    ),
    (
        "payment_change",
        _patterns(
            r"bank(?:ing)?\s+(?:details|information|info|account)",
            r"wire(?:\s+transfer)?",
            r"new\s+(?:bank\s+)?account\s+(?:number|details)",
            r"account\s+number\s+(?:has\s+)?changed",
            r"routing\s+number",
            r"remittance",
            r"iban",
            r"swift(?:\s+code)?",
            rf"(?:update|change)\s+(?:{_OWNER})?(?:payment|bank|banking)\s+(?:details|information)",
        ),
    ),
    (
        "urgency",
        _patterns(
            r"urgent(?:ly)?",
            r"immediately",
            r"within\s+the\s+(?:hour|next\s+hour)",
            r"within\s+\d{1,3}\s+(?:minutes|mins|hours)",
            r"asap",
            r"as\s+soon\s+as\s+possible",
            r"right\s+away",
            r"time-?sensitive",
            r"(?:before|by)\s+(?:the\s+)?end\s+of\s+(?:the\s+)?day",
            r"final\s+notice",
            r"act\s+now",
            r"will\s+be\s+(?:suspended|locked|disabled|terminated)",
        ),
    ),
)


def _normalized(text: str) -> str:
    """NFKC-folded text without invisible format characters (``pass\\u200bword``)."""
    if text.isascii():
        return text  # NFKC leaves ASCII unchanged and ASCII has no format characters
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


# The same patterns run by RE2 (linear time, one pass each) on an ASCII stand-in of the text.
_FAST_RISKS = tuple((code, compile_bounded(pattern)) for code, pattern in _RISKS)
_RISK_SET = PatternSet([pattern for _, pattern in _FAST_RISKS])
# And for text whose whitespace runs were not collapsed (each \s atom there takes a whole run).
_RUN_RISKS = tuple(compile_bounded(pattern, runs=True) for _, pattern in _RISKS)
_RUN_SET = PatternSet(list(_RUN_RISKS)) if all(p.fast for p in _RUN_RISKS) else None


def request_text(subject: str, body: str) -> str:
    """The text :func:`classify_request` reads: the subject, a line break, the bounded body."""
    return f"{subject}\n{body[:MAX_TEXT]}"


def classify_request(
    subject: str, body: str, *, text: str | None = None, stand_in: bytes | None = None
) -> list[RiskCategory]:
    """High-risk request categories in the subject and body, one per code, in a fixed order:
    credential_reset, mfa_reset, remote_access, patch_install, payment_change, urgency.

    ``text`` is :func:`request_text` of them and ``stand_in`` its :func:`ascii_stand_in`, when
    the caller already has them.
    """
    # Phrases are matched as if every whitespace run were one space: a phrase split over lines or
    # padded with spaces still matches. RE2 takes the runs as they are (``_RUN_SET``); Python's re,
    # for text RE2 cannot take, gets the collapsed text, so no ``\s+`` ever scans a long run.
    raw = text if text is not None else request_text(subject, body)
    normalized = _normalized(raw)
    if normalized is not raw or stand_in is None:
        stand_in = ascii_stand_in(normalized)
    if _RUN_SET is not None and stand_in is not None:
        text = normalized
        spans = _RUN_SET.search_all(text, stand_in)
    else:
        text = " ".join(normalized.split())
        spans = _RISK_SET.search_all(text, ascii_stand_in(text))
    found: list[RiskCategory] = []
    for (code, _), span in zip(_FAST_RISKS, spans, strict=True):
        if span is not None:
            evidence = " ".join(text[span[0] : span[1]].split())
            found.append(RiskCategory(code=code, evidence=evidence))
    return found
