"""parse_message / parse_headers_only: strict parsing, defects, forwards, .msg, bad input."""

from __future__ import annotations

import base64
import random

import pytest

from bot.errors import InputError, TooLargeError
from bot.mail.message import (
    MAX_FORWARD_DEPTH,
    HeadersOnly,
    ParsedMessage,
    open_attached,
    parse_headers_only,
    parse_message,
)
from bot.names import Address
from tests.mail.mailbuild import RECEIVED, eml, forward, nested, outlook_msg

DANA = Address("dana.whitfield", "northwind-software.com")


def codes(msg: ParsedMessage) -> list[str]:
    return [d.code for d in msg.defects]


def messages(msg: ParsedMessage) -> str:
    return " | ".join(d.message for d in msg.defects)


def test_plain_message_is_read_completely() -> None:
    data = eml(
        subject="=?utf-8?q?R=C3=A9union_de_maintenance?=",
        extra=["Reply-To: Dana <dana@northwind-software.com>", "Return-Path: <bounce@nw.example>"],
    )
    msg = parse_message(data)
    assert msg.defects == []
    assert msg.from_address == DANA
    assert msg.from_display_name == "Dana Whitfield"
    assert msg.from_header == "Dana Whitfield <dana.whitfield@northwind-software.com>"
    assert msg.subject == "Réunion de maintenance"
    assert msg.body_text.startswith("Hello,")
    assert msg.reply_to == [Address("dana", "northwind-software.com")]
    assert msg.return_path == Address("bounce", "nw.example")
    assert msg.raw == data
    assert (msg.forward_depth, msg.part_path) == (0, "the message itself")
    assert (msg.source_format, msg.authenticatable, msg.inline_forward) == ("eml", True, False)
    assert msg.headers[0][0] == "Received"
    assert msg.header_values("SUBJECT") == ["Réunion de maintenance"]
    assert msg.header_values("x-missing") == []


def test_headers_are_unfolded_and_kept_in_order() -> None:
    data = eml(top=["Received: from a.example (a.example [192.0.2.1])\r\n\tby mx.corp.example; x"])
    msg = parse_message(data)
    assert msg.header_values("received") == [
        "from a.example (a.example [192.0.2.1])\tby mx.corp.example; x"
    ]
    assert [name for name, _ in msg.headers][:4] == ["Received", "From", "To", "Subject"]


def test_null_return_path_is_none() -> None:
    msg = parse_message(eml(extra=["Return-Path: <>"]))
    assert msg.return_path is None
    assert msg.defects == []


# bad input 1: two From headers, ' From:' first, 'From :', folded From


def test_two_from_headers() -> None:
    msg = parse_message(eml(extra=["From: ceo@northwind-software.com"]))
    assert codes(msg) == ["multiple_from"]
    assert "two From headers" in messages(msg)
    assert msg.from_address is None


def test_from_hidden_as_first_line_continuation() -> None:
    msg = parse_message(b" From: attacker@evil.example\r\n" + eml())
    assert "multiple_from" in codes(msg)
    assert "malformed_message" in codes(msg)
    assert "starts with a space" in messages(msg)
    assert msg.from_address is None


def test_from_with_space_before_colon() -> None:
    msg = parse_message(eml(extra=["From : attacker@evil.example"]))
    assert set(codes(msg)) == {"malformed_message", "multiple_from"}
    assert "space before the colon" in messages(msg)
    assert msg.from_address is None


def test_single_from_with_space_before_colon_is_still_malformed() -> None:
    data = eml().replace(b"From: Dana", b"From : Dana")
    msg = parse_message(data)
    assert codes(msg) == ["malformed_message"]


def test_folded_from() -> None:
    data = eml(from_="Dana Whitfield\r\n <dana.whitfield@northwind-software.com>")
    msg = parse_message(data)
    assert codes(msg) == ["malformed_message"]
    assert "folded" in messages(msg)


# bad input 2: one From with two addresses, or a group


def test_from_with_two_addresses() -> None:
    msg = parse_message(eml(from_="dana@northwind-software.com, attacker@evil.example"))
    assert codes(msg) == ["multiple_from"]
    assert "2 authors" in messages(msg)
    assert msg.from_address is None


