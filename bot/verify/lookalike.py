"""Lookalike domains: which registered vendor a domain imitates, by which trick, with evidence.

The question is the reverse of dnstwist's: given one domain, find the vendor it imitates. Every
vendor string is indexed once in :class:`LookalikeIndex` so one look-up costs a few dictionary
probes, whatever the size of the registry:

- a *brand* table keyed by the confusable skeleton of each vendor label, alias and name with the
  hyphens removed (TLD swap, homoglyphs, hyphenation, the bare brand, and brand plus words);
- a *token* table keyed by the vendor domain split on dots and hyphens (the vendor's domain used as
  labels of another domain, ``northwind-software.com.evil.example``);
- a symmetric-delete table of each label's prototype with up to two characters removed (typos:
  omission, insertion, repetition, transposition, substitution), confirmed with rapidfuzz.

Registrable domains (PSL) are compared after IDNA decoding; a vendor's own domains, their
subdomains and their registrable parents are never lookalikes.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rapidfuzz.distance import OSA, Levenshtein

from bot.names import normalize_domain, registrable_domain, to_unicode
from bot.registry import Registry, Vendor

TRICKS = (
    "confusable",
    "edit_distance",
    "brand_plus_word",
    "hyphenation",
    "omission",
    "transposition",
    "tld_swap",
    "domain_as_label",
    "insertion",
    "repetition",
    "brand_name",
)

# Lower wins when several tricks match; typos rank below exact and visual tricks.
_PRIORITY = {
    "tld_swap": 0,
    "domain_as_label": 1,
    "confusable": 2,
    "hyphenation": 3,
    "brand_name": 4,
    "brand_plus_word": 5,
    "transposition": 6,
    "omission": 6,
    "repetition": 6,
    "insertion": 6,
    "edit_distance": 7,
}
_KIND_RANK = {"domain": 0, "alias": 1, "name": 2}

MIN_BRAND = 4  # shortest brand (compact skeleton) matched exactly or with words around it
MIN_LEN_D1 = 5  # shortest vendor label compared at edit distance 1
MIN_LEN_D2 = 8  # shortest vendor label compared at edit distance 2
_MIN_TOKEN_LABEL = 3  # shortest vendor label searched for inside other domains
_MAX_WORD_STATES = 48

BRAND_WORDS = frozenset(
    """
    support helpdesk help desk servicedesk service services security secure billing bill it
    update updates upgrade login logon signin signon sso auth verify verification portal team
    admin pay payment payments invoice invoices account accounts mail email online web my app
    apps cloud corp inc group hr tech customer customers care password reset mfa alert alerts
    notice info official access client clients remote connect vpn office status contact center
    centre hq global safe id ops refund ticket tickets docs files share system systems network
    helpline hotline live chat direct renew renewal license licensing partner partners
    """.split()  # noqa: SIM905
)
_WORD_LENGTHS = tuple(sorted({len(w) for w in BRAND_WORDS}))

_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_TOKEN = re.compile(r"[^.-]+")


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


@dataclass(frozen=True, slots=True)
class LookalikeMatch:
    """A domain imitating a registered vendor: whom, which domain, by which trick, and why."""

    vendor_id: str
    vendor_name: str
    imitated: str
    trick: str
    evidence: str

    def to_json(self) -> dict[str, str]:
        """The match as plain JSON."""
        return {
            "vendor_id": self.vendor_id,
            "vendor_name": self.vendor_name,
            "imitated": self.imitated,
            "trick": self.trick,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class _Target:
    """One vendor string that can be imitated."""

    vendor_id: str
    vendor_name: str
    domain: str  # the registered domain (ASCII) reported as imitated
    kind: str  # "domain" (a registered label), "alias" or "name"
    label: str  # ASCII label of the domain's registrable part ("" for aliases and names)
    text: str  # what is compared, as people read it (Unicode label, alias, or compact name)
    compact: str  # text casefolded, without hyphens or spaces
    suffix: str  # public suffix of the domain


@dataclass(frozen=True, slots=True)
class _Query:
    """The domain being checked, split the way the checks need it."""

    domain: str
    unicode: str
    label: str  # ASCII registrable label
    text: str  # Unicode registrable label
    compact: str
    suffix: str
    registrable: str  # Unicode registrable domain


@dataclass(frozen=True, slots=True)
class _Hit:
    key: tuple[int, int, int, int, str, str]
    trick: str
    target: _Target
    evidence: str


@lru_cache(maxsize=65536)
def _label_unicode(label: str) -> str:
    return to_unicode(label) if label.startswith("xn--") else label


def _compact(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _max_distance(length: int) -> int:
    if length >= MIN_LEN_D2:
        return 2
    if length >= MIN_LEN_D1:
        return 1
    return 0


def _deletes(text: str, depth: int) -> set[str]:
    out = {text}
    frontier = {text}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


class LookalikeIndex:
    """Every registered vendor's domains, aliases and name, indexed for lookalike matching."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._owned: set[str] = set()
        self._brands: dict[str, list[_Target]] = {}
        self._tokens: dict[tuple[str, ...], list[_Target]] = {}
        self._token_lengths: tuple[int, ...] = ()
        self._keys: list[tuple[str, int, _Target]] = []
        self._deletes: dict[str, list[int]] = {}
        self._max_key = 0
        for vendor in registry.vendors:
            self._add_vendor(vendor)
        self._token_lengths = tuple(sorted({len(k) for k in self._tokens}))

    # building

    def _add_vendor(self, vendor: Vendor) -> None:
        primary = vendor.domains[0]
        seen_keys: set[str] = set()
        for domain in vendor.domains:
            reg = registrable_domain(domain)
            self._owned.add(reg)
            label, _, suffix = reg.partition(".")
            text = to_unicode(label)
            target = _Target(
                vendor.id, vendor.name, domain, "domain", label, text, _compact(text), suffix
            )
            self._add_brand(target)
            self._add_tokens(target, to_unicode(reg))
            self._add_key(prototype(text), target, seen_keys)
        suffix = registrable_domain(primary).partition(".")[2]
        for alias in vendor.aliases:
            target = _Target(
                vendor.id, vendor.name, primary, "alias", "", alias, _compact(alias), suffix
            )
            self._add_brand(target)
            self._add_key(prototype(target.compact), target, seen_keys)
        name = _compact(vendor.name)
        self._add_brand(_Target(vendor.id, vendor.name, primary, "name", "", name, name, suffix))

    def _add_brand(self, target: _Target) -> None:
        key = skeleton(target.compact)
        if len(key) < MIN_BRAND and target.kind != "domain":
            return
        bucket = self._brands.setdefault(key, [])
        if target not in bucket:
            bucket.append(target)

    def _add_tokens(self, target: _Target, unicode_domain: str) -> None:
        if len(target.compact) < _MIN_TOKEN_LABEL:
            return
        tokens = tuple(skeleton(t) for t in _TOKEN.findall(unicode_domain))
        if len(tokens) >= 2:
            self._tokens.setdefault(tokens, []).append(target)

    def _add_key(self, key: str, target: _Target, seen: set[str]) -> None:
        depth = _max_distance(len(key))
        if depth == 0 or key in seen:
            return
        seen.add(key)
        index = len(self._keys)
        self._keys.append((key, depth, target))
        self._max_key = max(self._max_key, len(key))
        for variant in _deletes(key, depth):
            self._deletes.setdefault(variant, []).append(index)

    # matching

    def match(self, domain: str) -> LookalikeMatch | None:
        """The registered vendor ``domain`` imitates, with the trick and evidence; else None.

        ``domain`` may be Unicode or punycode; malformed input raises ``InvalidName``. A
        registered vendor domain, its subdomains, and other names under a vendor's registrable
        domain are never lookalikes.
        """
        domain = normalize_domain(domain)
        if self._registry.by_domain(domain) is not None:
            return None
        reg = registrable_domain(domain)
        if reg in self._owned:
            return None
        label, _, suffix = reg.partition(".")
        labels = [_label_unicode(part) for part in domain.split(".")]
        text = labels[-1 - reg.count(".")]
        query = _Query(
            domain,
            ".".join(labels),
            label,
            text,
            _compact(text),
            suffix,
            ".".join(labels[-1 - reg.count(".") :]),
        )
        hits: list[_Hit] = []
        self._exact(query, hits)
        self._embedded(query, hits)
        if not hits:
            self._brand_words(query, hits)
            self._typos(query, hits)
        if not hits:
            return None
        best = min(hits, key=lambda h: h.key)
        return LookalikeMatch(
            vendor_id=best.target.vendor_id,
            vendor_name=best.target.vendor_name,
            imitated=best.target.domain,
            trick=best.trick,
            evidence=best.evidence,
        )

    def _hit(
        self, hits: list[_Hit], trick: str, target: _Target, distance: int, evidence: str
    ) -> None:
        key = (
            _PRIORITY[trick],
            distance,
            _KIND_RANK[target.kind],
            -len(target.text),
            target.vendor_id,
            target.domain,
        )
        hits.append(_Hit(key, trick, target, evidence))

    def _exact(self, q: _Query, hits: list[_Hit]) -> None:
        """Same brand skeleton: TLD swap, homoglyphs, hyphenation, or the bare brand."""
        for t in self._brands.get(skeleton(q.compact), ()):
            if t.kind == "domain":
                if q.label == t.label:
                    if q.suffix != t.suffix:
                        self._hit(hits, "tld_swap", t, 0, _tld_evidence(q, t))
                    continue
                trick = "hyphenation" if q.compact == t.compact else "confusable"
            else:
                trick = "brand_name" if q.compact == t.compact else "confusable"
            self._hit(hits, trick, t, 0, _change_evidence(q, t))

    def _embedded(self, q: _Query, hits: list[_Hit]) -> None:
        """A vendor domain written as labels (dots or hyphens) of another domain."""
        spans = [(m.start(), m.end(), skeleton(m.group())) for m in _TOKEN.finditer(q.unicode)]
        skels = tuple(s for _, _, s in spans)
        tail = len(q.unicode) - len(q.registrable)
        for size in self._token_lengths:
            for start in range(len(skels) - size + 1):
                found = self._tokens.get(skels[start : start + size])
                if not found:
                    continue
                if start + size == len(skels) and spans[start][0] >= tail:
                    continue  # the registrable domain itself: the label checks judge it
                written = q.unicode[spans[start][0] : spans[start + size - 1][1]]
                for t in found:
                    self._hit(hits, "domain_as_label", t, 0, _embedded_evidence(q, t, written))

    def _brand_words(self, q: _Query, hits: list[_Hit]) -> None:
        """The vendor's brand with words such as 'support' or 'login' before or after it."""
        if len(q.compact) < MIN_BRAND + 2:
            return
        for core, words in _strip_words(q.compact):
            for t in self._brands.get(skeleton(core), ()):
                self._hit(
                    hits, "brand_plus_word", t, len(words), _words_evidence(q, t, core, words)
                )

    def _typos(self, q: _Query, hits: list[_Hit]) -> None:
        """Edit distance 1-2 on the label prototype (symmetric-delete index, OSA to confirm)."""
        skel = prototype(q.text)
        size = len(skel)
        if size < MIN_LEN_D1 - 1 or size > self._max_key + 2:
            return
        depth = 2 if size >= MIN_LEN_D2 - 2 else 1
        candidates: set[int] = set()
        for variant in _deletes(skel, depth):
            found = self._deletes.get(variant)
            if found:
                candidates.update(found)
        for index in candidates:
            key, allowed, t = self._keys[index]
            distance = OSA.distance(skel, key, score_cutoff=allowed)
            if distance == 0 or distance > allowed:
                continue
            trick = _typo_trick(skel, key, distance)
            self._hit(hits, trick, t, distance, _change_evidence(q, t, distance))


