"""deskguard's cache folder: where it is, and that only the user's own files are used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import bot.cachedir as cache
from bot import names
from bot.cachedir import private_dir, read_private, write_private
from bot.registry import load_registry
from bot.registry_cache import CACHE_NAME, load_registry_cached

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_default_directory_is_under_home_and_never_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.default_cache_dir() == tmp_path / ".cache" / "deskguard"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # beside the PSL's table
    assert cache.default_cache_dir() == tmp_path / "xdg" / "deskguard"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # never relative: the home one
    assert cache.default_cache_dir() == tmp_path / ".cache" / "deskguard"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "")
    assert cache.default_cache_dir() is None


def test_a_file_is_read_only_from_a_private_folder(tmp_path: Path) -> None:
    folder = tmp_path / "deskguard"
    write_private(folder, "t.txt", b"table")
    assert folder.stat().st_mode & 0o777 == 0o700
    assert read_private(folder, "t.txt") == b"table"
    folder.chmod(0o755)  # others can now plant files here
    assert read_private(folder, "t.txt") is None
    (folder / "link").symlink_to(folder / "t.txt")
    folder.chmod(0o700)
    assert read_private(folder, "link") is None  # never through a link
    os.chmod(folder / "t.txt", 0o666)
    assert read_private(folder, "t.txt") is None  # writable by others


def test_the_suffix_table_and_the_registry_share_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    names._psl.cache_clear()
    try:
        folder = cache.default_cache_dir()
        assert folder is not None
        folder.mkdir(mode=0o755)  # as the suffix table's writer once made it
        names.registrable_domain("a.example.co.uk")  # the table is written first
        assert private_dir(folder, create=False)
        load_registry_cached(FIXTURES / "vendors.yml", folder)
        assert (folder / CACHE_NAME).exists()
        assert len(load_registry_cached(FIXTURES / "vendors.yml", folder)) == len(
            load_registry(FIXTURES / "vendors.yml")
        )
    finally:
        names._psl.cache_clear()