def test_from_group() -> None:
    msg = parse_message(eml(from_="Northwind: dana@northwind-software.com;"))
    assert codes(msg) == ["multiple_from"]
    assert "group" in messages(msg)
    assert msg.from_address is None


def test_from_that_is_not_an_address_list() -> None:
    msg = parse_message(eml(from_="dana@northwind-software.com <attacker@evil.example>"))
    assert codes(msg) == ["malformed_message"]
    assert msg.from_address is None


def test_from_with_invalid_domain() -> None:
    msg = parse_message(eml(from_="Dana <dana@northwind_software..com>"))
    assert "malformed_message" in codes(msg)
    assert msg.from_address is None


# bad input 3: display names are decoded, and cannot inject a second address


def test_display_name_that_is_an_address_is_kept_for_the_impersonation_check() -> None:
    msg = parse_message(eml(from_='"dana.whitfield@northwind-software.com" <x@evil.example>'))
    assert msg.defects == []
    assert msg.from_address == Address("x", "evil.example")
    assert msg.from_display_name == "dana.whitfield@northwind-software.com"


def test_encoded_display_name_cannot_add_an_address() -> None:
    encoded = "=?utf-8?q?Northwind_=3Cdana=40northwind-software.com=3E?= <x@evil.example>"
    msg = parse_message(eml(from_=encoded))
    assert msg.defects == []
    assert msg.from_address == Address("x", "evil.example")
    assert msg.from_display_name == "Northwind <dana@northwind-software.com>"


# bad input 4: control characters, NBSP, U+2028


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"X-Note: a\x00b", "NUL byte in X-Note header"),
        (b"X-Note: a\x0bb", "vertical tab (VT) in X-Note header"),
        (b"X-Note: a\x0cb", "form feed (FF) in X-Note header"),
        (b"X-Note: a\rb", "lone carriage return (CR) in X-Note header"),
        (b"X-Note: a\xc2\xa0b", "no-break space (U+00A0) in X-Note header"),
        (b"X-Note: a\xe2\x80\xa8b", "line separator (U+2028) in X-Note header"),
        (b"X-Note: a\x1bb", "control character 0x1B in X-Note header"),
    ],
)
def test_forbidden_characters_in_a_header(raw: bytes, expected: str) -> None:
    data = eml().replace(b"MIME-Version", raw + b"\r\nMIME-Version", 1)
    msg = parse_message(data)
    assert codes(msg) == ["malformed_message"]
    assert expected in messages(msg)


def test_nbsp_in_the_from_domain_leaves_no_author() -> None:
    msg = parse_message(eml(from_="Dana <dana@northwind\u00a0software.com>"))
    assert "malformed_message" in codes(msg)
    assert "no-break space" in messages(msg)
    assert msg.from_address is None


def test_line_separator_hidden_in_an_encoded_subject() -> None:
    msg = parse_message(eml(subject="=?utf-8?q?Invoice=E2=80=A8From:_ceo?="))
    assert codes(msg) == ["malformed_message"]
    assert "hidden in an encoded word in Subject" in messages(msg)


def test_bidi_override_in_display_name() -> None:
    msg = parse_message(eml(from_="=?utf-8?q?Dana_=E2=80=AEgnp.exe?= <dana@evil.example>"))
    assert "malformed_message" in codes(msg)
    assert "U+202E" in messages(msg)


def test_header_line_without_colon() -> None:
    data = eml().replace(b"MIME-Version", b"this is not a header\r\nMIME-Version", 1)
    msg = parse_message(data)
    assert codes(msg) == ["malformed_message"]
    assert "not a 'Name: value' field" in messages(msg)


# bad input 13: inline forwards


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------",
        "-----Original Message-----",
        "Begin forwarded message:",
    ],
)
def test_inline_forward_is_flagged(marker: str) -> None:
    body = f"FYI\r\n\r\n{marker}\r\nFrom: Dana <dana@northwind-software.com>\r\nReset MFA\r\n"
    msg = parse_message(eml(from_="Ana <ana@corp.example>", body=body))
    assert msg.inline_forward is True
    assert any("forward it as an attachment" in note for note in msg.notes)


# forwards as attachments


