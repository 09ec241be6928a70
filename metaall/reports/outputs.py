"""The output folder of ``metaall run``: every analysis's tables, a summary of the
pooled results, and what changed since the previous run.

A manifest (``.metaall-run.json``) lists the files metaall wrote and the summary of
that run. Files not in the manifest are the user's: they are never overwritten
unless asked (``force``). Every file is written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from metaall.analysis import AnalysisResult
from metaall.data.writing import write_atomic
from metaall.reports.changes import changes
from metaall.reports.records import analysis_record, table_rows
from metaall.reports.tables import to_csv, to_json, to_markdown
from metaall.reports.text import render_text

MANIFEST = ".metaall-run.json"


def table_files(result: AnalysisResult) -> dict[str, bytes]:
    """The report of one analysis as text, JSON, CSV and Markdown files."""
    stem = result.stem
    rows = table_rows(result)
    return {
        f"{stem}.txt": render_text(result).encode(),
        f"{stem}.json": to_json(analysis_record(result)).encode(),
        f"{stem}.csv": to_csv(rows).encode(),
        f"{stem}.md": to_markdown(rows).encode(),
    }


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        return {"files": [], "summary": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def write_outputs(
    folder: Path, files: Mapping[str, bytes], run_summary: dict, force: bool
) -> list[str]:
    """Write ``files`` into ``folder`` and the manifest; return the change lines.

    Refuses (FileExistsError) to replace a file metaall did not write, unless ``force``.
    """
    manifest = read_manifest(folder)
    ours = set(manifest["files"])
    clash = [name for name in files if (folder / name).exists() and name not in ours]
    if clash and not force:
        raise FileExistsError(
            f"{folder / clash[0]} was not written by metaall run; refusing to overwrite it "
            "(move it away, choose another --out, or use --force)"
        )
    for name, data in files.items():
        write_atomic(folder / name, data)
    stale = sorted(ours - set(files))
    record = {"files": sorted(files), "stale": stale, "summary": run_summary}
    write_atomic(folder / MANIFEST, to_json(record).encode())
    return changes(manifest["summary"], run_summary)
