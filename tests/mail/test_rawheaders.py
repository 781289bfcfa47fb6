"""The raw header scanner: fields as written, RFC 2047 decoding, strict defects."""

from __future__ import annotations

from bot.mail.rawheaders import (
    MAX_FIELD_BYTES,
    control_name,
    decode_words,
    scan_headers,
    split_message,
)


def test_split_message_at_the_first_empty_line() -> None:
    assert split_message(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore") == (
        b"A: 1\r\nB: 2",
        b"body\r\n\r\nmore",
    )
    assert split_message(b"A: 1\nB: 2\n\nbody") == (b"A: 1\nB: 2", b"body")
    assert split_message(b"A: 1") == (b"A: 1", b"")


def test_fields_keep_raw_bytes_and_fold_information() -> None:
    scan = scan_headers(b"Subject: one\r\n two\r\nX-A: =?utf-8?b?w6k=?=")
    subject, extra = scan.fields
    assert (subject.name, subject.raw, subject.unfolded, subject.value) == (
        "Subject",
        b"Subject: one\r\n two",
        "one two",
        "one two",
    )
    assert subject.folded is True
    assert (extra.unfolded, extra.value, extra.folded) == ("=?utf-8?b?w6k=?=", "é", False)
    assert scan.values("x-a") == ["é"]
    assert scan.defects == []


def test_part_headers_are_read_without_defects() -> None:
    scan = scan_headers(b" indented\r\nnot a header\r\nFrom: a\r\nFrom: b", strict=False)
    assert scan.defects == []
    assert scan.values("from") == ["a", "b"]


def test_three_from_headers() -> None:
    scan = scan_headers(b"From: a@x.example\r\nfrom: b@x.example\r\nFROM: c@x.example")
    assert [(d.code, d.message) for d in scan.defects] == [("multiple_from", "three From headers")]


def test_overlong_header_is_cut_and_reported() -> None:
    scan = scan_headers(b"X-Long: " + b"a" * (MAX_FIELD_BYTES + 10))
    assert len(scan.fields[0].value) == MAX_FIELD_BYTES - 1
    assert "bytes long" in scan.defects[0].message


def test_decode_words() -> None:
    assert decode_words("plain") == ("plain", [])
    assert decode_words("=?iso-8859-1?q?caf=E9?= ok") == ("café ok", [])
    text, notes = decode_words("=?utf-8?q?bad=FFbyte?=")
    assert text == "bad\ufffdbyte"
    assert notes == ["text is not valid utf-8: undecodable bytes replaced"]


def test_control_name() -> None:
    assert control_name("fine\ttext é") is None
    assert control_name("a\x00") == "NUL byte"
    assert control_name("a\u00a0b") == "no-break space (U+00A0)"
    assert control_name("a\u2029b") == "paragraph separator (U+2029)"
    assert control_name("a\x85b") == "control character U+0085"


def test_header_end_finds_what_the_split_regex_finds() -> None:
    import random

    from bot.mail.rawheaders import _SPLIT, header_end

    rng = random.Random(11)
    pieces = (b"a", b": ", b"\r", b"\n", b"\r\n", b"\n\n", b"\r\n\r\n", b"\n\r\n", b"\r\r", b" ")
    for _ in range(5000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        match = _SPLIT.search(data)
        expected = (len(data), len(data)) if match is None else (match.start(), match.end())
        assert header_end(data) == expected, data
        assert header_end(memoryview(data)) == expected, data


def test_control_checks_agree_with_their_patterns() -> None:
    import random

    from bot.mail.rawheaders import _LONE_CR, _OTHER_CONTROL, _PLAIN_BYTES, HeaderScan, _check_bytes

    rng = random.Random(12)
    pieces = (b"x", b"\r", b"\n", b"\r\n", b"\x01", b"\x08", b"\x0e", b"\x1f", b"\x7f", b"\t")
    for _ in range(3000):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        scan = HeaderScan()
        _check_bytes(scan, "X", raw, bool(raw.translate(None, _PLAIN_BYTES)))
        got = [d.message for d in scan.defects]
        assert ("a lone carriage return (CR) in X header" in got) is bool(_LONE_CR.search(raw))
        other = _OTHER_CONTROL.search(raw)
        assert any(m.startswith("control character") for m in got) is (other is not None)
        if other is not None:
            assert f"control character 0x{other.group(0)[0]:02X} in X header" in got


def test_folded_fields_unfold_as_the_fold_pattern_does() -> None:
    import random

    from bot.mail.rawheaders import _FOLD, scan_headers

    rng = random.Random(13)
    pieces = ("a", " ", "\t", "\r", "\r\n ", "\r\n\t", "\n ", "\r\r\n ", "=?x", ";")
    for _ in range(3000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        block = ("Subject: " + value + "\r\nTo: b").encode()
        scan = scan_headers(block, strict=False)
        field = scan.fields[0]
        text = field.raw.decode()[len("Subject:") :]
        assert field.unfolded == _FOLD.sub("", text).strip(" \t\r\n"), repr(value)
