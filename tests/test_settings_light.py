"""Settings without pydantic on the plain path: the same values and the same errors as the pydantic
class they were (tests/support/settings_reference.py, kept verbatim), over many random and
hostile combinations of environment, ``.env`` and keyword arguments."""

import os
import pickle
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.errors import ConfigError
from bot.settings import FIELDS, Settings, load_settings, settings_model, validate_plain
from tests.support import settings_reference as reference

INTS = ["0", "1", "7", "007", "-1", "+5", " 42", "42 ", "1_000", "1e3", "3.0", "3.5", "24",
        "64", "65", "100", "256", "1023", "1024", "3650", "3651", "65535", "65536", "٣", "",
        "abc", "0x10", "99999999999999999999", "999999999999999999"]  # fmt: skip
FLOATS = ["0", "0.5", "3", "1e1", "inf", "nan", "-1", " 2 ", "2.", ".5", "0.0001", "60",
          "60.0000001", "600", "601", "1_0", "", "abc", "3600", "10000", "10001", "1.5e2",
          "300", "24.0"]  # fmt: skip
STRS = ["", "x", " spaced ", "json", "JSON", "json\n", "text", "auto", "tag", "reject",
        "quarantine", "quarantine ", "inet:25@host", "inet:123456@h", "unix:/tmp/s",
        "unix:/tmp/s\n", "unix:/", "\udcff", "é", "mx.corp.example", "mx;spf=pass", "a" * 300,
        "redis://127.0.0.1:6379/9", "https://slack.example/api/", "xoxb-1"]  # fmt: skip
PATHS = ["", "a/b", "/abs/file.yml", "~/x", "rel.sqlite3", "\udcff", " sp ", "."]
LISTS = ["", ",", " , ", "a,b", " A.Example , b.example. ", "127.0.0.1:53, 192.0.2.1",
         "127.0.0.1:99999", "[::1]:53", "2001:db8::1", "host:port", "10.0.0.0/8,::1/128",
         "bad cidr", "<A@B.example>,c@d", "not a domain", "\udcff", "[1]", "MX.Corp.Example.",
         "192.0.2.0/24", "x" * 70 + ".example"]  # fmt: skip
PY_VALUES: list[Any] = [None, 5, 0, -3, 2**60, True, 3.0, 0.5, float("nan"), float("inf"),
                        b"bytes", Path("p"), ("a", "b"), ["x"], [1], ("127.0.0.1:53",), (),
                        {"a"}, 1e308]  # fmt: skip


def _pool(name: str) -> list[str]:
    kind = Settings.__annotations__[name].removesuffix(" | None")
    return {"int": INTS, "float": FLOATS, "str": STRS, "Path": PATHS, "CommaList": LISTS}[kind]


def _variable(name: str, rng: random.Random) -> str:
    spec = FIELDS[name]
    base = rng.choice([*spec.aliases, f"DESKGUARD_{name.upper()}"])
    return rng.choice([base, base.lower(), base.title()])


def _outcome(make: Any, env_file: Path, kwargs: dict[str, Any]) -> tuple[str, Any]:
    try:
        settings = make(_env_file=env_file, **kwargs)
    except ValidationError as exc:
        return "error", [(e["loc"], e["msg"], e["type"]) for e in exc.errors()]
    except ConfigError as exc:
        return "config", str(exc)
    values = {name: getattr(settings, name) for name in FIELDS}
    return "ok", {k: (type(v), v) for k, v in values.items() if v == v}  # nan: by its type


def _case(rng: random.Random, tmp: Path) -> tuple[dict[str, str], str, dict[str, Any]]:
    names = list(FIELDS)
    env: dict[str, str] = {}
    dotenv_lines: list[str] = []
    kwargs: dict[str, Any] = {}
    for name in rng.sample(names, rng.randint(0, 5)):
        where = rng.random()
        value = rng.choice(_pool(name))
        if where < 0.45:
            env[_variable(name, rng)] = value
        elif where < 0.6 and "\n" not in value and "\udcff" not in value:
            dotenv_lines.append(f"{_variable(name, rng)}={value}")
        else:
            kwarg = rng.choice([name, *FIELDS[name].aliases])
            kwargs[kwarg] = value if rng.random() < 0.6 else rng.choice(PY_VALUES)
    return env, "\n".join(dotenv_lines), kwargs


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(("DESKGUARD_", "SLACK_", "REDIS_")):
            monkeypatch.delenv(name)


