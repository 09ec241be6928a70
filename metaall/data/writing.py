"""Writing files safely: atomic replacement, creation that never replaces a file, and
CSV rows appended without touching the bytes already in the file (a reviewer's diff
shows only the new lines).

Only regular files are ever replaced. A symbolic link is written through (the file it
points to gets the new bytes, the link stays); a dangling link, a directory, a device,
a FIFO or a socket is refused, and so is a read-only file (its owner marked it so).
Errors name the file the user gave, never a temporary file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
import stat
import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path


class UnsafeTarget(OSError):
    """A path metaall will not write to (see the module docstring)."""


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


def regular_target(path: str | os.PathLike[str], follow_symlinks: bool = True) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself (which may not exist
    yet), or with ``follow_symlinks`` the regular file its symbolic link points to.
    Raises :class:`UnsafeTarget` for anything but a writable regular file."""
    given = Path(path)
    try:
        info = os.lstat(given)
    except FileNotFoundError:
        return given
    target = given
    if stat.S_ISLNK(info.st_mode):
        if not follow_symlinks:
            raise UnsafeTarget(f"{given} is a symbolic link; refusing to replace it")
        target = Path(os.path.realpath(given))
        try:
            info = os.stat(target)
        except FileNotFoundError:
            raise UnsafeTarget(
                f"{given} is a symbolic link to {target}, which does not exist; "
                "refusing to write through it"
            ) from None
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise UnsafeTarget(f"{given} is {kind}; refusing to replace it")
    if not info.st_mode & 0o222:
        raise UnsafeTarget(f"{given} is read-only; make it writable (chmod u+w) to change it")
    return target


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries (renames, new files) to disk, where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # not supported for folders everywhere
            os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")  # names stage() gives


def temporaries(folder: str | os.PathLike[str], names: Collection[str]) -> list[Path]:
    """The temporary files :func:`stage` made in ``folder`` for files named ``names``
    (left there when a write was killed)."""
    try:
        listing = os.listdir(folder)
    except OSError:
        return []
    found = (_TEMPORARY.fullmatch(name) for name in listing)
    return [Path(folder, m.group()) for m in found if m and m["name"] in names]


def stage(target: Path, data: bytes) -> Path:
    """``data`` in a new temporary file next to ``target`` (``.NAME.xxxxxxxx.tmp``),
    flushed to disk, with the mode ``target`` has (or a new file gets)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()  # mkstemp makes the file private
        os.chmod(tmp, mode)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _create_new(target: Path, tmp: Path) -> None:
    """Give the staged ``tmp`` the name ``target`` only if no file has it: a hard
    link never replaces an existing name (where the file system has no hard links,
    an ``O_EXCL`` creation does the same)."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise FileExistsError(f"{target} exists; refusing to overwrite it") from None
    except OSError:
        pass  # no hard links here (e.g. FAT, some FUSE file systems)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(os.stat(tmp).st_mode))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(tmp.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    overwrite: bool = True,
    follow_symlinks: bool = True,
) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic
    rename, so a crash never leaves a half-written file.

    With ``overwrite=False`` the file is created only if nothing has its name, checked
    at the instant it appears (FileExistsError otherwise), so a file created by someone
    else meanwhile is never replaced. An existing target must be a writable regular
    file (a symbolic link to one is written through unless ``follow_symlinks`` is
    False): :class:`UnsafeTarget` otherwise. OSErrors name ``path``."""
    given = Path(path)
    if not overwrite and os.path.lexists(given):
        raise FileExistsError(f"{given} exists; refusing to overwrite it")
    target = regular_target(given, follow_symlinks) if overwrite else given
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = stage(target, data)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {given}: {exc.strerror}", str(given)) from None
    try:
        if overwrite:
            os.replace(tmp, target)
        else:
            _create_new(target, tmp)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, FileExistsError):
            raise OSError(exc.errno, f"cannot write {given}: {exc.strerror}", str(given)) from None
        raise
    with contextlib.suppress(OSError):  # after a hard link, the staged name remains
        tmp.unlink(missing_ok=True)
    fsync_folder(target.parent)
    return given


def _header(raw: bytes) -> list[str]:
    text = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    for row in csv.reader(io.StringIO(text.decode("utf-8"), newline="")):
        if any(cell.strip() for cell in row):
            return [cell.strip() for cell in row]
    raise ValueError("file has no header row")


def with_rows(path: str | os.PathLike[str], rows: Sequence[Mapping[str, str]]) -> bytes:
    """The bytes of CSV file ``path`` with ``rows`` appended in its own column order and
    line ending; the existing bytes are kept exactly. Unknown keys raise ValueError."""
    raw = Path(path).read_bytes()
    header = _header(raw)
    for row in rows:
        unknown = set(row) - set(header)
        if unknown:
            raise ValueError(f"{path}: no column {', '.join(sorted(unknown))}")
    newline = "\r\n" if b"\r\n" in raw else "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    if raw and not raw.endswith(b"\n"):
        raw += newline.encode()
    return raw + out.getvalue().encode("utf-8")
