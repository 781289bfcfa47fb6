"""A real ``python -m bot serve`` process for tests of what the process does (start-up, signals,
crashes): environment from keyword arguments, stderr kept in a file, readiness polled over HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.conftest import FIXTURES
from tests.support.redis_server import free_port
from tests.support.slack_app import BOT_TOKEN


@dataclass
class ServeProcess:
    """A running (or finished) ``deskguard serve``."""

    process: asyncio.subprocess.Process
    base: str
    stderr_path: Path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.base}{path}") as resp:
            return resp.status, await resp.text()

    async def wait_http(self, path: str, status: int, within: float = 30.0) -> str:
        """Poll ``path`` until it answers ``status``; its body."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        last: object = None
        while loop.time() < deadline:
            if self.process.returncode is not None:
                raise AssertionError(
                    f"deskguard serve exited {self.process.returncode}: {self.stderr}"
                )
            try:
                got, body = await self.get(path)
                if got == status:
                    return body
                last = (got, body)
            except aiohttp.ClientConnectionError as exc:
                last = exc
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path} never answered {status}; last: {last!r}; {self.stderr}")

    async def stop(self, within: float = 20.0) -> int:
        """SIGTERM, then wait; the exit status (killed and failed when it outlives ``within``)."""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            return await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"deskguard serve ignored SIGTERM for {within} s") from None


async def start_serve(tmp_path: Path, slack_api_url: str, **env: str) -> ServeProcess:
    """Start ``deskguard serve`` in HTTP mode (Socket Mode when SLACK_APP_TOKEN is given)."""
    port = free_port()
    full = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "serve-signing-secret",
        "DESKGUARD_SLACK_API_URL": slack_api_url,
        "DESKGUARD_HOST": "127.0.0.1",
        "DESKGUARD_PORT": str(port),
        "DESKGUARD_REGISTRY": str(FIXTURES / "vendors.yml"),
        "DESKGUARD_DATABASE": str(tmp_path / "state.sqlite3"),
        "DESKGUARD_LOG_FORMAT": "text",
        "DESKGUARD_LOG_LEVEL": "WARNING",
    }
    full.update(env)
    stderr_path = tmp_path / f"serve-{port}.stderr"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve",
            cwd=tmp_path, env=full, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    return ServeProcess(process, f"http://127.0.0.1:{port}", stderr_path)
