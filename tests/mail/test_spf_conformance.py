"""The OpenSPF RFC 7208 conformance suite, each scenario served from the real test DNS server.

Zone data follows the suite's driver conventions: a name with SPF (type 99) records and no TXT
entry gets them duplicated as TXT ("TXT: NONE" stops that); "TIMEOUT" makes every type the name
has no records for go unanswered. The check under test never asks for type SPF.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dnslib import DNSLabel

from bot.dns import Resolver
from bot.mail.spf import check_spf
from tests.support.dnsserver import TestDNSServer

SUITE = Path(__file__).resolve().parents[1] / "data" / "rfc7208-tests.yml"
ALL_TYPES = ("TXT", "SPF", "A", "AAAA", "MX", "PTR", "CNAME")

# Cases where the project's stack answers differently, never with a pass it should not give.
KNOWN_DEVIATIONS = {
    "initial-processing/null-text": (
        "temperror",
        "a TXT record with zero character-strings is illegal on the wire; dnspython rejects the "
        "whole DNS response (FormError), so bot.dns reports a DNS failure, and SPF is "
        "temperror instead of the suite's pass (gluing strings, the other half of the case, "
        "is tested in tests/mail/test_spf.py)",
    ),
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _load() -> list[Any]:
    if not SUITE.is_file():
        raise FileNotFoundError(f"RFC 7208 suite not found at {SUITE}")
    cases = []
    for scenario in yaml.safe_load_all(SUITE.read_text(encoding="utf-8")):
        zone = scenario.get("zonedata") or {}
        for name, test in scenario["tests"].items():
            case_id = f"{_slug(scenario['description'])}/{name}"
            cases.append(pytest.param(case_id, zone, test, id=case_id))
    return cases


CASES = _load()


def _serve(server: TestDNSServer, zonedata: dict[str, list[Any]]) -> None:
    """Load one scenario's zone the way the suite's reference driver reads it."""
    server.clear()
    for raw_name, entries in zonedata.items():
        # the server keys names by dnslib's presentation form (spaces become \032)
        name = str(DNSLabel(raw_name)).rstrip(".").lower()
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        present: set[str] = set()
        timeout = False
        for entry in entries:
            if entry == "TIMEOUT":
                timeout = True
                continue
            for rtype, value in entry.items():
                if value == "NONE":
                    continue
                present.add(rtype)
                if rtype in ("TXT", "SPF"):
                    server.add(name, rtype, value)
                    if rtype == "SPF" and not has_txt:
                        server.add(name, "TXT", value)
                        present.add("TXT")
                elif rtype == "MX":
                    pref, host = value
                    server.add(name, "MX", f"{pref} {host.rstrip('.')}.")
                else:
                    server.add(name, rtype, value)
        if timeout and not present:
            server.timeouts.add(name)
        elif timeout:
            for rtype in set(ALL_TYPES) - present:
                server.type_timeouts.add((name, rtype))


@pytest.mark.parametrize(("case_id", "zonedata", "case"), CASES)
def test_rfc7208_suite(
    dns_server: TestDNSServer, case_id: str, zonedata: dict[str, list[Any]], case: dict[str, Any]
) -> None:
    _serve(dns_server, zonedata)
    resolver = Resolver([dns_server.address], timeout=0.3)
    expected = case["result"] if isinstance(case["result"], list) else [case["result"]]
    if case_id in KNOWN_DEVIATIONS:
        expected = [KNOWN_DEVIATIONS[case_id][0]]

    got = check_spf(case["host"], case["mailfrom"], helo=case["helo"], resolver=resolver)

    assert got.result in expected, (got.result, got.detail, got.explanation)
    if "explanation" in case and got.result == "fail":
        wanted = None if case["explanation"] == "DEFAULT" else case["explanation"]
        assert got.policy_explanation == wanted
    assert not [q for q in dns_server.queries if q[1] == "SPF"], "type SPF was queried"


def test_known_deviations_are_suite_cases() -> None:
    ids = {param.values[0] for param in CASES}
    assert len(CASES) == 203
    assert set(KNOWN_DEVIATIONS) <= ids
