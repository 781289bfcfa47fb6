"""Process a Slack delivery once: a bounded, expiring set of keys already seen.

Slack retries an event it thinks was not acknowledged (``X-Slack-Retry-Num`` 1..3) with the same
``event_id``. :class:`Deduper` is the protocol the server uses; :class:`MemoryDeduper` serves one
replica, and a shared store (Redis ``SET NX EX``) can implement the same protocol for many.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class Deduper(Protocol):
    """Answers True the first time a key is seen within its time to live, False afterwards."""

    async def first_time(self, key: str) -> bool:
        """Record ``key``; True when it was not seen before (within the TTL)."""
        ...


class MemoryDeduper:
    """In-memory :class:`Deduper`: at most ``max_keys`` keys, each kept ``ttl`` seconds."""

    def __init__(
        self,
        *,
        ttl: float = 3600.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_keys < 1:
            raise ValueError("ttl and max_keys must be positive")
        self.ttl = ttl
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    async def first_time(self, key: str) -> bool:
        """Record ``key``; True when it was not seen before (within the TTL)."""
        now = self._clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now + self.ttl
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        while self._seen:
            key, deadline = next(iter(self._seen.items()))
            if deadline > now:
                break
            del self._seen[key]


class SingleUse(Protocol):
    """A shared single-use key store (the approval store's ``use_once``)."""

    async def use_once(self, kind: str, key: str, ttl: float) -> bool: ...


class StoreDeduper:
    """:class:`Deduper` backed by the shared store, so several replicas process a delivery once."""

    def __init__(self, store: SingleUse, *, ttl: float = 3600.0) -> None:
        self.store = store
        self.ttl = ttl

    async def first_time(self, key: str) -> bool:
        """Record ``key`` in the store; True when no replica saw it within the TTL."""
        return await self.store.use_once("dedupe", key, self.ttl)
