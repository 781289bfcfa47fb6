"""The vendor registry's checks (pydantic): every field of every vendor, then the checks across
vendors. Imported only to validate a registry (its file, or a cache being rebuilt); what passes is
returned as :mod:`bot.registry`'s frozen dataclasses.

The model classes keep the names the registry's error messages have always shown ("a valid
dictionary or instance of Contact").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import RegistryError
from bot.names import InvalidName, is_subdomain_of, normalize_domain, parse_address
from bot.phones import DEFAULT_REGION, normalize_phone

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")


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


class _RegistryFile(_Strict):
    default_region: str = DEFAULT_REGION
    vendors: list[dict[str, Any]]


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


def validate_registry(data: Any, *, source: str = "<memory>") -> tuple[list[Vendor], str]:
    """Validate registry data (already parsed YAML): its vendors and default region; raise
    RegistryError listing every problem."""
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
    return vendors, top.default_region


def _normalize_phones(
    raw: dict[str, Any], region: str, label: str, problems: list[str]
) -> dict[str, Any]:
    raw = dict(raw)
    callback = raw.get("callback")
    if isinstance(callback, dict) and isinstance(callback.get("phone"), str | int):
        try:
            raw["callback"] = {
                **callback,
                "phone": normalize_phone(str(callback["phone"]), region),
            }
        except ValueError as exc:
            problems.append(f"{label}: callback.phone: {exc}")
            raw["callback"] = {**callback, "phone": "+10000000000"}
    contacts = raw.get("contacts")
    if isinstance(contacts, list):
        fixed = []
        for i, contact in enumerate(contacts):
            if isinstance(contact, dict) and contact.get("phone") not in (None, ""):
                try:
                    contact = {
                        **contact,
                        "phone": normalize_phone(str(contact["phone"]), region),
                    }
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
