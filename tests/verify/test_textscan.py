"""Free text: addresses, domains and phone numbers found and checked."""

from __future__ import annotations

from bot.dns import Resolver
from bot.registry import Registry, RegistryHolder
from bot.settings import Settings
from bot.verify.textscan import MAX_TARGETS, check_phones, find_targets, scan_text
from bot.verify.verifier import Verifier


def test_link_targets_count_and_labels_too() -> None:
    text = "Log in at <https://evil.example/x|northwind.io> or <mailto:a@b.example|a@b.example>"
    targets, more = find_targets(text)
    assert targets == ["evil.example", "a@b.example", "northwind.io"]
    assert more is False


def test_mentions_files_and_versions_are_not_targets() -> None:
    targets, _ = find_targets("<@U123> <!channel> see invoice.pdf v1.2.3 <#C1|general>")
    assert targets == []


def test_bounded() -> None:
    text = " ".join(f"host{i}.example" for i in range(MAX_TARGETS + 5))
    targets, more = find_targets(text)
    assert len(targets) == MAX_TARGETS and more is True


def test_phones(registry: Registry) -> None:
    checks = check_phones("call +1 206 555 0142 or (213) 555-0199", registry)
    assert [c.e164 for c in checks] == ["+12065550142", "+12135550199"]
    assert checks[0].registered_to == ("Northwind Software (callback number)",)
    assert checks[1].registered_to == ()


async def test_scan_verifies_each_target(resolver: Resolver, registry: Registry) -> None:
    verifier = Verifier(Settings(_env_file=None), resolver, RegistryHolder(registry))  # type: ignore[call-arg]
    scan = await scan_text(
        verifier, "from dana.whitfield@northwind-software.com via northwind-support.com"
    )
    assert [r.target for r in scan.reports] == [
        "dana.whitfield@northwind-software.com",
        "northwind-support.com",
    ]
    assert [r.verdict.value for r in scan.reports] == ["verified", "suspicious"]
    assert not scan.empty
