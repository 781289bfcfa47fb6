"""The pydantic Settings class as it was before bot/settings.py checked plain values itself
(kept verbatim, below this line, as the reference of tests/test_settings_light.py)."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import ipaddress
import os
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from bot.errors import ConfigError
from bot.names import InvalidName, normalize_domain

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

CommaList = tuple[str, ...]  # from a comma-separated string (never JSON)
ENV_PREFIX = "DESKGUARD_"
ENV_FILE = ".env"
ENV_FILE_ENCODING = "utf-8"
EnvFile = str | os.PathLike[str]
EnvFiles = EnvFile | list[EnvFile] | tuple[EnvFile, ...]
_DEFAULT_ENV_FILE: Any = object()  # `_env_file` not given: ENV_FILE
_AUTHSERV_ID = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseModel):
    """deskguard's configuration, read from the environment and ``.env``."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    # vendor registry and verification
    registry: Path = Path("examples/vendors.yml")
    review_interval_days: int = Field(default=90, ge=1, le=3650)
    dns_nameservers: CommaList = ()
    dns_timeout: float = Field(default=3.0, gt=0, le=60)
    dns_cache_file: Path | None = None
    trusted_authserv_ids: CommaList = ()
    trusted_arc_sealers: CommaList = ()
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # where one-shot commands keep the validated registry (None: ~/.cache/deskguard)
    cache_dir: Path | None = None

    # Slack
    slack_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "DESKGUARD_SLACK_BOT_TOKEN")
    )
    slack_app_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "DESKGUARD_SLACK_APP_TOKEN")
    )
    slack_signing_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "DESKGUARD_SLACK_SIGNING_SECRET"),
    )
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=1, le=65535)
    host: str = "0.0.0.0"  # noqa: S104 - a service listens on all interfaces by default

    # state
    database: Path = Path("deskguard.sqlite3")
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "DESKGUARD_REDIS_URL")
    )

    # approvals
    approvals_channel: str | None = None
    technical_approver_groups: CommaList = ()
    technical_approver_users: CommaList = ()
    vendor_manager_groups: CommaList = ()
    vendor_manager_users: CommaList = ()
    approval_ttl_hours: float = Field(default=24.0, gt=0)
    group_cache_seconds: float = Field(default=60.0, ge=0)

    # inbound gate and operations
    inbound_secret: str | None = None
    triage_channel: str | None = None
    vendor_channel: str | None = None
    reminder_interval_days: float = Field(default=7.0, gt=0)
    workers: int = Field(default=1, ge=0, le=64)
    queue_visibility_seconds: float = Field(default=60.0, gt=0, le=3600)
    log_format: str = Field(default="auto", pattern="^(auto|json|text)$")
    log_level: str = Field(default="INFO")

    # runtime under faults (queue attempts, request bodies)
    queue_max_attempts: int = Field(default=5, ge=1, le=100)
    inbound_max_concurrent_reads: int = Field(default=4, ge=1, le=256)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # evidence (issue 10): the organization's own mail domains (forwards from them are unwrapped)
    org_domains: CommaList = ()

    # packaging and operations: /healthz, /readyz and /metrics on their own listener when set
    ops_port: int | None = Field(default=None, ge=1, le=65535)

    # vendor watch (posture drift and registered lookalikes)
    watch_qps: float = Field(default=50.0, gt=0, le=10000)
    watch_interval_hours: float = Field(default=24.0, gt=0)
    watch_fuzzers: CommaList = ()

    # bounded verification (issue 11): the per-message deadline and the worker processes
    verify_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    verify_processes: int = Field(default=2, ge=1, le=64)

    _split_lists = field_validator(
        "dns_nameservers",
        "trusted_authserv_ids",
        "trusted_arc_sealers",
        "technical_approver_groups",
        "technical_approver_users",
        "vendor_manager_groups",
        "vendor_manager_users",
        "org_domains",
        "watch_fuzzers",
        mode="before",
    )(_split)

    @field_validator("dns_nameservers")
    @classmethod
    def _check_nameservers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            parse_nameserver(entry)
        return value

    @field_validator("org_domains")
    @classmethod
    def _check_org_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(normalize_domain(v) for v in value)
        except InvalidName as exc:
            raise ValueError(str(exc)) from None

    @field_validator("trusted_authserv_ids", "trusted_arc_sealers")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.lower().rstrip(".") for v in value)

    @cached_property
    def nameservers(self) -> list[tuple[str, int]]:
        """``dns_nameservers`` as (host, port) pairs."""
        return [parse_nameserver(entry) for entry in self.dns_nameservers]

    # CLI and registry secrets: the authserv-id of the Authentication-Results deskguard writes
    # (default: the first trusted authserv-id, else the host name), and the variables the
    # registry names (token.secret_env), read like every other setting (environment, then .env)
    authserv_id: str | None = None
    _dotenv_files: tuple[Path, ...] = PrivateAttr(default=())

    def __init__(self, _env_file: EnvFiles | None = _DEFAULT_ENV_FILE, **values: Any) -> None:
        """Keyword arguments, else the environment, else ``_env_file`` (default ``.env``; None:
        none), else the defaults."""
        env_file = ENV_FILE if _env_file is _DEFAULT_ENV_FILE else _env_file
        if env_file is None:
            files: tuple[Path, ...] = ()
        elif isinstance(env_file, str | os.PathLike):
            files = (Path(env_file),)
        else:
            files = tuple(Path(f) for f in env_file)
        data = _field_values(type(self), _read_dotenv(files))
        data.update(_field_values(type(self), os.environ))
        data.update(values)
        super().__init__(**data)
        self._dotenv_files = files

    @field_validator("authserv_id")
    @classmethod
    def _check_authserv_id(cls, value: str | None) -> str | None:
        if value is not None and not _AUTHSERV_ID.fullmatch(value):
            raise ValueError("must be a host name (letters, digits, '.', '-', '_')")
        return value

    @cached_property
    def secret_environ(self) -> Mapping[str, str]:
        """Variables as settings read them: the process environment first, then ``.env``."""
        dotenv: dict[str, str] = {}
        for values in _dotenv_files_read(self._dotenv_files):  # later files win
            dotenv.update({k: v for k, v in values.items() if v is not None})
        return ChainMap(cast("dict[str, str]", os.environ), dotenv)

    def secret(self, name: str) -> str | None:
        """The value of a variable the registry names, or None when it is unset or empty."""
        value = self.secret_environ.get(name, "").strip()
        return value or None

    # mail server ingress: SMTP copy listener and milter (issue 16)
    smtp_port: int | None = Field(default=None, ge=0, le=65535)
    smtp_host: str | None = None  # default: DESKGUARD_HOST
    smtp_allowed_clients: CommaList = ("127.0.0.1/32", "::1/128")
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    milter_socket: str | None = Field(default=None, pattern=r"^(inet:\d{1,5}@[^\s]+|unix:/\S+)$")
    milter_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    milter_action_spoofed: str = Field(default="tag", pattern="^(tag|quarantine|reject)$")
    milter_action_suspicious: str = Field(default="tag", pattern="^(tag|quarantine|reject)$")
    milter_helpdesk_recipients: CommaList = ()

    _split_mail_lists = field_validator(
        "smtp_allowed_clients", "milter_helpdesk_recipients", mode="before"
    )(_split)

    @field_validator("smtp_allowed_clients")
    @classmethod
    def _check_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
        return value

    @field_validator("milter_helpdesk_recipients")
    @classmethod
    def _lower_recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.lower().strip("<>") for v in value)


