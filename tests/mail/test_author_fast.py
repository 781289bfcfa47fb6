"""The fast reading of a plain ``Name <address>`` From equals email.headerregistry's."""

from __future__ import annotations

import random

from bot.mail.addresses import SIMPLE_FROM, read_author, read_author_parsed

NAMES = (
    "Dana",
    "Whitfield",
    "dana",
    "O",
    "Sam2",
    "x" * 70,
    "J.",
    '"Dana"',
    "=?utf-8?q?D?=",
    "Ünal",
)
LOCALS = ("dana", "dana.whitfield", "a+b", "a_b", "-x", "a..b", ".a", "a.", "x" * 70, "é")
DOMAINS = ("northwind-software.com", "b.co", "x-.com", "-x.com", "a", "a..b", "b.com.", "ex.ample")
SPACES = ("", " ", "  ", "\t", " \t ")


def _value(rng: random.Random) -> str:
    name = rng.choice(SPACES).join(rng.choice(NAMES) for _ in range(rng.randint(0, 3)))
    addr = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    return f"{rng.choice(SPACES)}{name}{rng.choice(SPACES)}<{addr}>{rng.choice(SPACES)}"


def test_fast_path_is_taken_for_the_common_shape() -> None:
    assert SIMPLE_FROM.fullmatch("Dana Whitfield <dana.whitfield@northwind-software.com>")
    assert not SIMPLE_FROM.fullmatch('"Whitfield, Dana" <dana@northwind-software.com>')


def test_fast_and_parsed_authors_agree() -> None:
    rng = random.Random(11)
    fast_taken = 0
    for _ in range(3000):
        value = _value(rng)
        fast_taken += SIMPLE_FROM.fullmatch(value) is not None
        assert read_author(value) == read_author_parsed(value), repr(value)
    assert fast_taken > 300  # the comparison exercised the fast path
