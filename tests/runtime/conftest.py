"""Runtime fixtures: a private redis-server per test, for tests that flush or restart it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import PrivateRedis, skip_or_fail


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own (never the session's shared one)."""
    try:
        server = PrivateRedis(tmp_path)
    except FileNotFoundError as exc:
        skip_or_fail(str(exc))
        raise
    server.start()
    try:
        yield server
    finally:
        server.stop()
