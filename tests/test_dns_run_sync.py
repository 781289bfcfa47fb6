"""Blocking DNS-using work runs on the event loop only when its answers are all cached."""

from __future__ import annotations

import threading

import pytest

from bot.dns import CacheMiss, Outcome, Resolver, Snapshot


def _lookup_twice(resolver: Resolver, calls: list[int]) -> tuple[Outcome, Outcome]:
    calls.append(threading.get_ident())
    first = resolver.query_sync("_dmarc.northwind-software.com", "TXT")
    second = resolver.query_sync("northwind-software.com", "MX")
    return first.outcome, second.outcome


async def test_cold_cache_goes_to_a_thread_warm_cache_runs_inline(resolver: Resolver) -> None:
    calls: list[int] = []
    loop_thread = threading.get_ident()
    cold = await resolver.run_sync(_lookup_twice, resolver, calls)
    assert cold == (Outcome.ANSWER, Outcome.ANSWER)
    # tried inline, stopped at the first uncached answer, then run in a worker thread
    assert calls[0] == loop_thread and calls[1] != loop_thread and len(calls) == 2
    calls.clear()
    warm = await resolver.run_sync(_lookup_twice, resolver, calls)
    assert warm == cold
    assert calls == [loop_thread]


async def test_a_library_that_swallows_the_miss_is_still_rerun(resolver: Resolver) -> None:
    ran_in: list[int] = []

    def swallowing() -> str:
        ran_in.append(threading.get_ident())
        try:
            return resolver.query_sync("northwind-software.com", "TXT").outcome.value
        except:  # noqa: E722  (like pyspf's bare excepts)
            return "swallowed"

    assert await resolver.run_sync(swallowing) == "answer"
    assert len(ran_in) == 2 and ran_in[1] != threading.get_ident()


async def test_snapshot_answers_are_never_a_miss() -> None:
    resolver = Resolver(snapshot=Snapshot({"a.example": {"TXT": ["x"]}}))
    with resolver.cache_only() as probe:
        assert resolver.query_sync("a.example", "TXT").records == ("x",)
    assert not probe.missed


def test_cache_only_mode_ends_with_its_block(resolver: Resolver) -> None:
    name = "_dmarc.northwind-software.com"
    with resolver.cache_only() as probe, pytest.raises(CacheMiss):
        resolver.query_sync(name, "TXT")
    assert probe.missed
    assert resolver.query_sync(name, "TXT").outcome is Outcome.ANSWER
