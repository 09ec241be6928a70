"""Which analyses ``metaall run`` can take over from its last run, unchanged.

Each analysis gets a content key: the SHA-256 of its inputs in canonical JSON, namely
the rows that feed it (every effects.csv row of its comparison and outcome, in file
order, and the studies.csv rows of their studies), the tag vocabulary, its parsed
spec, the run's settings (figure style, width, font, size, dpi and formats, or no
figures), the versions of metaall and of the libraries whose numbers or drawing end up
in the files (numpy, scipy, matplotlib), and a digest of metaall's own source files
(an edited or unreleased metaall is another metaall, whatever its version says). Where
a row sits in its file (``path``, ``line``) enters no output and is left out, so
adding a trial to one analysis leaves the keys of the others as they were; so is the
path the spec was read from (``metaall -C DIR run`` and ``metaall run`` in DIR share
their keys). The key covers all subgroups of an analysis: a subgroup's rows are chosen
before the restriction to it (one row per study, one study per overlap group), so any
new row of the analysis may change each of them.

An analysis is reused when the manifest (:mod:`metaall.reports.outputs`) records the
same key for it, its summary, and every file it wrote with bytes still on disk as
recorded; anything else (a file deleted or edited, an older manifest without keys) and
it is recomputed.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from metaall._version import __version__
from metaall.data import AnalysisSpec, Extractions
from metaall.reports.outputs import intact

if TYPE_CHECKING:  # figures sit above reports; the key needs only the settings' fields
    from metaall.figures.settings import FigureSettings

LOCATION = ("path", "line")
"""Fields of a row or spec that say where it sits (error messages only; the outputs
name a spec as analyses/NAME.yaml, whichever folder the run was started from)."""


def _plain(value: object, skip: tuple[str, ...] = ()) -> object:
    """``value`` as JSON-ready data, in its own order (a dataclass's fields but ``skip``)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.name not in skip}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value


@functools.cache
def source_digest() -> str:
    """SHA-256 of metaall's source files (their paths and bytes, in sorted order)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run_inputs(figures: tuple[FigureSettings, tuple[str, ...]] | None) -> dict:
    """What every analysis of one run shares: the versions, metaall's source digest and
    the figure settings."""
    from importlib import metadata  # (email, zipfile: not on every command's start-up path)

    versions = {"metaall": __version__, "source": source_digest(), "numpy": np.__version__}
    versions |= {name: metadata.version(name) for name in ("scipy", "matplotlib")}
    look = None if figures is None else {**_plain(figures[0]), "formats": list(figures[1])}
    return {"versions": versions, "figures": look}


def analysis_key(spec: AnalysisSpec, data: Extractions, run: Mapping) -> str:
    """The content key of ``spec``'s outputs on ``data`` under the settings ``run``
    (:func:`run_inputs`): the SHA-256 of the inputs the module docstring lists."""
    effects = data.select(spec.comparison, spec.outcome)
    studies = {effect.study: data.study_of(effect) for effect in effects}
    inputs = {
        **run,
        "spec": _plain(spec, LOCATION),
        "vocabulary": _plain(data.vocabulary.tags),
        "effects": [_plain(effect, LOCATION) for effect in effects],
        "studies": [_plain(study, LOCATION) for study in studies.values()],
    }
    text = json.dumps(inputs, ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def reusable(folder: Path, manifest: Mapping, name: str, key: str) -> dict[str, str] | None:
    """The files (name -> SHA-256) analysis ``name`` wrote in the last run, when its key
    then was ``key``, its summary is on record and each file still holds those bytes;
    None when it must be recomputed."""
    record = manifest["analyses"].get(name)
    if record is None or record["key"] != key or name not in manifest["summary"]:
        return None
    files = {file: manifest["files"].get(file, "") for file in record["files"]}
    return files if intact(folder, files) else None
