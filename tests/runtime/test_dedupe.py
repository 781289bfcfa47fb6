"""MemoryDeduper: once per key within the TTL, bounded."""

from __future__ import annotations

import pytest

from bot.runtime.dedupe import MemoryDeduper


async def test_first_time_then_repeat_then_expiry() -> None:
    now = [0.0]
    dedupe = MemoryDeduper(ttl=10, clock=lambda: now[0])
    assert await dedupe.first_time("a") is True
    assert await dedupe.first_time("a") is False
    assert await dedupe.first_time("b") is True
    now[0] = 10.5
    assert await dedupe.first_time("a") is True
    assert len(dedupe) == 1


async def test_bounded() -> None:
    dedupe = MemoryDeduper(max_keys=3)
    for key in "abcd":
        assert await dedupe.first_time(key)
    assert len(dedupe) == 3
    assert await dedupe.first_time("a") is True  # the oldest was forgotten


def test_bad_limits() -> None:
    with pytest.raises(ValueError):
        MemoryDeduper(ttl=0)
