"""The engine: verify a target (domain, address, message) into a Report.

Domain and address verification ask two questions: is this a registered vendor (the registry), and
if not, does it imitate one (lookalike detection)? The domain's email posture is checked alongside.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from bot.dns import Resolver
from bot.errors import InputError
from bot.mail.arrival import Arrival, Envelope
from bot.names import Address, InvalidName, normalize_domain, parse_address
from bot.registry import DEFAULT_REGION, Registry, RegistryHolder, Vendor
from bot.report import Kind, Reason, Report, decide
from bot.settings import Settings
from bot.verify.caller import add_caller, apply_claim
from bot.verify.identity import Identity, IdentityResolver
from bot.verify.lookalike import LookalikeIndex
from bot.verify.phone import looks_like_phone, parse_phone, verify_phone
from bot.verify.posture import check_posture
from bot.verify.vendors import UnknownVendor, closest_names, find_vendor, require_vendor

if TYPE_CHECKING:
    from bot.mail.message import HeadersOnly

_URL_PREFIX = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)
MAX_TARGET_LENGTH = 512
__all__ = ["Identity", "RegistryHolder", "Verifier", "classify_target"]


def looks_like_name(text: str) -> bool:
    """True when ``text`` reads as a vendor's name rather than a domain: no ``@``, no URL, and
    words separated by spaces or no dot at all (``Acme Corp``, ``Northwind``)."""
    target = text.strip()
    if "@" in target or "://" in target or "/" in target:
        return False
    if not any(ch.isalpha() for ch in target) or looks_like_phone(target):
        return False
    return any(ch.isspace() for ch in target) or "." not in target


def classify_target(text: str, region: str = DEFAULT_REGION) -> tuple[Kind, str]:
    """Decide whether ``text`` is a phone number, an address or a domain; strip URL decoration;
    validate. Phone numbers come back in E.164 (read in ``region`` without a country code)."""
    if not isinstance(text, str):
        raise InputError("target must be text")
    target = text.strip()
    if not target:
        raise InputError("empty target: give a domain (vendor.example) or an address")
    if len(target) > MAX_TARGET_LENGTH:
        raise InputError(f"target longer than {MAX_TARGET_LENGTH} characters")
    if looks_like_phone(target):
        return Kind.PHONE, parse_phone(target, region)
    target = _URL_PREFIX.sub("", target)
    if "@" in target:
        try:
            return Kind.ADDRESS, str(parse_address(target))
        except InvalidName as exc:
            raise InputError(f"not a valid address: {exc}") from None
    host = re.split(r"[/?#]", target, maxsplit=1)[0]
    if ":" in host and host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        return Kind.DOMAIN, normalize_domain(host)
    except InvalidName as exc:
        raise InputError(f"not a valid domain: {exc}") from None


class MessageRunner(Protocol):
    """Runs message verification elsewhere, under a deadline (bot.verify.sandbox.VerifyPool)."""

    async def verify_message(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        arrival: Arrival = Arrival.FILE,
        envelope: Envelope | None = None,
    ) -> Report: ...

    async def verify_headers(self, fields: HeadersOnly) -> Report: ...


class Verifier:
    """Verifies domains and addresses (and, with the mail package, messages).

    With a ``runner`` (set by the composition roots), messages are verified through it: in a
    worker process, off the event loop, under a deadline. Without one they are verified here.
    """

    def __init__(
        self,
        settings: Settings,
        resolver: Resolver,
        registry: RegistryHolder,
        *,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.runner: MessageRunner | None = None
        self.identity = IdentityResolver(
            registry, review_interval_days=settings.review_interval_days, today=today
        )

    @property
    def registry(self) -> Registry:
        """The registry in force now."""
        return self.identity.registry

    @property
    def registry_holder(self) -> RegistryHolder:
        """The holder of the registry in force (replaced on reload)."""
        return self.identity.registry_holder

    def lookalikes(self) -> LookalikeIndex:
        """The lookalike index for the current registry (rebuilt when the registry changes)."""
        return self.identity.lookalikes()

    async def verify_target(
        self, text: str, *, claims: str | None = None, caller: str | None = None
    ) -> Report:
        """Verify a phone number, domain or address given as free text; raise InputError when
        unusable (:class:`UnknownVendor` for a vendor name the registry does not know).

        ``claims`` names the vendor the caller or sender claims to be (id or name); ``caller`` is
        the name they gave."""
        claimed = self.claimed_vendor(claims)
        try:
            kind, target = classify_target(text, self.registry.region)
        except InputError:
            if looks_like_name(text):
                known = find_vendor(self.registry, text)
                if known is not None:
                    raise InputError(
                        f"{known.name} is a registered vendor, not a domain, address or phone "
                        f"number: its card and callback number are at `registry show {known.id}` "
                        f"(Slack: /verify-vendor {known.id})"
                    ) from None
                raise UnknownVendor(text, closest_names(self.registry, text)) from None
            raise
        if kind is Kind.PHONE:
            report = verify_phone(target, self.identity, claimed=claimed)
        elif kind is Kind.ADDRESS:
            report = await self.verify_address(target)
        else:
            report = await self.verify_domain(target)
        return self.with_claims(report, claimed, caller)

    def claimed_vendor(self, claims: str | None) -> Vendor | None:
        """The vendor ``claims`` names (id or name), None for none; UnknownVendor otherwise."""
        if claims is None or not claims.strip():
            return None
        return require_vendor(self.registry, claims)

    def with_claims(self, report: Report, claimed: Vendor | None, caller: str | None) -> Report:
        """``report`` checked against the claimed vendor and the caller's name (either may be
        None); phone reports already carry the claim."""
        if claimed is not None:
            report = apply_claim(report, claimed)
        if caller is not None and caller.strip():
            owner = self.registry.get(str((report.vendor or {}).get("id", "")))
            report = add_caller(report, caller, claimed, owner)
        return report

    async def verify_domain(self, domain: str, *, with_posture: bool = True) -> Report:
        """Verify one domain: registry, lookalike, posture."""
        domain = normalize_domain(domain)
        return await self._verify(domain, Kind.DOMAIN, domain, None, with_posture=with_posture)

    async def verify_address(self, address: str) -> Report:
        """Verify one address: its domain, and whether it is a registered contact."""
        parsed = parse_address(address)
        return await self._verify(str(parsed), Kind.ADDRESS, parsed.domain, parsed)

    async def _verify(
        self,
        target: str,
        kind: Kind,
        domain: str,
        address: Address | None,
        *,
        with_posture: bool = True,
    ) -> Report:
        identity = self.identity.identify_domain(domain)
        reasons = list(identity.reasons)
        posture_json: dict[str, Any] | None = None
        if with_posture:
            selectors = identity.vendor.dkim_selectors if identity.vendor else ()
            posture = await check_posture(domain, self.resolver, dkim_selectors=selectors)
            posture_json = posture.to_json()
            reasons.extend(posture.reasons())
        if address is not None:
            reasons.extend(self.identity.contact_reasons(address, identity.vendor))
        return self._report(target, kind, reasons, identity, posture_json)

    async def verify_many(self, targets: list[str]) -> list[Report | InputError]:
        """Verify several targets concurrently; unusable ones come back as InputError."""

        async def one(text: str) -> Report | InputError:
            try:
                return await self.verify_target(text)
            except InputError as exc:
                return exc

        return list(await asyncio.gather(*(one(t) for t in targets)))

    async def verify_message(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        arrival: Arrival = Arrival.FILE,
        envelope: Envelope | None = None,
    ) -> Report:
        """Verify a raw email (.eml, .msg); raise InputError/TooLargeError when the bytes are not
        a usable message. ``arrival`` says whether it came through our own mail path (RAW) or as a
        file; ``envelope`` is the SMTP transaction when known. An attached email is verified in its
        place only when the message is the organization's own forward (bot.verify.forward). With a
        worker pool attached (``runner``), the work runs there under the deadline."""
        if self.runner is not None:
            return await self.runner.verify_message(
                data, filename=filename, arrival=arrival, envelope=envelope
            )
        from bot.mail.message import parse_message  # the mail engine only for messages
        from bot.verify.message import verify_arrived

        msg = parse_message(data, filename=filename, max_bytes=self.settings.max_message_bytes)
        return await verify_arrived(
            msg,
            self.identity,
            self.resolver,
            self.settings,
            filename=filename,
            arrival=arrival,
            envelope=envelope,
        )

    async def verify_headers(self, fields: HeadersOnly) -> Report:
        """Verify a headers-only email (Slack's forwarded email, pasted text): identity and
        content only; the verdict is at best unverified."""
        if self.runner is not None:
            return await self.runner.verify_headers(fields)
        from bot.mail.message import parse_headers_only
        from bot.verify.message import verify_parsed

        return await verify_parsed(
            parse_headers_only(fields), self.identity, self.resolver, self.settings
        )

    def _report(
        self,
        target: str,
        kind: Kind,
        reasons: list[Reason],
        identity: Identity,
        posture: dict[str, Any] | None,
    ) -> Report:
        callback_vendor = identity.vendor or identity.imitated
        details: dict[str, Any] = {}
        if identity.match is not None:
            details["imitates"] = {
                **identity.match.to_json(),
            }
        return Report(
            target=target,
            kind=kind,
            verdict=decide(reasons, vendor_matched=identity.vendor is not None),
            reasons=reasons,
            vendor=identity.vendor.summary() if identity.vendor else None,
            callback=callback_vendor.callback_card() if callback_vendor else None,
            posture=posture,
            details=details,
        )
