"""Requests and a registry (plain, TOTP and Ed25519 vendors) for the Block Kit builder tests;
what people typed is hostile."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from slack_sdk.models.blocks import Block

from bot.approvals.machine import Request, RequestKind
from bot.registry import Registry, parse_registry

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HOSTILE = "Reset MFA <!channel> for <https://evil.example|j.doe> & co"


def _registry() -> Registry:
    def vendor(vid: str, token: dict[str, Any] | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": vid,
            "name": f"{vid.title()} <b>Corp</b>",
            "domains": [f"{vid}.example"],
            "contacts": [
                {
                    "name": "Dana <@U999>",
                    "role": "Account manager",
                    "email": f"dana@{vid}.example",
                    "phone": "+1 206 555 0110",
                }
            ],
            "callback": {
                "phone": "+1 206 555 0142",
                "instructions": "Ask for the security desk <!here>",
                "hours": "Mon-Fri",
            },
            "privileged": True,
            "last_reviewed": "2026-09-15",
            "owner": "Priya",
        }
        if token:
            entry["token"] = token
        return entry

    key = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    return parse_registry(
        {
            "vendors": [
                vendor("plain", None),
                vendor("totpco", {"type": "totp", "secret_env": "TOTPCO"}),
                vendor("edco", {"type": "ed25519", "public_key": key}),
            ]
        }
    )


REGISTRY = _registry()


def request(**changes: Any) -> Request:
    base = Request(
        id="AbCdEfGhIjKlMnOp",
        vendor_id="plain",
        vendor_name="Plain <b>Corp</b>",
        kind=RequestKind.MFA_RESET,
        summary=HOSTILE,
        requester_id="UREQ",
        team_id="T0001",
        created_at=T0,
        expires_at=T0 + dt.timedelta(hours=24),
        channel="CAPPROVALS",
        verification={
            "target": "northwind-support.com",
            "verdict": "suspicious",
            "reasons": ["lookalike_domain"],
            "ticket": "INC-1 <!here>",
        },
        challenges={"technical": "aa" * 16, "vendor_manager": "bb" * 16},
    )
    return dataclasses.replace(base, **changes)


def dump(blocks: list[Block]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


def buttons(blocks: list[Block]) -> list[dict[str, Any]]:
    out = []
    for block in blocks:
        data = block.to_dict()
        if data["type"] == "actions":
            out += data["elements"]
    return out
