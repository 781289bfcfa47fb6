"""Confusable skeletons (UTS-39 style): homoglyphs folded to one Latin prototype.

The table is bot/data/confusables.txt (Cyrillic, Greek, Armenian and Latin look-alikes, ``0`` and
``1``), loaded once at import.
"""

from __future__ import annotations

import unicodedata
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


def prototype(text: str) -> str:
    """``text`` with each homoglyph replaced by its Latin prototype, one character for one.

    Compatibility-decompose, drop marks, and map the confusables table (Cyrillic, Greek, Armenian
    and Latin look-alikes, ``0`` and ``1``). Typos are measured on this form, so that an edit
    distance counts keystrokes rather than shapes.
    """
    if text.isascii():
        return text.lower().translate(_TABLE)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_TABLE)


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
