"""Evidence: what was done to a vendor's name to write the lookalike, in plain sentences."""

from __future__ import annotations

import difflib
import unicodedata

from bot.names import to_unicode
from bot.verify.lookalike.model import Query, Target
from bot.verify.lookalike.skeleton import skeleton


def _quote(text: str) -> str:
    names = [
        f"U+{ord(ch):04X} {unicodedata.name(ch, '?')}"
        for ch in dict.fromkeys(text)
        if ord(ch) > 127
    ]
    return f"'{text}'" + (f" ({', '.join(names)})" if names else "")


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def changes(target: str, candidate: str) -> list[str]:
    """What was done to ``target`` to write ``candidate``, as short phrases."""
    if len(target) == len(candidate):
        diff = [i for i, (a, b) in enumerate(zip(target, candidate, strict=True)) if a != b]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            a, b = diff
            if target[a] == candidate[b] and target[b] == candidate[a]:
                return [f"'{target[a : b + 1]}' swapped to {_quote(candidate[a : b + 1])}"]
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, target, candidate, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = target[i1:i2], candidate[j1:j2]
        if tag == "replace":
            verb = "written as" if skeleton(old) == skeleton(new) else "changed to"
            out.append(f"'{old}' {verb} {_quote(new)}")
        elif tag == "delete":
            out.append("the hyphen dropped" if old == "-" else f"'{old}' left out")
        elif tag == "insert":
            if new == "-":
                out.append("a hyphen added")
            elif len(new) == 1 and new in (candidate[j1 - 1 : j1], candidate[j2 : j2 + 1]):
                out.append(f"{_quote(new)} doubled")
            else:
                out.append(f"an extra {_quote(new)}")
    return out


def _label_ref(q: Query) -> str:
    ref = f"'{q.text}'"
    return ref + (f" ({q.label})" if q.text != q.label else "")


def _target_ref(t: Target) -> str:
    if t.kind == "domain":
        return f"'{t.text}'"
    what = "alias" if t.kind == "alias" else "name"
    return f"'{t.text}' ({t.vendor_name}'s {what})"


def _suffix_note(q: Query, t: Target) -> str:
    if t.kind != "domain" or q.suffix == t.suffix:
        return ""
    return f", under '.{q.suffix}' instead of '.{t.suffix}'"


def change_evidence(q: Query, t: Target, distance: int = 0) -> str:
    if t.kind != "domain" and q.compact == t.compact:
        what = "alias" if t.kind == "alias" else "name"
        return (
            f"'{q.registrable}' spells {t.vendor_name}'s {what} '{t.text}' but is not one of "
            f"its registered domains ({t.domain})"
        )
    text = _join(changes(t.text, q.text)) or "the same letters"
    tail = f" (edit distance {distance})" if distance else ""
    return f"{_label_ref(q)} is {_target_ref(t)} with {text}{tail}{_suffix_note(q, t)}"


def tld_evidence(q: Query, t: Target) -> str:
    theirs = to_unicode(t.suffix)
    ours = q.registrable[len(q.text) + 1 :]
    return (
        f"'{q.registrable}' is {t.vendor_name}'s domain '{t.text}.{theirs}' "
        f"under '.{ours}' instead of '.{theirs}'"
    )


def embedded_evidence(q: Query, t: Target, written: str) -> str:
    vendor_domain = to_unicode(f"{t.label}.{t.suffix}")
    shown = (
        f"'{vendor_domain}'" if written == vendor_domain else f"'{vendor_domain}' as '{written}'"
    )
    return (
        f"'{q.unicode}' carries {t.vendor_name}'s domain {shown} in its labels, but it is "
        f"registered under '{q.registrable}', which is not the vendor's"
    )


def words_evidence(q: Query, t: Target, core: str, words: tuple[str, ...]) -> str:
    added = _join([f"'{w}'" for w in dict.fromkeys(words)])
    text = f"{_label_ref(q)} is {_target_ref(t)} with {added} added"
    if core != t.compact:
        text += " and " + _join(changes(t.compact, core))
    return text
