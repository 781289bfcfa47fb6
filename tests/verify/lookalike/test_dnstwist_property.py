"""Property: every permutation dnstwist makes of a vendor domain is flagged by verify.

dnstwist (another project's fuzzer, used as a library) writes the attacks; the identity check must
call each one a lookalike of the right vendor, or a domain the vendor owns. The one exception is
a permutation that drops the brand altogether: dnstwist's dictionary fuzzer replacing the vendor's
name by a word (``login-software.com`` for ``northwind-software.com``) imitates nobody.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import dnstwist
import pytest

from bot.registry import Callback, Registry, RegistryHolder, Vendor
from bot.verify.identity import IdentityResolver
from bot.verify.lookalike.model import compact_text
from bot.verify.lookalike.words import BRAND_WORDS

WORDS = ["login", "support", "secure", "mail", "portal", "help", "account", "verify"]
TLDS = ["net", "org", "io", "co", "info"]


def _vendor(vid: str, name: str, domains: list[str], aliases: tuple[str, ...] = ()) -> Vendor:
    return Vendor(
        id=vid,
        name=name,
        domains=tuple(domains),
        callback=Callback(phone="+12065550100", instructions="Ask for the duty engineer."),
        privileged=True,
        last_reviewed=dt.date(2026, 10, 1),
        owner="it-vendor-mgmt",
        aliases=aliases,
    )


REGISTRY = Registry(
    [
        _vendor("northwind", "Northwind Software", ["northwind-software.com"]),  # no alias
        _vendor("contoso", "Contoso Payroll", ["contosopayroll.com"], ("contoso",)),
        _vendor("fabrikam", "Fabrikam Hardware", ["fabrikam.co.uk"]),
        _vendor("tailspin", "Tailspin Toys", ["tailspintoys.com"]),
    ]
)
IDENTITIES = IdentityResolver(RegistryHolder(REGISTRY), review_interval_days=3650)


def _drops_the_brand(vendor: Vendor, domain: str, fuzzer: str) -> bool:
    if fuzzer != "dictionary":
        return False
    brands = {compact_text(vendor.name.split()[0]), *(compact_text(a) for a in vendor.aliases)}
    brands |= {compact_text(d.split(".")[0]) for d in vendor.domains}
    text = compact_text(domain.split(".")[0])
    return not any(b in text for b in brands)


@pytest.mark.parametrize("vendor", REGISTRY.vendors, ids=lambda v: v.id)
def test_every_dnstwist_permutation_is_flagged(vendor: Vendor) -> None:
    missed: list[str] = []
    wrong: list[str] = []
    tried: Counter[str] = Counter()
    for domain in vendor.domains:
        fuzzer = dnstwist.Fuzzer(domain, dictionary=WORDS, tld_dictionary=TLDS)
        fuzzer.generate()
        for item in fuzzer.permutations():
            name, kind = str(item["domain"]), str(item["fuzzer"])
            if kind == "*original" or _drops_the_brand(vendor, name, kind):
                continue
            tried[kind] += 1
            identity = IDENTITIES.identify_domain(name)
            if identity.vendor is not None:
                continue  # one of the vendor's own domains
            if identity.match is None:
                missed.append(f"{name} ({kind})")
            elif identity.match.vendor_id != vendor.id:
                wrong.append(f"{name} ({kind}) → {identity.match.vendor_id}")
    assert sum(tried.values()) > 100
    assert {"homoglyph", "bitsquatting", "subdomain", "tld-swap", "dictionary"} <= set(tried)
    assert missed == []
    assert wrong == []


def test_brand_dropping_words_are_the_only_exclusion() -> None:
    vendor = REGISTRY.get("northwind")
    assert vendor is not None
    assert _drops_the_brand(vendor, "login-software.com", "dictionary")
    assert not _drops_the_brand(vendor, "northwind-login.com", "dictionary")
    assert not _drops_the_brand(vendor, "login-software.com", "homoglyph")
    assert "login" in BRAND_WORDS
