"""A cache of the validated vendor registry for one-shot commands (``deskguard verify``).

Parsing the YAML and normalizing every phone number needs PyYAML and phonenumbers, the two
slowest parts of a cold ``deskguard verify DOMAIN``. After a successful load the validated
vendors are stored as JSON (never pickle) in one file, keyed by the SHA-256 of the registry's
bytes and a stamp of the code that validated them; a later run reads the registry's bytes, and
uses the cache only when both match. The vendors are validated again on the way in (pydantic),
so a cache can only ever hold what the registry itself said.

The cache is used only in a directory owned by this user and closed to others (0700), from a file
owned by this user that no one else can write; anything else (or any error) means "no cache" and
the registry is loaded from its file as usual.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from bot.cachedir import read_private, write_private
from bot.registry import Registry, Vendor, load_registry

CACHE_NAME = "registry.json"
FORMAT = 1
_CODE = ("registry.py", "names.py")  # the validation the cached vendors went through


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
    from pydantic import VERSION

    digest.update(f"pydantic {VERSION}\0".encode())
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
        vendors = [Vendor.model_validate(v) for v in entry["vendors"]]
        return Registry(vendors, source=source, region=str(entry["region"]))
    except (ValueError, KeyError, TypeError):  # pydantic's ValidationError is a ValueError
        return None


def _write(cache_dir: Path, key: str, registry: Registry) -> None:
    entry: dict[str, Any] = {
        "key": key,
        "region": registry.region,
        "vendors": [v.model_dump(mode="json") for v in registry.vendors],
    }
    try:
        data = json.dumps(entry, ensure_ascii=False).encode("utf-8")
    except (ValueError, TypeError):
        return
    write_private(cache_dir, CACHE_NAME, data)