def test_message_that_arrived_is_parsed_and_attachments_listed() -> None:
    original = eml(subject="Please reset MFA")
    msg = parse_message(forward(original))
    assert msg.forward_depth == 0
    assert msg.from_address == Address("ana", "corp.example")
    assert [(a.name, a.raw, a.from_address) for a in msg.attached] == [
        ("original.eml", original, DANA)
    ]
    assert msg.part_path == "the message itself"


def test_open_attached_is_one_level_with_exact_bytes() -> None:
    original = eml(subject="Please reset MFA")
    outer = parse_message(nested(original, 2))
    first = open_attached(outer)
    assert first is not None and first.forward_depth == 1
    assert first.from_address == Address("ana", "corp.example")
    second = open_attached(first)
    assert second is not None and second.raw == original and second.forward_depth == 2
    assert open_attached(second) is None


def test_forward_as_attachment_returns_the_original_bytes() -> None:
    original = eml(subject="Please reset MFA")
    msg = parse_message(forward(original), unwrap=True)
    assert msg.raw == original
    assert msg.forward_depth == 1
    assert msg.part_path == "attachment 'original.eml' (depth 1)"
    assert msg.from_address == DANA
    assert msg.subject == "Please reset MFA"
    assert any("not the message that carried it" in note for note in msg.notes)


def test_three_levels_are_unwrapped() -> None:
    original = eml(subject="deep original")
    msg = parse_message(nested(original, MAX_FORWARD_DEPTH), unwrap=True)
    assert msg.forward_depth == 3
    assert msg.raw == original
    assert msg.defects == []


def test_sixty_nested_forwards_stop_at_depth_three() -> None:
    msg = parse_message(nested(eml(), 60), unwrap=True)
    assert codes(msg) == ["forward_depth_exceeded"]
    assert msg.forward_depth == MAX_FORWARD_DEPTH
    assert msg.part_path == "attachment 'fwd57.eml' (depth 3)"
    assert msg.from_address == Address("ana", "corp.example")


def test_base64_eml_attachment_is_unwrapped() -> None:
    original = eml(subject="encoded original")
    encoded = base64.encodebytes(original)
    data = (
        b"From: ana@corp.example\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n"
        b'Content-Type: application/octet-stream; name="orig.eml"\r\n'
        b'Content-Disposition: attachment; filename="orig.eml"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b1--\r\n"
    )
    msg = parse_message(data, unwrap=True)
    assert msg.forward_depth == 1
    assert msg.subject == "encoded original"
    assert msg.raw == original


def test_attachment_that_is_not_an_email_is_not_unwrapped() -> None:
    msg = parse_message(forward(b"just some words\r\nno headers here\r\n"), unwrap=True)
    assert msg.forward_depth == 0
    assert msg.attached == []
    assert msg.from_address == Address("ana", "corp.example")
    assert any("is not an email" in note for note in msg.notes)


# bodies


def test_html_only_body_is_reduced_to_text() -> None:
    html = "<html><style>p{}</style><body><p>Call <b>1-800-555-0199</b></p><script>x()</script>"
    msg = parse_message(eml(body=html, content_type="text/html; charset=utf-8"))
    assert msg.body_text == "Call 1-800-555-0199"


def test_quoted_printable_body() -> None:
    data = eml(
        body="Caf=C3=A9 =\r\nopen\r\n", extra=["Content-Transfer-Encoding: quoted-printable"]
    )
    assert parse_message(data).body_text.startswith("Café open")


# bad input 16: empty, random bytes, too large, undecodable charset


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n  "])
def test_empty_input(data: bytes) -> None:
    with pytest.raises(InputError, match="empty"):
        parse_message(data)


def test_random_bytes_are_not_a_message() -> None:
    data = random.Random(16).randbytes(64 * 1024)
    with pytest.raises(InputError, match="not an email"):
        parse_message(data)


def test_plain_text_is_not_a_message() -> None:
    with pytest.raises(InputError, match="not an email"):
        parse_message(b"Hello team,\nplease reset my password.\n")


def test_message_one_byte_over_25_mb() -> None:
    data = eml(body="x" * (25 * 2**20 + 1 - len(eml(body=""))))
    assert len(data) == 25 * 2**20 + 1
    with pytest.raises(TooLargeError, match="over the 26,214,400-byte limit"):
        parse_message(data)


