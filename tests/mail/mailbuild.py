"""Raw test messages for the parsing tests: plain, forwarded as attachments, and Outlook .msg."""

from __future__ import annotations

import io
import struct

from extract_msg.ole_writer import OleWriter

RECEIVED = (
    "Received: from mail.northwind-software.com (mail.northwind-software.com [203.0.113.5]) "
    "by mx.corp.example (Postfix) with ESMTPS id 4Xy; Tue, 10 Nov 2026 09:30:02 +0000"
)


def eml(
    *,
    from_: str = "Dana Whitfield <dana.whitfield@northwind-software.com>",
    subject: str = "Quarterly maintenance window",
    body: str = "Hello,\r\n\r\nOur maintenance window is on Saturday.\r\n",
    top: list[str] | None = None,
    extra: list[str] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> bytes:
    """A CRLF message: ``top`` header lines first, then From/To/Subject, ``extra``, the body."""
    lines = list(top if top is not None else [RECEIVED])
    lines += [
        f"From: {from_}",
        "To: helpdesk@corp.example",
        f"Subject: {subject}",
        "Date: Tue, 10 Nov 2026 09:30:00 +0000",
        "Message-ID: <m1@northwind-software.com>",
        *(extra or []),
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


def forward(inner: bytes, *, level: int = 0, filename: str | None = "original.eml") -> bytes:
    """A message from an analyst carrying ``inner`` as a message/rfc822 attachment."""
    boundary = f"fwd-boundary-{level}".encode()
    disposition = b"attachment"
    if filename is not None:
        disposition += b'; filename="' + filename.encode() + b'"'
    return (
        b"From: Ana Lyst <ana@corp.example>\r\n"
        b"To: deskguard@corp.example\r\n"
        b"Subject: Fwd: please check\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
        b"--" + boundary + b"\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Is this real?\r\n"
        b"--" + boundary + b"\r\n"
        b"Content-Type: message/rfc822\r\n"
        b"Content-Disposition: " + disposition + b"\r\n\r\n" + inner + b"\r\n"
        b"--" + boundary + b"--\r\n"
    )


def nested(original: bytes, levels: int) -> bytes:
    """``original`` forwarded as an attachment ``levels`` times (attachment i named fwd<i>.eml)."""
    message = original
    for level in range(levels):
        message = forward(message, level=level, filename=f"fwd{level}.eml")
    return message


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def outlook_msg(
    *,
    subject: str,
    body: str,
    sender_name: str = "Dana Whitfield",
    sender_email: str = "dana.whitfield@northwind-software.com",
    transport_headers: str | None = None,
) -> bytes:
    """A genuine Outlook .msg (OLE compound file, MS-OXMSG layout) written with extract-msg's
    OleWriter: message class IPM.Note, subject, sender, body and optional transport headers."""
    strings = {
        0x001A: "IPM.Note",
        0x0037: subject,
        0x0C1A: sender_name,
        0x5D01: sender_email,
        0x1000: body,
    }
    if transport_headers is not None:
        strings[0x007D] = transport_headers
    writer = OleWriter()
    entries = b""
    for tag, value in strings.items():
        writer.addEntry(f"__substg1.0_{tag:04X}001F", _utf16(value))
        entries += struct.pack("<HHIII", 0x001F, tag, 6, len(_utf16(value)) + 2, 0)
    top_header = bytes(8) + struct.pack("<IIII", 0, 0, 0, 0) + bytes(8)
    writer.addEntry("__properties_version1.0", top_header + entries)
    writer.addEntry("__nameid_version1.0", storage=True)
    for stream in ("00020102", "00030102", "00040102"):
        writer.addEntry(f"__nameid_version1.0/__substg1.0_{stream}", b"")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
