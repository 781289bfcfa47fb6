"""The validated-registry cache of one-shot commands: same vendors as the file, used only for the
same bytes, only from a private directory, and never trusted past validation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import bot.registry_cache as cache
from bot.errors import RegistryError
from bot.registry import Registry, load_registry
from bot.registry_cache import CACHE_NAME, load_registry_cached

ROOT = Path(__file__).resolve().parents[1]
REGISTRIES = [ROOT / "examples" / "vendors.yml", ROOT / "tests" / "fixtures" / "vendors.yml"]


@pytest.fixture
def private(tmp_path: Path) -> Path:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    return directory


def _same(a: Registry, b: Registry) -> None:
    assert a.vendors == b.vendors
    assert (a.source, a.region, len(a)) == (b.source, b.region, len(b))


def _no_file_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(path: Path) -> Registry:
        raise AssertionError("loaded from the file, not the cache")

    monkeypatch.setattr(cache, "load_registry", fail)


@pytest.mark.parametrize("source", REGISTRIES, ids=lambda p: p.parent.name)
def test_a_cached_registry_is_the_registry(
    source: Path, tmp_path: Path, private: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vendors.yml"
    shutil.copy(source, path)
    direct = load_registry(path)
    _same(load_registry_cached(path, private), direct)  # fills the cache
    assert (private / CACHE_NAME).stat().st_mode & 0o777 == 0o600
    _no_file_load(monkeypatch)
    _same(load_registry_cached(path, private), direct)


def test_changed_bytes_are_loaded_again(tmp_path: Path, private: Path) -> None:
    path = tmp_path / "vendors.yml"
    shutil.copy(REGISTRIES[0], path)
    load_registry_cached(path, private)
    path.write_text(path.read_text().replace("Northwind Software", "Northwind Soft", 1))
    assert load_registry_cached(path, private).get("northwind").name == "Northwind Soft"  # type: ignore[union-attr]


def test_an_invalid_registry_still_fails_and_is_not_cached(tmp_path: Path, private: Path) -> None:
    path = tmp_path / "vendors.yml"
    path.write_text("vendors:\n  - id: Bad Id\n")
    with pytest.raises(RegistryError):
        load_registry_cached(path, private)
    assert not (private / CACHE_NAME).exists()


def test_a_shared_directory_is_neither_read_nor_written(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    path = tmp_path / "vendors.yml"
    shutil.copy(REGISTRIES[0], path)
    _same(load_registry_cached(path, shared), load_registry(path))
    assert not (shared / CACHE_NAME).exists()


def test_a_cache_file_others_can_write_is_ignored(
    tmp_path: Path, private: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vendors.yml"
    shutil.copy(REGISTRIES[0], path)
    load_registry_cached(path, private)
    (private / CACHE_NAME).chmod(0o666)
    calls: list[Path] = []
    real = cache.load_registry

    def counted(p: Path) -> Registry:
        calls.append(p)
        return real(p)

    monkeypatch.setattr(cache, "load_registry", counted)
    load_registry_cached(path, private)
    assert calls == [path]


def test_a_tampered_cache_is_validated_like_the_file(
    tmp_path: Path, private: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vendors.yml"
    shutil.copy(REGISTRIES[0], path)
    load_registry_cached(path, private)
    entry = json.loads((private / CACHE_NAME).read_text())
    entry["vendors"][0]["domains"] = ["not a domain!"]
    (private / CACHE_NAME).write_text(json.dumps(entry))
    registry = load_registry_cached(path, private)  # falls back to the file
    _same(registry, load_registry(path))


def test_no_cache_directory_means_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "vendors.yml"
    shutil.copy(REGISTRIES[0], path)
    _same(load_registry_cached(path, None), load_registry(path))
