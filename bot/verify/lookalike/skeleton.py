"""Confusable skeletons (UTS-39 style): homoglyphs folded to one Latin prototype.

The table is bot/data/confusables.txt (Cyrillic, Greek, Armenian and Latin look-alikes, ``0`` and
``1``), loaded once at import.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def _load_confusables() -> dict[int, str]:
    text = resources.files("bot").joinpath("data/confusables.txt").read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        code, _, proto = line.partition(";")
        table[int(code.strip(), 16)] = proto.strip()
    return table


_TABLE = _load_confusables()
_I_TO_L = str.maketrans("i", "l")

# Pairs of ASCII letters that pass for one another at a glance (dnstwist's ASCII glyphs), and
# letter pairs written for one letter; folded together, two or more such swaps compare equal.
_LOOSE_MULTI = (
    ("rn", "m"), ("nn", "m"), ("vv", "w"), ("cl", "d"), ("dl", "d"), ("lc", "k"), ("lb", "b"),
    ("lh", "h"),
)  # fmt: skip
_LOOSE = str.maketrans("bemrvq1i089", "dcnnugllo36")


def prototype(text: str) -> str:
    """``text`` with each homoglyph replaced by its Latin prototype, one character for one.

    Compatibility-decompose, drop marks, and map the confusables table (Cyrillic, Greek, Armenian
    and Latin look-alikes, ``0`` and ``1``). Typos are measured on this form, so that an edit
    distance counts keystrokes rather than shapes.
    """
    if text.isascii():
        return text.lower().translate(_TABLE)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_TABLE)
    if folded.isascii():
        return folded
    return "".join(_latin_base(ch) for ch in folded)


# Latin letters that no decomposition reaches: small capitals, hooks, strokes, tildes
# ("LATIN LETTER SMALL CAPITAL W", "LATIN SMALL LETTER T WITH PALATAL HOOK").
_LATIN_NAME = re.compile(
    r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL |DOTLESS )?([A-Z])(?: WITH [A-Z ]{1,40})?"
)


@lru_cache(maxsize=4096)
def _latin_base(ch: str) -> str:
    if ch.isascii():
        return ch
    found = _LATIN_NAME.fullmatch(unicodedata.name(ch, ""))
    return found.group(1).lower() if found else ch


def skeleton(text: str) -> str:
    """The confusable skeleton of a label: two strings that look alike share one skeleton.

    UTS-39 style: the :func:`prototype`, then ``rn``/``vv``/``cl`` folded to ``m``/``w``/``d``
    and ``i`` to ``l``.
    """
    folded = prototype(text)
    for pair, proto in _MULTI:
        if pair in folded:
            folded = folded.replace(pair, proto)
    return folded.translate(_I_TO_L)


def loose_skeleton(text: str) -> str:
    """A coarser skeleton for several homoglyph swaps at once (``morthvvind`` ~ ``northwind``).

    The :func:`prototype`, letter pairs folded to the letter they imitate, then each class of
    look-alike letters (b/d, c/e, g/q, m/n/r, u/v, i/l/1, o/0) to one member. Too coarse for
    short names: the index uses it for brands of six characters and more.
    """
    folded = prototype(text)
    for pair, proto in _LOOSE_MULTI:
        if pair in folded:
            folded = folded.replace(pair, proto)
    return folded.translate(_LOOSE)