def _env_names(name: str, info: FieldInfo) -> list[tuple[str, str]]:
    """(key for the model, variable name in lower case): each alias choice, then the prefixed
    field name, as pydantic-settings looks them up (case-insensitively)."""
    names = []
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        names = [(str(choice), str(choice).lower()) for choice in alias.choices]
    elif isinstance(alias, str):
        names = [(alias, alias.lower())]
    return [*names, (name, (ENV_PREFIX + name).lower())]


def _field_values(model: type[BaseModel], variables: Mapping[str, str | None]) -> dict[str, Any]:
    """The values ``variables`` give the fields of ``model`` (unset and None ones left out)."""
    lowered = {k.lower(): v for k, v in variables.items()}
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        names = _env_names(name, info)
        for key, variable in names:
            value = lowered.get(variable)
            if value is not None:
                data[key if key == name else names[0][0]] = value  # an alias: the first one
                break
    return data


def _dotenv_files_read(files: tuple[Path, ...]) -> Iterator[dict[str, str | None]]:
    """Each env file that exists, read, in order (later ones win where their caller merges)."""
    for file in files:
        path = file.expanduser()
        if path.is_file() or path.is_fifo():
            from dotenv import dotenv_values  # only when there is a file to read

            yield dict(dotenv_values(path, encoding=ENV_FILE_ENCODING))


def _read_dotenv(files: tuple[Path, ...]) -> dict[str, str | None]:
    """The env files' variables for the fields (names in lower case), later files winning."""
    variables: dict[str, str | None] = {}
    for values in _dotenv_files_read(files):
        variables.update({k.lower(): v for k, v in values.items()})
    return variables


def parse_nameserver(entry: str) -> tuple[str, int]:
    """Parse ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    entry = entry.strip()
    host, port = entry, 53
    if entry.startswith("["):
        host, closed, rest = entry[1:].partition("]")
        if not closed:
            raise ValueError(f"bad nameserver {entry!r}")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad nameserver {entry!r}")
            port = int(rest[1:])
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"bad port in nameserver {entry!r}")
        port = int(port_text)
    if not host or not 0 < port < 65536:
        raise ValueError(f"bad nameserver {entry!r}")
    return host, port


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"DESKGUARD_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a bad value raises ConfigError naming the variable, in one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"{_env_name(field)}: {first['msg']}") from None
