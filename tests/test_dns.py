"""The resolver against the real test DNS server: outcomes kept apart, TTLs honoured."""

import json
import subprocess
import sys

from bot.dns import Outcome, Resolver, Snapshot


async def test_answer_nxdomain_nodata(resolver):
    found = await resolver.query("_dmarc.northwind-software.com", "TXT")
    assert found.outcome is Outcome.ANSWER and found.found
    assert found.records[0].startswith("v=DMARC1; p=reject")
    missing = await resolver.query("nothing-here.northwind-software.com", "TXT")
    assert missing.outcome is Outcome.NXDOMAIN and not missing.temporary
    nodata = await resolver.query("northwind-software.com", "AAAA")
    assert nodata.outcome is Outcome.NODATA


async def test_timeout_and_servfail_are_temporary_not_absent(dns_server, resolver):
    dns_server.timeouts.add("slow.example")
    dns_server.servfail.add("broken.example")
    slow = await resolver.query("slow.example", "TXT")
    broken = await resolver.query("broken.example", "TXT")
    assert slow.outcome is Outcome.TEMPERROR and slow.error == "timeout"
    assert broken.outcome is Outcome.TEMPERROR
    assert not slow.found and slow.temporary


async def test_cache_honours_ttl(dns_server):
    now = [1000.0]
    resolver = Resolver([dns_server.address], timeout=0.5, clock=lambda: now[0])
    dns_server.add("ttl.example", "TXT", "one", ttl=30)
    assert (await resolver.query("ttl.example", "TXT")).records == ("one",)
    dns_server.clear()
    dns_server.add("ttl.example", "TXT", "two", ttl=30)
    now[0] += 29
    assert (await resolver.query("ttl.example", "TXT")).records == ("one",)
    now[0] += 2
    assert (await resolver.query("ttl.example", "TXT")).records == ("two",)


async def test_temperror_is_not_cached_for_long(dns_server):
    now = [1000.0]
    resolver = Resolver([dns_server.address], timeout=0.3, clock=lambda: now[0])
    dns_server.timeouts.add("flaky.example")
    assert (await resolver.query("flaky.example", "TXT")).temporary
    dns_server.timeouts.clear()
    dns_server.add("flaky.example", "TXT", "back")
    now[0] += 5
    assert (await resolver.query("flaky.example", "TXT")).records == ("back",)


async def test_concurrent_identical_queries_are_coalesced(dns_server, resolver):
    import asyncio

    dns_server.add("once.example", "A", "192.0.2.9")
    results = await asyncio.gather(*(resolver.query("once.example", "A") for _ in range(20)))
    assert {r.records for r in results} == {("192.0.2.9",)}
    assert dns_server.queries.count(("once.example", "A")) == 1


def test_sync_adapter_speaks_dnspython(resolver):
    import dns.resolver
    import pytest

    adapter = resolver.dnspython()
    answer = adapter.resolve("northwind-software.com", "MX")
    assert [str(r.exchange) for r in answer] == ["mx.northwind-software.com."]
    with pytest.raises(dns.resolver.NXDOMAIN):
        adapter.resolve("nope.northwind-software.com", "TXT")
    with pytest.raises(dns.resolver.NoAnswer):
        adapter.resolve("northwind-software.com", "AAAA")


def test_snapshot_answers_offline(tmp_path):
    path = tmp_path / "dns.json"
    path.write_text(
        json.dumps({"example.com": {"TXT": ["v=spf1 -all"]}, "slow.example": {"TIMEOUT": True}})
    )
    snapshot = Snapshot.load(path)
    assert snapshot.lookup("example.com", "TXT").records == ("v=spf1 -all",)
    assert snapshot.lookup("example.com", "MX").outcome is Outcome.NODATA
    assert snapshot.lookup("other.example", "TXT").outcome is Outcome.NXDOMAIN
    assert snapshot.lookup("slow.example", "TXT").outcome is Outcome.TEMPERROR


def test_dns_over_https_and_quic_are_never_loaded() -> None:
    code = (
        "import sys, bot.dns, dns._features\n"
        "assert not dns._features.have('doh') and not dns._features.have('doq')\n"
        "print(sorted(m for m in ('httpx2', 'httpcore2', 'aioquic', 'h2') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
