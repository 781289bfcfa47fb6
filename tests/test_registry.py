"""Registry validation: precise errors naming the vendor and the field; look-ups."""

import copy
import datetime as dt

import pytest
import yaml

from bot.errors import RegistryError
from bot.registry import load_registry, normalize_phone, parse_registry
from tests.conftest import FIXTURES

BASE = yaml.safe_load((FIXTURES / "vendors.yml").read_text())


def problems_for(mutate) -> list[str]:
    data = copy.deepcopy(BASE)
    mutate(data)
    with pytest.raises(RegistryError) as info:
        parse_registry(data, source="test.yml")
    return info.value.problems


def test_loads_and_normalizes(registry):
    northwind = registry.get("northwind")
    assert northwind is not None
    assert northwind.callback.phone == "+12065550142"
    assert registry.get("contoso-payroll").contacts[0].phone == "+13125550177"
    assert northwind.domains == ("northwind-software.com", "northwind.io")


def test_bad_domain_names_vendor_and_field():
    def mutate(data):
        data["vendors"][0]["domains"] = ["northwind-software.com", "bad..domain"]

    (problem,) = problems_for(mutate)
    assert problem.startswith("vendor 'northwind': domains")
    assert "domains[1]" in problem


def test_unnormalizable_phone():
    def mutate(data):
        data["vendors"][1]["callback"]["phone"] = "call me maybe"

    (problem,) = problems_for(mutate)
    assert problem.startswith("vendor 'contoso-payroll': callback.phone:")


def test_contact_phone_reported_with_index():
    def mutate(data):
        data["vendors"][0]["contacts"][0]["phone"] = "12"

    (problem,) = problems_for(mutate)
    assert "vendor 'northwind': contacts[0].phone" in problem


def test_domain_claimed_twice():
    def mutate(data):
        data["vendors"][2]["domains"].append("Northwind.IO")

    (problem,) = problems_for(mutate)
    assert problem == (
        "vendor 'fabrikam': domains: northwind.io is already claimed by vendor 'northwind'"
    )


def test_missing_callback():
    def mutate(data):
        del data["vendors"][2]["callback"]

    (problem,) = problems_for(mutate)
    assert problem == "vendor 'fabrikam': callback: is required"


def test_unknown_field_rejected():
    def mutate(data):
        data["vendors"][0]["domain"] = "typo.example"

    (problem,) = problems_for(mutate)
    assert problem.startswith("vendor 'northwind': domain: unknown field")


def test_totp_secret_never_in_file():
    def mutate(data):
        data["vendors"][0]["token"] = {"type": "totp", "secret": "JBSWY3DPEHPK3PXP"}

    problems = problems_for(mutate)
    assert any("token.secret: unknown field" in p for p in problems)
    assert any("token.secret_env: is required" in p for p in problems)


def test_contact_outside_vendor_domains():
    def mutate(data):
        data["vendors"][0]["contacts"][0]["email"] = "dana@gmail.com"

    (problem,) = problems_for(mutate)
    assert "contacts[0].email: dana@gmail.com is not at one of the vendor's domains" in problem


def test_every_problem_is_reported():
    def mutate(data):
        del data["vendors"][0]["owner"]
        data["vendors"][1]["domains"] = ["-x-.com"]

    problems = problems_for(mutate)
    assert len(problems) == 2


def test_not_a_registry():
    with pytest.raises(RegistryError, match="top-level 'vendors:'"):
        parse_registry(["a"], source="x.yml")


def test_unreadable_and_bad_yaml(tmp_path):
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("vendors: [\n")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(bad)


def test_lookups(registry):
    assert registry.by_domain("mail.eu.northwind-software.com").id == "northwind"
    assert registry.by_domain("northwind-software.com.evil.example") is None
    assert registry.by_domain("evilnorthwind.io") is None
    assert registry.vendor_domain_for("a.northwind.io") == "northwind.io"
    vendor, contact = registry.contact("Dana.Whitfield@northwind-software.com".lower())
    assert vendor.id == "northwind" and contact.name == "Dana Whitfield"
    owners = registry.by_phone(normalize_phone("206-555-0142"))
    assert [(o.vendor.id, o.what) for o in owners] == [("northwind", "callback")]
    assert registry.find_by_name("Northwind Software").id == "northwind"
    assert registry.find_by_name("contoso").id == "contoso-payroll"
    assert registry.find_by_name("nobody") is None


def test_overdue(registry):
    overdue = registry.overdue(dt.date(2026, 11, 27), 90)
    assert [v.id for v in overdue] == ["contoso-payroll", "fabrikam"]
    assert [v.id for v in registry.overdue(dt.date(2026, 10, 1), 90)] == ["contoso-payroll"]


def test_example_registry_is_valid():
    from pathlib import Path

    registry = load_registry(Path(__file__).parents[1] / "examples" / "vendors.yml")
    assert len(registry) >= 3
