"""What every deskguard Redis client is made with, whatever it is for (queue, approval store)."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def connection_options() -> dict[str, Any]:
    """Keyword arguments for ``redis.asyncio`` ``from_url``: redis-py's driver info made once.

    A pool made with ``from_url`` otherwise makes it again for every connection it opens, and
    that reads redis-py's version from the installed package metadata (about a millisecond of
    file system walking): a burst of requests that grows the pool paid it per connection. The
    connection still tells Redis its library name and version (CLIENT SETINFO). redis-py
    releases without ``DriverInfo`` (before 7.1) read the version once at import: nothing to do.
    """
    try:
        from redis.driver_info import DriverInfo
    except ImportError:  # pragma: no cover - older redis-py
        return {}
    return {"driver_info": DriverInfo()}
