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


def _parse_by_find(raw: bytes) -> tuple[dict[bytes, bytes], dict[bytes, tuple[int, int]]]:
    """The reference: the tag list read a ';' at a time (the parse before)."""
    fws = b" \t\r\n"
    first = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    tags: dict[bytes, bytes] = {}
    spans: dict[bytes, tuple[int, int]] = {}
    pos, end = 0, len(raw)
    while pos <= end:
        semi = raw.find(b";", pos)
        stop = end if semi < 0 else semi
        spec = raw[pos:stop]
        if spec.strip(fws):
            equals = spec.find(b"=")
            if equals < 0:
                raise TagListError(f"{_shown(spec.strip(fws))} has no '=' (expected tag=value)")
            name = spec[:equals].strip(fws)
            if not name or name[0] not in first or name.translate(None, first + b"0123456789_"):
                raise TagListError(f"{_shown(name)} is not a valid tag name")
            if name in tags:
                raise TagListError(f"the tag {name.decode()}= appears more than once")
            value = spec[equals + 1 :]
            start = pos + equals + 1
            tags[name] = value.strip(fws)
            spans[name] = (start, start + len(value.rstrip(fws)))
            if len(tags) > 64:
                raise TagListError("more than 64 tags")
        elif semi >= 0:
            raise TagListError("an empty tag-spec before a ';' (only one trailing ';' is allowed)")
        if semi < 0:
            break
        pos = semi + 1
    return tags, spans


def _shown(value: bytes, limit: int = 40) -> str:
    text = value[:limit].decode("ascii", "replace")
    return repr(text) + ("..." if len(value) > limit else "")


def test_tag_lists_read_as_a_spec_at_a_time() -> None:
    """The parse (one split) gives the tags, spans and errors the ';'-at-a-time reading gave."""
    import random

    from bot.mail.tagvalue import _parse

    rng = random.Random(43)
    pieces = (b"a", b"=", b";", b" ", b"\r\n ", b"b", b"1", b"_", b"\t", b"x=y", b"a=1", b"9=")
    cases = [b";" * 200, b"a=1;" * 70, b"".join(b"t%d=1;" % i for i in range(66)) + b";;"]
    cases += [
        b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14))) for _ in range(30000)
    ]
    for raw in cases:
        try:
            expected: object = _parse_by_find(raw)
        except TagListError as exc:
            expected = str(exc)
        try:
            parsed = _parse(raw)
            got: object = (parsed.tags, parsed.spans)
        except TagListError as exc:
            got = str(exc)
        assert got == expected, raw
