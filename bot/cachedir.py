"""deskguard's cache folder: where one process leaves work for the next (the Public Suffix List's
rule table, the validated registry), read and written only when nobody else can change it.

What is read from here decides verdicts (the suffix table decides DMARC alignment), so a file is
used only from a folder that is the user's alone (mode 0700) and only when it is the user's own
and not writable by others, opened without following a link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["default_cache_dir", "private_dir", "read_private", "write_private"]


def default_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/deskguard`` (``~/.cache/deskguard``); None when there is no home
    directory to put it in (never a relative or shared place)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "deskguard"
    home = Path(os.path.expanduser("~"))
    if not home.is_absolute() or home == Path(home.anchor):  # "~" unexpanded, or HOME=""
        return None
    return home / ".cache" / "deskguard"


def private_dir(folder: Path, *, create: bool) -> bool:
    """Whether ``folder`` is a directory of this user's that nobody else can use; ``create``
    makes it (mode 0700), or closes one of the user's own that others could read but never write
    (one others could write may hold what they planted: it stays unused)."""
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            return False
        if create and info.st_mode & 0o077 and not info.st_mode & 0o022:
            folder.chmod(0o700)
            info = folder.lstat()
    except OSError:
        return False
    return not info.st_mode & 0o077


def read_private(folder: Path, name: str) -> bytes | None:
    """The bytes of ``folder/name`` when the folder is private and the file is the user's own,
    not writable by others and not a link; else None."""
    if not private_dir(folder, create=False):
        return None
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or info.st_mode & 0o022:
                return None
            return handle.read()
    except OSError:
        return None


def write_private(folder: Path, name: str, data: bytes) -> None:
    """Write ``folder/name`` (mode 0600) atomically in a private folder; best effort."""
    if not private_dir(folder, create=True):
        return
    temp = folder / f".{name}.{os.getpid()}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, folder / name)
    except OSError:
        temp.unlink(missing_ok=True)