def test_settings_match_the_pydantic_class_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_environment(monkeypatch)
    rng = random.Random(1309)
    env_file = tmp_path / "settings.env"
    plain = fallback = 0
    for _ in range(2500):
        env, dotenv, kwargs = _case(rng, tmp_path)
        env_file.write_text(dotenv, encoding="utf-8")
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            expected = _outcome(reference.Settings, env_file, kwargs)
            got = _outcome(Settings, env_file, kwargs)
            assert got == expected, (env, dotenv, kwargs)
            expected_cli = _outcome(reference.load_settings, env_file, kwargs)
            assert _outcome(load_settings, env_file, kwargs) == expected_cli
            data = reference._read_dotenv((env_file,))
            merged = reference._field_values(reference.Settings, data)
            merged.update(reference._field_values(reference.Settings, os.environ))
            merged.update(kwargs)
            shortcut = validate_plain(merged)
        if shortcut is None:
            fallback += 1
            continue
        plain += 1
        assert expected[0] == "ok", (env, dotenv, kwargs)  # the shortcut never accepts the invalid
        assert {k: (type(v), v) for k, v in shortcut.items() if v == v} == expected[1]
    assert plain > 800 and fallback > 800  # both paths were exercised


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"DESKGUARD_DNS_NAMESERVERS": "127.0.0.1:5353", "DESKGUARD_REGISTRY": "/r/vendors.yml"},
        {"DESKGUARD_CACHE_DIR": "/tmp/c", "DESKGUARD_DNS_TIMEOUT": "2.5", "SLACK_BOT_TOKEN": "x"},
        {"DESKGUARD_ORG_DOMAINS": "Corp.Example", "REDIS_URL": "redis://h", "DESKGUARD_PORT": "1"},
        {"DESKGUARD_LOG_FORMAT": "json", "DESKGUARD_MILTER_ACTION_SPOOFED": "reject"},
    ],
)
def test_plain_environments_take_the_shortcut(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_environment(monkeypatch)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    data = reference._field_values(reference.Settings, os.environ)
    assert validate_plain(data) is not None
    assert validate_plain({**data, "registry": Path("x.yml"), "dns_timeout": 1.5}) is not None


def test_the_pydantic_model_has_the_reference_fields() -> None:
    model = settings_model()
    assert list(model.model_fields) == list(reference.Settings.model_fields) == list(FIELDS)
    for name, info in model.model_fields.items():
        assert repr(info) == repr(reference.Settings.model_fields[name])


def test_settings_are_frozen_and_portable(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, dns_nameservers="127.0.0.1:53", port=7)
    with pytest.raises(AttributeError):
        settings.port = 8  # type: ignore[misc]
    assert settings.nameservers == [("127.0.0.1", 53)]
    assert settings.secret("HOME") is not None or "HOME" not in os.environ
    copy = pickle.loads(pickle.dumps(settings.portable()))
    assert copy.field_values() == settings.field_values()
    assert "secret_environ" not in copy.__dict__


def test_loading_plain_settings_does_not_import_pydantic(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from bot.settings import load_settings\n"
        "s = load_settings(dns_timeout=2.0)\n"
        "assert s.dns_nameservers == ('127.0.0.1:5353',), s.dns_nameservers\n"
        "assert 'pydantic' not in sys.modules, 'pydantic imported'\n"
        "try:\n"
        "    load_settings(port='x')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = {**os.environ, "DESKGUARD_DNS_NAMESERVERS": "127.0.0.1:5353"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "ConfigError DESKGUARD_PORT: Input should be a valid integer, unable to parse string as "
        "an integer"
    )
