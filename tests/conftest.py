"""Shared fixtures: a real DNS server on 127.0.0.1, a resolver pointed only at it, the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dns import Resolver
from bot.registry import Registry, load_registry
from tests.support.dnsserver import TestDNSServer
from tests.support.redis_server import PrivateRedis, skip_or_fail

FIXTURES = Path(__file__).parent / "fixtures"
TESTSUITES = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One-shot commands cache the validated registry; in tests, never in the user's home."""
    path = tmp_path_factory.mktemp("cache") / "deskguard"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESKGUARD_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def dns_server_session() -> Iterator[TestDNSServer]:
    with TestDNSServer() as server:
        yield server


@pytest.fixture
def dns_server(dns_server_session: TestDNSServer) -> TestDNSServer:
    """The test DNS server, reset and loaded with tests/fixtures/*.zone for each test."""
    dns_server_session.clear()
    dns_server_session.delay = 0.0
    for zone in sorted(FIXTURES.glob("*.zone")):
        dns_server_session.load_zone_file(zone)
    return dns_server_session


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis | None]:
    """One private redis-server for the whole session, or None when the binary is missing."""
    try:
        server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    except FileNotFoundError:
        yield None
        return
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: PrivateRedis | None) -> str:
    """The private Redis's URL; skips (or, in CI, fails) when redis-server is not installed."""
    if redis_server is None:
        skip_or_fail("redis-server is not installed: the Redis half of this test did not run")
    assert redis_server is not None
    return redis_server.url


@pytest.fixture
def resolver(dns_server: TestDNSServer) -> Resolver:
    """A resolver that asks only the test DNS server, with a short timeout."""
    return Resolver([dns_server.address], timeout=0.5)


@pytest.fixture
def registry() -> Registry:
    """tests/fixtures/vendors.yml, validated."""
    return load_registry(FIXTURES / "vendors.yml")


@pytest.fixture
def testsuites() -> Path:
    """tests/data: the public conformance suites, with their licences."""
    if not TESTSUITES.is_dir():
        raise FileNotFoundError(f"conformance suites not found at {TESTSUITES}")
    return TESTSUITES
