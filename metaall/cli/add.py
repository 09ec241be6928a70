"""``metaall add``: add a trial to the extractions, validated first, written atomically."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from metaall.analysis import run_analysis
from metaall.cli.common import Project, pass_project
from metaall.data import (
    COUNT_FIELDS,
    EFFECT_COLUMNS,
    STUDY_COLUMNS,
    DataError,
    Extractions,
    load_extractions,
    load_specs,
    read_csv,
    validate_extractions,
)
from metaall.data.extractions import EFFECTS_FILE, STUDIES_FILE
from metaall.data.journal import changing, commit, reading
from metaall.data.model import EFFECT_OPTIONAL_COLUMNS
from metaall.data.writing import with_rows
from metaall.reports.changes import changes, summary

# study metadata options; 'study' and 'source' are shared with the effect row
STUDY_OPTIONS = {c: c for c in STUDY_COLUMNS if c not in ("study", "source", "note")}
STUDY_OPTIONS["study_note"] = "note"


def _option_name(column: str) -> str:
    return "--" + column.replace("_", "-")


def effect_and_study_options(command):
    """One option per column of effects.csv, and per study field for a new study."""
    for column in reversed(EFFECT_COLUMNS):
        command = click.option(_option_name(column), column, help=f"effects.csv: {column}")(command)
    for option, column in reversed(STUDY_OPTIONS.items()):
        hint = f"studies.csv: {column} (new study only)"
        command = click.option(_option_name(option), f"new_{option}", help=hint)(command)
    return command


def _new_rows(options: dict, from_file: Path | None) -> tuple[list[dict[str, str]], list]:
    """The rows to add and where each came from: (file, row) of ``--from``, or (None,
    0) for the command line's options (a problem is then named where the row lands)."""
    given = {c: str(options[c]) for c in EFFECT_COLUMNS if options.get(c) is not None}
    if from_file is None:
        return ([given], [(None, 0)]) if given else ([], [])
    if given:
        raise click.UsageError("give the effect either as options or with --from, not both")
    records = read_csv(from_file, ("study",), tuple(c for c in EFFECT_COLUMNS if c != "study"))
    cells = [{name: cell for name, cell in r.cells.items() if cell} for r in records]
    return cells, [(from_file, r.line) for r in records]


def _appended(path: Path, rows: list[dict[str, str]]) -> bytes:
    """``path`` with ``rows`` appended; a DataError naming the column when the file's
    header lacks one the rows fill (a newer optional column: add it to the header)."""
    try:
        return with_rows(path, rows)
    except ValueError as exc:
        column = str(exc).rsplit("no column ", 1)[-1].split(",")[0]
        raise DataError(
            str(path),
            1,
            column,
            "not in this file's header; add the column (empty for the "
            "rows already there) to write this row",
        ) from None


def _study_row(data: Extractions, rows: list[dict], options: dict) -> dict[str, str] | None:
    meta = {
        col: str(options[f"new_{opt}"])
        for opt, col in STUDY_OPTIONS.items()
        if options.get(f"new_{opt}") is not None
    }
    studies = {r.get("study", "") for r in rows}
    new = sorted(s for s in studies if s and s not in data.studies)
    if meta and not new:
        known = ", ".join(sorted(studies))
        raise click.UsageError(
            f"study {known} is already in {STUDIES_FILE}; edit its metadata there, not with add"
        )
    if len(new) > 1:
        raise click.UsageError(f"add one new study at a time (got {', '.join(new)})")
    if not new:
        return None
    source = next(r.get("source", "") for r in rows if r.get("study") == new[0])
    return {"study": new[0], "source": source, **meta}


