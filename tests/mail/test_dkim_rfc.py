"""RFC 6376 forms that must verify (issue 10 §4), from the grammar, on messages signed here.

Each signature is written as text (tests/support/mailsign.sign_template, hashed by dkimpy's own
header code): several ``q=`` methods (§3.5: unknown ones ignored), dkim-quoted-printable ``i=``
(§2.11), key records whose ``s=`` lists service types (§3.6.1), whitespace and folding around
``=`` and ``;`` (§3.2) in signatures and key records. Broken forms are permerrors whose reason a
person can act on. ARC-Message-Signature and ARC-Seal read their tag lists and keys the same way.
"""

from __future__ import annotations

import pytest

from bot.dns import Resolver
from bot.mail.arc import verify_arc
from bot.mail.dkim import DkimResult, verify_dkim
from tests.support import mailsign
from tests.support.dnsserver import TestDNSServer

D = "rfc-forms.example"
BASE = "v=1; a={a}; c={c}; d=rfc-forms.example; s=s1; h=from:to:subject; bh={{bh}}; b={{b}}"


def _sign(
    dns: TestDNSServer,
    template: str,
    *,
    kind: str = "rsa",
    canon: str = "relaxed/relaxed",
    record: str | None = None,
) -> bytes:
    key = mailsign.ed25519_key() if kind == "ed25519" else mailsign.rsa_key(2048)
    alg = "ed25519-sha256" if kind == "ed25519" else "rsa-sha256"
    if record is None:
        mailsign.publish(dns, D, "s1", key)
    else:
        dns.add(f"s1._domainkey.{D}", "TXT", record.replace("{p}", key.public_b64))
    text = template.replace("{a}", alg).replace("{c}", canon)
    return mailsign.sign_template(
        mailsign.build(), text, key=key, canonicalize=canon, headers=("from", "to", "subject")
    )


def _only(results: list[DkimResult]) -> DkimResult:
    assert len(results) == 1, results
    return results[0]


def _fmt(template: str) -> str:
    return template.replace("{{", "{").replace("}}", "}")


# q=: several methods, unknown ones ignored (§3.5)


@pytest.mark.parametrize(
    "q", ["dns/txt", "foo/bar:dns/txt", "dns/txt:x-other", "  foo/bar : DNS/TXT  "]
)
def test_q_lists_with_dns_txt_verify(q: str, dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _sign(dns_server, _fmt(BASE) + f"; q={q}")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason


def test_q_without_dns_txt_is_an_actionable_permerror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, _fmt(BASE) + "; q=foo/bar:http/well-known")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "q=" in got.reason and "dns/txt" in got.reason
    assert dns_server.queries == []


# i=: dkim-quoted-printable (§2.11)


@pytest.mark.parametrize(
    "identity",
    ["jo=40rfc-forms.example", "jo@rfc-forms=2Eexample", "=6Ao@mail.rfc-forms.example", "@" + D],
)
def test_quoted_printable_identity_is_decoded(
    identity: str, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, _fmt(BASE) + f"; i={identity}")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason


def test_encoded_identity_outside_the_domain_is_permerror(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, _fmt(BASE) + "; i=ceo=40evil.example")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "evil.example" in got.reason and "d=rfc-forms.example" in got.reason


def test_broken_quoted_printable_identity_says_so(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, _fmt(BASE) + "; i=jo=4Xrfc-forms.example")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "quoted-printable" in got.reason


# key records: s= service type lists (§3.6.1), whitespace (§3.2)


@pytest.mark.parametrize(
    "record",
    [
        "v=DKIM1; k=rsa; s=email:web; p={p}",
        "v=DKIM1; k=rsa; s=*:email; p={p}",
        "v=DKIM1; k=rsa; s = web : email ; p={p}",
        "v = DKIM1 ; k = rsa ; p = {p}",
        "v=DKIM1;k=rsa;h=sha1 : sha256;t=n:x-unknown;p={p};",
        "v=DKIM1; xfuture=1; n=notes here; p={p}",
    ],
)
def test_rfc_key_records_verify(record: str, dns_server: TestDNSServer, resolver: Resolver) -> None:
    message = _sign(dns_server, _fmt(BASE), record=record)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason


