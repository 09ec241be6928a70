"""One writer or many readers per folder: advisory locks that end with their process.

``metaall add`` holds an *exclusive* lock on ``extractions/`` while it reads, checks
and writes; every loader holds a *shared* lock while it reads the three CSV files, so
it sees them all before or all after an add, never half of one. ``metaall run``
holds an exclusive lock on its output folder while it writes there.

Why ``fcntl.flock`` on the folder itself and not the ``filelock`` package (or a lock
file): readers need a *shared* lock, so that several ``pool`` commands run side by
side and none runs while ``add`` writes, and filelock's ``FileLock`` is exclusive
only; a flock belongs to the open file description and the kernel drops it when the
process ends however it ends (SIGKILL included), so a killed command never leaves the
folder locked and there is no stale-lock guessing; and locking the folder's own
directory puts no lock file among the reviewer's files and works on a read-only
folder. Where a file system cannot flock a directory (some network file systems) a
``.metaall.lock`` file in the folder is locked instead. Platforms without ``fcntl``
(Windows) get no locking.

A lock is re-entrant within a process (a loader called by ``add`` under its
exclusive lock reuses it). Waiting is bounded: after ``METAALL_LOCK_TIMEOUT`` seconds
(default 60) a :class:`FolderBusy` error says the folder is busy and nothing is done.
"""

from __future__ import annotations

import errno
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from metaall.data.errors import DataError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TIMEOUT_ENV = "METAALL_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
LOCK_FILE = ".metaall.lock"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_POLL = 0.05  # seconds between attempts (with jitter, so waiters do not move in step)


class FolderBusy(DataError):
    """Another metaall command held the folder for longer than the timeout."""


@dataclass
class _Held:
    fd: int
    exclusive: bool
    count: int


_held: dict[tuple[int, int], _Held] = {}
_registry = threading.Lock()


def lock_timeout() -> float:
    """Seconds to wait for a lock: ``METAALL_LOCK_TIMEOUT`` or 60."""
    value = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(value) if value.strip() else DEFAULT_TIMEOUT
    except ValueError:
        seconds = DEFAULT_TIMEOUT
    return max(seconds, 0.0)


def _open(folder: Path) -> int:
    """A descriptor to flock for ``folder``: the directory, or its lock file where the
    file system cannot lock a directory."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return fd
    except BlockingIOError:
        return fd  # lockable, and locked by someone else right now
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EBADF, errno.EINVAL, errno.ENOLCK, errno.EOPNOTSUPP):
            raise
    path = folder / LOCK_FILE
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | _CLOEXEC, 0o666)
    except OSError:
        return os.open(path, os.O_RDONLY | _CLOEXEC)  # a read-only folder


def _acquire(fd: int, exclusive: bool, folder: Path, timeout: float) -> None:
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FolderBusy(
                    folder,
                    0,
                    "lock",
                    f"review folder busy: another metaall command has been using it for "
                    f"{timeout:g} s; nothing was done, try again (set {TIMEOUT_ENV} to wait "
                    "longer)",
                ) from None
            time.sleep(min(left, _POLL * (0.5 + random.random())))


def _key(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def holding(folder: str | os.PathLike[str]) -> bool:
    """True when this process holds a lock on ``folder``."""
    path = Path(folder)
    if fcntl is None or not path.is_dir():
        return False
    with _registry:
        return _key(path) in _held


@contextmanager
def locked(
    folder: str | os.PathLike[str], exclusive: bool, timeout: float | None = None
) -> Iterator[None]:
    """Hold a shared (``exclusive=False``) or exclusive lock on ``folder`` for the
    ``with`` block; a folder that does not exist is not locked (there is nothing to
    read or protect). Raises :class:`FolderBusy` after ``timeout`` seconds (default:
    :func:`lock_timeout`)."""
    path = Path(folder)
    if fcntl is None or not path.is_dir():
        yield
        return
    key = _key(path)
    with _registry:
        held = _held.get(key)
        if held is not None:
            if exclusive and not held.exclusive:
                raise RuntimeError(f"{path}: cannot upgrade a shared lock to an exclusive one")
            held.count += 1
    if held is None:
        fd = _open(path)
        try:
            _acquire(fd, exclusive, path, lock_timeout() if timeout is None else timeout)
        except BaseException:
            os.close(fd)
            raise
        held = _Held(fd, exclusive, 1)
        with _registry:
            _held[key] = held
    try:
        yield
    finally:
        with _registry:
            held.count -= 1
            if held.count == 0:
                del _held[key]
                os.close(held.fd)  # closing the descriptor releases the flock
