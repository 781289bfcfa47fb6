"""The approval service: the one entry point the Slack handlers call for the countersign flow.

Usage from a handler (``ack()`` first, then one call, then render)::

    actor = Actor(user_id=body["user"]["id"], team_id=body["user"]["team_id"],
                  is_guest=<from users.info: is_restricted or is_ultra_restricted>)
    request = await service.open_request(vendor_id="northwind", kind="mfa_reset",
                                         summary="Reset MFA for j.doe", requester=actor,
                                         verification=report_summary, channel=channel_id)
    text = service.challenge(request, Slot.TECHNICAL)   # show on the card (Ed25519 vendors)
    request = await service.approve(request_id, "technical", actor,
                                    Attestation(called_back=True, phone="+1 206 555 0142"),
                                    reason=None, proof=Proof("totp", "123456"))
    request = await service.deny(request_id, actor, "caller could not answer the callback")

Every refusal is ``TransitionRefused(reason, message)``: ``reason`` is a stable code from
:data:`bot.approvals.machine.REFUSALS` (show ``message`` ephemerally; nothing changed). Backend
failures are ``StoreError``. The service never trusts roles from the caller: it resolves them with
its :class:`RoleResolver` on every call. Guests and users of another workspace are refused by the
store's rules (``Actor.is_guest``, ``Actor.team_id`` against the request's team).

Order inside ``approve``: shape checks, fresh snapshot, vendor still registered, callback
attestation, a dry run of the state machine on the snapshot (so a refused click burns no proof),
the vendor proof (single use), then the store's atomic transition.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.approvals.audit import AuditEvent
from bot.approvals.machine import (
    MAX_NOTE,
    MAX_SUMMARY,
    Actor,
    Event,
    NewRequest,
    Request,
    RequestKind,
    Role,
    Slot,
    check_id,
    clean_text,
    refuse,
    transition,
)
from bot.approvals.proof import Proof, challenge_message, new_nonce, verify_signature, verify_totp
from bot.approvals.store import ApprovalStore, is_request_id
from bot.errors import TransitionRefused
from bot.registry import Ed25519Token, Registry, TotpToken, Vendor, normalize_phone
from bot.settings import Settings

Clock = Callable[[], dt.datetime]
MAX_VERIFICATION_BYTES = 20_000


def utcnow() -> dt.datetime:
    """The current time, aware UTC."""
    return dt.datetime.now(dt.UTC)


class RoleResolver(Protocol):
    """Who holds which approver role (the Slack side resolves user groups, with a short cache)."""

    async def roles_of(self, user_id: str) -> frozenset[Role]:
        """The roles ``user_id`` holds now."""
        ...

    async def members(self, role: Role) -> frozenset[str]:
        """Every user holding ``role``."""
        ...


class StaticRoleResolver:
    """Roles from fixed user-id lists (``DESKGUARD_TECHNICAL_APPROVER_USERS`` and friends)."""

    def __init__(self, technical: Iterable[str], vendor_managers: Iterable[str]) -> None:
        self._members = {
            Role.TECHNICAL_APPROVER: frozenset(technical),
            Role.VENDOR_MANAGER: frozenset(vendor_managers),
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> StaticRoleResolver:
        """The user lists from settings (user groups need the Slack resolver)."""
        return cls(settings.technical_approver_users, settings.vendor_manager_users)

    async def roles_of(self, user_id: str) -> frozenset[Role]:
        """The roles ``user_id`` holds."""
        return frozenset(role for role, users in self._members.items() if user_id in users)

    async def members(self, role: Role) -> frozenset[str]:
        """Every user holding ``role``."""
        return self._members[role]


@dataclass(frozen=True, slots=True)
class Attestation:
    """The approver's statement: I called the vendor back (on this number, if given)."""

    called_back: bool
    phone: str | None = None


