"""What ships: the wheel's data and licences, the image (Dockerfile), compose.yaml, constraints.txt.

There is no container engine in the test environment: the Dockerfile and compose.yaml are checked
statically, hadolint and shellcheck run on them, and the image's own scripts and HEALTHCHECK
command run here against local servers.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENTRYPOINT = ROOT / "examples" / "docker-entrypoint.sh"
VENV_BIN = Path(sys.executable).parent


def _instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


INSTRUCTIONS = _instructions(DOCKERFILE)


def _one(keyword: str) -> str:
    (value,) = [rest for kw, rest in INSTRUCTIONS if kw == keyword]
    return value


def _env(keyword_args: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(keyword_args) if "=" in part)


# --- the wheel, licences and notices -------------------------------------------------------------


def test_package_data_is_declared_and_present() -> None:
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["bot"]
    assert "data/*" in data and "py.typed" in data
    assert (ROOT / "bot" / "data" / "confusables.txt").is_file()
    assert PYPROJECT["project"]["scripts"]["deskguard"] == "bot.cli:main"


def test_license_is_the_full_apache_2_text_pyproject_declares() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(re.findall(r"^\s+\d\. [A-Z]", text, flags=re.M)) >= 9  # all nine sections


def test_notice_names_every_bundled_data_file_and_suite_with_its_licence() -> None:
    notice = (ROOT / "NOTICE").read_text()
    bundled = [ROOT / "bot" / "data" / "confusables.txt"]
    bundled += sorted((ROOT / "tests" / "data").glob("*.yml"))
    assert len(bundled) >= 3
    for path in bundled:
        relative = path.relative_to(ROOT).as_posix()
        assert relative in notice, f"NOTICE does not list {relative}"
        licence = path.with_suffix(".LICENSE")
        assert licence.is_file(), f"{relative} has no licence file beside it"
        assert licence.relative_to(ROOT).as_posix() in notice
    assert "UTS #39" in notice or "Technical Standard #39" in notice
    assert "Unicode License v3" in notice
    assert "Unicode, Inc." in (ROOT / "bot" / "data" / "confusables.LICENSE").read_text()


# --- constraints.txt -----------------------------------------------------------------------------


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    for spec in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {requirement}"
        )
    assert "deskguard" not in pins


def test_phone_numbers_come_from_the_lite_package() -> None:
    """Only parsing and formatting are used: no geocoder, carrier or time-zone data."""
    names = {canonicalize_name(Requirement(s).name) for s in PYPROJECT["project"]["dependencies"]}
    assert "phonenumberslite" in names and "phonenumbers" not in names
    used = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        text = path.read_text()
        used |= set(re.findall(r"phonenumbers\.(\w+)", text))
        assert not re.search(r"phonenumbers(\.| import )(geocoder|carrier|timezone)", text)
    assert used, "no phone number parsing found: is the dependency still needed?"


# --- the Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_builds_in_stages_from_the_constraints_and_runs_non_root() -> None:
    froms = [rest for kw, rest in INSTRUCTIONS if kw == "FROM"]
    assert len(froms) >= 2  # multi-stage
    users = [rest for kw, rest in INSTRUCTIONS if kw == "USER"]
    assert users and users[-1] not in ("root", "0")
    runs = [rest for kw, rest in INSTRUCTIONS if kw == "RUN"]
    pip_runs = [r for r in runs if re.search(r"\bpip (wheel|install)\b", r)]
    assert len(pip_runs) == 2
    assert all("--constraint" in r and "constraints.txt" in r for r in pip_runs)
    assert any("--no-index" in r for r in pip_runs)  # the runtime stage installs only the wheels
    for kw, rest in INSTRUCTIONS:
        if kw == "COPY" and not rest.startswith("--from"):
            for source in shlex.split(rest)[:-1]:
                assert (ROOT / source).exists(), source


def test_the_image_ships_no_registry_and_checks_for_a_mounted_one() -> None:
    assert "examples/vendors.yml" not in DOCKERFILE and "vendors.yml /" not in DOCKERFILE
    env = {}
    for kw, rest in INSTRUCTIONS:
        if kw == "ENV":
            env.update(_env(rest))
    registry = env["DESKGUARD_REGISTRY"]
    assert registry == "/etc/deskguard/registry/vendors.yml"  # a file inside a mounted directory
    assert json.loads(_one("ENTRYPOINT")) == ["deskguard-entrypoint"]
    assert json.loads(_one("CMD")) == ["serve"]
    assert "COPY examples/docker-entrypoint.sh /usr/local/bin/deskguard-entrypoint" in DOCKERFILE


def test_healthcheck_is_exec_form_on_healthz() -> None:
    options, _, command = _one("HEALTHCHECK").partition("CMD ")
    assert "--interval" in options and "--timeout" in options
    argv = json.loads(command)  # exec form: a JSON array, no shell
    assert isinstance(argv, list) and argv[0] == "python"
    assert "/healthz" in " ".join(argv)


@pytest.fixture
def healthz_port() -> Iterator[int]:
    """A local server answering GET /healthz with 200 (aiohttp, in its own process)."""
    port = free_port()
    code = (
        "from aiohttp import web\n"
        "async def ok(request):\n    return web.json_response({'ok': True})\n"
        "app = web.Application(); app.router.add_get('/healthz', ok)\n"
        f"web.run_app(app, host='127.0.0.1', port={port}, print=None)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _healthcheck(env: dict[str, str]) -> int:
    argv = json.loads(_one("HEALTHCHECK").partition("CMD ")[2])
    argv[0] = sys.executable
    done = subprocess.run(
        argv, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60
    )
    if done.returncode:  # the health log gets one line, not a traceback
        assert done.stderr.startswith("unhealthy: ") and len(done.stderr.splitlines()) == 1
    return done.returncode


def test_the_healthcheck_command_passes_on_a_live_service_and_fails_on_a_dead_one(
    healthz_port: int,
) -> None:
    port = healthz_port
    dead = str(free_port())
    assert _healthcheck({"DESKGUARD_PORT": str(port)}) == 0
    assert _healthcheck({"DESKGUARD_PORT": dead}) != 0
    # with DESKGUARD_OPS_PORT the probe follows /healthz to the ops listener
    assert _healthcheck({"DESKGUARD_PORT": dead, "DESKGUARD_OPS_PORT": str(port)}) == 0


def _entrypoint(
    tmp_path: Path, args: list[str], registry: Path
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "deskguard"
    fake.write_text('#!/bin/sh\necho "deskguard ran: $*"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DESKGUARD_REGISTRY": str(registry)}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_without_a_mounted_registry_the_image_stops_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "registry" / "vendors.yml"
    for args in ([], ["serve"]):
        done = _entrypoint(tmp_path, args, missing)
        assert done.returncode == 2 and done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert str(missing) in line and "mount the directory" in line
        assert "/etc/deskguard/registry:ro" in line
    # other commands (a version check, a registry given by path) are not held up
    done = _entrypoint(tmp_path, ["--version"], missing)
    assert done.returncode == 0 and done.stdout == "deskguard ran: --version\n"


def test_with_a_mounted_registry_the_entrypoint_runs_deskguard(tmp_path: Path) -> None:
    registry = tmp_path / "registry" / "vendors.yml"
    registry.parent.mkdir()
    registry.write_text("vendors: []\n")
    done = _entrypoint(tmp_path, ["serve"], registry)
    assert done.returncode == 0 and done.stdout == "deskguard ran: serve\n"


# --- linters -------------------------------------------------------------------------------------


def _tool(name: str) -> str:
    path = VENV_BIN / name
    assert path.exists(), f"{name} is a dev dependency (pip install -e '.[dev]')"
    return str(path)


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [_tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_finds_nothing_in_the_shipped_scripts() -> None:
    scripts = sorted((ROOT / "examples").glob("*.sh"))
    assert len(scripts) >= 2
    done = subprocess.run(
        [_tool("shellcheck"), "--shell=sh", *map(str, scripts)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for script in scripts:
        assert os.access(script, os.X_OK), f"{script.name} is not executable"


# --- compose.yaml --------------------------------------------------------------------------------


def test_compose_builds_here_with_a_healthy_durable_redis_and_a_registry_directory() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    app, redis = compose["services"]["deskguard"], compose["services"]["redis"]
    assert app["build"] == "."
    assert app["env_file"] == ".env"
    assert app["restart"] == "unless-stopped" and redis["restart"] == "unless-stopped"
    assert app["depends_on"] == {"redis": {"condition": "service_healthy"}}
    command = redis["command"]
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always"
    assert redis["healthcheck"]["test"][:2] == ["CMD", "redis-cli"]
    assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    # the registry: a directory bind mount, and DESKGUARD_REGISTRY a file inside it
    registry = app["environment"]["DESKGUARD_REGISTRY"]
    mounts = [v.split(":") for v in app["volumes"]]
    (mount,) = [m for m in mounts if registry.startswith(m[1] + "/")]
    source, target = mount[0], mount[1]
    assert source.startswith("./") and not source.endswith((".yml", ".yaml"))
    assert not target.endswith((".yml", ".yaml")) and mount[2:] == ["ro"]
    # the ops port stays on loopback; compose's registry path is the image's default
    assert any(p.startswith("127.0.0.1:") and p.endswith(":9090") for p in app["ports"])
    assert "DESKGUARD_REGISTRY=" + registry in DOCKERFILE
