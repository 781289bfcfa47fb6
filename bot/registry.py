"""The vendor registry: load and validate the YAML file, look vendors up by domain, address, phone.

Unknown fields are rejected, not ignored: in a security registry a misspelt key (``domain:`` for
``domains:``) must fail loudly instead of silently dropping a vendor's data. The checks are
pydantic models (:mod:`bot.registry_model`, imported only to validate); what they accept is
held in the plain frozen dataclasses here, which a one-shot command reads without pydantic.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.errors import RegistryError
from bot.names import is_subdomain_of
from bot.phones import DEFAULT_REGION, display_phone, normalize_phone

__all__ = [
    "DEFAULT_REGION",
    "Callback",
    "Contact",
    "Ed25519Token",
    "PhoneOwner",
    "Registry",
    "RegistryHolder",
    "TotpToken",
    "Vendor",
    "display_phone",
    "load_registry",
    "normalize_phone",
    "parse_registry",
    "unset_secrets",
    "validate_vendor",
    "vendor_from_model",
]


@dataclass(frozen=True, kw_only=True)
class Contact:
    """A named person at the vendor."""

    name: str
    role: str
    email: str
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class Callback:
    """The independently verified channel to call back on."""

    phone: str
    instructions: str
    hours: str | None = None


@dataclass(frozen=True, kw_only=True)
class TotpToken:
    """A TOTP shared secret; the secret itself lives in the environment variable named here."""

    type: Literal["totp"]
    secret_env: str
    digits: int = 6
    period: int = 30


@dataclass(frozen=True, kw_only=True)
class Ed25519Token:
    """An Ed25519 public key (base64 or hex) the vendor signs challenges with."""

    type: Literal["ed25519"]
    public_key: str


@dataclass(frozen=True, kw_only=True)
class Vendor:
    """One registered vendor, as validated (:mod:`bot.registry_model` checks every field)."""

    id: str
    name: str
    domains: tuple[str, ...]
    contacts: tuple[Contact, ...] = ()
    callback: Callback
    privileged: bool
    last_reviewed: dt.date
    owner: str
    aliases: tuple[str, ...] = ()
    dkim_selectors: tuple[str, ...] = ()
    token: TotpToken | Ed25519Token | None = None

    @property
    def review_date(self) -> dt.date:
        """When the relationship was last reviewed."""
        return self.last_reviewed

    def summary(self) -> dict[str, Any]:
        """The vendor as reports show it (no token material)."""
        return {
            "id": self.id,
            "name": self.name,
            "domains": list(self.domains),
            "privileged": self.privileged,
            "owner": self.owner,
            "last_reviewed": self.last_reviewed.isoformat(),
        }

    def callback_card(self) -> dict[str, Any]:
        """The callback instructions as reports show them."""
        return {
            "phone": self.callback.phone,
            "instructions": self.callback.instructions,
            "hours": self.callback.hours,
            "contacts": [
                {"name": c.name, "role": c.role, "email": c.email, "phone": c.phone}
                for c in self.contacts
            ],
        }

    def to_json(self) -> dict[str, Any]:
        """Every field in JSON form (what pydantic's ``model_dump(mode="json")`` gave)."""
        token: dict[str, Any] | None = None
        if self.token is not None:
            token = dataclasses.asdict(self.token)
        return {
            "id": self.id,
            "name": self.name,
            "domains": list(self.domains),
            "contacts": [dataclasses.asdict(c) for c in self.contacts],
            "callback": dataclasses.asdict(self.callback),
            "privileged": self.privileged,
            "last_reviewed": self.last_reviewed.isoformat(),
            "owner": self.owner,
            "aliases": list(self.aliases),
            "dkim_selectors": list(self.dkim_selectors),
            "token": token,
        }


@dataclass(frozen=True)
class PhoneOwner:
    """Who a registered phone number belongs to."""

    vendor: Vendor
    what: str  # "callback" or "contact:<name>"


class Registry:
    """Validated vendors with indexes by domain, contact address and phone."""

    def __init__(
        self,
        vendors: Iterable[Vendor],
        *,
        source: str = "<memory>",
        region: str = DEFAULT_REGION,
    ) -> None:
        self.vendors: tuple[Vendor, ...] = tuple(vendors)
        self.source = source
        self.region = region  # numbers written without a country code are read in this region
        self._by_id = {v.id: v for v in self.vendors}
        self._by_domain: dict[str, Vendor] = {}
        self._contacts: dict[str, tuple[Vendor, Contact]] = {}
        self._phones: dict[str, list[PhoneOwner]] = {}
        for vendor in self.vendors:
            for domain in vendor.domains:
                self._by_domain[domain] = vendor
            for contact in vendor.contacts:
                self._contacts[contact.email] = (vendor, contact)
                if contact.phone:
                    self._phones.setdefault(contact.phone, []).append(
                        PhoneOwner(vendor, f"contact:{contact.name}")
                    )
            self._phones.setdefault(vendor.callback.phone, []).append(
                PhoneOwner(vendor, "callback")
            )

    def __len__(self) -> int:
        return len(self.vendors)

    def get(self, vendor_id: str) -> Vendor | None:
        """The vendor with this id."""
        return self._by_id.get(vendor_id)

    def find_by_name(self, text: str) -> Vendor | None:
        """A vendor whose id, name or alias equals ``text`` (case-insensitive)."""
        needle = text.strip().lower()
        if not needle:
            return None
        for vendor in self.vendors:
            if needle in (vendor.id, vendor.name.lower(), *vendor.aliases):
                return vendor
        return None

    def by_domain(self, domain: str) -> Vendor | None:
        """The vendor owning a normalized domain or one of its parents."""
        labels = domain.split(".")
        for i in range(len(labels) - 1):
            vendor = self._by_domain.get(".".join(labels[i:]))
            if vendor is not None:
                return vendor
        return None

    def vendor_domain_for(self, domain: str) -> str | None:
        """The registered domain that ``domain`` equals or lies below."""
        vendor = self.by_domain(domain)
        if vendor is None:
            return None
        return next(d for d in vendor.domains if is_subdomain_of(domain, d))

    def contact(self, address: str) -> tuple[Vendor, Contact] | None:
        """The registered contact with this (normalized) address."""
        return self._contacts.get(address.lower())

    def by_phone(self, e164: str) -> list[PhoneOwner]:
        """Every vendor and role a normalized phone number is registered for."""
        return list(self._phones.get(e164, ()))

    def overdue(self, today: dt.date, interval_days: int) -> list[Vendor]:
        """Vendors whose last review is older than ``interval_days``."""
        limit = today - dt.timedelta(days=interval_days)
        return [v for v in self.vendors if v.last_reviewed < limit]

    def is_overdue(self, vendor: Vendor, today: dt.date, interval_days: int) -> bool:
        """True when this vendor's review is overdue."""
        return vendor.last_reviewed < today - dt.timedelta(days=interval_days)


class RegistryHolder:
    """The current registry; reload swaps it atomically and keeps the last good one."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.error: str | None = None

    def replace(self, registry: Registry) -> None:
        """Install a newly validated registry."""
        self.registry = registry
        self.error = None


def parse_registry(data: Any, *, source: str = "<memory>") -> Registry:
    """Validate registry data (already parsed YAML); raise RegistryError listing every problem."""
    from bot.registry_model import validate_registry

    models, region = validate_registry(data, source=source)
    return Registry([vendor_from_model(m) for m in models], source=source, region=region)


def validate_vendor(data: Any) -> Vendor:
    """One vendor's data (phones already normalized) validated by the model; pydantic's
    ValidationError otherwise."""
    from bot.registry_model import Vendor as VendorModel

    return vendor_from_model(VendorModel.model_validate(data))


def vendor_from_model(model: Any) -> Vendor:
    """A validated :class:`bot.registry_model.Vendor` as a :class:`Vendor`, field for field."""
    token: TotpToken | Ed25519Token | None = None
    if model.token is not None and model.token.type == "totp":
        token = TotpToken(
            type="totp",
            secret_env=model.token.secret_env,
            digits=model.token.digits,
            period=model.token.period,
        )
    elif model.token is not None:
        token = Ed25519Token(type="ed25519", public_key=model.token.public_key)
    return Vendor(
        id=model.id,
        name=model.name,
        domains=model.domains,
        contacts=tuple(
            Contact(name=c.name, role=c.role, email=c.email, phone=c.phone) for c in model.contacts
        ),
        callback=Callback(
            phone=model.callback.phone,
            instructions=model.callback.instructions,
            hours=model.callback.hours,
        ),
        privileged=model.privileged,
        last_reviewed=model.last_reviewed,
        owner=model.owner,
        aliases=model.aliases,
        dkim_selectors=model.dkim_selectors,
        token=token,
    )


def unset_secrets(registry: Registry, secret: Callable[[str], str | None]) -> list[str]:
    """One warning per registry secret (``token.secret_env``) that ``secret`` finds unset."""
    warnings = []
    for vendor in registry.vendors:
        token = vendor.token
        if isinstance(token, TotpToken) and secret(token.secret_env) is None:
            warnings.append(
                f"vendor {vendor.id!r}: {token.secret_env} (its token.secret_env) is not set in "
                "the environment or .env, so its TOTP proofs will be refused"
            )
    return warnings


def load_registry(path: Path) -> Registry:
    """Read and validate a registry file; raise RegistryError with every problem found."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError([f"{path}: not valid YAML: {exc}"]) from None
    return parse_registry(data, source=str(path))
