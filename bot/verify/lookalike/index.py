"""The lookalike index: every vendor string indexed once, and the matching of one domain.

Four tables (brand skeletons, domain tokens, a symmetric-delete table of label prototypes, and the
vendors' own registrable domains) make one look-up cost a few dictionary probes, whatever the size
of the registry. When several tricks match, the lowest priority wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.names import normalize_domain, registrable_domain, to_unicode
from bot.registry import Registry, Vendor
from bot.verify.lookalike.evidence import (
    change_evidence,
    dotless_evidence,
    embedded_evidence,
    split_evidence,
    tld_evidence,
    words_evidence,
)
from bot.verify.lookalike.model import LookalikeMatch, Query, Target, compact_text
from bot.verify.lookalike.skeleton import loose_skeleton, prototype, skeleton
from bot.verify.lookalike.words import MIN_BRAND, strip_words

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
    "label_split": 1,
    "dot_omission": 1,
}
_KIND_RANK = {"domain": 0, "dotless": 0, "alias": 1, "name": 2}
MIN_LOOSE = 6  # shortest brand compared by its loose skeleton (several homoglyphs at once)

MIN_LEN_D1 = 5  # shortest vendor label compared at edit distance 1
MIN_LEN_D2 = 8  # shortest vendor label compared at edit distance 2
_MIN_TOKEN_LABEL = 3  # shortest vendor label searched for inside other domains
_TOKEN = re.compile(r"[^.-]+")


@dataclass(frozen=True, slots=True)
class _Hit:
    key: tuple[int, int, int, int, str, str]
    trick: str
    target: Target
    evidence: str


@lru_cache(maxsize=65536)
def _label_unicode(label: str) -> str:
    return to_unicode(label) if label.startswith("xn--") else label


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
        self._brands: dict[str, list[Target]] = {}
        self._loose: dict[str, list[Target]] = {}
        self._derived: dict[str, list[Target]] = {}
        self._tokens: dict[tuple[str, ...], list[Target]] = {}
        self._token_lengths: tuple[int, ...] = ()
        self._keys: list[tuple[str, int, Target]] = []
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
            target = Target(
                vendor.id, vendor.name, domain, "domain", label, text, compact_text(text), suffix
            )
            self._add_brand(target)
            self._add_loose(target)
            self._add_dotless(target)
            self._add_tokens(target, to_unicode(reg))
            self._add_key(prototype(text), target, seen_keys)
        suffix = registrable_domain(primary).partition(".")[2]
        for alias in vendor.aliases:
            target = Target(
                vendor.id, vendor.name, primary, "alias", "", alias, compact_text(alias), suffix
            )
            self._add_brand(target)
            self._add_loose(target)
            self._add_dotless(target)
            self._add_key(prototype(target.compact), target, seen_keys)
        name = compact_text(vendor.name)
        self._add_brand(Target(vendor.id, vendor.name, primary, "name", "", name, name, suffix))
        if not vendor.aliases:
            self._add_derived(vendor, primary, suffix)

    def _add_loose(self, target: Target) -> None:
        if len(target.compact) >= MIN_LOOSE:
            bucket = self._loose.setdefault(loose_skeleton(target.compact), [])
            if target not in bucket:
                bucket.append(target)

    def _add_dotless(self, target: Target) -> None:
        """The brand with its TLD run on, no dot: ``northwind-softwarecom``, ``contosocom``."""
        tld = compact_text(to_unicode(target.suffix))
        text = f"{target.text}{tld}"
        dotless = Target(
            target.vendor_id,
            target.vendor_name,
            target.domain,
            "dotless",
            target.label,
            text,
            compact_text(text),
            target.suffix,
        )
        self._add_brand(dotless)

    def _add_derived(self, vendor: Vendor, primary: str, suffix: str) -> None:
        """A vendor with no alias: its brand is the first word of its name when its domain
        starts with it ("Northwind Software", northwind-software.com → northwind)."""
        words = vendor.name.split()
        brand = compact_text(words[0]) if words else ""
        label = compact_text(to_unicode(registrable_domain(primary).partition(".")[0]))
        if len(brand) < MIN_BRAND + 1 or brand == label or not label.startswith(brand):
            return
        target = Target(vendor.id, vendor.name, primary, "alias", "", brand, brand, suffix)
        self._derived.setdefault(skeleton(brand), []).append(target)

    def _add_brand(self, target: Target) -> None:
        key = skeleton(target.compact)
        if len(key) < MIN_BRAND and target.kind != "domain":
            return
        bucket = self._brands.setdefault(key, [])
        if target not in bucket:
            bucket.append(target)

    def _add_tokens(self, target: Target, unicode_domain: str) -> None:
        if len(target.compact) < _MIN_TOKEN_LABEL:
            return
        tokens = tuple(skeleton(t) for t in _TOKEN.findall(unicode_domain))
        if len(tokens) >= 2:
            self._tokens.setdefault(tokens, []).append(target)

    def _add_key(self, key: str, target: Target, seen: set[str]) -> None:
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
        query = Query(
            domain,
            ".".join(labels),
            label,
            text,
            compact_text(text),
            suffix,
            ".".join(labels[-1 - reg.count(".") :]),
        )
        hits: list[_Hit] = []
        self._exact(query, hits)
        self._embedded(query, hits)
        self._split(query, labels, len(labels) - 1 - reg.count("."), hits)
        if not hits:
            self._brand_words(query, hits)
            self._typos(query, hits)
        if not hits:
            self._loose_match(query, hits)
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
        self, hits: list[_Hit], trick: str, target: Target, distance: int, evidence: str
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

    def _exact(self, q: Query, hits: list[_Hit]) -> None:
        """Same brand skeleton: TLD swap, homoglyphs, hyphenation, or the bare brand."""
        for t in self._brands.get(skeleton(q.compact), ()):
            if t.kind == "dotless":
                self._hit(hits, "dot_omission", t, 0, dotless_evidence(q, t))
                continue
            if t.kind == "domain":
                if q.label == t.label:
                    if q.suffix != t.suffix:
                        self._hit(hits, "tld_swap", t, 0, tld_evidence(q, t))
                    continue
                trick = "hyphenation" if q.compact == t.compact else "confusable"
            else:
                trick = "brand_name" if q.compact == t.compact else "confusable"
            self._hit(hits, trick, t, 0, change_evidence(q, t))

    def _embedded(self, q: Query, hits: list[_Hit]) -> None:
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
                    self._hit(hits, "domain_as_label", t, 0, embedded_evidence(q, t, written))

    def _split(self, q: Query, labels: list[str], first_reg: int, hits: list[_Hit]) -> None:
        """A vendor's label split by a dot: ``north.wind-software.com``, ``contoso.payroll.com``."""
        for start in range(first_reg):
            joined = compact_text("".join(labels[start : first_reg + 1]))
            for t in self._brands.get(skeleton(joined), ()):
                if t.kind in ("domain", "alias"):
                    written = ".".join(labels[start : first_reg + 1])
                    self._hit(hits, "label_split", t, 0, split_evidence(q, t, written))

    def _loose_match(self, q: Query, hits: list[_Hit]) -> None:
        """Several homoglyph swaps at once (``morthvvind-software``, ``northwimcl-software``)."""
        if len(q.compact) < MIN_LOOSE:
            return
        for t in self._loose.get(loose_skeleton(q.compact), ()):
            self._hit(hits, "confusable", t, 0, change_evidence(q, t))

    def _brand_words(self, q: Query, hits: list[_Hit]) -> None:
        """The vendor's brand with words such as 'support' or 'login' before or after it."""
        if len(q.compact) < MIN_BRAND + 2:
            return
        for core, words in strip_words(q.compact):
            key = skeleton(core)
            for t in (*self._brands.get(key, ()), *self._derived.get(key, ())):
                if t.kind == "dotless":
                    continue
                self._hit(hits, "brand_plus_word", t, len(words), words_evidence(q, t, core, words))

    def _typos(self, q: Query, hits: list[_Hit]) -> None:
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
        if not candidates:
            return
        from rapidfuzz.distance import OSA  # only once a typo is possible

        for index in candidates:
            key, allowed, t = self._keys[index]
            distance = OSA.distance(skel, key, score_cutoff=allowed)
            if distance == 0 or distance > allowed:
                continue
            trick = _typo_trick(skel, key, distance)
            self._hit(hits, trick, t, distance, change_evidence(q, t, distance))


def _typo_trick(candidate: str, key: str, distance: int) -> str:
    from rapidfuzz.distance import Levenshtein

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
