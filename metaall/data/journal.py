"""Change several files of a folder all or none, whenever the process is killed or the
disk fills up.

:func:`commit` (called under the folder's exclusive lock, see
:mod:`metaall.data.locking`) takes four steps:

1. stage: each file's new bytes go to a temporary file next to it (``.NAME.*.tmp``),
   flushed to disk (``fsync``). A full disk fails here, before anything changed;
2. commit point: a small journal, ``.metaall-journal.json``, names every staged file
   with the SHA-256 of the bytes it replaces and of its new bytes; it is written to a
   temporary file, fsynced and renamed into place, so it exists whole or not at all;
3. apply: each staged file is renamed over its target (a rename needs no free space
   and is atomic), and the folders are fsynced;
4. the journal is deleted.

:func:`recover` runs before any command reads the folder. A journal means a commit
was interrupted after its commit point: every staged file still present is renamed
over its target (roll forward), then the journal goes. No journal means any staged or
temporary file is left over from an add that never reached its commit point: it is
deleted (roll back). Either way the folder holds exactly the old or exactly the new
files. A target whose bytes are neither the old nor the new ones (edited by hand after
the crash) is never overwritten: :func:`recover` stops with an error naming it.

A target that is a symbolic link is written through: the file it points to gets the
new bytes (in that file's folder) and the link stays.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from metaall.data.errors import DataError
from metaall.data.locking import holding, locked
from metaall.data.writing import (
    UnsafeTarget,
    fsync_folder,
    regular_target,
    stage,
    temporaries,
    write_atomic,
)

JOURNAL = ".metaall-journal.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except FileNotFoundError:
        return None


def _target(folder: Path, name: str) -> Path:
    try:
        return regular_target(folder / name)
    except UnsafeTarget as exc:
        raise DataError(folder / name, 0, "file", str(exc)) from None


def commit(folder: str | os.PathLike[str], files: Mapping[str, bytes]) -> None:
    """Replace the files ``files`` names (relative to ``folder``) with its bytes, all or
    none (see the module docstring). An error names the user's file and leaves every
    file as it was."""
    root = Path(folder)
    entries, staged = [], []
    try:
        for name, data in files.items():
            target = _target(root, name)
            try:
                path = stage(target, data)
            except OSError as exc:
                raise _unchanged(root / name, exc) from None
            staged.append(path)
            entries.append(
                {
                    "name": name,
                    "staged": path.name,
                    "old_sha256": _digest(target),
                    "new_sha256": _sha256(data),
                }
            )
        record = json.dumps({"version": 1, "files": entries}, indent=1).encode()
        try:
            write_atomic(root / JOURNAL, record, follow_symlinks=False)
        except OSError as exc:
            raise _unchanged(root / JOURNAL, exc) from None
    except BaseException:
        if not (root / JOURNAL).exists():  # before the commit point: undo
            for path in staged:
                path.unlink(missing_ok=True)
            raise
        # the journal is in place (a failure after its rename): finish the change
    try:
        _apply(root, entries)
    except OSError as exc:
        raise DataError(
            root / JOURNAL,
            0,
            "journal",
            f"interrupted ({exc.strerror}); the next metaall command in this folder "
            "completes the change",
        ) from None


def _unchanged(path: Path, exc: OSError) -> DataError:
    return DataError(path, 0, "file", f"cannot write: {exc.strerror}; nothing was changed")


def _apply(root: Path, entries: list[dict]) -> None:
    """Roll the journal's staged files forward, then delete the journal."""
    folders = {root}
    for entry in entries:
        target = _target(root, entry["name"])
        staged = target.parent / entry["staged"]
        if staged.exists():
            current = _digest(target)
            if current not in (entry["old_sha256"], entry["new_sha256"]):
                raise DataError(
                    root / entry["name"],
                    0,
                    "file",
                    f"changed by hand after an interrupted 'metaall add'; its completed "
                    f"version is {staged}: compare the two, keep one, then delete "
                    f"{root / JOURNAL}",
                )
            if _digest(staged) != entry["new_sha256"]:
                raise DataError(root / JOURNAL, 0, "journal", f"{staged} is damaged; {_HELP}")
            os.replace(staged, target)
            folders.add(target.parent)
        elif _digest(target) != entry["new_sha256"]:
            raise DataError(
                root / JOURNAL,
                0,
                "journal",
                f"{staged} is missing and {target} is not the completed file; {_HELP}",
            )
    for folder in folders:
        fsync_folder(folder)
    (root / JOURNAL).unlink()
    fsync_folder(root)


_HELP = "check the files by hand (git diff), then delete the journal"


def _leftovers(root: Path) -> list[Path]:
    """Temporary files of killed writes: ``.NAME.xxxxxxxx.tmp`` next to a file of
    ``root`` (or next to the file its symbolic link points to) or to the journal."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    owners: dict[Path, set[str]] = {root: {JOURNAL}}
    for name in names:
        if not name.startswith("."):
            try:
                target = regular_target(root / name)
            except (UnsafeTarget, OSError):
                continue
            owners.setdefault(target.parent, set()).add(target.name)
    return [path for place, owned in owners.items() for path in temporaries(place, owned)]


def pending(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds a journal or a temporary file left by a killed write."""
    root = Path(folder)
    return (root / JOURNAL).exists() or bool(_leftovers(root))


def _read_journal(root: Path) -> list[dict]:
    path = root / JOURNAL
    try:
        record = json.loads(path.read_bytes())
        entries = record["files"]
        for entry in entries:
            for key in ("name", "staged", "new_sha256"):
                if not isinstance(entry[key], str):
                    raise TypeError(key)
            if "/" in entry["name"] or "/" in entry["staged"]:
                raise ValueError(entry["name"])
        return entries
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(path, 0, "journal", f"damaged ({exc}); {_HELP}") from None


def recover(folder: str | os.PathLike[str]) -> None:
    """Finish an interrupted :func:`commit` in ``folder`` (call under the folder's
    exclusive lock) and delete temporary files left by killed writes (where the folder
    lets us)."""
    root = Path(folder)
    if (root / JOURNAL).exists():
        try:
            _apply(root, _read_journal(root))
        except OSError as exc:
            raise DataError(
                root / JOURNAL,
                0,
                "journal",
                f"cannot finish an interrupted 'metaall add': {exc.strerror or exc}",
            ) from None
    for path in _leftovers(root):
        with suppress(OSError):  # a read-only folder: harmless, a later writer removes it
            path.unlink(missing_ok=True)


@contextmanager
def reading(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Read ``folder`` under a shared lock, after finishing any interrupted change: the
    files read are all from before or all from after every change."""
    root = Path(folder)
    if holding(root):  # under this process's own lock: already consistent
        yield
        return
    if pending(root):
        with locked(root, exclusive=True):
            recover(root)
    while True:
        with locked(root, exclusive=False):
            if not (root / JOURNAL).exists():
                yield
                return
        with locked(root, exclusive=True):  # a writer was killed since: finish its change
            recover(root)


@contextmanager
def changing(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``folder``'s exclusive lock, after finishing any interrupted change: read,
    check and :func:`commit` inside the block."""
    with locked(folder, exclusive=True):
        recover(folder)
        yield
