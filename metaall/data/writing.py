"""Writing files safely: atomic replacement, and CSV rows appended without touching
the bytes already in the file (a reviewer's diff shows only the new lines)."""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic
    rename, so a crash never leaves a half-written file. With ``overwrite=False`` an
    existing file is refused (FileExistsError)."""
    target = Path(path)
    if not overwrite and target.exists():
        raise FileExistsError(f"{target} exists; refusing to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
        else:  # mkstemp makes the file private; give it the mode a new file gets
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
