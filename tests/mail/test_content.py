"""Phone numbers in a message and the high-risk requests it makes."""

from __future__ import annotations

import pytest

from bot.mail.content import (
    MAX_PHONES,
    MAX_TEXT,
    PhoneMention,
    RiskCategory,
    classify_request,
    find_phone_numbers,
)


def test_plain_numbers_in_e164() -> None:
    text = "Call +1 (206) 555-0142 or our UK desk on +44 20 7946 0958."
    assert find_phone_numbers(text) == [
        PhoneMention("+1 (206) 555-0142", "+12065550142"),
        PhoneMention("+44 20 7946 0958", "+442079460958"),
    ]


def test_letter_for_digit_trick_is_undone() -> None:
    assert find_phone_numbers("Call our hotline 1-8OO-555-0199 now") == [
        PhoneMention("1-8OO-555-0199", "+18005550199")
    ]


def test_other_lookalike_letters() -> None:
    found = find_phone_numbers("Support: l-8OO-555-Ol98 (24/7)")
    assert [p.e164 for p in found] == ["+18005550198"]
    assert found[0].raw == "l-8OO-555-Ol98"


def test_words_are_not_turned_into_digits() -> None:
    assert find_phone_numbers("I told Olivia: lol, 100 OK. Order 12345.") == []


def test_duplicates_are_merged_keeping_the_first_spelling() -> None:
    text = "Call 1-8OO-555-0199. Again: 1 (800) 555-0199. Or +18005550199."
    assert find_phone_numbers(text) == [PhoneMention("1-8OO-555-0199", "+18005550199")]


def test_region_decides_numbers_without_a_country_code() -> None:
    assert find_phone_numbers("Ring 020 7946 0958", region="GB")[0].e164 == "+442079460958"
    assert find_phone_numbers("Ring 020 7946 0958", region="US") == []


def test_invalid_numbers_are_ignored() -> None:
    assert find_phone_numbers("Ticket 555-0199, invoice 2026-11-10, ref 1234567") == []


def test_at_most_twenty_numbers() -> None:
    text = " ".join(f"+1 206 555 {100 + i:04d}" for i in range(40))
    found = find_phone_numbers(text)
    assert len(found) == MAX_PHONES
    assert found[0].e164 == "+12065550100"


def test_only_the_first_100_kb_is_read() -> None:
    text = "x" * MAX_TEXT + " call +1 206 555 0142"
    assert find_phone_numbers(text) == []
    assert find_phone_numbers(text[-40:]) != []


@pytest.mark.parametrize(
    ("text", "code", "evidence"),
    [
        ("Please reset your password today", "credential_reset", "reset your password"),
        ("We need to verify your credentials", "credential_reset", "verify your credentials"),
        ("Send us the temporary password", "credential_reset", "temporary password"),
        ("Your MFA needs a reset", "mfa_reset", "MFA"),
        ("Remove the old authenticator", "mfa_reset", "authenticator"),
        ("Please re-enroll your phone", "mfa_reset", "re-enroll"),
        ("Open TeamViewer so we can look", "remote_access", "TeamViewer"),
        ("Join the AnyDesk session", "remote_access", "AnyDesk"),
        ("Accept the ScreenConnect invite", "remote_access", "ScreenConnect"),
        ("Please install the agent on the DC", "remote_access", "install the agent"),
        ("Apply the hotfix attached", "patch_install", "hotfix"),
        ("A security patch is available", "patch_install", "security patch"),
        ("Our bank details have changed", "payment_change", "bank details"),
        ("Send the wire to the account below", "payment_change", "wire"),
        ("Use the new account number", "payment_change", "new account number"),
        ("This is urgent", "urgency", "urgent"),
        ("Do it immediately", "urgency", "immediately"),
        ("Reply within the hour", "urgency", "within the hour"),
    ],
)
def test_each_category(text: str, code: str, evidence: str) -> None:
    assert classify_request("", text) == [RiskCategory(code, evidence)]


def test_subject_counts_and_order_is_fixed() -> None:
    found = classify_request(
        "URGENT: critical security patch",
        "Install it via AnyDesk, then reset your password and confirm your MFA.",
    )
    assert [c.code for c in found] == [
        "credential_reset",
        "mfa_reset",
        "remote_access",
        "patch_install",
        "urgency",
    ]


def test_word_boundaries() -> None:
    assert classify_request("Wireless survey", "The wiretap story; mfax machine; urgently?") == [
        RiskCategory("urgency", "urgently")
    ]
    assert classify_request("Quarterly maintenance", "Our window is on Saturday.") == []


def test_disguised_words_are_normalized() -> None:
    found = classify_request("ＵＲＧＥＮＴ", "please reset your pass\u200bword")
    assert [c.code for c in found] == ["credential_reset", "urgency"]
