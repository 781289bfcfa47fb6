"""Run a word-bounded, case-insensitive Python pattern with RE2: linear time, one DFA pass.

:func:`compile_bounded` takes a pattern of the shape ``(?<!\\w)(?:...)(?!\\w)`` compiled with
``re.IGNORECASE`` (the risk phrases in :mod:`bot.mail.content`) and gives a
:class:`BoundedPattern` whose :meth:`~BoundedPattern.search` finds the same first match as the
Python pattern, usually ~50x faster on long text. RE2 has no lookarounds and reads ``\\w``, ``\\s``,
``\\d`` and case as ASCII, so the text is searched as an *ASCII stand-in* of the same length:
a non-ASCII character becomes an ASCII character of the same class for these patterns (Python
whitespace -> space, a decimal digit -> ``0``, another word character -> ``_``, a letter that
Python's IGNORECASE matches to an ASCII letter -> that letter, anything else -> NUL), and the
ASCII whitespace RE2 does not know (VT, FS..US) -> space. Match offsets are character offsets in
the original text. Text with many non-ASCII characters, and any pattern RE2 cannot take, use the
Python pattern itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import re2

_HEAD, _TAIL = r"(?<!\w)", r"(?!\w)"
# Non-ASCII characters that Python's IGNORECASE equates with an ASCII letter (tested exhaustively).
_CASE_TWINS = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
# ASCII whitespace in Python's \s that RE2's \s lacks.
_ASCII_SPACE = bytes.maketrans(b"\x0b\x1c\x1d\x1e\x1f", b"     ")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Above this share of non-ASCII characters, the stand-in costs more than Python's own search.
MAX_NON_ASCII_SHARE = 1 / 16
# Stand-in characters: a pattern using one of them literally is left to Python.
_STAND_INS = frozenset("0_\x00")
SET_MAX_MEM = 32 << 20
_QUANTIFIER = re.compile(r"\{\d{1,4}(?:,\d{0,4})?\}")
_UNSUPPORTED = ("(?=", "(?!", "(?<", "\\b", "\\B", "(?P<m>", "\\A", "\\Z")


@lru_cache(maxsize=4096)
def _stand_in(ch: str) -> str:
    twin = _CASE_TWINS.get(ch)
    if twin is not None:
        return twin
    if ch.isspace():
        return " "
    if ch.isdecimal():
        return "0"
    if ch.isalnum() or ch == "_":
        return "_"
    return "\x00"


def ascii_stand_in(text: str) -> bytes | None:
    """``text`` as ASCII bytes of the same length with each character's class kept (see the
    module docstring), or None when too much of it is non-ASCII to be worth it."""
    if not text.isascii():
        if len(text.encode("utf-8", "surrogatepass")) - len(text) > len(text) * MAX_NON_ASCII_SHARE:
            return None
        text = _NON_ASCII.sub(lambda m: _stand_in(m.group(0)), text)
    data = text.encode("ascii")
    # Most text has none of the odd ASCII spaces: a few memchr scans beat a translate copy.
    if b"\x0b" in data or b"\x1c" in data or b"\x1d" in data or b"\x1e" in data or b"\x1f" in data:
        return data.translate(_ASCII_SPACE)
    return data


@dataclass(frozen=True)
class BoundedPattern:
    """A Python pattern and, when it could be translated, its RE2 twin."""

    python: re.Pattern[str]
    fast: re2._Regexp | None
    group: int = 0
    source: str = ""

    def search(self, text: str, stand_in: bytes | None) -> tuple[int, int] | None:
        """The span of the first match in ``text`` (``stand_in`` = :func:`ascii_stand_in`)."""
        if self.fast is None or stand_in is None:
            match = self.python.search(text)
            return match.span() if match is not None else None
        found = self.fast.search(stand_in)
        return found.span(self.group) if found is not None else None


# A whitespace atom of a pattern: ``\s`` with an optional ?, + or * (any other quantifier, a class,
# literal whitespace, ``.``, ``\W``, ``\D`` or ``\S`` make a pattern unfit for uncollapsed text).
_SPACE_ATOM = re.compile(r"(?<!\\)((?:\\\\)*)\\s([?+*]?)")
_RUN_ATOM = {"": r"\s+", "+": r"\s+", "?": r"\s*", "*": r"\s*"}
_RUNS_UNFIT = re.compile(r"\s|\[|(?<!\\)(?:\\\\)*(?:\.|\\[sWDS])")


def _with_runs(inner: str) -> str | None:
    """``inner`` rewritten to match on text whose whitespace runs are kept what ``inner`` matches
    on the same text with each run collapsed to one space; None when that is not a safe rewrite."""
    if re.search(r"\\s(?:[?+*][?+*{]|\{)", inner):
        return None
    if _RUNS_UNFIT.search(_SPACE_ATOM.sub(r"\1", inner)):
        return None
    return _SPACE_ATOM.sub(lambda m: m.group(1) + _RUN_ATOM[m.group(2)], inner)


def compile_bounded(pattern: re.Pattern[str], *, runs: bool = False) -> BoundedPattern:
    """The :class:`BoundedPattern` for a ``(?<!\\w)(?:...)(?!\\w)`` IGNORECASE pattern.

    With ``runs``, the RE2 twin is meant for text whose whitespace runs were not collapsed: it finds
    (at the same place, up to whitespace) what the Python pattern finds once every run is one space.
    Such a pattern is only usable through its RE2 twin: ``fast`` is None when it cannot be made.
    It is the caller's to make sure no two whitespace atoms of the pattern can match side by side
    (``a\\s?\\s?b``); the risk patterns' differential tests check theirs.
    """
    source = pattern.pattern
    shaped = source.startswith(_HEAD) and source.endswith(_TAIL)
    inner = source[len(_HEAD) : -len(_TAIL)] if shaped else ""
    usable = (
        shaped
        and source.isascii()
        and pattern.flags & re.IGNORECASE
        and not pattern.flags & (re.ASCII | re.MULTILINE | re.DOTALL | re.VERBOSE)
        and not _STAND_INS & set(_QUANTIFIER.sub("", source))  # {0,20} holds no literal 0
        and not any(token in inner for token in _UNSUPPORTED)
    )
    if usable and runs:
        inner = _with_runs(inner) or ""
        usable = bool(inner)
    if not usable:
        return BoundedPattern(pattern, None)
    source = rf"(?:^|\W)(?P<m>{inner})(?:\W|$)"
    try:
        fast = re2.compile(source, _options())
    except re2.error:
        return BoundedPattern(pattern, None)
    return BoundedPattern(pattern, fast, fast.groupindex["m"], source)


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    return options


class PatternSet:
    """Which of several :class:`BoundedPattern` can match, in one RE2 pass over the stand-in.

    RE2::Set reports "no match" also when its DFA fails; a many-match DFA fails only when its
    memory cannot hold a handful of states (it does not bail out when slow), which a budget of
    :data:`SET_MAX_MEM` bytes for these small patterns rules out.
    """

    def __init__(self, patterns: list[BoundedPattern]) -> None:
        self.patterns = patterns
        options = _options()
        options.max_mem = SET_MAX_MEM
        self._set: re2.Set | None = re2.Set.SearchSet(options)
        self._index: dict[int, int] = {}
        try:
            for i, pattern in enumerate(patterns):
                if pattern.fast is not None:
                    self._index[self._set.Add(pattern.source)] = i
            self._set.Compile()
        except re2.error:
            self._set = None

    def search_all(self, text: str, stand_in: bytes | None) -> list[tuple[int, int] | None]:
        """The first match of each pattern in ``text`` (None where it has none)."""
        possible: set[int] | None = None
        if self._set is not None and stand_in is not None:
            possible = {self._index[i] for i in self._set.Match(stand_in) or ()}
        out: list[tuple[int, int] | None] = []
        for i, pattern in enumerate(self.patterns):
            if possible is not None and pattern.fast is not None and i not in possible:
                out.append(None)
            else:
                out.append(pattern.search(text, stand_in))
        return out


@dataclass(frozen=True)
class FastSearch:
    """Whether a Python pattern occurs in a text, answered by RE2 on the ASCII stand-in."""

    python: re.Pattern[str]
    fast: re2._Regexp | None

    def found(self, text: str) -> bool:
        """True when ``self.python.search(text)`` would find a match."""
        stand_in = ascii_stand_in(text) if self.fast is not None else None
        if self.fast is None or stand_in is None:
            return self.python.search(text) is not None
        return self.fast.search(stand_in) is not None


def compile_search(pattern: re.Pattern[str]) -> FastSearch:
    """A :class:`FastSearch` for ``pattern`` (IGNORECASE and MULTILINE are carried over; a
    pattern with lookarounds, back-references or other flags stays with Python)."""
    source = pattern.pattern
    allowed = re.IGNORECASE | re.MULTILINE | re.UNICODE
    usable = (
        source.isascii()
        and not pattern.flags & ~allowed
        and not _STAND_INS & set(_QUANTIFIER.sub("", source))  # {0,20} holds no literal 0
        and not any(token in source for token in _UNSUPPORTED)
        and not re.search(r"\\[1-9]|\(\?P=", source)
    )
    if not usable:
        return FastSearch(pattern, None)
    options = re2.Options()
    options.case_sensitive = not pattern.flags & re.IGNORECASE
    prefix = "(?m)" if pattern.flags & re.MULTILINE else ""
    try:
        return FastSearch(pattern, re2.compile(prefix + source, options))
    except re2.error:
        return FastSearch(pattern, None)
