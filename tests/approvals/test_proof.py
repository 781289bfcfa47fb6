"""Vendor proofs against a real store: TOTP codes and Ed25519 challenge signatures."""

from __future__ import annotations

import base64
import datetime as dt

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bot.approvals.proof import challenge_message, new_nonce, verify_signature, verify_totp
from bot.approvals.store import ApprovalStore
from bot.errors import TransitionRefused
from bot.registry import Ed25519Token, TotpToken

SECRET = pyotp.random_base32()
ENV = {"NORTHWIND_TOTP": SECRET}
TOKEN = TotpToken(type="totp", secret_env="NORTHWIND_TOTP")
NOW = dt.datetime(2026, 11, 2, 9, 0, 10, tzinfo=dt.UTC)
TOTP = pyotp.TOTP(SECRET)


def code_at(when: dt.datetime) -> str:
    return TOTP.at(when)


async def refused(coro: object) -> str:
    with pytest.raises(TransitionRefused) as err:
        await coro  # type: ignore[misc]
    return err.value.reason


async def test_totp_good_code_then_replay(store: ApprovalStore) -> None:
    evidence = await verify_totp(store, "northwind", TOKEN, code_at(NOW), NOW, ENV)
    assert evidence == {"proof": "totp", "totp_step": str(int(NOW.timestamp()) // 30)}
    assert SECRET not in str(evidence) and code_at(NOW) not in evidence.values()
    replay = verify_totp(store, "northwind", TOKEN, code_at(NOW), NOW, ENV)
    assert await refused(replay) == "proof_replayed"
    # a code for one vendor is not spent for another vendor sharing the secret
    assert await verify_totp(store, "contoso", TOKEN, code_at(NOW), NOW, ENV)


async def test_totp_window_is_one_step_each_way(store: ApprovalStore) -> None:
    step = dt.timedelta(seconds=30)
    assert await verify_totp(store, "v1", TOKEN, code_at(NOW - step), NOW, ENV)
    assert await verify_totp(store, "v2", TOKEN, code_at(NOW + step), NOW, ENV)
    stale = verify_totp(store, "v3", TOKEN, code_at(NOW - 2 * step), NOW, ENV)
    assert await refused(stale) == "proof_invalid"


async def test_totp_wrong_code_is_invalid_and_spends_nothing(store: ApprovalStore) -> None:
    good = code_at(NOW)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    assert await refused(verify_totp(store, "northwind", TOKEN, wrong, NOW, ENV)) == "proof_invalid"
    spaced = f"{good[:3]} {good[3:]}"
    assert await verify_totp(store, "northwind", TOKEN, spaced, NOW, ENV)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "１２３４５６"])
async def test_totp_malformed_codes(store: ApprovalStore, code: str) -> None:
    assert await refused(verify_totp(store, "northwind", TOKEN, code, NOW, ENV)) == "proof_invalid"


async def test_totp_missing_or_bad_secret_cannot_be_checked(store: ApprovalStore) -> None:
    missing = verify_totp(store, "northwind", TOKEN, code_at(NOW), NOW, {})
    assert await refused(missing) == "proof_unavailable"
    bad = verify_totp(store, "northwind", TOKEN, "123456", NOW, {"NORTHWIND_TOTP": "not base32!"})
    assert await refused(bad) == "proof_unavailable"


async def test_totp_eight_digits_and_sixty_second_period(store: ApprovalStore) -> None:
    token = TotpToken(type="totp", secret_env="NORTHWIND_TOTP", digits=8, period=60)
    code = pyotp.TOTP(SECRET, digits=8, interval=60).at(NOW)
    evidence = await verify_totp(store, "northwind", token, code, NOW, ENV)
    assert evidence["totp_step"] == str(int(NOW.timestamp()) // 60)


KEY = Ed25519PrivateKey.generate()
RAW_PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
ED_B64 = Ed25519Token(type="ed25519", public_key=base64.b64encode(RAW_PUBLIC).decode())
ED_HEX = Ed25519Token(type="ed25519", public_key=RAW_PUBLIC.hex())


def sign(request_id: str, nonce: str) -> bytes:
    return KEY.sign(challenge_message(request_id, nonce).encode())


async def test_signature_good_then_replayed(store: ApprovalStore) -> None:
    nonce = new_nonce()
    assert len(bytes.fromhex(nonce)) == 16
    signature = base64.b64encode(sign("req1", nonce)).decode()
    evidence = await verify_signature(store, "req1", nonce, ED_B64, signature, 3600)
    assert evidence == {"proof": "ed25519", "challenge": nonce}
    replay = verify_signature(store, "req1", nonce, ED_B64, signature, 3600)
    assert await refused(replay) == "proof_replayed"


async def test_signature_hex_forms(store: ApprovalStore) -> None:
    nonce = new_nonce()
    assert await verify_signature(store, "req2", nonce, ED_HEX, sign("req2", nonce).hex(), 60)


async def test_signature_wrong(store: ApprovalStore) -> None:
    nonce = new_nonce()
    other_request = base64.b64encode(sign("req-other", nonce)).decode()
    assert await refused(verify_signature(store, "req3", nonce, ED_B64, other_request, 60)) == (
        "proof_invalid"
    )
    stranger = Ed25519PrivateKey.generate().sign(challenge_message("req3", nonce).encode())
    assert await refused(verify_signature(store, "req3", nonce, ED_B64, stranger.hex(), 60)) == (
        "proof_invalid"
    )
    # the failures spent nothing: the genuine signature still works once
    assert await verify_signature(store, "req3", nonce, ED_B64, sign("req3", nonce).hex(), 60)


@pytest.mark.parametrize("signature", ["", "zz", "AAAA", "00" * 63, "%%%%"])
async def test_signature_malformed(store: ApprovalStore, signature: str) -> None:
    assert await refused(verify_signature(store, "r", new_nonce(), ED_B64, signature, 60)) == (
        "proof_invalid"
    )


async def test_malformed_registry_key_cannot_be_checked(store: ApprovalStore) -> None:
    token = Ed25519Token(type="ed25519", public_key="A" * 40)
    nonce = new_nonce()
    assert await refused(
        verify_signature(store, "r", nonce, token, sign("r", nonce).hex(), 60)
    ) == ("proof_unavailable")
