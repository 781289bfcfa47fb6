"""Mail::DKIM's verifier corpus (tests/data/mail-dkim, Perl 5 licence) run through bot.mail.dkim.

The messages, their key records (FAKE_DNS.dat) and the expected results (verifier.t) were written
by Mail::DKIM's authors, not by us or by dkimpy's. Each record is served by the real test DNS
server (NXDOMAIN, timeouts and SERVFAIL included). Mail::DKIM's expectation for each file is read
from its own verifier.t; our result for every signature is in ``OURS``; where the two disagree,
``WHY`` says why, and the test fails if a disagreement has no explanation (or an explanation no
longer has a disagreement).

Mail::DKIM's results map onto ours as: ``pass`` = our pass, or ``policy`` when the crypto verifies
but RFC 8301 refuses it (rsa-sha1, keys under 1024 bits, testing keys); ``fail`` = our fail;
``invalid`` = our permerror, temperror or policy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.dns import Resolver
from bot.mail.dkim import verify_dkim
from tests.conftest import TESTSUITES
from tests.support.dnsserver import TestDNSServer

DATA = TESTSUITES / "mail-dkim"
_EXPECT = re.compile(r'test_email\(\s*"([^"]+)",\s*"(\w+)"\s*\)')

DRAFT = (
    "a pre-standard draft signature (no v= or v=0.5): RFC 6376 §3.5 requires v=1, so it is a "
    "permerror for us (and for dkimpy); Mail::DKIM still verifies the drafts"
)
DOMAINKEYS = (
    "a DomainKey-Signature (RFC 4870, historic) and no DKIM-Signature: deskguard checks DKIM only, "
    "so the message is unsigned for us (no result)"
)
OLD_CRYPTO = (
    "the signature verifies, but with rsa-sha1 and a 512-bit key, which RFC 8301 forbids: policy "
    "(not a pass) for us; the corpus predates RFC 8301"
)
GRANULARITY = (
    "g= (key granularity) was removed by RFC 6376 (Appendix C.2 of RFC 6376; it is ignored as an "
    "unknown tag), so the key applies; the signature still is not a pass for us (policy: "
    "rsa-sha1, 512-bit key)"
)

P, F, E, T, Y = "pass", "fail", "permerror", "temperror", "policy"

# Our result for every signature of every file (top first).
OURS: dict[str, tuple[str, ...]] = {
    "bad_1.txt": (E,),
    "bad_1878954.txt": (F,),
    "bad_ietf01_1.txt": (E,),
    "bad_ietf01_2.txt": (E,),
    "bad_ietf01_3.txt": (E,),
    "badkey1_ed25519.txt": (E,),
    "badkey2_ed25519.txt": (F,),
    "badkey3_ed25519.txt": (F,),
    "badkey4_ed25519.txt": (E,),
    "badkey5_ed25519.txt": (E,),
    **{f"badkey_{n}.txt": (E,) for n in range(1, 8)},
    "badkey_8.txt": (Y,),
    "badkey_9.txt": (Y,),
    "badkey_10.txt": (Y,),
    "badkey_11.txt": (E,),
    "badkey_12.txt": (Y,),
    "badkey_13.txt": (Y,),
    "badkey_14.txt": (T,),
    "badkey_15.txt": (T,),
    "good_1878523.txt": (Y,),
    "good_83176.txt": (Y,),
    **{f"good_ietf00_{n}.txt": (E,) for n in range(1, 6)},
    "good_ietf01_1.txt": (E,),
    "good_ietf01_2.txt": (E,),
    "good_qp_1.txt": (Y,),
    "good_qp_2.txt": (Y,),
    "good_qp_3.txt": (Y,),
    "good_rfc4871_3.txt": (Y,),
    "good_rfc4871_4.txt": (Y,),
    "goodkey_1.txt": (Y,),
    "goodkey_2.txt": (Y,),
    "goodkey_3.txt": (Y,),
    "goodkey_4.txt": (Y,),
    "goodkey_ed25519.txt": (P,),
    "ignore_1.txt": (E,),
    "ignore_2.txt": (E,),
    "ignore_3.txt": (E,),
    "ignore_4.txt": (E,),
    "ignore_5.txt": (E,),
    "ignore_6.txt": (E,),
    "ignore_7.txt": (Y,),
    "ignore_8.txt": (E,),
    **{f"mine_ietf01_{n}.txt": (E,) for n in range(1, 5)},
    "mine_ietf05_1.txt": (E,),
    "multiple_1.txt": (E, E, E, E),
    "multiple_2.txt": (E, Y, F, E),
    "no_body_1.txt": (E,),
    "no_body_2.txt": (E,),
    "no_body_3.txt": (E,),
    **{
        name: ()
        for name in (
            "bad_dk_1.txt",
            "bad_dk_2.txt",
            "bad_dk_3.txt",
            "bad_dk_4.txt",
            "bad_dk_5.txt",
            "dk_headers_1.txt",
            "dk_headers_2.txt",
            "dk_multiple_1.txt",
            "good_dk_1.txt",
            "good_dk_2.txt",
            "good_dk_3.txt",
            "good_dk_4.txt",
            "good_dk_5.txt",
            "good_dk_6.txt",
            "good_dk_7.txt",
            "good_dk_gmail.txt",
            "good_dk_yahoo.txt",
        )
    },
}

# Why we disagree with Mail::DKIM's expectation, file by file.
WHY: dict[str, str] = {
    **{f"good_ietf00_{n}.txt": DRAFT for n in range(1, 6)},
    "good_ietf01_1.txt": DRAFT,
    "good_ietf01_2.txt": DRAFT,
    **{f"mine_ietf01_{n}.txt": DRAFT for n in range(1, 5)},
    "mine_ietf05_1.txt": DRAFT,
    "multiple_1.txt": DRAFT + " (all four signatures are drafts)",
    "no_body_1.txt": DRAFT,
    "no_body_2.txt": DRAFT,
    "no_body_3.txt": DRAFT,
    "bad_ietf01_1.txt": DRAFT + "; both say it is not a pass",
    "bad_ietf01_2.txt": DRAFT + "; both say it is not a pass",
    "bad_ietf01_3.txt": DRAFT + "; both say it is not a pass",
    "bad_1.txt": DRAFT + "; both say it is not a pass",
    **{name: DOMAINKEYS for name in OURS if name.startswith(("good_dk", "bad_dk", "dk_"))},
}

# Agreements for a different reason: Mail::DKIM refuses the key for its g= tag, we for RFC 8301.
SAME_VERDICT_OTHER_REASON = {
    "badkey_8.txt": GRANULARITY,
    "badkey_9.txt": GRANULARITY,
    "badkey_12.txt": GRANULARITY,
    "badkey_13.txt": GRANULARITY,
}

# The RFC 6376 forms of issue 10 §4 that the corpus holds: each must verify cryptographically.
RFC_FORMS = {
    "good_83176.txt": "q=foo/bar:dns/txt:exam/ple (unknown query methods ignored)",
    "good_qp_2.txt": "i=jlong@messiah=2Eedu (dkim-quoted-printable)",
    "good_qp_3.txt": "i=jlong=40messiah.edu (dkim-quoted-printable)",
    "goodkey_2.txt": "key with s=email:web:fine, 'x1 = extra ;' and 't = y:n:extra'",
}


def _expectations() -> dict[str, str]:
    text = (DATA / "verifier.t").read_text(encoding="utf-8")
    return {name: result for name, result in _EXPECT.findall(text)}


def _load_dns(server: TestDNSServer) -> None:
    for line in (DATA / "FAKE_DNS.dat").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, record = line.strip().partition(" ")
        record = record.strip()
        if record == "NXDOMAIN":
            continue
        if "timed out" in record:
            server.timeouts.add(name.lower())
        elif "SERVFAIL" in record:
            server.servfail.add(name.lower())
        else:
            server.add(name, "TXT", "" if record == '""' else record)


def _agrees(theirs: str, ours: tuple[str, ...]) -> bool:
    if theirs == "pass":
        return any(r in (P, Y) for r in ours)
    if theirs == "fail":
        return F in ours and P not in ours
    return bool(ours) and all(r in (E, T, Y) for r in ours)


EXPECTED = _expectations()


def test_every_corpus_file_has_an_expectation_and_a_result() -> None:
    files = {p.name for p in (DATA / "corpus").glob("*.txt")}
    assert len(files) == 79
    assert files == set(EXPECTED) == set(OURS)


@pytest.mark.parametrize("name", sorted(OURS))
def test_corpus_message(name: str, dns_server: TestDNSServer, resolver: Resolver) -> None:
    _load_dns(dns_server)
    raw = (DATA / "corpus" / name).read_bytes()

    got = verify_dkim(raw, resolver)

    results = tuple(r.result for r in got)
    assert results == OURS[name], [r.reason for r in got]
    for result in got:
        assert result.reason and "None" not in result.reason
        if result.result == Y:
            assert "the signature verifies but is refused" in result.reason
    theirs = EXPECTED[name]
    if _agrees(theirs, results):
        assert name not in WHY, f"{name}: we agree with Mail::DKIM now; drop the explanation"
    else:
        assert name in WHY, f"{name}: Mail::DKIM says {theirs}, we say {results}; explain why"
    if name in SAME_VERDICT_OTHER_REASON:
        assert "512-bit" in got[0].reason and "rsa-sha1" in got[0].reason


@pytest.mark.parametrize("name", sorted(RFC_FORMS))
def test_rfc_forms_in_the_corpus_verify(
    name: str, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    _load_dns(dns_server)

    got = verify_dkim((DATA / "corpus" / name).read_bytes(), resolver)

    assert len(got) == 1
    assert got[0].result == Y, got[0].reason
    assert "rsa-sha1" in got[0].reason, RFC_FORMS[name]
    assert "permerror" not in got[0].reason


def test_the_corpus_files_are_as_published() -> None:
    # Files kept byte for byte: CRLF or LF as Mail::DKIM ships them.
    assert (DATA / "corpus" / "good_83176.txt").read_bytes().count(b"DKIM-Signature") == 1
    assert Path(DATA / "verifier.t").read_text(encoding="utf-8").count("test_email(") >= 79
