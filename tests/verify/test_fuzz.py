"""Fuzz parse + verify with mutations of real messages (.eml and Outlook .msg).

Hypothesis picks a seed (examples/*.eml, messages built here, a .msg written with extract-msg's
OLE writer) and applies a few mutations: bytes from a list of known troublemakers (encoded
words in odd charsets, NUL, non-ASCII bytes, boundaries, folds, header names) inserted,
spans deleted or repeated, bytes flipped, the tail cut. Every case must come back as a Report
or as InputError ("not a message"), never as any other exception. The run is bounded
(``max_examples``, derandomized, no example database) so CI spends a few seconds on it; set
DESKGUARD_FUZZ_EXAMPLES to hunt longer. Crashers it found are kept in tests/fixtures/hostile and
replayed by tests/verify/test_hostile.py.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dns import Resolver, Snapshot
from bot.errors import InputError
from bot.registry import RegistryHolder, load_registry
from bot.report import Report
from bot.settings import Settings
from bot.verify.verifier import Verifier
from tests.mail.mailbuild import eml, forward, outlook_msg

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES_COUNT = int(os.environ.get("DESKGUARD_FUZZ_EXAMPLES", "150"))

TOKENS: tuple[bytes, ...] = (
    b"=?undefined?Q?x?=",
    b"=?punycode?B?YWJj?=",
    b"=?utf\x00-8?Q?x?=",
    b"=?utf-8?B?4oCu?=",
    b"=?iso-2022-jp?B?GyRC?=",
    b"\x00",
    b"\xff",
    b"\xe9",
    b"\xc3",
    b"\r",
    b"\r\n",
    b"\r\n\r\n",
    b"\r\n ",
    b"\r\n\t",
    b"--",
    b"--b1\r\n",
    b"--b1--\r\n",
    b"\r\nContent-Type: multipart/mixed; boundary=b1\r\n",
    b"\r\nContent-Type: message/rfc822\r\n",
    b"\r\nContent-Type: text/plain; charset=punycode\r\n",
    b'\r\nContent-Type: text/html; charset="utf\x00-8"\r\n',
    b"\r\nContent-Transfer-Encoding: base64\xff\r\n",
    b"\r\nContent-Transfer-Encoding: quoted-printable\r\n",
    b"\r\nContent-Disposition: attach\xe9ment; filename*=undefined''x.eml\r\n",
    b"\r\nFrom: ",
    b"\r\nReply-To: ",
    b"\r\nReceived: from [",
    b"\r\nDKIM-Signature: v=1; a=rsa-sha256; d=",
    b"\r\nAuthentication-Results: mx; dkim=pass header.d=",
    b'"',
    b";",
    b"<",
    b">",
    b"@",
    b":",
    b"=",
    b"(",
    b"<!--",
    b"\xef\xbb\xbf",
)


def _seeds() -> list[bytes]:
    built = [
        eml(),
        eml(
            from_="=?utf-8?B?RGFuYQ==?= <dana.whitfield@northwind-software.com>",
            body="<p>Reset your password: call 1-8OO-555-0199</p>",
            content_type="text/html; charset=utf-8",
        ),
        forward(eml(subject="urgent patch"), filename="original.eml"),
        eml(
            body="--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nUmVzZXQgeW91ciBwYXNzd29yZA==\r\n--b1--\r\n",
            content_type="multipart/alternative; boundary=b1",
        ),
        outlook_msg(subject="Patch", body="Install the update now, call 206-555-0199"),
        outlook_msg(
            subject="Headers kept",
            body="Hello",
            transport_headers="From: Dana <dana.whitfield@northwind-software.com>\r\n"
            "Subject: =?undefined?Q?x?=\r\n\r\n",
        ),
    ]
    return [p.read_bytes() for p in sorted(EXAMPLES.glob("*.eml"))] + built


SEEDS = _seeds()

_MUTATION = st.tuples(
    st.sampled_from(("insert", "delete", "repeat", "flip", "cut")),
    st.floats(min_value=0.0, max_value=1.0),
    st.integers(min_value=1, max_value=64),
    st.sampled_from(TOKENS),
)


def mutate(data: bytes, mutations: list[tuple[str, float, int, bytes]]) -> bytes:
    """Apply ``mutations`` to ``data`` (each at a relative position)."""
    out = bytearray(data)
    for kind, where, size, token in mutations:
        at = int(where * len(out))
        if kind == "insert":
            out[at:at] = token
        elif kind == "delete":
            del out[at : at + size]
        elif kind == "repeat":
            out[at:at] = bytes(out[at : at + size]) * min(size, 16)
        elif kind == "flip" and at < len(out):
            out[at] ^= 1 << (size % 8)
        elif kind == "cut" and len(out) > size:
            del out[max(size, at) :]
    return bytes(out)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    base = Settings(  # type: ignore[call-arg]
        _env_file=None,
        registry=FIXTURES / "vendors.yml",
        trusted_authserv_ids=("mx.example-corp.test",),
    )
    resolver = Resolver(snapshot=Snapshot.load(EXAMPLES / "dns-snapshot.json"))
    return Verifier(base, resolver, RegistryHolder(load_registry(base.registry)))


def check(verifier: Verifier, data: bytes) -> Report | None:
    """Parse and verify; None when the bytes are refused as not a message."""
    try:
        return asyncio.run(verifier.verify_message(data, filename="fuzz.eml"))
    except InputError:
        return None


@settings(
    max_examples=EXAMPLES_COUNT,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=20),  # generous: the bound is for hangs, not speed
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(min_value=0, max_value=len(SEEDS) - 1),
    mutations=st.lists(_MUTATION, min_size=1, max_size=6),
)
def test_mutated_messages_verify_or_are_refused(
    verifier: Verifier, seed: int, mutations: list[tuple[str, float, int, bytes]]
) -> None:
    report = check(verifier, mutate(SEEDS[seed], mutations))
    if report is not None:
        assert report.verdict.value in ("verified", "unverified", "suspicious", "spoofed")


def test_every_seed_verifies(verifier: Verifier) -> None:
    """The seeds themselves are messages (the mutations start from something real)."""
    assert all(check(verifier, seed) is not None for seed in SEEDS)
