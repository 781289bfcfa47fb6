"""DKIM key posture: the key published at ``<selector>._domainkey.<domain>``, its type and size."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from bot.dns import Resolver
from bot.mail.dmarc_policy import CheckStatus, parse_tags
from bot.verify.posture.lookup import looked_up

MIN_RSA_BITS = 1024
_SELECTOR = re.compile(
    r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_][A-Za-z0-9_-]{0,62})*$"
)


@dataclass
class DkimKeyPosture:
    """The DKIM key at ``<selector>._domainkey.<domain>``."""

    selector: str
    name: str
    status: CheckStatus
    record: str | None = None
    key_type: str | None = None
    rsa_bits: int | None = None
    testing: bool = False
    revoked: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable summary."""
        return {
            "selector": self.selector,
            "name": self.name,
            "status": self.status.value,
            "record": self.record,
            "key_type": self.key_type,
            "rsa_bits": self.rsa_bits,
            "testing": self.testing,
            "revoked": self.revoked,
            "error": self.error,
            "warnings": list(self.warnings),
        }


def _is_dkim_key_record(text: str) -> bool:
    tags, _ = parse_tags(text)
    return "p" in tags or tags.get("v", "") == "DKIM1"


def _read_key(posture: DkimKeyPosture, tags: dict[str, str]) -> None:
    """Fill key type and size from the ``k=`` and ``p=`` tags; mark problems INVALID."""
    # imported here: a domain without a published key (most `verify DOMAIN` runs) never needs it
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key_type = tags.get("k", "rsa").lower()
    posture.key_type = key_type
    data = re.sub(r"\s+", "", tags["p"])
    if not data:
        posture.status, posture.revoked = CheckStatus.INVALID, True
        posture.error = "the key is revoked (empty p=)"
        return
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        posture.status, posture.error = CheckStatus.INVALID, "p= is not valid base64"
        return
    if key_type == "ed25519":
        if len(raw) != 32:
            posture.status = CheckStatus.INVALID
            posture.error = f"ed25519 key of {len(raw)} bytes (expected 32)"
        else:
            ed25519.Ed25519PublicKey.from_public_bytes(raw)
        return
    if key_type != "rsa":
        posture.status, posture.error = CheckStatus.INVALID, f"unknown key type k={key_type}"
        return
    try:
        key = load_der_public_key(raw)
    except (ValueError, UnsupportedAlgorithm):
        posture.status, posture.error = CheckStatus.INVALID, "p= is not a readable RSA public key"
        return
    if not isinstance(key, rsa.RSAPublicKey):
        posture.status, posture.error = CheckStatus.INVALID, "k=rsa but p= holds another key type"
        return
    posture.rsa_bits = key.key_size
    if key.key_size < MIN_RSA_BITS:
        posture.status = CheckStatus.INVALID
        posture.error = f"RSA key of {key.key_size} bits is under {MIN_RSA_BITS} (RFC 8301)"


async def check_dkim_key(domain: str, selector: str, resolver: Resolver) -> DkimKeyPosture:
    """Fetch and examine the DKIM key for ``selector`` at ``domain``."""
    if not _SELECTOR.match(selector) or len(selector) > 200:
        return DkimKeyPosture(
            selector, "", CheckStatus.INVALID, error=f"not a valid selector: {selector[:60]!r}"
        )
    name = f"{selector}._domainkey.{domain}"
    result = await resolver.query(name, "TXT")
    posture = DkimKeyPosture(selector, name, CheckStatus.OK)
    if result.temporary:
        posture.status, posture.error = CheckStatus.COULD_NOT_CHECK, looked_up(result)
        return posture
    records = [r for r in result.records if _is_dkim_key_record(r)] if result.found else []
    if not records:
        posture.status, posture.error = CheckStatus.MISSING, "no DKIM key at this selector"
        return posture
    if len(records) > 1:
        posture.status = CheckStatus.INVALID
        posture.error = f"{len(records)} key records at one selector"
        return posture
    posture.record = records[0]
    tags, problems = parse_tags(records[0])
    posture.warnings.extend(problems)
    flags = {f.strip().lower() for f in tags.get("t", "").split(":")}
    posture.testing = "y" in flags
    hashes = {h.strip().lower() for h in tags.get("h", "").split(":") if h.strip()}
    if hashes and "sha256" not in hashes:
        posture.warnings.append("h= allows only sha1, which RFC 8301 forbids")
    if "p" not in tags:
        posture.status, posture.error = CheckStatus.INVALID, "no p= tag"
        return posture
    _read_key(posture, tags)
    return posture
