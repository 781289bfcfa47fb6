"""The Public Suffix List from the prebuilt table answers exactly as the parsed list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from publicsuffixlist import PublicSuffixList

from bot import names

DOMAINS = (
    "northwind-software.com",
    "a.b.example.co.uk",
    "x.city.kawasaki.jp",
    "foo.blogspot.com",
    "xn--80ak6aa92e.com",
    "пример.рф",
    "deep.sub.s3.amazonaws.com",
    "unknown-tld.zz",
)


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    names._psl.cache_clear()
    yield tmp_path
    names._psl.cache_clear()


def test_table_is_written_then_read_with_the_same_answers(cache_home: Path) -> None:
    reference = PublicSuffixList()
    parsed = names._psl()
    table = names.psl_table_path()
    assert table is not None and table.is_relative_to(cache_home) and table.exists()
    names._psl.cache_clear()
    from_table = names._psl()
    assert from_table is not parsed
    for domain in DOMAINS:
        assert from_table.privatesuffix(domain) == reference.privatesuffix(domain), domain
        assert from_table.publicsuffix(domain) == reference.publicsuffix(domain), domain


def test_a_foreign_file_is_not_used(cache_home: Path) -> None:
    table = names.psl_table_path()
    assert table is not None
    table.parent.mkdir(parents=True)
    table.write_text("com\nnorthwind-software.com\n", encoding="utf-8")  # no magic line
    assert names._psl().privatesuffix("a.northwind-software.com") == "northwind-software.com"
    assert table.read_text(encoding="utf-8").startswith("# deskguard prebuilt")
