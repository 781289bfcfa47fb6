"""The caller check and vendor names on the command line (subprocess, real test DNS server)."""

from __future__ import annotations

import json

from tests.test_cli import run


def test_phone_targets_in_json_keep_the_report_shape(dns_server) -> None:
    result = run(
        ["verify", "+1 800 555 0199", "(206) 555-0142", "tel:+12065550110", "--json"], dns_server
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["target"] for r in rows] == ["+18005550199", "+12065550142", "+12065550110"]
    assert {r["kind"] for r in rows} == {"phone"}
    for row in rows:
        assert set(row) >= {"target", "kind", "verdict", "reasons", "vendor", "callback", "posture"}
    assert rows[0]["verdict"] == "unverified"
    assert [r["code"] for r in rows[0]["reasons"]] == ["not_in_registry"]
    assert rows[1]["verdict"] == "verified" and rows[1]["vendor"]["id"] == "northwind"
    assert rows[1]["reasons"][0]["code"] == "registered_phone_number"
    assert "Dana Whitfield" in rows[2]["reasons"][0]["message"]


def test_claims_and_caller_flags(dns_server) -> None:
    result = run(
        [
            "verify",
            "1-8OO-555-0199",
            "+1 312 555 0100",
            "--claims",
            "Northwind",
            "--caller",
            "Sam Okafor",
            "--json",
            "--fail-on",
            "suspicious",
        ],
        dns_server,
    )
    assert result.returncode == 3, result.stderr
    unregistered, other = (json.loads(line) for line in result.stdout.splitlines())
    assert unregistered["verdict"] == "suspicious"
    codes = [r["code"] for r in unregistered["reasons"]]
    assert codes == ["unregistered_phone_number", "unknown_contact"]
    assert unregistered["callback"]["phone"] == "+12065550142"
    assert unregistered["claimed_vendor"] == {"id": "northwind", "name": "Northwind Software"}
    assert unregistered["caller"] == {
        "name": "Sam Okafor",
        "registered": False,
        "vendor_id": "northwind",
    }
    assert other["reasons"][0]["code"] == "claimed_vendor_mismatch"
    assert other["callback"]["phone"] == "+12065550142"  # always the claimed vendor's


def test_text_report_leads_with_the_callback_number(dns_server) -> None:
    result = run(
        ["verify", "+1 206 555 0142", "--claims", "northwind", "--caller", "Dana Whitfield"],
        dns_server,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "VERIFIED  +12065550142 (phone)"
    assert lines[2] == (
        "  Call back: +1 206-555-0142 (Northwind Software, vendor registry; "
        "hours: Mon-Fri 08:00-18:00 Pacific)"
    )
    assert any("[registered_contact]" in line and "Account manager" in line for line in lines)
    assert "Registered contacts (their own numbers; call the callback line first):" in lines


def test_unknown_claimed_vendor_is_a_usage_error(dns_server) -> None:
    result = run(["verify", "+1 206 555 0142", "--claims", "Acme Corp"], dns_server)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "deskguard: verify --claims: No vendor named 'Acme Corp' in the registry.\n"
    )


def test_a_vendor_name_target_is_never_a_domain_syntax_error(dns_server) -> None:
    result = run(["verify", "Acme Corp", "Northwnd"], dns_server)
    assert result.returncode == 2
    first, second = result.stderr.splitlines()
    assert first == "deskguard: Acme Corp: No vendor named 'Acme Corp' in the registry."
    assert second == (
        "deskguard: Northwnd: No vendor named 'Northwnd' in the registry. Closest: Northwind "
        "Software."
    )


def test_registry_show_prints_the_card_with_posture(dns_server) -> None:
    result = run(["registry", "show", "Northwind"], dns_server)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Northwind Software (registry id northwind)"
    assert lines[1] == "  Call back: +1 206-555-0142 (hours: Mon-Fri 08:00-18:00 Pacific)"
    assert "    Dana Whitfield (Account manager) <dana.whitfield@northwind-software.com>, " in (
        "\n".join(lines)
    )
    assert "  Last review: 2026-09-15 (owner: Priya Raman)" in lines
    posture = lines[lines.index("  Posture:") + 1 :]
    assert [p.split(":")[0].strip() for p in posture] == ["northwind-software.com", "northwind.io"]


def test_registry_show_by_id_as_json_and_overdue(dns_server) -> None:
    result = run(["registry", "show", "contoso-payroll", "--json", "--no-posture"], dns_server)
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["vendor"]["name"] == "Contoso Payroll"
    assert card["callback"]["phone"] == "+13125550100"
    assert card["callback"]["contacts"][0]["name"] == "Lee Park"
    assert card["overdue"] is True and card["posture"] is None


def test_registry_show_unknown_name_names_the_closest(dns_server) -> None:
    result = run(["registry", "show", "Contoso", "Payrol"], dns_server)
    assert result.returncode == 2
    assert result.stderr == (
        "deskguard: No vendor named 'Contoso Payrol' in the registry. Closest: Contoso Payroll.\n"
    )
    nothing = run(["registry", "show", "Acme", "Corp"], dns_server)
    assert nothing.stderr == "deskguard: No vendor named 'Acme Corp' in the registry.\n"


def test_a_known_vendor_name_as_a_target_points_to_its_card(dns_server) -> None:
    result = run(["verify", "Contoso Payroll"], dns_server)
    assert result.returncode == 2
    assert "Contoso Payroll is a registered vendor" in result.stderr
    assert "registry show contoso-payroll" in result.stderr
    assert "No vendor named" not in result.stderr
