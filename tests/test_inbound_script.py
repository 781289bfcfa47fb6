"""examples/deskguard-inbound.sh against a local gate that answers 2xx/4xx/5xx or never.

An MTA reads the exit status: 0 = done (delivered, or refused for good: drop the copy), 75 =
EX_TEMPFAIL (keep it and retry). Any other status makes Postfix bounce the copy to the external
sender, so curl's own codes (7, 22, 28) must never come out. The run against the real service is in
tests/runtime/test_ops.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support.inbound_script import SCRIPT, run_script, write_config
from tests.support.redis_server import free_port

MESSAGE = b"From: a@vendor.example\r\nTo: helpdesk@corp.example\r\nSubject: hi\r\n\r\nbody\r\n"
SECRET = "gate-secret"
EX_TEMPFAIL = 75


@dataclass
class FakeGate:
    """A local HTTP server: ``/status/<n>`` answers n with a JSON error, ``/hang`` never answers,
    ``/inbound/email`` checks the signature like the real gate."""

    base: str = ""
    secret: str = SECRET
    received: list[bytes] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
async def gate() -> AsyncIterator[FakeGate]:
    fake = FakeGate()

    async def inbound(request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers.get(TIMESTAMP_HEADER, "")
        if request.headers.get(SIGNATURE_HEADER) != sign(fake.secret, ts, body):
            return web.json_response({"ok": False, "error": "bad_signature"}, status=401)
        if request.content_type != "message/rfc822":
            return web.json_response({"ok": False, "error": "wrong_type"}, status=415)
        fake.received.append(body)
        return web.json_response({"ok": True, "id": "1700000000000-0"}, status=202)

    async def status(request: web.Request) -> web.Response:
        await request.read()
        code = int(request.match_info["code"])
        return web.json_response({"ok": False, "error": f"code_{code}"}, status=code)

    async def hang(request: web.Request) -> web.Response:
        await fake.stop.wait()
        return web.json_response({"ok": True}, status=202)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/inbound/email", inbound)
    app.router.add_post("/status/{code:\\d+}", status)
    app.router.add_post("/hang", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield fake
    finally:
        fake.stop.set()
        await runner.cleanup()


@pytest.mark.parametrize(
    "secret",
    [
        SECRET,
        "6\\6%d%s\\n'\"$(x)`y`",  # bytes that XOR to NUL, printf directives, shell syntax
        "s" * 64,  # exactly one block
        "long-" * 40,  # longer than a block: hashed first (RFC 2104)
        "clé-sécrète",  # UTF-8
    ],
)
async def test_signs_like_the_gate_and_keeps_the_secret_off_command_lines(
    gate: FakeGate, tmp_path: Path, secret: str
) -> None:
    gate.secret = secret
    config = write_config(tmp_path, url=gate.url("/inbound/email"), secret=secret)
    run = await run_script(tmp_path / "run", config, MESSAGE)
    assert run.status == 0, run
    assert gate.received == [MESSAGE]
    assert "accepted by the gate (HTTP 202, id 1700000000000-0)" in run.stderr
    assert "curl " in run.argv_log and "openssl " in run.argv_log
    assert secret not in run.argv_log
    assert "mail.info" in run.syslog


async def test_a_large_binary_message_is_posted_byte_for_byte(
    gate: FakeGate, tmp_path: Path
) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, every byte value
    config = write_config(tmp_path, url=gate.url("/inbound/email"), secret=SECRET)
    run = await run_script(tmp_path / "run", config, body)
    assert run.status == 0, run
    assert gate.received == [body]


@pytest.mark.parametrize("code", [400, 401, 404, 409, 413])
async def test_a_permanent_4xx_is_logged_with_the_gate_error_and_exits_0(
    gate: FakeGate, tmp_path: Path, code: int
) -> None:
    config = write_config(tmp_path, url=gate.url(f"/status/{code}"), secret=SECRET)
    run = await run_script(tmp_path / "run", config, MESSAGE)
    assert run.status == 0, run
    assert f"HTTP {code} code_{code}" in run.stderr
    assert "the original mail is delivered" in run.stderr
    assert "mail.err" in run.syslog and f"code_{code}" in run.syslog


@pytest.mark.parametrize("code", [500, 502, 503, 408, 429])
async def test_5xx_and_busy_answers_are_tempfail(gate: FakeGate, tmp_path: Path, code: int) -> None:
    config = write_config(tmp_path, url=gate.url(f"/status/{code}"), secret=SECRET)
    run = await run_script(tmp_path / "run", config, MESSAGE)
    assert run.status == EX_TEMPFAIL, run
    assert f"HTTP {code} code_{code}" in run.stderr and "will retry" in run.stderr


async def test_a_gate_that_never_answers_is_tempfail(gate: FakeGate, tmp_path: Path) -> None:
    config = write_config(tmp_path, url=gate.url("/hang"), secret=SECRET, timeout=1)
    run = await run_script(tmp_path / "run", config, MESSAGE)
    assert run.status == EX_TEMPFAIL, run
    assert "did not answer within 1s" in run.stderr


async def test_connection_refused_is_tempfail_without_curl_output(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/inbound/email"
    config = write_config(tmp_path, url=url, secret=SECRET)
    run = await run_script(tmp_path / "run", config, MESSAGE)
    assert run.status == EX_TEMPFAIL, run
    assert run.stderr.strip() == (
        "deskguard-inbound: cannot reach the gate (connection failed); the MTA will retry"
    )
    assert "curl:" not in run.stderr and "127.0.0.1" not in run.stderr


async def test_an_unresolvable_host_is_tempfail(tmp_path: Path) -> None:
    config = write_config(tmp_path, url="http://deskguard.invalid/inbound/email", secret=SECRET)
    run = await run_script(tmp_path / "run", config, MESSAGE)
    assert run.status == EX_TEMPFAIL, run


async def test_a_world_readable_config_is_refused_before_anything_is_sent(
    gate: FakeGate, tmp_path: Path
) -> None:
    config = write_config(tmp_path, url=gate.url("/inbound/email"), secret=SECRET)
    config.chmod(0o644)
    run = await run_script(tmp_path / "run", config, MESSAGE)
    assert run.status == EX_TEMPFAIL, run
    assert "readable by everyone: chmod 0640" in run.stderr
    assert gate.received == [] and "curl " not in run.argv_log


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (None, "cannot read the configuration file"),
        ("secret=x\n", "no url= line"),
        ("url=http://127.0.0.1:9/\n", "no secret= line"),
        ("url=http://127.0.0.1:9/\nsecret=x\ntimeout=soon\n", "must be whole seconds"),
    ],
)
async def test_configuration_problems_are_tempfail_with_one_line(
    tmp_path: Path, text: str | None, complaint: str
) -> None:
    config = tmp_path / "inbound.conf"
    if text is not None:
        config.write_text(text)
        config.chmod(0o600)
    run = await run_script(tmp_path / "run", config if text is not None else None, MESSAGE)
    assert run.status == EX_TEMPFAIL, run
    assert complaint in run.stderr and len(run.stderr.strip().splitlines()) == 1


async def test_the_script_is_executable_and_posix_sh() -> None:
    assert SCRIPT.stat().st_mode & 0o111
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    # `sh -n` parses it without running anything
    proc = await asyncio.create_subprocess_exec("sh", "-n", str(SCRIPT))
    assert await proc.wait() == 0
