import pytest

from bot.names import (
    InvalidName,
    defang,
    is_subdomain_of,
    normalize_domain,
    parse_address,
    registrable_domain,
    to_unicode,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_normalize_domain(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "localhost",
        "a..b.com",
        "-bad.com",
        "legit.example(.evil.example",
        "legit.example'a.evil.example",
        "exa\x00mple.com",
        "exa\u00a0mple.com",
        "exa\u2028mple.com",
        "exa mple.com",
        "xn--zz.example",
        "a" * 64 + ".com",
    ],
)
def test_normalize_domain_rejects(raw):
    with pytest.raises(InvalidName):
        normalize_domain(raw)


def test_registrable_domain_uses_the_psl():
    assert registrable_domain("mail.fabrikam.co.uk") == "fabrikam.co.uk"
    assert registrable_domain("a.b.northwind-software.com") == "northwind-software.com"


def test_subdomain_and_display():
    assert is_subdomain_of("a.example.com", "example.com")
    assert not is_subdomain_of("badexample.com", "example.com")
    assert to_unicode("xn--bcher-kva.example") == "bücher.example"
    assert defang("https://evil.example/x") == "hxxps://evil[.]example/x"


def test_parse_address():
    address = parse_address("<Dana.Whitfield@Northwind-Software.com>")
    assert str(address) == "dana.whitfield@northwind-software.com"


@pytest.mark.parametrize(
    "raw",
    [
        "no-at-sign",
        "a@b@c.com",
        "@example.com",
        "a..b@example.com",
        "a b@example.com",
        "a@bad..com",
    ],
)
def test_parse_address_rejects(raw):
    with pytest.raises(InvalidName):
        parse_address(raw)


def test_forbidden_characters_of_ascii_text_as_the_categories_say() -> None:
    """The ASCII shortcut (controls and the space) agrees with the per-character categories."""
    import random
    import unicodedata

    from bot.names import _has_forbidden_chars

    def by_category(text: str) -> bool:
        forbidden = ("Cc", "Cf", "Zl", "Zp", "Zs", "Cs", "Co", "Cn")
        return any(unicodedata.category(ch) in forbidden for ch in text)

    for code in range(128):
        for text in (chr(code), f"a{chr(code)}b.example", f"x@{chr(code)}"):
            assert _has_forbidden_chars(text) is by_category(text), repr(text)
    rng = random.Random(3)
    alphabet = [chr(c) for c in range(128)] + ["\u00a0", "\u200b", "é", "\u2028", "Ω"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 8)))
        assert _has_forbidden_chars(text) is by_category(text), repr(text)
