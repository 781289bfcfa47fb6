import os
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import AliasChoices, Field

from bot.errors import ConfigError
from bot.settings import Settings, load_settings, parse_nameserver, settings_model


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


def test_org_domains_are_normalized_and_checked() -> None:
    settings = load_settings(_env_file=None, org_domains="Corp.Example, mail.corp.example.")
    assert settings.org_domains == ("corp.example", "mail.corp.example")
    with pytest.raises(ConfigError, match="DESKGUARD_ORG_DOMAINS"):
        load_settings(_env_file=None, org_domains="not a domain")


# --- read as pydantic-settings reads them (it is a test dependency only) ----------------------


def _reference() -> type[Any]:
    """A pydantic-settings class with Settings' fields, aliases and configuration."""
    from pydantic import create_model
    from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

    class Base(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="DESKGUARD_", env_file=".env", extra="ignore", populate_by_name=True
        )

    fields: dict[str, Any] = {}
    for name, info in settings_model().model_fields.items():
        annotation = info.annotation
        if annotation == tuple[str, ...]:
            annotation = Annotated[annotation, NoDecode]
        fields[name] = (
            annotation,
            Field(default=info.default, validation_alias=info.validation_alias),
        )
    return create_model("Reference", __base__=Base, **fields)


def _keys() -> set[str]:
    keys = set(settings_model().model_fields)
    for info in settings_model().model_fields.values():
        if isinstance(info.validation_alias, AliasChoices):
            keys.update(str(c) for c in info.validation_alias.choices)
    return keys


ENVIRONMENTS = [
    {},
    {"DESKGUARD_PORT": "1", "deskguard_host": "h", "Deskguard_Dns_Timeout": "2"},
    {"SLACK_BOT_TOKEN": "a", "DESKGUARD_SLACK_BOT_TOKEN": "b", "deskguard_slack_app_token": "c"},
    {"DESKGUARD_REDIS_URL": "redis://x", "DESKGUARD_DNS_CACHE_FILE": "", "REGISTRY": "r"},
    {"DESKGUARD_DNS_NAMESERVERS": "127.0.0.1:53, 192.0.2.1", "DESKGUARD_WATCH_FUZZERS": "[1]"},
]
DOTENVS = [
    "",
    "DESKGUARD_REVIEW_INTERVAL_DAYS=30\ndeskguard_port=7\nSLACK_SIGNING_SECRET=s\n",
    "DESKGUARD_NOT_A_SETTING=1\nport=9\nDESKGUARD_HOST\nredis_url=x\nDESKGUARD_ORG_DOMAINS=a.example\n",
    "export DESKGUARD_DATABASE='q.sqlite3'\nDESKGUARD_DATABASE=\"last.sqlite3\"\n",
]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("dotenv", DOTENVS)
def test_variables_are_read_as_pydantic_settings_reads_them(
    environment: dict[str, str], dotenv: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

    from bot.settings import _field_values, _read_dotenv

    for name in list(os.environ):
        if name.upper().startswith(("DESKGUARD_", "SLACK_", "REDIS_")):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    env_file = tmp_path / "settings.env"
    env_file.write_text(dotenv)
    reference = _reference()
    keys = _keys()
    expected_env = EnvSettingsSource(reference)()
    expected_dotenv = {
        k: v for k, v in DotEnvSettingsSource(reference, env_file=env_file)().items() if k in keys
    }
    assert _field_values(os.environ) == expected_env
    assert _field_values(_read_dotenv((env_file,))) == expected_dotenv


def test_later_env_files_win_as_in_pydantic_settings(tmp_path: Path) -> None:
    from pydantic_settings import DotEnvSettingsSource

    from bot.settings import _field_values, _read_dotenv

    first, second = tmp_path / "a.env", tmp_path / "b.env"
    first.write_text("DESKGUARD_PORT=1\nDESKGUARD_HOST=a\nslack_bot_token=x\n")
    second.write_text("deskguard_port=2\nDESKGUARD_HOST\nSLACK_BOT_TOKEN=y\n")
    keys = _keys()
    expected = DotEnvSettingsSource(_reference(), env_file=[first, second, tmp_path / "none"])()
    files = (first, second, tmp_path / "none")
    assert _field_values(_read_dotenv(files)) == {k: v for k, v in expected.items() if k in keys}
    settings = Settings(_env_file=[first, second])
    assert settings.port == 2
