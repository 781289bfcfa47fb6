"""Vendor proofs, checked on the server while the approver has the vendor on the callback line.

A registered vendor may carry a token (``Vendor.token`` in the registry):

- **TOTP** (:class:`~bot.registry.TotpToken`): the vendor reads out a code; its shared secret is
  read from the environment variable the registry names, never from the registry file. A code is
  accepted within the current time step +/- one step, and only ONCE per vendor and step
  (``store.use_once("totp", "<vendor>:<step>")``), so a code heard once cannot be replayed.
- **Ed25519** (:class:`~bot.registry.Ed25519Token`): the approval card shows
  :func:`challenge_message` for the slot (a 128-bit nonce bound to the request id); the vendor
  signs it with their private key and the approver pastes the signature (base64 or hex). The
  nonce is single use (``store.use_once("ed25519", "<request>:<nonce>")``).

Every failure raises ``TransitionRefused`` with ``proof_invalid`` (wrong or malformed),
``proof_replayed`` (already used) or ``proof_unavailable`` (the token cannot be checked: secret
missing or key malformed; this is "could not check", never a pass). A successful check returns
the evidence recorded in the audit trail (method and step or nonce; never the secret or code).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pyotp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot.approvals.machine import refuse
from bot.approvals.store import ApprovalStore
from bot.registry import Ed25519Token, TotpToken

NONCE_BYTES = 16
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_SEPARATORS = re.compile(r"[\s-]")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Proof:
    """What the approver entered: a TOTP code or an Ed25519 signature (base64 or hex)."""

    kind: Literal["totp", "ed25519"]
    value: str


def new_nonce() -> str:
    """A fresh 128-bit challenge nonce, hex."""
    return secrets.token_hex(NONCE_BYTES)


def challenge_message(request_id: str, nonce: str) -> str:
    """The exact text the vendor signs."""
    return f"deskguard-challenge:{request_id}:{nonce}"


def _decode(text: str, size: int) -> bytes | None:
    """``size`` bytes from hex or (URL-safe) base64 text, or None."""
    text = "".join(text.split())
    if len(text) == 2 * size and _HEX.match(text):
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


async def verify_totp(
    store: ApprovalStore,
    vendor_id: str,
    token: TotpToken,
    code: str,
    now: dt.datetime,
    environ: Mapping[str, str],
) -> dict[str, str]:
    """Check a TOTP code (window +/- 1 step, single use); return the evidence."""
    secret = environ.get(token.secret_env, "").strip()
    if not secret:
        raise refuse(
            "proof_unavailable",
            f"The TOTP secret for this vendor is not configured (variable {token.secret_env}).",
        )
    code = _SEPARATORS.sub("", code)
    if len(code) != token.digits or not _DIGITS.fullmatch(code):
        raise refuse("proof_invalid", f"The code must be {token.digits} digits.")
    step = int(now.timestamp()) // token.period
    try:
        totp = pyotp.TOTP(secret, digits=token.digits, interval=token.period)
        candidates = [(s, totp.generate_otp(s)) for s in (step, step - 1, step + 1)]
    except (binascii.Error, ValueError):
        raise refuse(
            "proof_unavailable",
            f"The TOTP secret in {token.secret_env} is not valid base32.",
        ) from None
    matched = [s for s, expected in candidates if hmac.compare_digest(expected, code)]
    if not matched:
        raise refuse("proof_invalid", "The code is wrong or out of date.")
    if not await store.use_once("totp", f"{vendor_id}:{matched[0]}", 3 * token.period):
        raise refuse("proof_replayed", "This code was already used; ask for the next one.")
    return {"proof": "totp", "totp_step": str(matched[0])}


async def verify_signature(
    store: ApprovalStore,
    request_id: str,
    nonce: str,
    token: Ed25519Token,
    signature: str,
    ttl: float,
) -> dict[str, str]:
    """Check an Ed25519 signature over the challenge (single-use nonce); return the evidence."""
    key = _decode(token.public_key, 32)
    if key is None:
        raise refuse("proof_unavailable", "The vendor's registered public key is malformed.")
    sig = _decode(signature, 64)
    if sig is None:
        raise refuse("proof_invalid", "The signature must be 64 bytes, in base64 or hex.")
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            sig, challenge_message(request_id, nonce).encode()
        )
    except InvalidSignature:
        raise refuse("proof_invalid", "The signature does not verify for this challenge.") from None
    except ValueError:
        raise refuse(
            "proof_unavailable", "The vendor's registered public key is unusable."
        ) from None
    if not await store.use_once("ed25519", f"{request_id}:{nonce}", max(ttl, 1.0)):
        raise refuse("proof_replayed", "This challenge was already answered.")
    return {"proof": "ed25519", "challenge": nonce}
