"""A vendor's TOTP secret (registry ``token: {type: totp, secret_env: NAME}``) set in ``.env`` is
used like every other setting: the approval service reads it through Settings, not os.environ."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

from bot.approvals.proof import Proof
from bot.approvals.service import ApprovalService, StaticRoleResolver
from bot.approvals.store_sqlite import SQLiteStore
from bot.errors import TransitionRefused
from bot.settings import Settings
from tests.approvals.test_service import ALICE, CALLED, REGISTRY, Clock, open_for


async def _service(tmp_path: Path, dotenv: str) -> ApprovalService:
    (tmp_path / ".env").write_text(dotenv)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=tmp_path / ".env",
        technical_approver_users=("UALICE",),
        vendor_manager_users=("UCARMEN",),
    )
    store = await SQLiteStore.open(tmp_path / "approvals.sqlite3")
    return ApprovalService(
        store, lambda: REGISTRY, settings, StaticRoleResolver.from_settings(settings), Clock()
    )


async def test_totp_secret_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOTPCO", raising=False)
    secret = pyotp.random_base32()
    service = await _service(tmp_path, f"TOTPCO={secret}\n")
    try:
        request = await open_for(service, "totpco")
        code = pyotp.TOTP(secret).at(service.clock())
        done = await service.approve(
            request.id, "technical", ALICE, CALLED, proof=Proof("totp", code)
        )
        assert done.technical is not None and done.technical.evidence["proof"] == "totp"
    finally:
        await service.store.close()


async def test_unset_secret_refuses_the_proof(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOTPCO", raising=False)
    service = await _service(tmp_path, "OTHER=1\n")
    try:
        request = await open_for(service, "totpco")
        with pytest.raises(TransitionRefused) as refused:
            await service.approve(
                request.id, "technical", ALICE, CALLED, proof=Proof("totp", "123456")
            )
        assert refused.value.reason == "proof_unavailable"
    finally:
        await service.store.close()
