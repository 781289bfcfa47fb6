from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, load_settings, parse_nameserver


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


def test_registry_secrets_are_read_like_settings(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("DG_TEST_TOTP_A=from-dotenv\nDG_TEST_TOTP_B=dotenv-b\nDG_TEST_EMPTY=\n")
    monkeypatch.setenv("DG_TEST_TOTP_B", "from-environment")
    monkeypatch.delenv("DG_TEST_TOTP_A", raising=False)
    monkeypatch.chdir(tmp_path)  # the default .env is the working directory's, as for settings
    settings = load_settings()
    assert settings.secret("DG_TEST_TOTP_A") == "from-dotenv"
    assert settings.secret("DG_TEST_TOTP_B") == "from-environment"  # the environment wins
    assert settings.secret("DG_TEST_EMPTY") is None
    assert settings.secret("DG_TEST_UNSET") is None
    explicit = Settings(_env_file=dotenv)
    assert explicit.secret("DG_TEST_TOTP_A") == "from-dotenv"
    without = Settings(_env_file=None)
    assert without.secret("DG_TEST_TOTP_A") is None
    assert without.secret("DG_TEST_TOTP_B") == "from-environment"


def test_authserv_id_setting(monkeypatch):
    monkeypatch.setenv("DESKGUARD_AUTHSERV_ID", "deskguard.corp.example")
    assert load_settings().authserv_id == "deskguard.corp.example"
    monkeypatch.setenv("DESKGUARD_AUTHSERV_ID", "mx;spf=pass")
    with pytest.raises(ConfigError, match=r"^DESKGUARD_AUTHSERV_ID:"):
        load_settings()
