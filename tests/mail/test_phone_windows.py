"""Scanning for phone numbers only around digit runs finds what a whole-text scan finds."""

from __future__ import annotations

import random

import phonenumbers

from bot.mail.content import (
    _MIN_WINDOW_DIGITS,
    _PHONE_MARGIN,
    MAX_PHONES,
    MAX_TEXT,
    PhoneMention,
    _digit_windows,
    _undo_lookalikes,
    find_phone_numbers,
)


def _whole_text(text: str, region: str = "US") -> list[PhoneMention]:
    """The scan as it was before windows: phonenumbers' matcher over all of the text."""
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


PIECES = (
    "+1 (206) 555-0142",
    "206-555-0199",
    "1-8OO-555-0199",
    "l-8OO-555-Ol98",
    "+44 20 7946 0958",
    "020 7946 0958",
    "(425) 555 0100 ext. 12",
    "+1 206 555 0142 x 9",
    "\u0662\u0660\u0666 555 0142",
    "\uff12\uff10\uff16-555-0123",
    "2026-11-10",
    "12:30",
    "ref 1234567",
    "Olivia",
    "lol",
    "100 OK",
    "call",
    "us",
    "at",
    "caf\u00e9",
    "(24/7)",
    "#",
    "x" * 70,
    " " * 80,
    "-",
    "12",
    "4",
    "+1",
    "+290 4",
    "+683 4002",
    "+49 30 1234",
)


def test_windows_cover_every_digit_with_a_margin() -> None:
    text = "abc 123 " + "y" * 200 + " 3 tail 45"
    windows = _digit_windows(text)
    assert windows == [(0, 7 + _PHONE_MARGIN), (209 - _PHONE_MARGIN, len(text))]
    assert _digit_windows("room 12" + "y" * 200 + "floor 4") == []  # too few digits for a phone
    assert _digit_windows("no digits here") == []


def test_no_region_has_numbers_shorter_than_four_digits() -> None:
    regions = phonenumbers.SUPPORTED_REGIONS
    shortest = min(
        min((n for n in md.general_desc.possible_length if n > 0), default=99)
        for md in (phonenumbers.PhoneMetadata.metadata_for_region(r) for r in regions)
        if md is not None
    )
    assert shortest >= 4 > _MIN_WINDOW_DIGITS


def test_windowed_scan_agrees_with_whole_text_scan() -> None:
    rng = random.Random(7)
    for _ in range(600):
        text = " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
        region = rng.choice(("US", "GB"))
        assert find_phone_numbers(text, region) == _whole_text(text, region), repr(text)


def test_digit_runs_of_the_stand_in_are_those_of_the_whole_marking() -> None:
    """Marking only the span between the first and the last digit finds every run that marking
    the whole stand-in found."""
    import random

    from bot.mail.content import _DIGIT_MARKS, _digit_runs
    from bot.mail.fastscan import ascii_stand_in

    def whole(stand_in: bytes) -> list[tuple[int, int]]:
        marks = stand_in.translate(_DIGIT_MARKS)
        runs, start = [], marks.find(b"1")
        while start >= 0:
            end = marks.find(b"0", start)
            end = len(marks) if end < 0 else end
            runs.append((start, end))
            start = marks.find(b"1", end)
        return runs

    rng = random.Random(19)
    pieces = ("a", "0", "9", "12", " ", "-", "\u0663", "x" * 50, "555-0199", "\n", "é")
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        stand_in = ascii_stand_in(text)
        if stand_in is None:
            continue
        assert list(_digit_runs(text, stand_in)) == whole(stand_in), repr(text)