def _strip_words(compact: str) -> Iterable[tuple[str, tuple[str, ...]]]:
    """Every core left after removing one or more brand words from either end, with the words."""
    seen = {compact}
    frontier: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [(compact, (), ())]
    while frontier and len(seen) < _MAX_WORD_STATES:
        following: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        for text, before, after in frontier:
            for n in _WORD_LENGTHS:
                if len(text) - n < MIN_BRAND:
                    break
                head, tail = text[:n], text[-n:]
                if head in BRAND_WORDS and text[n:] not in seen:
                    seen.add(text[n:])
                    following.append((text[n:], (*before, head), after))
                if tail in BRAND_WORDS and text[:-n] not in seen:
                    seen.add(text[:-n])
                    following.append((text[:-n], before, (tail, *after)))
        for core, before, after in following:
            yield core, (*before, *after)
        frontier = following


def _typo_trick(candidate: str, key: str, distance: int) -> str:
    if distance != 1:
        return "edit_distance"
    if len(candidate) < len(key):
        return "omission"
    if len(candidate) > len(key):
        pos = next(iter(Levenshtein.editops(key, candidate))).dest_pos
        doubled = (pos > 0 and candidate[pos - 1] == candidate[pos]) or (
            pos + 1 < len(candidate) and candidate[pos + 1] == candidate[pos]
        )
        return "repetition" if doubled else "insertion"
    if Levenshtein.distance(candidate, key) == 2:
        return "transposition"
    return "edit_distance"


