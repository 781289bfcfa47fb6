"""Vendors as frozen dataclasses: the same vendors and the same problems as the pydantic models they
were (tests/support/registry_reference.py, kept verbatim); the cache's pydantic-free check takes
only what those models return unchanged; a cold ``deskguard verify DOMAIN`` with a warm cache does
not import pydantic (nor PyYAML, phonenumbers, or cryptography when no DKIM key is read)."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.errors import RegistryError
from bot.registry import parse_registry, validate_vendor
from bot.registry_cache import vendor_from_json
from tests.support import registry_reference as reference
from tests.support.dnsserver import TestDNSServer

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "examples" / "vendors.yml", ROOT / "tests" / "fixtures" / "vendors.yml"]
VALUES: list[Any] = [
    " x ", "X", "", "x", 5, 0, -1, True, False, None, 6, 8, 9, 15, 121, "6", 6.0, [], {}, ["a"],
    "2024-13-01", "2024-1-1", "2026-02-28", "2026-02-28T00:00:00", 20260228, "Example.COM",
    "ex ample.com", "example.com.", "xn--bcher-kva.example", "bücher.example", "\udcff", "a" * 40,
    " " + "b" * 40, "totp", "TOTP", "ed25519", "bad@", "user@example.com", "User@Example.com",
    "+12065550100", " +12065550100", "+1 206 555 0100", "NORTHWIND_TOTP", "lower_case", "Id",
    "ok-id", "a" * 65, ["Example.com"], ["a.example", "b.example"], ("t",), "\t", "\x1c",
    "name\u2003", {"type": "totp", "secret_env": "X_Y"}, {"type": "ed25519", "public_key": "k"},
    {"name": "N", "role": "R", "email": "n@northwind-software.com"},
]  # fmt: skip


def _dumps() -> list[dict[str, Any]]:
    vendors = []
    for source in SOURCES:
        vendors += [v.model_dump(mode="json") for v in reference.load_registry(source).vendors]
    return vendors


def _raw() -> list[dict[str, Any]]:
    return [yaml.safe_load(source.read_text()) for source in SOURCES]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _mutate(value: Any, rng: random.Random) -> Any:
    value = copy.deepcopy(value)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(value)[1:] or [()])
        if not path:
            return rng.choice(VALUES)
        parent = value
        for part in path[:-1]:
            parent = parent[part]
        action = rng.random()
        if action < 0.1 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.2 and isinstance(parent, dict):
            parent[rng.choice(["extra", "domain", "Name", "hours", "phone"])] = rng.choice(VALUES)
        elif action < 0.3 and isinstance(parent[path[-1]], str):
            parent[path[-1]] = rng.choice([" ", "\n", "\u00a0", "X"]) + parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    return value


def _text(value: Any) -> str:
    """JSON text: equal values of different types (6 and 6.0, True and 1) differ."""
    return json.dumps(value, sort_keys=True, default=repr)


def _reference_vendor(data: Any) -> dict[str, Any] | None:
    try:
        return reference.Vendor.model_validate(data).model_dump(mode="json")
    except ValidationError:
        return None


def test_the_cache_check_takes_only_what_the_models_return_unchanged() -> None:
    rng = random.Random(1311)
    dumps = _dumps()
    for dump in dumps:  # every valid vendor comes back from the cache, unchanged
        vendor = vendor_from_json(json.loads(json.dumps(dump)))
        assert vendor is not None and _text(vendor.to_json()) == _text(dump)
        assert vendor == validate_vendor(dump)
    taken = refused_valid = 0
    for _ in range(4000):
        data = json.loads(json.dumps(_mutate(rng.choice(dumps), rng)))
        expected = _reference_vendor(data)
        got = vendor_from_json(data)
        if got is None:
            refused_valid += expected is not None
            continue
        taken += 1
        assert expected is not None, data  # never takes what the models refuse
        assert _text(got.to_json()) == _text(expected), data  # as the models return it
        assert got == validate_vendor(data)
    assert taken > 100 and refused_valid > 100  # mutations that stay valid, and that it leaves


def _problems_or_vendors(parse: Any, data: Any) -> Any:
    try:
        registry = parse(data, source="<test>")
    except RegistryError as exc:
        return "problems", exc.problems
    dumps = [
        v.to_json() if hasattr(v, "to_json") else v.model_dump(mode="json")
        for v in registry.vendors
    ]
    return "vendors", dumps, registry.region, registry.source


def test_registry_validation_is_the_pydantic_models() -> None:
    rng = random.Random(1312)
    raws = _raw()
    valid = 0
    for index in range(600):
        data = copy.deepcopy(rng.choice(raws)) if index < 20 else _mutate(rng.choice(raws), rng)
        expected = _problems_or_vendors(reference.parse_registry, data)
        got = _problems_or_vendors(parse_registry, data)
        assert _text(got) == _text(expected), data
        valid += expected[0] == "vendors"
    assert valid > 40


def test_a_cold_verify_with_a_warm_cache_does_not_import_pydantic(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code = (
        "import sys\n"
        "from bot.cli import run\n"
        "status = run(['verify', 'northwind-software.com', '--json'])\n"
        "print('status', status)\n"
        "heavy = ('pydantic', 'pydantic_core', 'yaml', 'phonenumbers', 'cryptography', 'httpx2')\n"
        "print('loaded', sorted(m for m in heavy if m in sys.modules))\n"
    )
    server = TestDNSServer()
    for zone in sorted((ROOT / "tests" / "fixtures").glob("*.zone")):
        server.load_zone_file(zone)
    env = {
        **{k: v for k, v in os.environ.items() if not k.upper().startswith("DESKGUARD_")},
        "DESKGUARD_DNS_NAMESERVERS": server.nameserver,
        "DESKGUARD_REGISTRY": str(SOURCES[0]),
        "DESKGUARD_CACHE_DIR": str(cache),
    }
    outputs = []
    with server:
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True,
                text=True, check=False, timeout=120,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout.splitlines()[-2:])
    # the first run fills the cache (validating the file: PyYAML, phonenumbers, pydantic); the
    # second reads it, and verifies a domain that publishes no DKIM key (no cryptography either)
    assert outputs[0][0] == "status 0" and "'pydantic'" in outputs[0][1]
    assert outputs[1] == ["status 0", "loaded []"]
