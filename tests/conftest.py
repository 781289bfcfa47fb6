"""Shared fixtures: a real DNS server on 127.0.0.1, a resolver pointed only at it, the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dns import Resolver
from bot.registry import Registry, load_registry
from tests.support.dnsserver import TestDNSServer

FIXTURES = Path(__file__).parent / "fixtures"
TESTSUITES = Path(__file__).resolve().parents[2] / "shared" / "testsuites"


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
    """../shared/testsuites (beside the checkout); fails loudly when missing."""
    if not TESTSUITES.is_dir():
        raise FileNotFoundError(f"conformance suites not found at {TESTSUITES}")
    return TESTSUITES
