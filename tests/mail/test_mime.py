"""The raw MIME walker: exact part bytes, bounded walks, body text."""

from __future__ import annotations

import base64
import random
import re
from email.parser import HeaderParser
from email.policy import compat32

from bot.mail import mime
from bot.mail.mime import MAX_PARTS, body_text, first_forwarded, iter_parts, split_multipart


def multipart(parts: list[bytes], boundary: str = "b") -> bytes:
    head = f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\npreamble".encode()
    body = b"".join(b"\r\n--" + boundary.encode() + b"\r\n" + p for p in parts)
    return head + body + b"\r\n--" + boundary.encode() + b"--\r\nepilogue"


def test_split_multipart_keeps_part_bytes_exactly() -> None:
    body = b"pre\r\n--x\r\nA: 1\r\n\r\none\r\n--x\r\n\r\ntwo\n\r\n--x--\r\nepi"
    assert split_multipart(body, "x") == [b"A: 1\r\n\r\none", b"\r\ntwo\n"]


def test_unterminated_multipart_keeps_the_last_part() -> None:
    assert split_multipart(b"--x\r\nA: 1\r\n\r\nonly", "x") == [b"A: 1\r\n\r\nonly"]


def test_nested_multiparts_are_walked_in_order() -> None:
    inner = multipart(
        [b"Content-Type: text/plain\r\n\r\nplain", b"Content-Type: text/html\r\n\r\n<p>h</p>"],
        "inner",
    )
    raw = multipart([inner, b"Content-Type: image/png\r\n\r\nPNG"])
    assert [p.content_type for p in iter_parts(raw)] == ["text/plain", "text/html", "image/png"]


def test_walk_is_bounded() -> None:
    raw = multipart([b"Content-Type: text/plain\r\n\r\nx"] * (MAX_PARTS + 50))
    assert len(list(iter_parts(raw))) == MAX_PARTS


def test_body_prefers_plain_text_and_skips_attachments() -> None:
    raw = multipart(
        [
            b'Content-Type: text/plain\r\nContent-Disposition: attachment; filename="a.txt"\r\n\r\n'
            b"attached",
            b"Content-Type: text/html\r\n\r\n<p>html</p>",
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            b"w6l0w6k=",
        ]
    )
    notes: list[str] = []
    assert body_text(raw, notes) == "été"
    assert notes == []


def test_forwarded_message_is_found_but_not_entered() -> None:
    inner = b"From: a@x.example\r\nSubject: inner\r\n\r\ninner body"
    raw = multipart(
        [b"Content-Type: text/plain\r\n\r\nouter", b"Content-Type: message/rfc822\r\n\r\n" + inner]
    )
    notes: list[str] = []
    assert first_forwarded(raw, notes) == (None, inner)
    assert body_text(raw, notes) == "outer"


def test_no_forwarded_message() -> None:
    assert first_forwarded(b"Content-Type: text/plain\r\n\r\nhello", []) is None


_CONTENT = (
    b'Content-Type: multipart/mixed;\r\n boundary="zz"; charset=latin-1',
    b'Content-Disposition: attachment; filename="a.eml"',
    b"Content-Transfer-Encoding: base64",
    b"content-type: text/html",
)
_OTHER = (
    b"DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc",
    b"Received: from x\r\n by y",
    b" leading continuation",
    b"From sender@example Mon",
    b"not a header line",
    b"Bad Name: spaced",
    b"X-Lone: a\rContent-Type: text/csv",
    b"\r",
    b"X-\xff: bytes",
    b": empty name",
)


def test_part_headers_read_as_the_stdlib_reads_every_field() -> None:
    """The walker hands the stdlib only Content-* fields; what it reads must not change."""
    rng = random.Random(13)
    pool = _CONTENT + _OTHER
    for _ in range(3000):
        block = b"\r\n".join(rng.choice(pool) for _ in range(rng.randint(0, 7)))
        headers = mime._headers(block)
        every = b"\r\n".join(bytes(f) for f in mime.capped_fields(block))
        reference = HeaderParser(policy=compat32).parsestr(
            every.decode("utf-8", "replace") + "\r\n\r\n"
        )
        for name in ("Content-Type", "Content-Disposition", "Content-Transfer-Encoding"):
            assert headers.get_all(name) == reference.get_all(name), block
        assert headers.get_content_type() == reference.get_content_type(), block
        assert mime._filename(headers) == mime._filename(reference), block
        assert mime._boundary(headers) == mime._boundary(reference), block
        assert headers.get_content_charset() == reference.get_content_charset(), block


def test_the_content_type_after_a_long_chain_of_fields_is_read() -> None:
    # a mail client shows this body decoded; the content checks must read the same text
    junk = "".join(f"X-Relay-{i}: hop {i}\r\n" for i in range(150))
    text = b"URGENT: update our bank account details for payment today"
    raw = (
        f"From: a@b.example\r\nSubject: hi\r\n{junk}MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="BB"\r\n\r\n--BB\r\n'
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.b64encode(text).decode()}\r\n--BB--\r\n"
    ).encode()
    assert mime.body_text(raw, []) == text.decode()


def _part_spans_by_pattern(body: bytes, boundary: str) -> list[tuple[int, int]]:
    """The reference: delimiters found by one pattern holding the line break before them."""
    delimiter = re.compile(
        rb"(?:^|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|$)"
    )
    spans, start = [], None
    for match in delimiter.finditer(body):
        if start is not None:
            spans.append((start, match.start()))
        if match.group(1):
            return spans
        start = match.end()
    if start is not None:
        spans.append((start, len(body)))
    return spans


def test_delimiters_found_by_their_literal_as_by_the_pattern() -> None:
    rng = random.Random(4)
    tokens = [b"--b", b"--b--", b"\r\n", b"\n", b"x", b" ", b"\r", b"--", b"b"]
    for _ in range(30_000):
        body = b"".join(rng.choice(tokens) for _ in range(rng.randint(0, 12)))
        assert list(mime._part_spans(body, "b")) == _part_spans_by_pattern(body, "b"), body
