"""Settings: the only place that reads the environment.

Every variable carries the ``DESKGUARD_`` prefix except Slack's own tokens and ``REDIS_URL``.
Lists are comma-separated strings (``DESKGUARD_DNS_NAMESERVERS=127.0.0.1:5353,192.0.2.53``);
a ``.env`` file in the working directory is read too.

Variables are read as pydantic-settings reads them (names in any case; a field's aliases first,
then ``DESKGUARD_`` + its name; keyword arguments over the environment over ``.env`` over the
defaults), by a few lines here rather than by pydantic-settings itself, whose import alone
costs a cold ``deskguard verify`` more than any of its own steps.

Values are validated by pydantic, with one shortcut: values in the plain forms the environment
and the command line give (ASCII digits, a plain decimal, a word from a field's list, a
comma-separated list) are checked here, with the same bounds and the same field validators, so a
one-shot command does not import pydantic. Anything else, valid or not, goes to the pydantic
model built from the same field table (:func:`settings_model`), which decides and words the
error; tests/test_settings_light.py checks both against the pydantic class these settings were.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import re
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from bot.errors import ConfigError
from bot.names import InvalidName, normalize_domain

if TYPE_CHECKING:
    from pydantic import BaseModel

CommaList = tuple[str, ...]  # from a comma-separated string (never JSON)
ENV_PREFIX = "DESKGUARD_"
ENV_FILE = ".env"
ENV_FILE_ENCODING = "utf-8"
EnvFile = str | os.PathLike[str]
EnvFiles = EnvFile | list[EnvFile] | tuple[EnvFile, ...]
_DEFAULT_ENV_FILE: Any = object()  # `_env_file` not given: ENV_FILE
_AUTHSERV_ID = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")
_PATTERN_WORDS = re.compile(r"\^\(([a-z|]+)\)\$")  # "^(a|b|c)$": the words the shortcut accepts


class FieldSpec(NamedTuple):
    """One setting: its default, bounds, pattern and the variable names tried before its own."""

    default: Any
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    pattern: str | None = None
    aliases: tuple[str, ...] = ()


def _field(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Any:
    return FieldSpec(default, ge, gt, le, pattern, aliases)


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings:
    """deskguard's configuration, read from the environment and ``.env`` (frozen)."""

    # vendor registry and verification
    registry: Path = _field(Path("examples/vendors.yml"))
    review_interval_days: int = _field(90, ge=1, le=3650)
    dns_nameservers: CommaList = _field(())
    dns_timeout: float = _field(3.0, gt=0, le=60)
    dns_cache_file: Path | None = _field(None)
    trusted_authserv_ids: CommaList = _field(())
    trusted_arc_sealers: CommaList = _field(())
    max_message_bytes: int = _field(25 * 1024 * 1024, ge=1024)
    # where one-shot commands keep the validated registry (None: ~/.cache/deskguard)
    cache_dir: Path | None = _field(None)

    # Slack
    slack_bot_token: str | None = _field(
        None, aliases=("SLACK_BOT_TOKEN", "DESKGUARD_SLACK_BOT_TOKEN")
    )
    slack_app_token: str | None = _field(
        None, aliases=("SLACK_APP_TOKEN", "DESKGUARD_SLACK_APP_TOKEN")
    )
    slack_signing_secret: str | None = _field(
        None, aliases=("SLACK_SIGNING_SECRET", "DESKGUARD_SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = _field("https://slack.com/api/")
    port: int = _field(3000, ge=1, le=65535)
    host: str = _field("0.0.0.0")  # noqa: S104 - a service listens on all interfaces by default

    # state
    database: Path = _field(Path("deskguard.sqlite3"))
    redis_url: str | None = _field(None, aliases=("REDIS_URL", "DESKGUARD_REDIS_URL"))

    # approvals
    approvals_channel: str | None = _field(None)
    technical_approver_groups: CommaList = _field(())
    technical_approver_users: CommaList = _field(())
    vendor_manager_groups: CommaList = _field(())
    vendor_manager_users: CommaList = _field(())
    approval_ttl_hours: float = _field(24.0, gt=0)
    group_cache_seconds: float = _field(60.0, ge=0)

    # inbound gate and operations
    inbound_secret: str | None = _field(None)
    triage_channel: str | None = _field(None)
    vendor_channel: str | None = _field(None)
    reminder_interval_days: float = _field(7.0, gt=0)
    workers: int = _field(1, ge=0, le=64)
    queue_visibility_seconds: float = _field(60.0, gt=0, le=3600)
    log_format: str = _field("auto", pattern="^(auto|json|text)$")
    log_level: str = _field("INFO")

    # runtime under faults (queue attempts, request bodies)
    queue_max_attempts: int = _field(5, ge=1, le=100)
    inbound_max_concurrent_reads: int = _field(4, ge=1, le=256)
    body_read_timeout_seconds: float = _field(30.0, gt=0, le=600)
    # evidence (issue 10): the organization's own mail domains (forwards from them are unwrapped)
    org_domains: CommaList = _field(())

    # packaging and operations: /healthz, /readyz and /metrics on their own listener when set
    ops_port: int | None = _field(None, ge=1, le=65535)

    # vendor watch (posture drift and registered lookalikes)
    watch_qps: float = _field(50.0, gt=0, le=10000)
    watch_interval_hours: float = _field(24.0, gt=0)
    watch_fuzzers: CommaList = _field(())

    # bounded verification (issue 11): the per-message deadline and the worker processes
    verify_timeout_seconds: float = _field(10.0, gt=0, le=600)
    verify_processes: int = _field(2, ge=1, le=64)

    # CLI and registry secrets: the authserv-id of the Authentication-Results deskguard writes
    # (default: the first trusted authserv-id, else the host name), and the variables the
    # registry names (token.secret_env), read like every other setting (environment, then .env)
    authserv_id: str | None = _field(None)

    # mail server ingress: SMTP copy listener and milter (issue 16)
    smtp_port: int | None = _field(None, ge=0, le=65535)
    smtp_host: str | None = _field(None)  # default: DESKGUARD_HOST
    smtp_allowed_clients: CommaList = _field(("127.0.0.1/32", "::1/128"))
    smtp_tls_cert: Path | None = _field(None)
    smtp_tls_key: Path | None = _field(None)
    milter_socket: str | None = _field(None, pattern=r"^(inet:\d{1,5}@[^\s]+|unix:/\S+)$")
    milter_timeout_seconds: float = _field(5.0, gt=0, le=300)
    milter_action_spoofed: str = _field("tag", pattern="^(tag|quarantine|reject)$")
    milter_action_suspicious: str = _field("tag", pattern="^(tag|quarantine|reject)$")
    milter_helpdesk_recipients: CommaList = _field(())

    _dotenv_files: tuple[Path, ...]

    def __init__(self, _env_file: EnvFiles | None = _DEFAULT_ENV_FILE, **values: Any) -> None:
        """Keyword arguments, else the environment, else ``_env_file`` (default ``.env``; None:
        none), else the defaults. Invalid values raise pydantic's ValidationError."""
        env_file = ENV_FILE if _env_file is _DEFAULT_ENV_FILE else _env_file
        if env_file is None:
            files: tuple[Path, ...] = ()
        elif isinstance(env_file, str | os.PathLike):
            files = (Path(env_file),)
        else:
            files = tuple(Path(f) for f in env_file)
        data = _field_values(_read_dotenv(files))
        data.update(_field_values(os.environ))
        data.update(values)
        checked = validate_plain(data)
        if checked is None:
            model = settings_model().model_validate(data)  # raises ValidationError
            checked = {name: getattr(model, name) for name in FIELDS}
        self.__dict__.update(checked)
        self.__dict__["_dotenv_files"] = files

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"settings are frozen: cannot delete {name!r}")

    def field_values(self) -> dict[str, Any]:
        """Every field's value, by field name."""
        return {name: self.__dict__[name] for name in FIELDS}

    def portable(self) -> Settings:
        """The fields alone, for a worker process: no cached values (the environment that
        ``secret_environ`` holds is neither picklable nor the worker's business), no env files."""
        clone = object.__new__(Settings)
        clone.__dict__.update(self.field_values())
        clone.__dict__["_dotenv_files"] = ()
        return clone

    @cached_property
    def nameservers(self) -> list[tuple[str, int]]:
        """``dns_nameservers`` as (host, port) pairs."""
        return [parse_nameserver(entry) for entry in self.dns_nameservers]

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


FIELDS: dict[str, FieldSpec] = {
    name: spec for name, spec in vars(Settings).items() if isinstance(spec, FieldSpec)
}
for _name, _spec in FIELDS.items():
    setattr(Settings, _name, _spec.default)  # the class attribute is the default, as before
del _name, _spec
_KIND = {name: Settings.__annotations__[name] for name in FIELDS}  # "int", "Path | None", ...


# --- field validators (the pydantic model and the shortcut both run these) --------------------


def _check_nameservers(value: tuple[str, ...]) -> tuple[str, ...]:
    for entry in value:
        parse_nameserver(entry)
    return value


def _check_org_domains(value: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(normalize_domain(v) for v in value)
    except InvalidName as exc:
        raise ValueError(str(exc)) from None


def _lower(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.lower().rstrip(".") for v in value)


def _check_authserv_id(value: str | None) -> str | None:
    if value is not None and not _AUTHSERV_ID.fullmatch(value):
        raise ValueError("must be a host name (letters, digits, '.', '-', '_')")
    return value


def _check_cidrs(value: tuple[str, ...]) -> tuple[str, ...]:
    for entry in value:
        ipaddress.ip_network(entry, strict=False)
    return value


def _lower_recipients(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.lower().strip("<>") for v in value)


_AFTER: dict[str, Callable[[Any], Any]] = {
    "dns_nameservers": _check_nameservers,
    "org_domains": _check_org_domains,
    "trusted_authserv_ids": _lower,
    "trusted_arc_sealers": _lower,
    "authserv_id": _check_authserv_id,
    "smtp_allowed_clients": _check_cidrs,
    "milter_helpdesk_recipients": _lower_recipients,
}


@functools.cache
def settings_model() -> type[BaseModel]:
    """The pydantic model of :class:`Settings` (same fields, bounds, aliases and validators),
    built on first use: it decides every value the shortcut leaves to it."""
    from typing import get_type_hints

    from pydantic import AliasChoices, ConfigDict, Field, create_model, field_validator

    hints = get_type_hints(Settings)
    fields: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        alias = AliasChoices(*spec.aliases) if spec.aliases else None
        info = Field(
            default=spec.default,
            ge=spec.ge,
            gt=spec.gt,
            le=spec.le,
            pattern=spec.pattern,
            validation_alias=alias,
        )
        fields[name] = (hints[name], info)
    lists = [name for name, kind in _KIND.items() if kind == "CommaList"]
    validators: dict[str, Any] = {"_split_lists": field_validator(*lists, mode="before")(_split)}
    for name, check in _AFTER.items():
        validators[f"_check_{name}"] = field_validator(name)(check)
    return create_model(
        "Settings",
        __config__=ConfigDict(extra="ignore", frozen=True, populate_by_name=True),
        __validators__=validators,
        **fields,
    )


# --- the shortcut: plain values checked here --------------------------------------------------

_INT = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")


class _Undecided(Exception):
    """A value the shortcut leaves to pydantic."""


def _plain_str(value: Any) -> str:
    if type(value) is not str:
        raise _Undecided
    try:
        value.encode("utf-8")  # lone surrogates (from the environment) are pydantic's to refuse
    except UnicodeEncodeError:
        raise _Undecided from None
    return value


def _in_bounds(value: float, spec: FieldSpec) -> None:
    if (
        (spec.ge is not None and not value >= spec.ge)
        or (spec.gt is not None and not value > spec.gt)
        or (spec.le is not None and not value <= spec.le)
    ):
        raise _Undecided


def _plain_value(name: str, spec: FieldSpec, value: Any) -> Any:
    kind = _KIND[name]
    if kind.endswith(" | None"):
        if value is None:
            return None
        kind = kind.removesuffix(" | None")
    if kind == "str":
        text = _plain_str(value)
        if spec.pattern is not None:
            words = _PATTERN_WORDS.fullmatch(spec.pattern)
            if words is None or text not in words.group(1).split("|"):
                raise _Undecided
        return text
    if kind == "Path":
        if isinstance(value, Path) and type(value) is type(Path()):
            return value
        text = _plain_str(value)
        if not text or "\0" in text:
            raise _Undecided
        return Path(text)
    if kind == "int":
        if type(value) is not int:
            text = _plain_str(value)
            if not _INT.fullmatch(text):
                raise _Undecided
            value = int(text)
        _in_bounds(value, spec)
        return value
    if kind == "float":
        if type(value) is float:
            if not math.isfinite(value):
                raise _Undecided
        elif type(value) is int and abs(value) < 2**53:
            value = float(value)
        else:
            text = _plain_str(value)
            if not _DECIMAL.fullmatch(text):
                raise _Undecided
            value = float(text)
        _in_bounds(value, spec)
        return value
    if kind == "CommaList":
        items = _split(value)
        if type(items) not in (tuple, list):
            raise _Undecided
        return tuple(_plain_str(item) for item in items)
    raise _Undecided  # a kind not read here: the pydantic model decides


def validate_plain(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Every field's value when each given value is in a plain form checked here; None when
    one is not (or is invalid): then the pydantic model decides."""
    out: dict[str, Any] = {}
    try:
        for name, spec in FIELDS.items():
            given = [key for key in (*spec.aliases, name) if key in data]
            if len(given) > 1:
                raise _Undecided  # which one wins is pydantic's rule
            if not given:
                out[name] = spec.default  # defaults are not validated (as in pydantic)
                continue
            value = _plain_value(name, spec, data[given[0]])
            check = _AFTER.get(name)
            out[name] = value if check is None else check(value)
    except (_Undecided, ValueError, TypeError):
        return None
    return out


# --- variables ---------------------------------------------------------------------------------


def _env_names(name: str, spec: FieldSpec) -> list[tuple[str, str]]:
    """(key for the model, variable name in lower case): each alias choice, then the prefixed
    field name, as pydantic-settings looks them up (case-insensitively)."""
    names = [(alias, alias.lower()) for alias in spec.aliases]
    return [*names, (name, (ENV_PREFIX + name).lower())]


def _field_values(variables: Mapping[str, str | None]) -> dict[str, Any]:
    """The values ``variables`` give the settings' fields (unset and None ones left out)."""
    lowered = {k.lower(): v for k, v in variables.items()}
    data: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        names = _env_names(name, spec)
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


def env_name(field: str) -> str:
    """The variable a setting is read from (its first alias, else ``DESKGUARD_`` + its name)."""
    spec = FIELDS.get(field)
    if spec is not None and spec.aliases:
        return spec.aliases[0]
    return f"DESKGUARD_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a bad value raises ConfigError naming the variable, in one line."""
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError is one (pydantic is loaded by then)
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"{env_name(field)}: {first['msg']}") from None
