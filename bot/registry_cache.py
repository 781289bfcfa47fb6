"""A cache of the validated vendor registry for one-shot commands (``deskguard verify``).

Parsing the YAML and normalizing every phone number needs PyYAML and phonenumbers, the two
slowest parts of a cold ``deskguard verify DOMAIN``. After a successful load the validated
vendors are stored as JSON (never pickle) in one file, keyed by the SHA-256 of the registry's
bytes and a stamp of the code that validated them; a later run reads the registry's bytes, and
uses the cache only when both match. The vendors are checked again on the way in, without
pydantic (:func:`vendor_from_json`): every field must be exactly what the pydantic models give
(the same types, values already stripped and normalized, the same bounds and validators), or the
cache is not used and the registry is validated from its file. A cache can only ever hold what
the registry itself said.

The cache is used only in a directory owned by this user and closed to others (0700), from a file
owned by this user that no one else can write; anything else (or any error) means "no cache" and
the registry is loaded from its file as usual.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from bot.cachedir import read_private, write_private
from bot.names import InvalidName, normalize_domain, parse_address
from bot.registry import (
    Callback,
    Contact,
    Ed25519Token,
    Registry,
    TotpToken,
    Vendor,
    load_registry,
)

CACHE_NAME = "registry.json"
FORMAT = 2
# the validation the cached vendors went through, and the checks they pass on the way in
_CODE = ("registry.py", "registry_model.py", "registry_cache.py", "names.py", "phones.py")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # as bot.registry_model
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VENDOR_KEYS = frozenset(
    [
        "id",
        "name",
        "domains",
        "contacts",
        "callback",
        "privileged",
        "last_reviewed",
        "owner",
        "aliases",
        "dkim_selectors",
        "token",
    ]
)


def load_registry_cached(path: Path, cache_dir: Path | None) -> Registry:
    """:func:`bot.registry.load_registry`, answered from the cache in ``cache_dir`` when it
    holds this very registry (same bytes, same validating code); None: no cache."""
    if cache_dir is None:
        return load_registry(path)
    try:
        data = path.read_bytes()
    except OSError:
        return load_registry(path)  # its error message
    key = _key(path, data)
    cached = _read(cache_dir, key, source=str(path))
    if cached is not None:
        return cached
    registry = load_registry(path)
    try:
        unchanged = path.read_bytes() == data  # not rewritten while it was being validated
    except OSError:
        unchanged = False
    if unchanged:
        _write(cache_dir, key, registry)
    return registry


def _key(path: Path, data: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(f"{FORMAT}\0{path.resolve()}\0{sys.version}\0".encode())
    here = Path(__file__).parent
    for name in _CODE:
        try:
            info = (here / name).stat()
            digest.update(f"{name}:{info.st_size}:{info.st_mtime_ns}\0".encode())
        except OSError:
            digest.update(f"{name}:?\0".encode())
    digest.update(f"pydantic {_pydantic_stamp()}\0".encode())
    digest.update(data)
    return digest.hexdigest()


def _read(cache_dir: Path, key: str, *, source: str) -> Registry | None:
    data = read_private(cache_dir, CACHE_NAME)
    if data is None:
        return None
    try:
        entry = json.loads(data)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        vendors = [vendor_from_json(v) for v in entry["vendors"]]
        region = entry["region"]
        if not isinstance(region, str) or None in vendors:
            return None
        return Registry([v for v in vendors if v is not None], source=source, region=region)
    except (ValueError, KeyError, TypeError):
        return None


def _write(cache_dir: Path, key: str, registry: Registry) -> None:
    entry: dict[str, Any] = {
        "key": key,
        "region": registry.region,
        "vendors": [v.to_json() for v in registry.vendors],
    }
    try:
        data = json.dumps(entry, ensure_ascii=False).encode("utf-8")
    except (ValueError, TypeError):
        return
    write_private(cache_dir, CACHE_NAME, data)


def _pydantic_stamp() -> str:
    """Which pydantic validated (its version file's size and time), found without importing it."""
    try:
        spec = importlib.util.find_spec("pydantic")
        if spec is None or spec.origin is None:
            return "?"
        info = (Path(spec.origin).parent / "version.py").stat()
    except (OSError, ImportError, ValueError):
        return "?"
    return f"{spec.origin}:{info.st_size}:{info.st_mtime_ns}"


# --- the vendors on the way in: exactly what the pydantic models give, or not used -------------


class _Refused(Exception):
    pass


def _text(value: Any, *, min_length: int = 0) -> str:
    """A string as the models leave it: valid Unicode, stripped, at least ``min_length``."""
    if type(value) is not str or value != value.strip() or len(value) < min_length:
        raise _Refused
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused from None
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _texts(value: Any) -> tuple[str, ...]:
    if type(value) is not list:
        raise _Refused
    return tuple(_text(item) for item in value)


def _keys(value: Any, keys: frozenset[str]) -> dict[str, Any]:
    if type(value) is not dict or value.keys() != keys:
        raise _Refused
    return value


def _bounded(value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _Refused
    return value


_CONTACT_KEYS = frozenset(("name", "role", "email", "phone"))
_CALLBACK_KEYS = frozenset(("phone", "instructions", "hours"))
_TOTP_KEYS = frozenset(("type", "secret_env", "digits", "period"))
_ED25519_KEYS = frozenset(("type", "public_key"))


def _contact(value: Any) -> Contact:
    data = _keys(value, _CONTACT_KEYS)
    email = _text(data["email"])
    if str(parse_address(email)) != email:  # InvalidName is a ValueError: refused
        raise _Refused
    return Contact(
        name=_text(data["name"], min_length=1),
        role=_text(data["role"], min_length=1),
        email=email,
        phone=_optional_text(data["phone"]),
    )


def _token(value: Any) -> TotpToken | Ed25519Token | None:
    if value is None:
        return None
    if type(value) is dict and value.get("type") == "totp":
        data = _keys(value, _TOTP_KEYS)
        secret_env = _text(data["secret_env"])
        if not _ENV_NAME.match(secret_env):
            raise _Refused
        return TotpToken(
            type="totp",
            secret_env=secret_env,
            digits=_bounded(data["digits"], 6, 8),
            period=_bounded(data["period"], 15, 120),
        )
    if type(value) is dict and value.get("type") == "ed25519":
        data = _keys(value, _ED25519_KEYS)
        return Ed25519Token(type="ed25519", public_key=_text(data["public_key"], min_length=32))
    raise _Refused


def vendor_from_json(value: Any) -> Vendor | None:
    """The vendor a cache entry holds, when every field is exactly what
    ``bot.registry_model.validate_vendor`` would return for it (then it returns the same vendor);
    None for anything else, valid or not (the registry is then validated from its file)."""
    try:
        data = _keys(value, _VENDOR_KEYS)
        vendor_id = _text(data["id"])
        if not _ID.match(vendor_id):
            raise _Refused
        domains = _texts(data["domains"])
        if not domains or any(normalize_domain(d) != d for d in domains):
            raise _Refused
        aliases = _texts(data["aliases"])
        if any(not a or a.lower() != a for a in aliases):
            raise _Refused
        reviewed = data["last_reviewed"]
        if type(reviewed) is not str or not _DATE.fullmatch(reviewed):
            raise _Refused
        if type(data["privileged"]) is not bool or type(data["contacts"]) is not list:
            raise _Refused
        callback = _keys(data["callback"], _CALLBACK_KEYS)
        return Vendor(
            id=vendor_id,
            name=_text(data["name"], min_length=1),
            domains=domains,
            contacts=tuple(_contact(c) for c in data["contacts"]),
            callback=Callback(
                phone=_text(callback["phone"]),
                instructions=_text(callback["instructions"], min_length=1),
                hours=_optional_text(callback["hours"]),
            ),
            privileged=data["privileged"],
            last_reviewed=dt.date.fromisoformat(reviewed),
            owner=_text(data["owner"], min_length=1),
            aliases=aliases,
            dkim_selectors=_texts(data["dkim_selectors"]),
            token=_token(data["token"]),
        )
    except (_Refused, InvalidName, ValueError, TypeError):
        return None
