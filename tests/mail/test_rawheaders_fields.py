"""The header scan's per-field work against the one it replaced (kept here as the reference):
every field, defect and note the same, on random hostile header blocks."""

from __future__ import annotations

import random

import pytest

from bot.mail import rawheaders as R


def _old_finish(
    scan: R.HeaderScan, raw: bytes, count: int, *, strict: bool, opened: object = None
) -> None:
    """The per-field reading before (``opened``, the scan's own match, is not used)."""
    if count > 1:  # every line break as CRLF (C-level: no object per line)
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    match = R._FIELD.match(raw)
    if match is None:  # pragma: no cover - callers only pass lines that matched
        return
    name = match.group(1).decode("ascii")
    key = name.lower()
    if strict and match.group(2):
        scan.defects.append(
            R.Defect(
                "malformed_message",
                f"space before the colon in the {name!r} header ('{name} :'): mail programs "
                "disagree on whether it is a header",
            )
        )
    body = raw[match.end() :]
    if len(body) > R.MAX_FIELD_BYTES:
        if strict:
            scan.defects.append(
                R.Defect("malformed_message", f"the {name} header is {len(body)} bytes long")
            )
        body = body[: R.MAX_FIELD_BYTES]
    if strict:
        _old_check_bytes(scan, name, raw)
        tag_list = key.endswith(("signature", "seal"))
        hidden = [] if tag_list or count == 1 else R._HIDDEN.finditer(raw)
        for shown_count, looks in enumerate(hidden):
            shown = looks.group(1).decode("ascii")
            scan.hidden_from += shown.lower() == "from"
            if shown_count < R.MAX_LINE_DEFECTS:
                scan.defects.append(
                    R.Defect(
                        "malformed_message",
                        f"a '{shown}:' header hidden as a continuation line of the {name} "
                        "header: mail programs disagree on whether it is a header",
                    )
                )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        scan.notes.append(f"the {name} header holds bytes that are not UTF-8: replaced")
    if count > 1:  # every line break is CRLF here: _FOLD.sub("", text) at C level
        text = text.replace("\r\n ", " ").replace("\r\n\t", "\t")
    unfolded = text.strip(" \t\r\n")
    value, notes = R.decode_words(unfolded)
    scan.notes.extend(f"{name} header: {note}" for note in notes)
    if strict and "=?" in unfolded:
        bad = R.control_name(value.replace("\u00a0", " "))
        if bad is not None:
            scan.defects.append(
                R.Defect("malformed_message", f"{bad} hidden in an encoded word in {name} header")
            )
    scan.fields.append(
        R.RawField(name=name, raw=raw, unfolded=unfolded, value=value, folded=count > 1, key=key)
    )


def _old_check_bytes(scan: R.HeaderScan, name: str, raw: bytes) -> None:
    odd = bool(
        raw.translate(None, R._PLAIN_BYTES)
    )  # only then can a bad byte or a control be there
    if odd:
        for needle, label in R._BAD_BYTES:
            if needle in raw:
                scan.defects.append(R.Defect("malformed_message", f"{label} in {name} header"))
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):  # as _LONE_CR.search(raw)
        scan.defects.append(
            R.Defect("malformed_message", f"a lone carriage return (CR) in {name} header")
        )
    other = R._OTHER_CONTROL.search(raw) if odd else None
    if other is not None:
        scan.defects.append(
            R.Defect(
                "malformed_message",
                f"control character 0x{other.group(0)[0]:02X} in {name} header",
            )
        )


_PIECES = (
    b"From: a@b.example",
    b"from : x",
    b"Subject: =?utf-8?q?caf=C3=A9?=",
    b"Subject: =?bogus?q?x?=",
    b"To: =?utf-8?b?AAE=?=",
    b"DKIM-Signature: v=1;\r\n From: x",
    b"ARC-Seal: i=1;\r\n\tcv=none",
    b"Received: from x\r\n from: y\r\n Subject: z",
    b"X: \xc2\xa0",
    b"X: \x00\x0b\x01\x7f",
    b"X: \xe2\x80\xa8",
    b"X: \xff\xfe",
    b"Reply-To: a\rb",
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n ",
    b"\n\t",
    b" ",
    b"a",
    b":",
    b"=?",
    b"Date: 1",
    b"Date: 2",
    b"From ",
)


def _state(scan: R.HeaderScan) -> tuple[object, ...]:
    return (
        [(f.name, f.raw, f.unfolded, f.value, f.folded, f.key) for f in scan.fields],
        scan.defects,
        scan.notes,
        scan.hidden_from,
    )


def test_scan_matches_the_previous_field_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(31)
    for _ in range(4000):
        block = b"".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 14)))
        for strict in (True, False):
            new = R.scan_headers(block, strict=strict)
            with monkeypatch.context() as patched:
                patched.setattr(R, "_finish", _old_finish)
                old = R.scan_headers(block, strict=strict)
            assert _state(new) == _state(old), (strict, block)
            assert new.fields == old.fields, block


def test_fields_equal_those_built_by_the_dataclass() -> None:
    made = R._raw_field("From", b"From: a", "a", "a", False, "from")
    built = R.RawField(name="From", raw=b"From: a", unfolded="a", value="a", folded=False)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    with pytest.raises(AttributeError):
        made.name = "To"  # type: ignore[misc]
