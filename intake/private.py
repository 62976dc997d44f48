"""Everything under the instance folder is owner-only: the database and its
WAL, uploads, exports, backups, keys, anchors (0600 files, 0700 folders),
whatever the umask the server was started with.

Two layers: `owner_only_umask()` sets the process umask to 077 (create_app,
the CLI, the worker and gunicorn.conf.py call it), so files made by
libraries (SQLite's -wal and -shm, huey's queue, Pillow's saves) come out
private; and the helpers below set the modes explicitly for what the code
creates itself. `check_instance()` runs at start-up: anything group- or
world-accessible is tightened and named in a clear warning.

New features writing under the instance folder call `make_dir()` for their
folders and `write_new()` / `open_new()` for their files.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077

log = logging.getLogger("intake.private")


def owner_only_umask() -> None:
    os.umask(UMASK)


def make_dir(path: Path | str) -> Path:
    """`path` and any missing parents up to it, each 0700 (the leaf is set to
    0700 even when it was already there)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(folder, DIR_MODE)
    if path.is_dir() and not missing:
        _tighten(path, DIR_MODE)
    return path


def _tighten(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, mode)
    except PermissionError:
        pass  # not ours: check_instance names it


def open_new(path: Path | str, flags: int = os.O_WRONLY) -> int:
    """A new file, created 0600 (O_EXCL: FileExistsError if it is there)."""
    path = Path(path)
    make_dir(path.parent)
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def open_append(path: Path | str) -> int:
    """An append-only descriptor on `path`, created 0600 if it is not there."""
    path = Path(path)
    make_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
        os.fchmod(fd, FILE_MODE)
    return fd


def write_new(path: Path | str, data: str | bytes) -> bool:
    """Write `data` to `path` only if it does not exist, atomically (a reader
    never sees a half-written file); False when it was already there."""
    path = Path(path)
    body = data.encode() if isinstance(data, str) else data
    temp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = open_new(temp)
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)


def check_instance(instance_path: Path | str) -> list[str]:
    """Tighten anything under the instance folder that other local users can
    reach, and return a warning per path (logged by the caller's start-up)."""
    root = Path(instance_path)
    if not root.exists():
        return []
    found: list[str] = []
    for folder, _dirs, files in os.walk(root):
        here = Path(folder)
        for path, mode in [(here, DIR_MODE)] + [(here / f, FILE_MODE) for f in files]:
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & 0o077:
                continue
            was = oct(stat.S_IMODE(info.st_mode))
            try:
                os.chmod(path, mode)
                found.append(f"{path} was readable by other local users ({was}); "
                             f"now owner-only ({oct(mode)})")
            except PermissionError:
                found.append(f"{path} is readable by other local users ({was}) and is not "
                             f"ours to change: chmod {oct(mode)[2:]} it")
    return found


def warn_if_exposed(instance_path: Path | str) -> list[str]:
    problems = check_instance(instance_path)
    for problem in problems:
        log.warning("instance folder not private: %s", problem)
    return problems
