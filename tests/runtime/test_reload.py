"""Registry reload: a good file replaces the registry; a broken one keeps the last good."""

import asyncio
import os
import shutil
import signal

from bot.registry import RegistryHolder, load_registry
from bot.runtime.reload import RegistryReloader
from tests.conftest import FIXTURES


def _copy(tmp_path):
    path = tmp_path / "vendors.yml"
    shutil.copy(FIXTURES / "vendors.yml", path)
    return path


def test_broken_file_keeps_last_good(tmp_path):
    path = _copy(tmp_path)
    holder = RegistryHolder(load_registry(path))
    outcomes: list[str] = []
    reloader = RegistryReloader(holder, path, on_reload=outcomes.append)
    path.write_text(path.read_text().replace("id: fabrikam", "id: Fabrikam!"))
    assert reloader.changed()
    assert reloader.reload() is False
    assert holder.registry.get("fabrikam") is not None
    assert holder.error is not None and "Fabrikam!" in holder.error
    path.write_text(path.read_text().replace("id: Fabrikam!", "id: fabrikam-ltd"))
    assert reloader.reload() is True
    assert holder.registry.get("fabrikam-ltd") is not None and holder.error is None
    assert outcomes == ["failed", "ok"]


async def test_watch_picks_up_changes_and_sighup(tmp_path):
    path = _copy(tmp_path)
    holder = RegistryHolder(load_registry(path))
    reloader = RegistryReloader(holder, path)
    stop = asyncio.Event()
    reloader.install_sighup(asyncio.get_running_loop())
    task = asyncio.create_task(reloader.watch(stop, interval=0.05))
    try:
        path.write_text(path.read_text().replace("Fabrikam Hardware", "Fabrikam Devices"))
        for _ in range(100):
            if holder.registry.get("fabrikam").name == "Fabrikam Devices":
                break
            await asyncio.sleep(0.02)
        assert holder.registry.get("fabrikam").name == "Fabrikam Devices"
        # SIGHUP reloads even when mtime and size look unchanged
        text = path.read_text().replace("Fabrikam Devices", "Fabrikam Hardwre!")
        stamp = path.stat()
        path.write_text(text)
        os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        reloader._stamp = reloader._current_stamp()
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(100):
            if holder.registry.get("fabrikam").name == "Fabrikam Hardwre!":
                break
            await asyncio.sleep(0.02)
        assert holder.registry.get("fabrikam").name == "Fabrikam Hardwre!"
    finally:
        stop.set()
        await task
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
