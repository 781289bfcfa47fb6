"""Posture across the registry, and its drift between runs, against the local DNS server."""

from __future__ import annotations

from pathlib import Path

from bot.dns import Resolver
from bot.registry import Registry
from bot.watch.drift import posture_changes
from bot.watch.posture import PostureRow, check_registry_posture
from bot.watch.schedule import posture_run
from bot.watch.snapshots import POSTURE, SqliteSnapshots
from tests.support.dnsserver import TestDNSServer

NW = "northwind-software.com"


def _replace(server: TestDNSServer, name: str, rtype: str, data: str) -> None:
    """Change one record set in the running zone."""
    with server._lock:
        kept = [r for r in server.records[name] if r[0] != rtype]
        server.records[name] = [*kept, (rtype, data, 300)]


def _row(rows: list[PostureRow], domain: str) -> PostureRow:
    (row,) = [r for r in rows if r.domain == domain]
    return row


async def test_every_vendor_domain_gets_a_row_riskiest_first(
    dns_server: TestDNSServer, resolver: Resolver, registry: Registry
) -> None:
    rows = await check_registry_posture(registry, resolver, qps=1000)
    assert {r.domain for r in rows} == {d for v in registry.vendors for d in v.domains}
    nw = _row(rows, NW)
    assert (nw.dmarc_policy, nw.spf_all, nw.weak) == ("reject", "-all", False)
    contoso = _row(rows, "contosopayroll.com")
    assert (contoso.dmarc_policy, contoso.spf_all, contoso.weak) == ("none", "+all", True)
    assert {"dmarc_policy_none", "spf_plus_all"} <= set(contoso.reasons)
    fabrikam = _row(rows, "fabrikam.co.uk")
    assert (fabrikam.dmarc_policy, fabrikam.spf_all) == ("missing", "~all")
    # privileged vendors come first, and among them the weak ones
    privileged = [r.privileged for r in rows]
    assert privileged == sorted(privileged, reverse=True)
    assert PostureRow.from_json(nw.to_json()) == nw


async def test_dkim_keys_at_registered_selectors(
    dns_server: TestDNSServer, resolver: Resolver, registry: Registry
) -> None:
    vendor = next(v for v in registry.vendors if v.dkim_selectors)
    domain = vendor.domains[0]
    rows = await check_registry_posture(registry, resolver, qps=1000, vendor_ids=[vendor.id])
    row = _row(rows, domain)
    assert set(row.dkim) == set(vendor.dkim_selectors)
    assert all(status in ("ok", "missing", "invalid") for status in row.dkim.values())


async def test_first_run_is_a_baseline_then_a_weakened_policy_is_a_change(
    dns_server: TestDNSServer, resolver: Resolver, registry: Registry, tmp_path: Path
) -> None:
    store = SqliteSnapshots(tmp_path / "state.sqlite3")
    _, first = await posture_run(registry, resolver, store, qps=1000)
    assert first is None  # the baseline prints nothing
    _replace(dns_server, f"_dmarc.{NW}", "TXT", "v=DMARC1; p=none")
    _replace(dns_server, NW, "TXT", "v=spf1 ip4:192.0.2.0/24 ~all")
    fresh = Resolver([dns_server.address], timeout=0.5)  # no cached answers
    _, changes = await posture_run(registry, fresh, store, qps=1000)
    assert changes is not None
    found = {(c.domain, c.field, c.before, c.after, c.severity) for c in changes}
    assert (NW, "dmarc_policy", "reject", "none", "high") in found
    assert (NW, "spf_all", "-all", "~all", "high") in found
    assert all(c.domain == NW for c in changes)
    # a third run with nothing changed reports nothing
    _, again = await posture_run(registry, Resolver([dns_server.address]), store, qps=1000)
    assert again == []


async def test_a_dns_timeout_is_never_a_change_to_missing(
    dns_server: TestDNSServer, resolver: Resolver, registry: Registry, tmp_path: Path
) -> None:
    store = SqliteSnapshots(tmp_path / "state.sqlite3")
    await posture_run(registry, resolver, store, qps=1000)
    dns_server.timeouts.add(f"_dmarc.{NW}")
    dns_server.timeouts.add(NW)
    broken = Resolver([dns_server.address], timeout=0.3)
    rows, changes = await posture_run(registry, broken, store, qps=1000)
    assert _row(rows, NW).dmarc_policy == "temperror"
    assert changes == []
    stored = {r["domain"]: r for r in await store.load(POSTURE) or []}
    assert stored[NW]["dmarc_policy"] == "reject"  # the last known value is kept
    # when the look-up works again and the policy really changed, that is reported once
    dns_server.timeouts.clear()
    _replace(dns_server, f"_dmarc.{NW}", "TXT", "v=DMARC1; p=quarantine")
    _, later = await posture_run(registry, Resolver([dns_server.address]), store, qps=1000)
    assert later is not None
    assert [(c.field, c.before, c.after) for c in later] == [
        ("dmarc_policy", "reject", "quarantine")
    ]


def test_strengthening_is_info_and_new_domains_are_reported() -> None:
    before = [PostureRow("v", "V", True, "v.example", "none", "~all", {"s1": "missing"})]
    after = [
        PostureRow("v", "V", True, "v.example", "reject", "-all", {"s1": "ok"}),
        PostureRow("v", "V", True, "w.example", "reject", "-all"),
    ]
    changes = {(c.domain, c.field): c.severity for c in posture_changes(before, after)}
    assert changes == {
        ("v.example", "dmarc_policy"): "info",
        ("v.example", "spf_all"): "info",
        ("v.example", "dkim:s1"): "info",
        ("w.example", "domain"): "info",
    }
    removed = posture_changes(after, before)
    assert ("w.example", "domain") in {(c.domain, c.field) for c in removed}
    key_removed = {(c.field, c.severity) for c in removed if c.domain == "v.example"}
    assert ("dkim:s1", "high") in key_removed
