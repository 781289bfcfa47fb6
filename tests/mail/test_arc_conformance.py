"""ValiMail's ARC validation suite (tests/data/arc-validation-tests.yml), one case each.

Each scenario's TXT records are served by the real test DNS server. The suite writes the
expected ``cv`` as ``Pass``/``Fail``/``None``, and as an empty string for a chain that a seal
with ``cv=fail`` already ended; RFC 8617 §5.2 calls that chain ``fail``, and so does deskguard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.dns import Resolver
from bot.mail.arc import verify_arc
from tests.conftest import TESTSUITES
from tests.support.dnsserver import TestDNSServer

SUITE = TESTSUITES / "arc-validation-tests.yml"
EXPECTED = {"pass": "pass", "fail": "fail", "none": "none", "": "fail"}


def _cases(path: Path) -> list[Any]:
    if not path.is_file():
        raise FileNotFoundError(f"ARC suite not found at {path}")
    with path.open(encoding="utf-8") as handle:
        documents = list(yaml.safe_load_all(handle))
    cases = []
    for document in documents:
        records = document["txt-records"]
        for name, test in document["tests"].items():
            cases.append(pytest.param(test, records, id=name))
    return cases


CASES = _cases(SUITE)


def test_suite_is_complete() -> None:
    assert len(CASES) == 171


@pytest.mark.parametrize(("test", "records"), CASES)
def test_arc_validation(
    test: dict[str, Any],
    records: dict[str, str],
    dns_server: TestDNSServer,
    resolver: Resolver,
) -> None:
    dns_server.clear()
    for name, record in records.items():
        dns_server.add(name, "TXT", record)
    expected = EXPECTED[str(test["cv"]).strip().lower()]

    got = verify_arc(test["message"].encode("utf-8"), resolver)

    assert got.cv == expected, f"{test.get('description')}: {got.reason}"
    if expected == "pass":
        assert got.instances >= 1
        assert len(got.sealers) == got.instances
        assert got.oldest_pass is not None and 1 <= got.oldest_pass <= got.instances
