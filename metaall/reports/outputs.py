"""The output folder of ``metaall run``: every analysis's tables, a summary of the
pooled results, and what changed since the previous run.

A manifest (``.metaall-run.json``) records the SHA-256 of every file metaall wrote
there and the summary of that run. A file is replaced only when its bytes are still
the ones metaall wrote (or are already the bytes it is about to write): a file of the
user's, one the user edited since, or one saved under an output's name is never
overwritten unless asked (``force``). A symbolic link, dangling or not, is never
replaced silently (``force`` replaces the link itself), and anything that is not a
regular file (a folder, a device, a FIFO) is never replaced. Each file is written
atomically, and a new file is created only if nothing took its name meanwhile.

Interrupted runs recover by themselves: before writing any output the manifest lists
the hashes of the files about to be written (``pending``), so after a kill every file
on disk is either one the manifest knows or the user's, and the temporary files of
a killed run are removed by the next one. Without a manifest (deleted,
or the first run was killed before writing it) a file whose bytes equal the new
output is simply kept. A damaged manifest stops the run with a message; ``force``
writes a new one. Two runs into the same folder take turns (an exclusive lock on the
folder, :mod:`metaall.data.locking`).

The manifest also records, per analysis, its content key, the files it wrote and the
subgroups with nothing to write (``analyses``): the next run keeps the files of an
analysis whose inputs are unchanged instead of recomputing them
(:mod:`metaall.reports.reuse`). A manifest without that record (an older metaall's)
reuses nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from metaall.analysis import AnalysisResult
from metaall.data.locking import locked
from metaall.data.writing import UnsafeTarget, temporaries, write_atomic
from metaall.reports.changes import changes
from metaall.reports.records import analysis_record, table_rows
from metaall.reports.tables import report_files, to_json
from metaall.reports.text import render_text

MANIFEST = ".metaall-run.json"
VERSION = 2
_SECTIONS = ("files", "pending", "stale")


class DamagedManifest(ValueError):
    """The manifest cannot be read: metaall cannot tell which files it wrote."""


@dataclass(frozen=True)
class Outputs:
    """What one run leaves in its folder: new ``files`` (name -> bytes), the files
    ``kept`` from the last run (name -> SHA-256 on record), the ``summary`` of the
    pooled results, and per analysis its key, files and subgroups with nothing written
    (``analyses``: name -> {"key", "files", "skipped"}), of which those ``reused``
    from the last run."""

    files: Mapping[str, bytes]
    summary: dict
    kept: Mapping[str, str] = field(default_factory=dict)
    analyses: Mapping[str, dict] = field(default_factory=dict)
    reused: tuple[str, ...] = ()


def table_files(result: AnalysisResult) -> dict[str, bytes]:
    """The report of one analysis as text, JSON, CSV and Markdown files."""
    return report_files(
        result.stem, render_text(result), analysis_record(result), table_rows(result)
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _empty() -> dict:
    return {
        "version": VERSION,
        "files": {},
        "pending": {},
        "stale": {},
        "summary": {},
        "analyses": {},
    }


def _analyses(record: object, files: Mapping[str, str]) -> dict:
    """The manifest's per-analysis record, or none when it is missing, malformed or
    does not account for exactly the files on record (it only saves work: without it
    every analysis is recomputed)."""
    if not isinstance(record, dict):
        return {}
    claimed: set[str] = set()
    for entry in record.values():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("key"), str)
            and all(
                isinstance(entry.get(part), list) and all(isinstance(n, str) for n in entry[part])
                for part in ("files", "skipped")
            )
        ):
            return {}
        claimed.update(entry["files"])
    return record if claimed == set(files) else {}


def read_manifest(folder: Path) -> dict:
    """The manifest of ``folder`` (empty when there is none); DamagedManifest when it
    cannot be read, is not a regular file, or does not have the expected shape.
    A manifest of an older metaall (names, no hashes) vouches for no file."""
    path = folder / MANIFEST
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return _empty()
    if not stat.S_ISREG(info.st_mode):
        raise DamagedManifest(f"{path} is not a regular file")
    try:
        record = json.loads(path.read_bytes())
        if not isinstance(record, dict) or not isinstance(record.get("summary", {}), dict):
            raise ValueError("not a manifest")
        if record.get("version") != VERSION:  # metaall 0.1: names only
            return {**_empty(), "summary": record.get("summary", {})}
        for section in _SECTIONS:
            hashes = record.get(section, {})
            if not isinstance(hashes, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()
            ):
                raise ValueError(f"bad '{section}'")
        analyses = _analyses(record.get("analyses"), record.get("files", {}))
        return {**_empty(), **record, "analyses": analyses}
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise DamagedManifest(f"{path} is damaged ({exc})") from None


def _current(path: Path) -> str | None:
    """The SHA-256 of the regular file at ``path``; None if nothing is there; raises
    UnsafeTarget for a link or anything else that is not a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeTarget(f"{path} is a symbolic link; refusing to replace it")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeTarget(f"{path} is not a regular file; refusing to replace it")
    return sha256(path.read_bytes())


