"""A token bucket: at most ``rate`` acquisitions per second, shared by concurrent tasks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Spaces acquisitions ``1/rate`` seconds apart on average (bursts of at most ``burst``)."""

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()
        self.acquired = 0

    async def acquire(self) -> None:
        """Wait for a token."""
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1 - 1e-9:  # rounding must not turn into a busy wait
                    self._tokens -= 1
                    self.acquired += 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)
