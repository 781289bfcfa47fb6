"""The raw MIME walker: exact part bytes, bounded walks, body text."""

from __future__ import annotations

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
