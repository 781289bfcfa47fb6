"""The vendor registry as it was before its vendors became dataclasses (pydantic models), kept
verbatim below this line as the reference of tests/test_registry_light.py."""

# ruff: noqa

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import RegistryError
from bot.names import InvalidName, is_subdomain_of, normalize_domain, parse_address

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
DEFAULT_REGION = "US"


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of a phone number or raise ValueError."""
    import phonenumbers  # here: a cached registry and a domain check never need it

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} cannot be parsed: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"phone {raw!r} is not a possible number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=1024)
def display_phone(e164: str) -> str:
    """International display form (+1 206-555-0142) of an E.164 number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Contact(_Strict):
    """A named person at the vendor."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    email: str
    phone: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return str(parse_address(value))
        except InvalidName as exc:
            raise ValueError(str(exc)) from None


class Callback(_Strict):
    """The independently verified channel to call back on."""

    phone: str
    instructions: str = Field(min_length=1)
    hours: str | None = None


class TotpToken(_Strict):
    """A TOTP shared secret; the secret itself lives in the environment variable named here."""

    type: Literal["totp"]
    secret_env: str
    digits: int = Field(default=6, ge=6, le=8)
    period: int = Field(default=30, ge=15, le=120)

    @field_validator("secret_env")
    @classmethod
    def _env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("must be an environment variable name (A-Z, 0-9, _)")
        return value


class Ed25519Token(_Strict):
    """An Ed25519 public key (base64 or hex) the vendor signs challenges with."""

    type: Literal["ed25519"]
    public_key: str = Field(min_length=32)


class Vendor(_Strict):
    """One registered vendor."""

    id: str
    name: str = Field(min_length=1)
    domains: tuple[str, ...] = Field(min_length=1)
    contacts: tuple[Contact, ...] = ()
    callback: Callback
    privileged: bool
    last_reviewed: dt.date
    owner: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    dkim_selectors: tuple[str, ...] = ()
    token: TotpToken | Ed25519Token | None = Field(default=None, discriminator="type")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lower-case letters, digits, '-' or '_' (at most 64)")
        return value

    @field_validator("domains", mode="before")
    @classmethod
    def _domains(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        out = []
        for i, raw in enumerate(value):
            try:
                out.append(normalize_domain(str(raw)))
            except InvalidName as exc:
                raise ValueError(f"domains[{i}]: {exc}") from None
        return tuple(out)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.strip().lower() for a in value if a.strip())

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


class _RegistryFile(_Strict):
    default_region: str = DEFAULT_REGION
    vendors: list[dict[str, Any]]


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


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("TotpToken", "Ed25519Token", "totp", "ed25519"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(vendor)"


def parse_registry(data: Any, *, source: str = "<memory>") -> Registry:
    """Validate registry data (already parsed YAML); raise RegistryError listing every problem."""
    if not isinstance(data, dict) or "vendors" not in data:
        raise RegistryError([f"{source}: expected a mapping with a top-level 'vendors:' list"])
    try:
        top = _RegistryFile.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(
            [f"{source}: {_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
        ) from None
    problems: list[str] = []
    vendors: list[Vendor] = []
    for index, raw in enumerate(top.vendors):
        label = f"vendor #{index + 1}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label = f"vendor {raw['id']!r}"
        if not isinstance(raw, dict):
            problems.append(f"{label}: expected a mapping")
            continue
        raw = _normalize_phones(raw, top.default_region, label, problems)
        try:
            vendors.append(Vendor.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                msg = err["msg"].removeprefix("Value error, ")
                field = _loc(err["loc"])
                if err["type"] == "missing":
                    msg = "is required"
                elif err["type"] == "extra_forbidden":
                    msg = "unknown field (fields are checked; see the README)"
                problems.append(f"{label}: {field}: {msg}")
    problems.extend(_cross_checks(vendors))
    if problems:
        raise RegistryError(problems)
    return Registry(vendors, source=source, region=top.default_region)


def _normalize_phones(
    raw: dict[str, Any], region: str, label: str, problems: list[str]
) -> dict[str, Any]:
    raw = dict(raw)
    callback = raw.get("callback")
    if isinstance(callback, dict) and isinstance(callback.get("phone"), str | int):
        try:
            raw["callback"] = {**callback, "phone": normalize_phone(str(callback["phone"]), region)}
        except ValueError as exc:
            problems.append(f"{label}: callback.phone: {exc}")
            raw["callback"] = {**callback, "phone": "+10000000000"}
    contacts = raw.get("contacts")
    if isinstance(contacts, list):
        fixed = []
        for i, contact in enumerate(contacts):
            if isinstance(contact, dict) and contact.get("phone") not in (None, ""):
                try:
                    contact = {**contact, "phone": normalize_phone(str(contact["phone"]), region)}
                except ValueError as exc:
                    problems.append(f"{label}: contacts[{i}].phone: {exc}")
                    contact = {**contact, "phone": None}
            fixed.append(contact)
        raw["contacts"] = fixed
    return raw


def _cross_checks(vendors: list[Vendor]) -> list[str]:
    problems: list[str] = []
    seen_ids: dict[str, int] = {}
    claimed: dict[str, str] = {}
    for vendor in vendors:
        if vendor.id in seen_ids:
            problems.append(f"vendor {vendor.id!r}: id: used by more than one vendor")
        seen_ids[vendor.id] = 1
        for domain in vendor.domains:
            owner = claimed.get(domain)
            if owner is not None and owner != vendor.id:
                problems.append(
                    f"vendor {vendor.id!r}: domains: {domain} is already claimed by "
                    f"vendor {owner!r}"
                )
            claimed.setdefault(domain, vendor.id)
        for i, contact in enumerate(vendor.contacts):
            domain = contact.email.rsplit("@", 1)[1]
            if not any(is_subdomain_of(domain, d) for d in vendor.domains):
                problems.append(
                    f"vendor {vendor.id!r}: contacts[{i}].email: {contact.email} is not at one of "
                    "the vendor's domains"
                )
    return problems


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
