"""bot.mail.tagvalue: RFC 6376 §3.2 tag lists and §2.11 dkim-quoted-printable."""

from __future__ import annotations

import pytest

from bot.mail.tagvalue import TagListError, decode_quoted_printable, parse_tag_list, split_list


def test_whitespace_and_folding_around_names_values_and_separators() -> None:
    parsed = parse_tag_list(b" v = 1 ;\r\n\ta=rsa-sha256;  b = AB CD \r\n EF ; ")

    assert parsed.tags == {b"v": b"1", b"a": b"rsa-sha256", b"b": b"AB CD \r\n EF"}


def test_value_span_removal_keeps_what_surrounds_the_value() -> None:
    raw = b" a=1; b = AB\r\n CD ; c=3"
    parsed = parse_tag_list(raw)

    assert parsed.without_value(raw, b"b") == b" a=1; b = ; c=3"
    assert parsed.without_value(raw, b"zz") == raw


def test_empty_list_and_trailing_semicolon() -> None:
    assert parse_tag_list(b"").tags == {}
    assert parse_tag_list(b"  ").tags == {}
    assert parse_tag_list(b"a=1;").tags == {b"a": b"1"}
    assert parse_tag_list(b"a=;").tags == {b"a": b""}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"a=1; a=2", "appears more than once"),
        (b"a=1;; b=2", "empty tag-spec"),
        (b"; a=1", "empty tag-spec"),
        (b"a=1; b", "has no '='"),
        (b"1a=1", "not a valid tag name"),
        (b"a-b=1", "not a valid tag name"),
        (b"=1", "not a valid tag name"),
        (b";".join(b"t%d=1" % i for i in range(100)), "more than"),
    ],
)
def test_malformed_lists_say_what_is_wrong(raw: bytes, words: str) -> None:
    with pytest.raises(TagListError, match=words):
        parse_tag_list(raw)


def test_quoted_printable() -> None:
    assert decode_quoted_printable(b"jo=40example.org") == b"jo@example.org"
    assert decode_quoted_printable(b"jo@example=2Eorg") == b"jo@example.org"
    assert decode_quoted_printable(b"a =3D\r\n b") == b"a=b"
    with pytest.raises(TagListError, match="two hex digits"):
        decode_quoted_printable(b"jo=4")
    with pytest.raises(TagListError, match="two hex digits"):
        decode_quoted_printable(b"jo=ZZexample")


def test_split_list_trims_and_drops_empties() -> None:
    assert split_list(b" email : web ::*") == [b"email", b"web", b"*"]
    assert split_list(b"") == []


def test_long_input_is_linear() -> None:
    # 200,000 separators: one pass, no quadratic rescans.
    with pytest.raises(TagListError):
        parse_tag_list(b";" * 200_000)
    assert parse_tag_list(b"a=" + b" " * 200_000 + b"x").tags == {b"a": b"x"}


def _decode_quoted_printable_by_byte(value: bytes) -> bytes:
    """The reference: every byte looked at in turn."""
    out = bytearray()
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == 0x3D:
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or not all(h in b"0123456789ABCDEFabcdef" for h in pair):
                raise TagListError("bad escape")
            out.append(int(pair, 16))
            i += 3
            continue
        if c not in b" \t\r\n":
            out.append(c)
        i += 1
    return bytes(out)


def test_quoted_printable_decoding_matches_the_byte_by_byte_reading() -> None:
    import random

    rng = random.Random(23)
    pieces = (b"a", b"@", b" ", b"\t", b"\r\n", b"=40", b"=", b"=Z", b"\xff", b"=4", b"x.y")
    for _ in range(5000):
        value = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 10)))
        try:
            expected: bytes | None = _decode_quoted_printable_by_byte(value)
        except TagListError:
            expected = None
        if expected is None:
            with pytest.raises(TagListError):
                decode_quoted_printable(value)
        else:
            assert decode_quoted_printable(value) == expected, value