def test_key_with_whitespace_inside_p_verifies(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    public = mailsign.rsa_key(2048).public_b64
    spaced = " ".join(public[i : i + 64] for i in range(0, len(public), 64))
    message = _sign(dns_server, _fmt(BASE), record=f"v=DKIM1; p= {spaced} ")

    assert _only(verify_dkim(message, resolver)).result == "pass"


@pytest.mark.parametrize("services", ["web", "web:chat", "tlsrpt"])
def test_key_not_for_email_is_an_actionable_permerror(
    services: str, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, _fmt(BASE), record=f"v=DKIM1; s={services}; p={{p}}")

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert "not for email" in got.reason and f"s1._domainkey.{D}" in got.reason


def test_ed25519_key_record_with_whitespace_verifies(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(
        dns_server, _fmt(BASE), kind="ed25519", record="v = DKIM1 ; k = ed25519 ; p = {p} ;"
    )

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason
    assert got.algorithm == "ed25519-sha256"


# whitespace and folding around '=' and ';' in the signature (§3.2)

SPACED = [
    "v = 1 ; a = {a} ; c = {c} ; d = rfc-forms.example ; s = s1 ; h = from : to : subject ;"
    " bh = {bh} ; b = {b}",
    "v=1;a={a};c={c};d=rfc-forms.example;s=s1;h=from:to:subject;bh={bh};b={b};",
    "v=1;\r\n\ta={a};\r\n c={c}; d=rfc-forms.example;\r\n\ts=s1; h=from\r\n\t:to:subject;"
    " bh=\r\n\t{bh}; b={b}",
    "b={b}; bh={bh}; h=from:to:subject; s=s1; d=rfc-forms.example; c={c}; a={a}; v=1",
    "v=1; a={a}; c={c}; d=rfc-forms.example; s=s1; h=from:to:subject; b = {b} ; bh={bh}",
]


@pytest.mark.parametrize("canon", ["relaxed/relaxed", "simple/simple", "relaxed/simple"])
@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
@pytest.mark.parametrize("template", SPACED, ids=range(len(SPACED)))
def test_whitespace_around_equals_and_semicolons_verifies(
    template: str, kind: str, canon: str, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, template, kind=kind, canon=canon)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "pass", got.reason
    assert got.domain == D and got.selector == "s1"
    assert got.signed_headers == ("from", "to", "subject")


# every permerror says what is wrong

BROKEN = {
    "v=1; a=rsa-sha256; d=rfc-forms.example; s=s1; bh={bh}; b={b}": "lacks required tag(s) h",
    _fmt(BASE) + "; d=other.example": "appears more than once",
    _fmt(BASE) + "; 9x=1": "not a valid tag name",
    _fmt(BASE) + "; novalue": "has no '='",
    _fmt(BASE) + ";; x=1": "empty tag-spec",
    _fmt(BASE).replace("c={c}", "c=fancy/relaxed"): "invalid c=",
    _fmt(BASE) + "; l=12ab": "l='12ab' is not a decimal number",
    _fmt(BASE).replace("v=1", "v=2"): "unknown signature version",
    _fmt(BASE).replace("a={a}", "a=rsa-md5"): "unsupported signature algorithm",
    _fmt(BASE).replace("bh={bh}", "bh=@@@@"): "bh= is not valid base64",
    _fmt(BASE).replace("s=s1", "s=-bad-"): "invalid selector",
}


@pytest.mark.parametrize(("template", "words"), list(BROKEN.items()), ids=list(BROKEN.values()))
def test_every_permerror_names_the_problem(
    template: str, words: str, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, template)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert words in got.reason
    assert "None" not in got.reason


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=DKIM1; k=rsa; p=", "revoked"),
        ("v=DKIM1; k=rsa; p={p}; p={p}", "appears more than once"),
        ("v=DKIM2; p={p}", "unknown version"),
        ("v=DKIM1; k=dsa; p={p}", "unknown type k='dsa'"),
        ("v=DKIM1; h=sha1; p={p}", "does not allow sha256"),
        ("v=DKIM1; p=!!notbase64!!", "not valid base64"),
        ("v=DKIM1; p=AAAA", "cannot be parsed"),
        ("v=DKIM1; 1bad=x; p={p}", "not a valid tag name"),
    ],
)
def test_every_key_permerror_names_the_problem(
    record: str, words: str, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    message = _sign(dns_server, _fmt(BASE), record=record)

    got = _only(verify_dkim(message, resolver))

    assert got.result == "permerror"
    assert words in got.reason and f"s1._domainkey.{D}" in got.reason
    assert "None" not in got.reason


# ARC reads tag lists and key records by the same rules

R = "relay-forms.example"


@pytest.mark.parametrize(
    "record",
    [
        "v=DKIM1; k=rsa; s=email:web; p={p}",
        "v = DKIM1 ; k = rsa ; s = * : email ; p = {p} ;",
    ],
)
def test_arc_keys_with_rfc_forms_validate(
    record: str, dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    dns_server.add(f"arc._domainkey.{R}", "TXT", record.replace("{p}", key.public_b64))
    sealed = mailsign.arc_seal(
        mailsign.build(), domain=R, selector="arc", key=key, srv_id="mx.relay-forms.example"
    )

    got = verify_arc(sealed, resolver)

    assert got.cv == "pass", got.reason


def test_arc_seal_with_spaced_tags_validates(dns_server: TestDNSServer, resolver: Resolver) -> None:
    key = mailsign.rsa_key(2048)
    mailsign.publish(dns_server, R, "arc", key)
    sealed = mailsign.arc_seal(
        mailsign.build(), domain=R, selector="arc", key=key, srv_id="mx.relay-forms.example"
    )
    # Respace the instance tags: the ARC headers carry "i=1;" and relaxed canonicalization
    # keeps the spaces, so this must break the seal: the respaced form is a different text.
    respaced = sealed.replace(b"ARC-Seal: i=1;", b"ARC-Seal: i = 1 ;", 1)

    got = verify_arc(respaced, resolver)

    assert got.cv == "fail"
    assert "ARC-Seal i=1 does not validate" in got.reason


def test_arc_key_not_for_email_fails_with_a_reason(
    dns_server: TestDNSServer, resolver: Resolver
) -> None:
    key = mailsign.rsa_key(2048)
    dns_server.add(f"arc._domainkey.{R}", "TXT", f"v=DKIM1; s=web; p={key.public_b64}")
    sealed = mailsign.arc_seal(
        mailsign.build(), domain=R, selector="arc", key=key, srv_id="mx.relay-forms.example"
    )

    got = verify_arc(sealed, resolver)

    assert got.cv == "fail"
    assert "not for email" in got.reason