def test_size_limit_is_inclusive() -> None:
    data = eml()
    assert parse_message(data, max_bytes=len(data)).from_address == DANA
    with pytest.raises(TooLargeError):
        parse_message(data, max_bytes=len(data) - 1)


def test_unknown_charset_in_subject_is_replaced_and_noted() -> None:
    msg = parse_message(eml(subject="=?x-no-such-charset?q?Hi=FFthere?="))
    assert msg.subject == "Hi\ufffdthere"
    assert any("unknown charset 'x-no-such-charset'" in note for note in msg.notes)


def test_undecodable_body_is_replaced_and_noted() -> None:
    data = eml(content_type="text/plain; charset=x-bogus").replace(b"Saturday", b"Sat\xff\xfeurday")
    msg = parse_message(data)
    assert "Sat\ufffd\ufffdurday" in msg.body_text
    assert any("unknown charset 'x-bogus'" in note for note in msg.notes)


def test_body_bytes_wrong_for_declared_charset() -> None:
    data = eml().replace(b"Saturday", b"Samedi \xe9t\xe9")
    msg = parse_message(data)
    assert "Samedi \ufffdt\ufffd" in msg.body_text
    assert any("not valid utf-8" in note for note in msg.notes)


def test_non_utf8_header_bytes_are_replaced_and_noted() -> None:
    data = eml().replace(b"Subject: Quarterly", b"Subject: Qu\xe9rterly")
    msg = parse_message(data)
    assert msg.subject.startswith("Qu\ufffdrterly")
    assert any("not UTF-8" in note for note in msg.notes)


def test_mbox_separator_line_is_skipped() -> None:
    msg = parse_message(b"From dana@northwind-software.com Tue Nov 10 09:30:00 2026\n" + eml())
    assert msg.defects == []
    assert msg.from_address == DANA
    assert any("mbox" in note for note in msg.notes)


def test_bytearray_input_is_accepted_and_text_refused() -> None:
    assert parse_message(bytearray(eml())).from_address == DANA  # type: ignore[arg-type]
    with pytest.raises(InputError, match="bytes"):
        parse_message("From: a@b.example\r\n\r\n")  # type: ignore[arg-type]


# bad input 17: Outlook .msg


def test_outlook_msg_with_transport_headers() -> None:
    headers = (
        f"{RECEIVED}\r\nFrom: Dana Whitfield <dana.whitfield@northwind-software.com>\r\n"
        "To: helpdesk@corp.example\r\nSubject: Urgent patch\r\n\r\n"
    )
    data = outlook_msg(
        subject="Urgent patch", body="Call 1-8OO-555-0199", transport_headers=headers
    )
    assert data[:4] == b"\xd0\xcf\x11\xe0"
    msg = parse_message(data, filename="urgent.msg")
    assert (msg.source_format, msg.authenticatable) == ("msg", False)
    assert msg.from_address == DANA
    assert msg.subject == "Urgent patch"
    assert msg.body_text == "Call 1-8OO-555-0199"
    assert msg.header_values("received")[0].startswith("from mail.northwind-software.com")
    assert any("File > Save As > .eml" in note for note in msg.notes)


def test_outlook_msg_without_transport_headers_uses_stored_fields() -> None:
    data = outlook_msg(subject="Hello", body="Body text")
    msg = parse_message(data)
    assert msg.source_format == "msg"
    assert msg.from_address == DANA
    assert msg.from_display_name == "Dana Whitfield"
    assert msg.subject == "Hello"
    assert any("no transport headers" in note for note in msg.notes)


def test_outlook_msg_with_two_from_headers_is_still_strict() -> None:
    headers = "From: dana@northwind-software.com\r\nFrom: x@evil.example\r\nSubject: s\r\n\r\n"
    msg = parse_message(outlook_msg(subject="s", body="b", transport_headers=headers))
    assert codes(msg) == ["multiple_from"]


def test_damaged_ole_file_gets_a_clear_error() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000)
    with pytest.raises(InputError, match=r"Outlook file but could not be read.*\.eml"):
        parse_message(data, filename="broken.msg")


