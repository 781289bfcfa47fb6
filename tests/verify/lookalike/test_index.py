"""Lookalike matching against the fixture registry and small registries built for one rule."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.names import InvalidName
from bot.registry import Registry, parse_registry
from bot.verify.lookalike import TRICKS, LookalikeIndex, LookalikeMatch


def _vendor(vid: str, name: str, domains: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": vid,
        "name": name,
        "domains": domains,
        "callback": {"phone": "+1 206 555 0142", "instructions": "Ask for the security desk."},
        "privileged": False,
        "last_reviewed": "2026-01-01",
        "owner": "Vendor management",
        **extra,
    }


def _index(*vendors: dict[str, Any]) -> LookalikeIndex:
    return LookalikeIndex(parse_registry({"vendors": list(vendors)}))


@pytest.fixture
def index(registry: Registry) -> LookalikeIndex:
    return LookalikeIndex(registry)


def _match(index: LookalikeIndex, domain: str) -> LookalikeMatch:
    found = index.match(domain)
    assert found is not None, f"{domain} was not flagged"
    return found


# every trick, against tests/fixtures/vendors.yml


@pytest.mark.parametrize(
    ("domain", "vendor_id", "imitated", "trick", "evidence"),
    [
        # confusable characters (ASCII and Unicode homoglyphs)
        ("northwlnd.io", "northwind", "northwind.io", "confusable", "'i' written as 'l'"),
        ("n0rthwind.io", "northwind", "northwind.io", "confusable", "'o' written as '0'"),
        ("fabrikarn.co.uk", "fabrikam", "fabrikam.co.uk", "confusable", "'m' written as 'rn'"),
        ("northvvind.io", "northwind", "northwind.io", "confusable", "'w' written as 'vv'"),
        (
            "contosopayrol1.com",
            "contoso-payroll",
            "contosopayroll.com",
            "confusable",
            "'l' written as '1'",
        ),
        (
            "northwіnd-software.com",
            "northwind",
            "northwind-software.com",
            "confusable",
            "U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I",
        ),
        ("nοrthwind.io", "northwind", "northwind.io", "confusable", "GREEK SMALL LETTER OMICRON"),
        ("nörthwind.io", "northwind", "northwind.io", "confusable", "'o' written as 'ö'"),
        ("c0ntoso.com", "contoso-payroll", "contosopayroll.com", "confusable", "alias"),
        # typos on the registrable label
        ("northwnd.io", "northwind", "northwind.io", "omission", "'i' left out"),
        ("nortwhind.io", "northwind", "northwind.io", "transposition", "'hw' swapped to 'wh'"),
        ("northwinnd.io", "northwind", "northwind.io", "repetition", "'n' doubled"),
        ("northwinds.io", "northwind", "northwind.io", "insertion", "an extra 's'"),
        ("northwxnd.io", "northwind", "northwind.io", "edit_distance", "'i' changed to 'x'"),
        ("nrthwnd.io", "northwind", "northwind.io", "edit_distance", "(edit distance 2)"),
        (
            "northwind-sofware.com",
            "northwind",
            "northwind-software.com",
            "omission",
            "'t' left out",
        ),
        (
            "contosso.com",
            "contoso-payroll",
            "contosopayroll.com",
            "repetition",
            "'s' doubled",
        ),
        # brand plus words
        ("northwind-support.com", "northwind", None, "brand_plus_word", "'support' added"),
        ("northwindhelpdesk.com", "northwind", None, "brand_plus_word", "'helpdesk' added"),
        ("it-northwind.net", "northwind", None, "brand_plus_word", "'it' added"),
        (
            "secure-northwind-login.com",
            "northwind",
            None,
            "brand_plus_word",
            "'secure' and 'login' added",
        ),
        (
            "northwind-software-billing.com",
            "northwind",
            "northwind-software.com",
            "brand_plus_word",
            "'billing' added",
        ),
        ("contoso-invoice.com", "contoso-payroll", None, "brand_plus_word", "alias"),
        (
            "northwlnd-security.com",
            "northwind",
            None,
            "brand_plus_word",
            "'security' added and 'i' written as 'l'",
        ),
        # hyphenation
        (
            "northwindsoftware.com",
            "northwind",
            "northwind-software.com",
            "hyphenation",
            "the hyphen dropped",
        ),
        ("north-wind.io", "northwind", "northwind.io", "hyphenation", "a hyphen added"),
        # TLD swap (including a second-level public suffix and a private one)
        (
            "northwind-software.net",
            "northwind",
            "northwind-software.com",
            "tld_swap",
            "under '.net' instead of '.com'",
        ),
        ("northwind-software.co", "northwind", "northwind-software.com", "tld_swap", "'.co'"),
        ("fabrikam.com", "fabrikam", "fabrikam.co.uk", "tld_swap", "instead of '.co.uk'"),
        ("northwind-software.com.au", "northwind", "northwind-software.com", "tld_swap", ""),
        ("northwind.github.io", "northwind", "northwind.io", "tld_swap", "'.github.io'"),
        # the vendor's domain as labels of another domain
        (
            "northwind-software.com.evil.example",
            "northwind",
            "northwind-software.com",
            "domain_as_label",
            "registered under 'evil.example'",
        ),
        (
            "login.northwind.io.attacker.net",
            "northwind",
            "northwind.io",
            "domain_as_label",
            "registered under 'attacker.net'",
        ),
        (
            "northwind-software-com.evil.example",
            "northwind",
            "northwind-software.com",
            "domain_as_label",
            "as 'northwind-software-com'",
        ),
        (
            "fabrikam-co-uk-secure.net",
            "fabrikam",
            "fabrikam.co.uk",
            "domain_as_label",
            "as 'fabrikam-co-uk'",
        ),
        (
            "n0rthwind-software.com.evil.example",
            "northwind",
            "northwind-software.com",
            "domain_as_label",
            "as 'n0rthwind-software.com'",
        ),
        # the bare brand (alias or name) under another domain
        ("contoso.com", "contoso-payroll", "contosopayroll.com", "brand_name", "alias 'contoso'"),
        (
            "fabrikam-hardware.com",
            "fabrikam",
            "fabrikam.co.uk",
            "brand_name",
            "name 'fabrikamhardware'",
        ),
    ],
)
def test_trick_names_vendor_and_evidence(
    index: LookalikeIndex,
    domain: str,
    vendor_id: str,
    imitated: str | None,
    trick: str,
    evidence: str,
) -> None:
    found = _match(index, domain)
    assert found.trick == trick, found
    assert found.vendor_id == vendor_id
    if imitated is not None:
        assert found.imitated == imitated
    assert found.trick in TRICKS
    assert evidence in found.evidence, found.evidence


def test_vendor_name_and_imitated_domain_are_the_registrys(index: LookalikeIndex) -> None:
    found = _match(index, "northwind-support.com")
    assert found.vendor_name == "Northwind Software"
    assert found.imitated in ("northwind.io", "northwind-software.com")


def test_evidence_reads_as_a_sentence(index: LookalikeIndex) -> None:
    assert (
        _match(index, "northwlnd.io").evidence
        == "'northwlnd' is 'northwind' with 'i' written as 'l'"
    )


def test_to_json_carries_every_field(index: LookalikeIndex) -> None:
    found = _match(index, "northwind-software.net")
    assert found.to_json() == {
        "vendor_id": "northwind",
        "vendor_name": "Northwind Software",
        "imitated": "northwind-software.com",
        "trick": "tld_swap",
        "evidence": found.evidence,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.trick = "none"  # type: ignore[misc]


# Unicode and punycode input


def test_punycode_and_unicode_input_give_the_same_match(index: LookalikeIndex) -> None:
    unicode_form = "northwіnd.io"  # Cyrillic і
    punycode = "xn--northwnd-yhh.io"
    assert unicode_form.encode("idna").decode() == punycode
    by_unicode = _match(index, unicode_form)
    by_punycode = _match(index, punycode)
    assert by_unicode == by_punycode
    assert by_punycode.trick == "confusable"
    assert by_punycode.vendor_id == "northwind"
    assert "(xn--northwnd-yhh)" in by_punycode.evidence


def test_upper_case_and_trailing_dot_are_normalized(index: LookalikeIndex) -> None:
    found = _match(index, "NORTHWLND.IO.")
    assert (found.vendor_id, found.trick) == ("northwind", "confusable")


def test_whole_cyrillic_label_is_a_confusable(index: LookalikeIndex) -> None:
    # every letter replaced: 'соntоsо' with Cyrillic с, о
    found = _match(index, "соntоsорауrоll.com")
    assert (found.vendor_id, found.trick) == ("contoso-payroll", "confusable")
    assert "CYRILLIC SMALL LETTER ES" in found.evidence


def test_invalid_domain_is_refused(index: LookalikeIndex) -> None:
    for bad in ("", "northwind", "north wind.io", "-northwind.io", "northwind..io"):
        with pytest.raises(InvalidName):
            index.match(bad)


# never flagged: the vendor's own names


@pytest.mark.parametrize(
    "domain",
    [
        "northwind.io",
        "northwind-software.com",
        "mail.northwind-software.com",
        "a.b.northwind.io",
        "contosopayroll.com",
        "fabrikam.co.uk",
        "www.fabrikam.co.uk",
    ],
)
def test_vendor_domains_and_subdomains_are_not_lookalikes(
    index: LookalikeIndex, registry: Registry, domain: str
) -> None:
    assert registry.by_domain(domain) is not None
    assert index.match(domain) is None


def test_registered_domain_resembling_another_vendor_is_not_flagged() -> None:
    index = _index(
        _vendor("northwind", "Northwind", ["northwind.io"]),
        _vendor("northwlnd", "Northwlnd Ltd", ["northwlnd.io"]),
    )
    assert index.match("northwlnd.io") is None
    assert index.match("mail.northwind.io") is None
    assert _match(index, "northw1nd.io").trick == "confusable"


def test_siblings_under_a_vendors_registrable_domain_are_not_flagged() -> None:
    index = _index(_vendor("acme", "Acme Industrial", ["mail.acme-industrial.com"]))
    assert index.match("www.acme-industrial.com") is None
    assert index.match("acme-industrial.com") is None
    assert _match(index, "acme-industrial.net").trick == "tld_swap"
    found = _match(index, "mail.acme-industrial.com.evil.example")
    assert (found.trick, found.imitated) == ("domain_as_label", "mail.acme-industrial.com")


# true negatives


@pytest.mark.parametrize(
    "domain",
    [
        "google.com",
        "example.org",
        "microsoft.com",
        "github.com",
        "amazon.com",
        "paypal.com",
        "slack.com",
        "office.com",
        "wikipedia.org",
        "bbc.co.uk",
        "contest.com",
        "context.com",
        "northern.com",
        "northwest.com",
        "windows.com",
        "software.com",
        "payroll.com",
        "hardware.co.uk",
        "support.com",
        "helpdesk.io",
        "fabric.com",
        "north.io",
        "wind.io",
        "x.io",
        "ab.co",
        "it.com",
        "mail.google.com",
        "northwind.example.org",
        "security-update.com",
        "xn--80ak6aa92e.com",  # Cyrillic 'аррӏе': a homoglyph of a brand that is not a vendor
    ],
)
def test_unrelated_domains_are_not_flagged(index: LookalikeIndex, domain: str) -> None:
    assert index.match(domain) is None


def test_short_labels_get_no_edit_distance() -> None:
    index = _index(_vendor("acme", "Acme", ["acme.com"]), _vendor("okta", "Okta", ["okta.com"]))
    for typo in ("acne.com", "acm.com", "came.com", "okra.com", "oktaa.com"):
        assert index.match(typo) is None, typo
    # exact and visual tricks still apply to short brands
    assert _match(index, "acme.net").trick == "tld_swap"
    assert _match(index, "acme-support.com").trick == "brand_plus_word"
    assert _match(index, "acrne.com").trick == "confusable"


def test_distance_two_needs_a_long_label() -> None:
    index = _index(
        _vendor("contoso", "Contoso", ["contoso.com"]),
        _vendor("northwind", "Northwind", ["northwind.io"]),
    )
    assert index.match("contest.com") is None  # 2 edits from a 7-letter label
    assert _match(index, "contxso.com").trick == "edit_distance"  # 1 edit is enough
    assert _match(index, "nxrthwxnd.io").trick == "edit_distance"  # 2 edits, 9 letters
    assert index.match("nxrxhwxnd.io") is None  # 3 edits


# choosing the best match


def test_closest_vendor_wins() -> None:
    index = _index(
        _vendor("northwind", "Northwind", ["northwind.io"]),
        _vendor("northwend", "Northwend", ["northwendx.io"]),
    )
    found = _match(index, "northwnd.io")
    assert (found.vendor_id, found.trick) == ("northwind", "omission")


def test_exact_tricks_outrank_typos() -> None:
    index = _index(
        _vendor("tailspin", "Tailspin Toys", ["tailspin.com"]),
        _vendor("tailspins", "Tailspins Group", ["tailspins.net"]),
    )
    found = _match(index, "tailspin.net")  # tld swap of one, omission of the other
    assert (found.vendor_id, found.trick) == ("tailspin", "tld_swap")


def test_alias_with_spaces_is_compacted() -> None:
    index = _index(
        _vendor("wwi", "Wide World Importers", ["wwimporters.com"], aliases=["Wide World"])
    )
    found = _match(index, "wideworld-support.com")
    assert (found.vendor_id, found.trick) == ("wwi", "brand_plus_word")
    assert _match(index, "wideworldimporters.com").trick == "brand_name"


def test_idn_vendor_domain_is_matched_in_unicode() -> None:
    index = _index(_vendor("muller", "Müller Technik", ["müller-technik.de"]))
    own = "müller-technik.de".encode("idna").decode()
    assert own.startswith("xn--")
    assert index.match(own) is None  # its own domain, as punycode
    found = _match(index, "müller-technik.com")
    assert (found.trick, found.imitated) == ("tld_swap", own)
    assert found.evidence == (
        "'müller-technik.com' is Müller Technik's domain 'müller-technik.de' "
        "under '.com' instead of '.de'"
    )
    assert _match(index, "muller-technik.de").trick == "confusable"


def test_a_large_registry_still_finds_the_one_imitated_vendor() -> None:
    vendors = [
        _vendor(f"v{i}", f"Vendor {i}", [f"company{i:04d}-systems.com"]) for i in range(1500)
    ]
    vendors.append(_vendor("northwind", "Northwind", ["northwind.io"], aliases=["northwind"]))
    index = _index(*vendors)
    assert _match(index, "nοrthwind.io").vendor_id == "northwind"
    assert _match(index, "company0042-systems.net").vendor_id == "v42"
    found = _match(index, "company0042-sytems.com")
    assert (found.vendor_id, found.trick) == ("v42", "omission")
    assert index.match("unrelated-example.com") is None