def _validate_candidate(folder: Path, files: dict[str, bytes], origins: list) -> Extractions:
    """Validate the extractions as they would be after the change, in a scratch copy; a
    problem in an added row is reported where that row came from (``--from`` file and
    row, or the command line's options)."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for path in folder.glob("*.csv"):
            shutil.copyfile(path, scratch / path.name)  # the bytes, not a read-only mode
        for name, data in files.items():
            (scratch / name).write_bytes(data)
        problems = validate_extractions(scratch)
        if problems:
            first = problems[0]
            name = Path(first.path).name
            if name == EFFECTS_FILE:
                required = [c for c in EFFECT_COLUMNS if c not in EFFECT_OPTIONAL_COLUMNS]
                records = read_csv(scratch / name, required, EFFECT_OPTIONAL_COLUMNS)
                lines = [r.line for r in records]
                added = dict(zip(lines[len(lines) - len(origins) :], origins, strict=True))
                path, row = added.get(first.row, (None, 0))
                if path is not None:  # a --from row: where the reviewer wrote it
                    raise DataError(path, row, first.field, first.message)
            raise DataError(folder / name, first.row, first.field, first.message)
        return load_extractions(scratch)


def _likely_duplicates(data: Extractions, rows: list[dict], study: dict | None) -> list[str]:
    """Warnings for a new study labelled like an existing one, and for rows whose counts
    repeat an existing row of another study (the same trial under another id?)."""
    warnings = []
    if study is not None and study.get("label"):
        same = [s.study for s in data.studies.values() if s.label == study["label"]]
        warnings += [f"study {study['study']} has the label of {sid}" for sid in same]
    for row in rows:
        key = tuple(row.get(f, "") for f in ("comparison", "outcome", *COUNT_FIELDS))
        if not all(key[2:]):
            continue
        for effect in data.effects:
            theirs = (effect.comparison, effect.outcome)
            theirs += tuple(str(getattr(effect, f)) for f in COUNT_FIELDS)
            if theirs == key and effect.study != row.get("study"):
                counts = "/".join(key[2:])
                warnings.append(f"{row.get('study')}: counts {counts} repeat {effect.study}'s")
    return warnings


def _changes(specs, before: Extractions, after: Extractions) -> list[str]:
    """'before -> after' of every pooled result the new rows touch."""
    old = summary(run_analysis(spec, before) for spec in specs)
    new = summary(run_analysis(spec, after) for spec in specs)
    return [f"  {line}" for line in changes(old, new)]


@click.command()
@click.option(
    "--from",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of rows in effects.csv format (any subset of its columns) to add.",
)
@click.option("--dry-run", is_flag=True, help="Validate and show the changes; write nothing.")
@effect_and_study_options
@pass_project
def add(project: Project, from_file: Path | None, dry_run: bool, **options) -> None:
    """Add a trial's effect(s) to extractions/: validated before anything is written,
    written atomically, duplicates refused; prints how each pooled result changes.

    A new study also needs its metadata (--label, --design, --disease, ...).

    \b
    Example:
      metaall add --study NCT99999999 --label "Doe 2026" --year 2026 \\
        --design prospective_cohort --disease all \\
        --comparison hsct_vs_no_hsct_after_cart --outcome relapse --population mrd_neg \\
        --arm-t "CAR-T then allo-HSCT" --arm-c "CAR-T alone" \\
        --events-t 3 --n-t 20 --events-c 9 --n-c 22 \\
        --source doe2026.pdf --location "Table 2" --source-row "relapse"
    """
    folder = project.extractions_dir
    rows, origins = _new_rows(options, from_file)
    if not rows:
        raise click.UsageError("nothing to add: give the effect as options or with --from FILE")
    # read, check and write under the folder's exclusive lock: concurrent adds queue
    # up and each sees the rows of those before it (a dry run only needs to read)
    with changing(folder) if not dry_run else reading(folder):
        data = load_extractions(folder)
        specs = load_specs(project.analyses_dir, data.vocabulary).values()  # before writing
        files = {EFFECTS_FILE: _appended(folder / EFFECTS_FILE, rows)}
        study = _study_row(data, rows, options)
        if study is not None:
            files[STUDIES_FILE] = _appended(folder / STUDIES_FILE, [study])
        candidate = _validate_candidate(folder, files, origins)
        if not dry_run:
            commit(folder, files)  # both files or neither, whatever happens
    for warning in _likely_duplicates(data, rows, study):
        click.echo(f"warning: likely duplicate: {warning}", err=True)
    changes = _changes(specs, data, candidate)  # from memory, after the lock is freed
    verb = "would add" if dry_run else "added"
    click.echo(f"{verb} {len(rows)} effect(s)" + (f" and study {study['study']}" if study else ""))
    click.echo("\n".join(changes) if changes else "  no pooled result changes")