def test_file_named_msg_that_is_really_an_eml() -> None:
    msg = parse_message(eml(), filename="message.msg")
    assert msg.source_format == "eml"
    assert msg.from_address == DANA
    assert any("named .msg" in note for note in msg.notes)


# headers only (Slack's forwarded email, pasted text)


def test_headers_only() -> None:
    fields = HeadersOnly(
        from_="Dana Whitfield <dana.whitfield@northwind-software.com>",
        subject="Re: ticket",
        reply_to="help@evil.example",
        text="Please call 1-800-555-0199",
        to="helpdesk@corp.example",
    )
    msg = parse_headers_only(fields)
    assert (msg.source_format, msg.authenticatable, msg.raw) == ("headers", False, b"")
    assert msg.from_address == DANA
    assert msg.from_display_name == "Dana Whitfield"
    assert msg.reply_to == [Address("help", "evil.example")]
    assert msg.subject == "Re: ticket"
    assert msg.body_text == "Please call 1-800-555-0199"
    assert msg.header_values("to") == ["helpdesk@corp.example"]
    assert msg.defects == []
    assert any("cannot be checked" in note for note in msg.notes)


def test_headers_only_is_as_strict_as_a_message() -> None:
    two = parse_headers_only(HeadersOnly(from_="a@x.example, b@y.example"))
    assert codes(two) == ["multiple_from"]
    hidden = parse_headers_only(HeadersOnly(from_="dana@x.example", subject="hi\u2028there"))
    assert codes(hidden) == ["malformed_message"]
    assert "U+2028" in messages(hidden)


def test_headers_only_inline_forward() -> None:
    msg = parse_headers_only(
        HeadersOnly(from_="ana@corp.example", text="-----Original Message-----\nFrom: x")
    )
    assert msg.inline_forward is True


def test_from_hidden_below_a_delivering_servers_received_header() -> None:
    hidden = b" From: attacker@evil.example\r\n" + eml(top=[])
    msg = parse_message(RECEIVED.encode() + b"\r\n" + hidden)
    assert set(codes(msg)) == {"malformed_message", "multiple_from"}
    assert "'From:' header hidden as a continuation line of the Received header" in messages(msg)
    assert msg.from_address is None


def test_hidden_signature_below_a_received_header_is_malformed() -> None:
    data = eml(top=[RECEIVED, " DKIM-Signature: v=1; a=rsa-sha256; d=northwind-software.com"])
    msg = parse_message(data)
    assert codes(msg) == ["malformed_message"]
    assert msg.from_address == DANA


def test_folded_dkim_header_list_is_not_a_hidden_header() -> None:
    signature = (
        "DKIM-Signature: v=1; a=rsa-sha256; d=northwind-software.com; s=s1;\r\n"
        "\th=to:subject:date:\r\n"
        "\tfrom:mime-version; bh=abc=; b=def"
    )
    msg = parse_message(eml(top=[RECEIVED, signature]))
    assert msg.defects == []


def test_dkimpy_style_spaced_header_list_is_not_a_hidden_header() -> None:
    signature = (
        "DKIM-Signature: v=1; a=rsa-sha256; d=northwind-software.com; s=s1; h=from :\r\n"
        " subject : date; bh=abc=; b=def"
    )
    msg = parse_message(eml(top=[RECEIVED, signature]))
    assert msg.defects == []


def test_blank_input_is_refused_as_before() -> None:
    """``not data or data.isspace()`` is ``not data.strip()``: ASCII whitespace only."""
    import pytest

    from bot.errors import InputError

    for data in (b"", b" ", b"\r\n\t\x0b\x0c "):
        with pytest.raises(InputError):
            parse_message(data)
    for byte in range(256):
        data = bytes([byte]) * 3
        assert (not data or data.isspace()) is (not data.strip()), byte


def test_three_dashes_found_as_the_substring_test_finds_them() -> None:
    import random

    from bot.mail.message import _has_three_dashes

    rng = random.Random(37)
    pieces = ("-", "--", "---", "a", " ", "-a", "\u2014", "x" * 40)
    cases = ["", "-" * 40 + "a---", "-a" * 30 + "---", "-a" * 30]
    cases += ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40))) for _ in range(8000)]
    for text in cases:
        assert _has_three_dashes(text) is ("---" in text), text
