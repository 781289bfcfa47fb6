from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings, parse_nameserver


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("DESKGUARD_DNS_NAMESERVERS", "127.0.0.1:5353, 192.0.2.53")
    monkeypatch.setenv("DESKGUARD_TRUSTED_AUTHSERV_IDS", "MX.Corp.example,*.corp.example")
    settings = load_settings()
    assert settings.nameservers == [("127.0.0.1", 5353), ("192.0.2.53", 53)]
    assert settings.trusted_authserv_ids == ("mx.corp.example", "*.corp.example")


def test_defaults(monkeypatch):
    monkeypatch.delenv("DESKGUARD_REVIEW_INTERVAL_DAYS", raising=False)
    settings = load_settings()
    assert settings.review_interval_days == 90
    assert settings.nameservers == []
    assert settings.max_message_bytes == 25 * 1024 * 1024


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("DESKGUARD_DNS_TIMEOUT", "soon")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith("DESKGUARD_DNS_TIMEOUT:")
    assert "\n" not in str(info.value)


def test_bad_nameserver_names_the_variable(monkeypatch):
    monkeypatch.setenv("DESKGUARD_DNS_NAMESERVERS", "127.0.0.1:99999")
    with pytest.raises(ConfigError, match=r"^DESKGUARD_DNS_NAMESERVERS:"):
        load_settings()


def test_slack_tokens_use_slack_names(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = load_settings()
    assert settings.slack_bot_token == "xoxb-1"


def test_dotenv_is_read(tmp_path: Path, monkeypatch):
    (tmp_path / ".env").write_text("DESKGUARD_REVIEW_INTERVAL_DAYS=30\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DESKGUARD_REVIEW_INTERVAL_DAYS", raising=False)
    assert load_settings().review_interval_days == 30


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("192.0.2.1", ("192.0.2.1", 53)),
        ("192.0.2.1:5300", ("192.0.2.1", 5300)),
        ("[2001:db8::1]:5300", ("2001:db8::1", 5300)),
        ("2001:db8::1", ("2001:db8::1", 53)),
    ],
)
def test_parse_nameserver(entry, expected):
    assert parse_nameserver(entry) == expected


@pytest.mark.parametrize("entry", ["host:port", "[::1", "", "127.0.0.1:0"])
def test_parse_nameserver_rejects(entry):
    with pytest.raises(ValueError):
        parse_nameserver(entry)


def test_org_domains_are_normalized_and_checked() -> None:
    settings = load_settings(_env_file=None, org_domains="Corp.Example, mail.corp.example.")
    assert settings.org_domains == ("corp.example", "mail.corp.example")
    with pytest.raises(ConfigError, match="DESKGUARD_ORG_DOMAINS"):
        load_settings(_env_file=None, org_domains="not a domain")