# evidence


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


def _changes(target: str, candidate: str) -> list[str]:
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


def _label_ref(q: _Query) -> str:
    ref = f"'{q.text}'"
    return ref + (f" ({q.label})" if q.text != q.label else "")


def _target_ref(t: _Target) -> str:
    if t.kind == "domain":
        return f"'{t.text}'"
    what = "alias" if t.kind == "alias" else "name"
    return f"'{t.text}' ({t.vendor_name}'s {what})"


def _suffix_note(q: _Query, t: _Target) -> str:
    if t.kind != "domain" or q.suffix == t.suffix:
        return ""
    return f", under '.{q.suffix}' instead of '.{t.suffix}'"


def _change_evidence(q: _Query, t: _Target, distance: int = 0) -> str:
    if t.kind != "domain" and q.compact == t.compact:
        what = "alias" if t.kind == "alias" else "name"
        return (
            f"'{q.registrable}' spells {t.vendor_name}'s {what} '{t.text}' but is not one of "
            f"its registered domains ({t.domain})"
        )
    text = _join(_changes(t.text, q.text)) or "the same letters"
    tail = f" (edit distance {distance})" if distance else ""
    return f"{_label_ref(q)} is {_target_ref(t)} with {text}{tail}{_suffix_note(q, t)}"


def _tld_evidence(q: _Query, t: _Target) -> str:
    theirs = to_unicode(t.suffix)
    ours = q.registrable[len(q.text) + 1 :]
    return (
        f"'{q.registrable}' is {t.vendor_name}'s domain '{t.text}.{theirs}' "
        f"under '.{ours}' instead of '.{theirs}'"
    )


def _embedded_evidence(q: _Query, t: _Target, written: str) -> str:
    vendor_domain = to_unicode(f"{t.label}.{t.suffix}")
    shown = (
        f"'{vendor_domain}'" if written == vendor_domain else f"'{vendor_domain}' as '{written}'"
    )
    return (
        f"'{q.unicode}' carries {t.vendor_name}'s domain {shown} in its labels, but it is "
        f"registered under '{q.registrable}', which is not the vendor's"
    )


def _words_evidence(q: _Query, t: _Target, core: str, words: tuple[str, ...]) -> str:
    added = _join([f"'{w}'" for w in dict.fromkeys(words)])
    text = f"{_label_ref(q)} is {_target_ref(t)} with {added} added"
    if core != t.compact:
        text += " and " + _join(_changes(t.compact, core))
    return text
