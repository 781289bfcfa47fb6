"""Benchmark lookalike matching: 5,000 synthetic vendors, 10,000 domains (lookalikes + unrelated).

Run from the repository root: ``.venv/bin/python bench/bench_lookalike.py``. Prints the index
build time, microseconds per domain (mean, median, p99; one core, cold name caches), and how
many generated lookalikes were caught, per trick. The target is under 200 µs per domain.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.names import normalize_domain, registrable_domain
from bot.registry import Callback, Registry, Vendor
from bot.verify.lookalike import LookalikeIndex

VENDORS = 5_000
DOMAINS = 10_000
SEED = 20260915

# Vendor names and unrelated names are built from disjoint syllables, so that "unrelated" is
# a fair stand-in for true negatives (random names from one pool are often 1-2 edits apart).
SYLLABLES = [
    "ab",
    "ac",
    "ad",
    "al",
    "am",
    "an",
    "ar",
    "as",
    "at",
    "ba",
    "be",
    "bi",
    "bo",
    "ca",
    "ce",
    "co",
    "da",
    "de",
    "di",
    "do",
    "el",
    "em",
    "en",
    "er",
    "es",
    "fa",
    "fe",
    "fi",
    "fo",
    "ga",
    "ge",
    "go",
    "ha",
    "he",
    "ho",
    "in",
    "ka",
    "ke",
    "ki",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "mu",
    "na",
    "ne",
    "ni",
    "no",
    "nu",
    "or",
    "pa",
    "pe",
    "pi",
    "po",
    "ra",
    "re",
    "ri",
    "ro",
    "ru",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "tu",
    "va",
    "ve",
    "vi",
    "vo",
    "xa",
    "xe",
    "za",
    "ze",
    "zi",
    "zo",
    "quan",
    "tron",
    "dex",
    "lyx",
    "vor",
    "mar",
    "nex",
    "sol",
    "ter",
    "vel",
    "zan",
    "cor",
    "fin",
    "gen",
]
OTHER_SYLLABLES = [
    "bru",
    "glu",
    "kwy",
    "pry",
    "stu",
    "thy",
    "ump",
    "wyv",
    "yog",
    "zug",
    "blo",
    "cry",
    "dwe",
    "flu",
    "gro",
    "hul",
    "jub",
    "kly",
    "mog",
    "oob",
    "plu",
    "qix",
    "rhy",
    "sny",
    "twu",
    "ug",
    "vly",
    "wub",
    "yuk",
    "zyx",
]
SECTORS = ("Systems", "Software", "Labs", "Networks", "Payroll", "Cloud", "Data", "Security")
TLDS = ("com", "com", "com", "net", "io", "co.uk", "de", "fr", "org", "ch")
WORDS = ("support", "helpdesk", "security", "billing", "it", "login", "portal", "secure", "team")
COMMON = [
    "google.com",
    "microsoft.com",
    "github.com",
    "example.org",
    "amazon.com",
    "apple.com",
    "paypal.com",
    "slack.com",
    "zoom.us",
    "wikipedia.org",
    "bbc.co.uk",
    "nytimes.com",
    "office.com",
    "okta.com",
    "salesforce.com",
    "dropbox.com",
]
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "x": "х", "y": "у"}
ASCII_TRICKS = (("o", "0"), ("l", "1"), ("i", "l"), ("m", "rn"), ("w", "vv"))


def word(rng: random.Random, parts: int, pool: tuple[str, ...] | list[str] = SYLLABLES) -> str:
    return "".join(rng.choice(pool) for _ in range(parts))


def make_registry(rng: random.Random) -> Registry:
    vendors: list[Vendor] = []
    used: set[str] = set()
    callback = Callback(phone="+12065550100", instructions="Ask for the security desk.")
    while len(vendors) < VENDORS:
        brand = word(rng, rng.choice((2, 3, 3, 4)))
        sector = rng.choice(SECTORS)
        label = rng.choice((brand, f"{brand}-{sector.lower()}", f"{brand}{sector.lower()}"))
        domains = [f"{label}.{rng.choice(TLDS)}"]
        if rng.random() < 0.3:
            domains.append(f"{brand}.{rng.choice(TLDS)}")
        if brand in used or any(d in used for d in domains):
            continue
        used.update([brand, *domains])
        vendors.append(
            Vendor(
                id=f"v{len(vendors)}",
                name=f"{brand.title()} {sector}",
                domains=tuple(domains),
                aliases=(brand,) if rng.random() < 0.5 else (),
                callback=callback,
                privileged=False,
                last_reviewed=dt.date(2026, 1, 1),
                owner="Vendor management",
            )
        )
    return Registry(vendors, source="<synthetic>")


def typo(rng: random.Random, label: str) -> tuple[str, str]:
    i = rng.randrange(1, len(label) - 1)
    kind = rng.choice(("omission", "transposition", "repetition", "insertion", "substitution"))
    if kind == "omission":
        return kind, label[:i] + label[i + 1 :]
    if kind == "transposition":
        return kind, label[: i - 1] + label[i] + label[i - 1] + label[i + 1 :]
    if kind == "repetition":
        return kind, label[:i] + label[i] + label[i:]
    letter = rng.choice("bdfghjkqsuvwxz")
    if kind == "insertion":
        return kind, label[:i] + letter + label[i:]
    return kind, label[:i] + letter + label[i + 1 :]


def lookalike(rng: random.Random, vendor: Vendor) -> tuple[str, str]:
    domain = rng.choice(vendor.domains)
    reg = registrable_domain(domain)
    label, _, suffix = reg.partition(".")
    trick = rng.choice(
        ("confusable", "ascii", "typo", "tld", "hyphen", "word", "as_label", "as_label_hyphen")
    )
    if trick == "confusable":
        spots = [i for i, ch in enumerate(label) if ch in HOMOGLYPHS]
        if spots:
            i = rng.choice(spots)
            return trick, f"{label[:i]}{HOMOGLYPHS[label[i]]}{label[i + 1 :]}.{suffix}"
        trick = "typo"
    if trick == "ascii":
        options = [(a, b) for a, b in ASCII_TRICKS if a in label]
        if options:
            a, b = rng.choice(options)
            return trick, f"{label.replace(a, b, 1)}.{suffix}"
        trick = "typo"
    if trick == "typo":
        kind, text = typo(rng, label)
        return kind, f"{text}.{suffix}"
    if trick == "tld":
        return trick, f"{label}.{rng.choice([t for t in TLDS if t != suffix])}"
    if trick == "hyphen":
        text = label.replace("-", "") if "-" in label else f"{label[:3]}-{label[3:]}"
        return trick, f"{text}.{suffix}"
    if trick == "word":
        w = rng.choice(WORDS)
        text = f"{label}-{w}" if rng.random() < 0.5 else f"{w}{label}"
        return trick, f"{text}.{rng.choice(TLDS)}"
    evil = f"{word(rng, 3, OTHER_SYLLABLES)}.{rng.choice(TLDS)}"
    if trick == "as_label":
        return trick, f"{domain}.{evil}"
    return trick, f"{domain.replace('.', '-')}.{evil}"


def main() -> None:
    rng = random.Random(SEED)
    registry = make_registry(rng)
    started = time.perf_counter()
    index = LookalikeIndex(registry)
    build = time.perf_counter() - started

    cases: list[tuple[str, str]] = []  # (domain, generated trick or "unrelated")
    while len(cases) < DOMAINS:
        if rng.random() < 0.5:
            trick, domain = lookalike(rng, rng.choice(registry.vendors))
            if registry.by_domain(normalize_domain(domain)) is None:  # a typo can undo itself
                cases.append((domain, trick))
        elif rng.random() < 0.05:
            cases.append((rng.choice(COMMON), "unrelated"))
        else:
            name = word(rng, rng.choice((2, 3, 4)), OTHER_SYLLABLES)
            cases.append((f"{name}.{rng.choice(TLDS)}", "unrelated"))
    domains = [normalize_domain(d) for d, _ in cases]

    timings: list[int] = []
    results = []
    clock = time.perf_counter_ns
    total_start, cpu_start = time.perf_counter(), time.process_time()
    for domain in domains:
        t0 = clock()
        results.append(index.match(domain))
        timings.append(clock() - t0)
    total, cpu = time.perf_counter() - total_start, time.process_time() - cpu_start

    caught: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    tricks: Counter[str] = Counter()
    for (_, generated), result in zip(cases, results, strict=True):
        seen[generated] += 1
        if result is not None:
            caught[generated] += 1
            tricks[result.trick] += 1

    micro = sorted(t / 1000 for t in timings)
    print(f"vendors: {len(registry)}  domains checked: {len(domains)}")
    print(f"index build: {build * 1000:.0f} ms")
    print(
        f"match: {total / len(domains) * 1e6:.1f} us/domain mean "
        f"(median {statistics.median(micro):.1f}, p99 {micro[int(len(micro) * 0.99)]:.1f}, "
        f"max {micro[-1]:.0f}); target < 200"
    )
    print(f"match CPU time: {cpu / len(domains) * 1e6:.1f} us/domain (wall time above)")
    print("caught per generated trick:")
    for name in sorted(seen):
        print(f"  {name:16} {caught[name]:5} / {seen[name]:5}")
    print("tricks reported:", ", ".join(f"{k}={v}" for k, v in tricks.most_common()))


if __name__ == "__main__":
    main()
