"""Outlook .msg reading (genuine OLE files written with extract-msg's OleWriter)."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.mail.outlook import is_ole, read_msg
from tests.mail.mailbuild import outlook_msg


def test_read_msg_fields() -> None:
    data = outlook_msg(
        subject="Patch", body="Install now", transport_headers="From: a@b.example\r\n"
    )
    assert is_ole(data)
    msg = read_msg(data)
    assert (msg.subject, msg.body) == ("Patch", "Install now")
    assert msg.header_text == "From: a@b.example\r\n"


def test_ole_file_that_is_not_a_message() -> None:
    assert not is_ole(b"From: a@b.example\r\n")
    with pytest.raises(InputError, match="could not be read"):
        read_msg(b"\xd0\xcf\x11\xe0" + b"\x00" * 600)
