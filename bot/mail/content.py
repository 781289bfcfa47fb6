"""What a message says: the phone numbers it gives and the high-risk things it asks for.

Both work on bounded text (the first :data:`MAX_TEXT` characters). Phone numbers are found on the
text as written and on a copy with letter-for-digit tricks undone (``1-8OO-555-0199``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

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


def find_phone_numbers(text: str, region: str = "US") -> list[PhoneMention]:
    """Valid phone numbers in ``text`` (numbers without a country code read in ``region``),
    de-duplicated by E.164, in order of appearance, at most :data:`MAX_PHONES`."""
    text = text[:MAX_TEXT]
    found: dict[str, tuple[int, str]] = {}
    variants = [text]
    undone = _undo_lookalikes(text)
    if undone != text:
        variants.append(undone)
    for variant in variants:
        matcher = phonenumbers.PhoneNumberMatcher(
            variant, region, leniency=phonenumbers.Leniency.VALID, max_tries=1000
        )
        for match in matcher:
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in found or match.start < found[e164][0]:
                found[e164] = (match.start, text[match.start : match.end])
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


def classify_request(subject: str, body: str) -> list[RiskCategory]:
    """High-risk request categories in the subject and body, one per code, in a fixed order:
    credential_reset, mfa_reset, remote_access, patch_install, payment_change, urgency."""
    # One space for every whitespace run: a phrase split over lines or padded with spaces still
    # matches, and no ``\s+`` in a pattern ever scans a long run.
    text = " ".join(_normalized(f"{subject}\n{body[:MAX_TEXT]}").split())
    found: list[RiskCategory] = []
    for code, pattern in _RISKS:
        match = pattern.search(text)
        if match is not None:
            found.append(RiskCategory(code=code, evidence=" ".join(match.group(0).split())))
    return found