class ApprovalService:
    """Open, approve, deny, cancel and expire high-risk vendor requests."""

    def __init__(
        self,
        store: ApprovalStore,
        registry_provider: Callable[[], Registry],
        settings: Settings,
        roles: RoleResolver,
        clock: Clock = utcnow,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.registry_provider = registry_provider
        self.settings = settings
        self.roles = roles
        self.clock = clock
        # the registry's secrets (token.secret_env) are read like settings: environment, then .env
        self.environ: Mapping[str, str] = settings.secret_environ if environ is None else environ

    # --- reading --------------------------------------------------------------------------

    async def get(self, request_id: str) -> Request:
        """The request, or TransitionRefused('not_found')."""
        if not is_request_id(request_id):
            raise refuse("not_found")
        request = await self.store.get(request_id)
        if request is None:
            raise refuse("not_found")
        return request

    async def list_open(self) -> list[Request]:
        """Open requests, oldest first."""
        return await self.store.list_open()

    async def history(self, request_id: str) -> list[AuditEvent]:
        """The request's audit events, in order."""
        request = await self.get(request_id)
        return await self.store.audit_events(request_id=request.id)

    def challenge(self, request: Request, slot: Slot | str) -> str | None:
        """The text the vendor signs for ``slot`` (Ed25519 vendors), else None."""
        vendor = self.registry_provider().get(request.vendor_id)
        if vendor is None or not isinstance(vendor.token, Ed25519Token):
            return None
        return challenge_message(request.id, request.challenge(Slot(slot)))

    async def eligible_people_count(self) -> int:
        """How many distinct people hold at least one approver role."""
        people: set[str] = set()
        for role in Role:
            people |= await self.roles.members(role)
        return len(people)

    async def staffing_warnings(self) -> list[str]:
        """Start-up warnings: a request can only clear with two distinct eligible people."""
        technical = await self.roles.members(Role.TECHNICAL_APPROVER)
        managers = await self.roles.members(Role.VENDOR_MANAGER)
        warnings = []
        if not technical:
            warnings.append("no technical approver is configured")
        if not managers:
            warnings.append("no vendor relationship manager is configured")
        if len(technical | managers) < 2:
            warnings.append(
                "fewer than two eligible people are configured: no request can ever be cleared"
            )
        return warnings

    # --- writing --------------------------------------------------------------------------

    async def open_request(
        self,
        *,
        vendor_id: str,
        kind: RequestKind | str,
        summary: str,
        requester: Actor,
        verification: Mapping[str, Any] | None = None,
        channel: str | None = None,
    ) -> Request:
        """Open a pending request for a registered vendor; expires after ``approval_ttl_hours``."""
        if requester.is_guest:
            raise refuse("guest_not_allowed", "Guests cannot open approval requests.")
        vendor = self._vendor(vendor_id)
        try:
            kind = RequestKind(kind)
        except ValueError:
            raise refuse("bad_input", f"Unknown request kind {str(kind)[:40]!r}.") from None
        text = clean_text(summary, limit=MAX_SUMMARY, what="summary")
        if text is None:
            raise refuse("bad_input", "A summary of what the vendor asked for is required.")
        if channel is not None:
            check_id(channel, "channel id")
        summary_data = dict(verification or {})
        try:
            encoded = json.dumps(summary_data)
        except (TypeError, ValueError):
            raise refuse("bad_input", "The verification summary is not JSON data.") from None
        if len(encoded) > MAX_VERIFICATION_BYTES:
            raise refuse("bad_input", "The verification summary is too large.")
        now = self.clock()
        new = NewRequest(
            vendor_id=vendor.id,
            vendor_name=vendor.name,
            kind=kind,
            summary=text,
            requester=requester,
            expires_at=now + dt.timedelta(hours=self.settings.approval_ttl_hours),
            challenges={slot.value: new_nonce() for slot in Slot},
            channel=channel,
            verification=summary_data,
        )
        return await self.store.create_request(new, now)

    async def approve(
        self,
        request_id: str,
        slot: Slot | str,
        actor: Actor,
        attestation: Attestation,
        reason: str | None = None,
        proof: Proof | None = None,
    ) -> Request:
        """Sign ``slot`` after a callback (and the vendor's proof when it has a token)."""
        try:
            slot = Slot(slot)
        except ValueError:
            raise refuse("bad_input", "Unknown approval slot.") from None
        actor = await self._resolve(actor)
        request = await self.get(request_id)
        vendor = self._vendor(request.vendor_id)
        evidence = self._callback_evidence(vendor, attestation)
        now = self.clock()
        transition(request, slot.event, actor, now, note=reason, evidence=evidence)  # dry run
        try:
            evidence.update(await self._check_proof(vendor, request, slot, proof, now))
        except TransitionRefused as exc:
            if exc.reason == "proof_replayed":
                fresh = await self.get(request.id)
                if fresh.slot(slot) is not None or not fresh.state.is_open:
                    raise refuse("already_decided") from None
            raise
        return await self.store.apply(
            request.id, slot.event, actor, now, note=reason, evidence=evidence
        )

    async def deny(self, request_id: str, actor: Actor, reason: str) -> Request:
        """Deny with a reason; any eligible approver may deny."""
        actor = await self._resolve(actor)
        request = await self.get(request_id)
        return await self.store.apply(request.id, Event.DENY, actor, self.clock(), note=reason)

    async def cancel(self, request_id: str, actor: Actor, reason: str | None = None) -> Request:
        """The requester withdraws the request."""
        request = await self.get(request_id)
        return await self.store.apply(request.id, Event.CANCEL, actor, self.clock(), note=reason)

    async def expire_due(self) -> list[Request]:
        """Expire every request past its expiry time; run this periodically."""
        return await self.store.expire_due(self.clock())

    async def set_card(self, request_id: str, channel: str, ts: str) -> None:
        """Remember where the request's Slack card was posted."""
        await self.store.set_card(request_id, channel, ts)

    async def card(self, request_id: str) -> tuple[str, str] | None:
        """The (channel, ts) of the request's Slack card, or None."""
        return await self.store.card(request_id) if is_request_id(request_id) else None

    # --- helpers --------------------------------------------------------------------------

    async def _resolve(self, actor: Actor) -> Actor:
        return actor.with_roles(await self.roles.roles_of(actor.user_id))

    def _vendor(self, vendor_id: str) -> Vendor:
        registry = self.registry_provider()
        vendor = registry.get(vendor_id) if isinstance(vendor_id, str) else None
        if vendor is None:
            raise refuse("unknown_vendor")
        return vendor

    @staticmethod
    def _callback_evidence(vendor: Vendor, attestation: Attestation) -> dict[str, str]:
        if attestation.called_back is not True:
            raise refuse("callback_not_attested")
        evidence = {"callback": "attested"}
        if attestation.phone is not None:
            clean_text(attestation.phone, limit=40, what="phone number")
            try:
                e164 = normalize_phone(attestation.phone)
            except ValueError:
                raise refuse("bad_input", "The number called is not a phone number.") from None
            registered = {vendor.callback.phone} | {c.phone for c in vendor.contacts if c.phone}
            if e164 not in registered:
                raise refuse(
                    "unregistered_callback_number",
                    f"{e164} is not a number registered for {vendor.name}; call "
                    f"{vendor.callback.phone} instead.",
                )
            evidence["callback_phone"] = e164
        return evidence

    async def _check_proof(
        self, vendor: Vendor, request: Request, slot: Slot, proof: Proof | None, now: dt.datetime
    ) -> dict[str, str]:
        token = vendor.token
        if token is None:
            if proof is not None:
                raise refuse("bad_input", f"{vendor.name} has no registered token to check.")
            return {"proof": "none"}
        if proof is None or not proof.value.strip():
            raise refuse("proof_required")
        if len(proof.value) > MAX_NOTE:
            raise refuse("proof_invalid", "The proof is too long.")
        if isinstance(token, TotpToken):
            if proof.kind != "totp":
                raise refuse("proof_invalid", "This vendor proves itself with a TOTP code.")
            return await verify_totp(self.store, vendor.id, token, proof.value, now, self.environ)
        if proof.kind != "ed25519":
            raise refuse("proof_invalid", "This vendor proves itself with a signed challenge.")
        ttl = (request.expires_at - now).total_seconds()
        return await verify_signature(
            self.store, request.id, request.challenge(slot), token, proof.value, ttl
        )