def _plan(folder: Path, files: Mapping[str, bytes], manifest: dict, force: bool) -> dict:
    """name -> 'create', 'replace', 'relink' (a link replaced by a file, with force) or
    'keep' (already the new bytes); raises
    FileExistsError or UnsafeTarget for a file metaall must not replace."""
    ours: dict[str, set[str]] = {}
    for section in _SECTIONS:
        for name, digest in manifest[section].items():
            ours.setdefault(name, set()).add(digest)
    plan = {}
    for name, data in files.items():
        path = folder / name
        try:
            digest = _current(path)
        except UnsafeTarget:
            if not (force and path.is_symlink()):
                raise
            plan[name] = "relink"  # --force: the link itself goes, never its target
            continue
        if digest is None:
            plan[name] = "create"
        elif digest == sha256(data):
            plan[name] = "keep"
        elif digest in ours.get(name, ()) or force:
            plan[name] = "replace"
        else:
            raise FileExistsError(
                f"{path} was not written by metaall run; refusing to overwrite it (its bytes "
                "are not the ones metaall wrote; move it away, choose another --out, or use "
                "--force)"
            )
    return plan


def _save_manifest(folder: Path, record: dict) -> None:
    write_atomic(folder / MANIFEST, to_json(record).encode(), follow_symlinks=False)


def intact(folder: Path, hashes: Mapping[str, str]) -> bool:
    """True when each file named in ``hashes`` is a regular file in ``folder`` holding
    the bytes of its SHA-256 there."""
    try:
        return all(_current(folder / name) == digest for name, digest in hashes.items())
    except UnsafeTarget:
        return False


def _peek(folder: Path) -> dict:
    """The manifest as it is, read without the lock (written by atomic renames, it is
    always whole); a damaged one vouches for nothing here."""
    try:
        return read_manifest(folder)
    except DamagedManifest:
        return _empty()


def _usable_manifest(folder: Path, force: bool) -> dict:
    """The folder's manifest; a damaged one stops the run unless ``force`` (then metaall
    starts a new one, removing a link in its place)."""
    try:
        return read_manifest(folder)
    except DamagedManifest as exc:
        if not force:
            raise DamagedManifest(
                f"{exc}; metaall cannot tell which files it wrote: keep what you need "
                "from the folder, then run with --force (which writes a new manifest)"
            ) from None
    if (folder / MANIFEST).is_symlink():
        (folder / MANIFEST).unlink()
    return _empty()


def write_outputs(
    folder: Path, produce: Callable[[dict], Outputs], force: bool
) -> tuple[Outputs, list[str]]:
    """Hand the folder's manifest to ``produce``, then write the files it returns and
    the new manifest; return the outputs and the change lines.

    Refuses (FileExistsError, UnsafeTarget, DamagedManifest) to replace a file metaall
    did not write, unless ``force`` (see the module docstring). ``produce`` (which
    files of the last run to keep, and the new ones) runs before the lock is taken,
    and again under it if meanwhile another run changed the manifest or a kept file
    changed."""
    folder.mkdir(parents=True, exist_ok=True)
    seen = _peek(folder)
    outputs = produce(seen)
    with locked(folder, exclusive=True):
        manifest = _usable_manifest(folder, force)
        if manifest != seen or not intact(folder, outputs.kept):
            outputs = produce(manifest)
        files = outputs.files
        kept = {name: digest for name, digest in outputs.kept.items() if name not in files}
        known = {MANIFEST, *files, *(n for section in _SECTIONS for n in manifest[section])}
        for path in temporaries(folder, known):  # left by a killed run
            path.unlink(missing_ok=True)
        plan = _plan(folder, files, manifest, force)
        new = {name: sha256(data) for name, data in files.items()}
        # the hashes go on record before the bytes land: a killed run leaves no stranger
        _save_manifest(folder, {**manifest, "pending": {**manifest["pending"], **new}})
        for name, action in plan.items():
            if action == "relink":
                (folder / name).unlink()
            if action in ("create", "relink"):
                write_atomic(folder / name, files[name], overwrite=False)
            elif action == "replace":
                write_atomic(folder / name, files[name], follow_symlinks=False)
        ours = kept | new
        previous = {**manifest["stale"], **manifest["pending"], **manifest["files"]}
        stale = {name: digest for name, digest in previous.items() if name not in ours}
        record = {
            "version": VERSION,
            "files": dict(sorted(ours.items())),
            "stale": dict(sorted(stale.items())),
            "summary": outputs.summary,
            "analyses": dict(outputs.analyses),
        }
        _save_manifest(folder, record)
    return outputs, changes(manifest["summary"], outputs.summary)
