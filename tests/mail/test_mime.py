"""The raw MIME walker: exact part bytes, bounded walks, body text."""

from __future__ import annotations

import base64
import random
import re
from email.parser import HeaderParser
from email.policy import compat32

import pytest

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


def _iter_fields_by_line(block: bytes, max_lines: int) -> list[bytearray]:
    """The reference: every field of the first ``max_lines`` lines, a line at a time."""
    cap = mime.MAX_PART_FIELD_BYTES
    fields: list[bytearray] = []
    field: bytearray | None = None
    pos, size = 0, len(block)
    for _ in range(max_lines):
        if pos >= size:
            break
        nl = block.find(b"\n", pos)
        end = size if nl < 0 else nl
        line = block[pos:end].rstrip(b"\r")[:cap]
        pos = end + 1
        if line[:1] in (b" ", b"\t") and field is not None:
            if len(field) < cap:
                field += b"\r\n" + line[: cap - len(field)]
            continue
        if field is not None:
            fields.append(field)
        field = bytearray(line)
    if field is not None:
        fields.append(field)
    return fields


def _capped_block_by_line(block: bytes, *, top: bool = False) -> bytes:
    """The reference for ``mime._capped_block``: every field listed, then filtered."""
    stdlib_line = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
    capped = _iter_fields_by_line(block, mime.MAX_PART_LINES)[: mime.MAX_PART_FIELDS]
    if any(re.search(rb"\r(?!\n)", f) for f in capped):
        return b"\r\n".join(bytes(f) for f in capped)
    kept: list[bytearray] = []
    for field in _iter_fields_by_line(block, mime.MAX_TOP_LINES if top else mime.MAX_PART_LINES):
        if not stdlib_line.match(field):
            break
        if field[:8].lower() == b"content-":
            kept.append(field)
            if len(kept) >= mime.MAX_PART_FIELDS:
                break
    return b"\r\n".join(bytes(f) for f in kept)


_PIECES = (
    b"Content-Type: text/plain",
    b"content-TRANSFER-encoding: base64",
    b"Content-",
    b"content",
    b"X-A: b",
    b"From ",
    b"From x",
    b": v",
    b"Bad Name: v",
    b" ",
    b"\t",
    b" cont",
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\r",
    b"\n ",
    b"\n\t",
    b"\r\n ",
    b"a",
    b"-",
    b":",
    b"\xff",
)


def test_content_fields_match_the_line_by_line_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """content_fields (a field at a time, lone CRs checked on the block) keeps exactly what the
    line-by-line reading kept, under small caps so that every cap is reached."""
    rng = random.Random(29)
    for caps in ((4096, 100, 800, 20_000), (7, 3, 6, 9), (12, 2, 4, 5), (1, 1, 1, 2)):
        monkeypatch.setattr(mime, "MAX_PART_FIELD_BYTES", caps[0])
        monkeypatch.setattr(mime, "MAX_PART_FIELDS", caps[1])
        monkeypatch.setattr(mime, "MAX_PART_LINES", caps[2])
        monkeypatch.setattr(mime, "MAX_TOP_LINES", caps[3])
        for _ in range(4000):
            block = b"".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 30)))
            for top in (False, True):
                assert mime._capped_block(block, top=top) == _capped_block_by_line(
                    block, top=top
                ), (caps, block)


def test_content_fields_of_real_header_blocks() -> None:
    junk = b"".join(b"X-Relay-%d: hop\r\n continued %d\r\n" % (i, i) for i in range(300))
    for block in (
        b"From: a@b.example\r\n" + junk + b"Content-Type: text/plain;\r\n charset=utf-8",
        junk + b"Content-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n",
        b"Content-Type: text/plain\r\nX: " + b"y" * 9000 + b"\r\n\tz" * 30,
        junk + b"Bad line\r\nContent-Type: text/csv",
        junk.replace(b"\r\n", b"\n"),
    ):
        for top in (False, True):
            assert mime._capped_block(block, top=top) == _capped_block_by_line(block, top=top)


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


def test_part_fields_read_as_the_headers_were_read_each_time() -> None:
    """PartFields (read once per Content-* block) gives what each reader took from the headers."""
    rng = random.Random(17)
    pool = (
        *_CONTENT,
        *_OTHER,
        b'Content-Type: text/plain; charset="=?utf-8?q?x?="',
        b"Content-Type: text/plain; charset*=utf-8''%E2%82%AC",
        b'Content-Type: text/plain; charset="' + b";" * 50,
        b"Content-Disposition: ATTACHMENT ; filename=x",
        b"Content-Transfer-Encoding:  Quoted-Printable ",
        b"Content-Type: text/html; charset=ISO-8859-1",
    )
    for _ in range(2000):
        block = b"\r\n".join(rng.choice(pool) for _ in range(rng.randint(0, 6)))
        headers = mime._headers(block)
        read = mime.PartFields(headers)
        try:
            charset = headers.get_content_charset() or "us-ascii"
        except Exception:
            charset = "us-ascii"
        assert read.charset == charset, block
        disposition = mime.header_text(headers, "Content-Disposition").split(";")[0]
        assert read.disposition == disposition.strip().lower(), block
        encoding = mime.header_text(headers, "Content-Transfer-Encoding").strip().lower()
        assert read.encoding == encoding, block
        part = mime.Part(headers, headers.get_content_type(), None, b"")
        assert part.is_attachment == (disposition.strip().lower() == "attachment"), block


def test_content_fields_read_off_the_header_scan_are_those_read_by_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The message's own Content-* fields taken from its header scan (when the scan may be used)
    are those the capped line-by-line reading gives, under small caps too."""
    from bot.mail.rawheaders import scan_headers

    rng = random.Random(53)
    pieces = (
        b"Content-Type: text/plain",
        b"content-TRANSFER-encoding: base64",
        b"Content-Type: multipart/mixed;\r\n boundary=x",
        b"Content-: v",
        b"Content: v",
        b"X-A: b",
        b"X-Long-Name-Of-Many-Letters: v",
        b"From x",
        b"Name : v",
        b" cont",
        b"\tcont",
        b"\r",
        b"a",
        b": v",
    )
    used = 0
    for caps in ((4096, 100, 800, 20_000), (9, 2, 5, 6), (24, 3, 800, 20_000)):
        monkeypatch.setattr(mime, "MAX_PART_FIELD_BYTES", caps[0])
        monkeypatch.setattr(mime, "MAX_PART_FIELDS", caps[1])
        monkeypatch.setattr(mime, "MAX_PART_LINES", caps[2])
        monkeypatch.setattr(mime, "MAX_TOP_LINES", caps[3])
        for _ in range(3000):
            ending = rng.choice([b"\r\n", b"\n"])
            block = ending.join(rng.choice(pieces) for _ in range(rng.randint(0, 9)))
            scan = scan_headers(block)
            lines = mime.MAX_TOP_LINES
            used += mime._scanned_content_fields(block, scan, lines) is not None
            expected = _capped_block_by_line(block, top=True)
            assert mime._capped_block(block, top=True, scan=scan) == expected, (caps, block)
    assert used > 1000
