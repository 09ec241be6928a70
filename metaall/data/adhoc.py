"""Ad-hoc data for ``metaall pool --data FILE.csv``: pool a table without a project.

The header says which kind of evidence the file holds (one kind per file):

* 2×2 counts: ``study,events_t,n_t,events_c,n_c``;
* hazard ratios: ``study,hr,hr_lower,hr_upper`` (or ``hr`` with ``p_value``);
* single-arm proportions: ``study,events,n``;
* means per arm: ``study,mean_t,sd_t,n_t,mean_c,sd_c,n_c`` (an arm may give
  ``median_*`` with ``q1_*``/``q3_*`` and/or ``min_*``/``max_*`` instead);
* generic effects: ``study,effect,se,effect_scale`` or
  ``study,effect,effect_lower,effect_upper,effect_scale`` (``ratio`` or ``difference``);

optionally with ``label``, ``year``, ``group`` (subgroups) and ``ci_level``. Rows are
validated by the same rules as ``extractions/effects.csv``, with errors naming file,
row and field.

The file is read column by column (:class:`AdhocTable`: a float array per numeric
column), so a million rows take a few seconds and a few hundred MB: each column is
checked at once (:mod:`metaall.data.columns`, :mod:`metaall.data.screen`), and only
rows those checks do not clear go through the row rules of :mod:`metaall.data.rows`,
which accept them or raise the first error. ``metaall pool`` pools the table as it
is (:mod:`metaall.analysis.table`); the other commands get one
:class:`~metaall.data.model.Effect` per row (:func:`load_adhoc`, up to
:data:`~metaall.data.csvfile.MAX_ROWS` rows).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from metaall import methods
from metaall.data import csvfile
from metaall.data.columns import parse_numbers
from metaall.data.csvfile import Record, read_chunks
from metaall.data.errors import DataError
from metaall.data.model import (
    COUNT_FIELDS,
    DEFAULT_CI_LEVEL,
    HR_FIELDS,
    KIND_FIELDS,
    NEW_KIND_COLUMNS,
    PROPORTION_FIELDS,
    Effect,
    Extractions,
    Study,
    Vocabulary,
)
from metaall.data.rows import RowReader, check_numbers, kind_cells
from metaall.data.screen import certainly_valid
from metaall.data.specs import SINGLE_ARM, AnalysisSpec, default_zero_cells

DEFAULT_MEASURES = {
    methods.COUNTS: "RR",
    methods.HAZARD_RATIOS: "HR",
    methods.PROPORTIONS: "PLO",
    methods.MEANS: "MD",
    methods.GENERIC: "GEN",
}
"""The measure an ad-hoc file is pooled with unless ``--measure`` says otherwise (GENR
for generic ratios)."""
OPTIONAL = ("label", "year", "group", *COUNT_FIELDS, *HR_FIELDS, *NEW_KIND_COLUMNS)
ADHOC = "adhoc"
HEADERS = (
    "events_t,n_t,events_c,n_c; hr,hr_lower,hr_upper; events,n; "
    "mean_t,sd_t,n_t,mean_c,sd_c,n_c; or effect,se (or effect_lower,effect_upper),effect_scale"
)
TEXT_COLUMNS = ("study", "label", "group", "effect_scale")
INTEGER_COLUMNS = frozenset({"year", *COUNT_FIELDS, *PROPORTION_FIELDS})
"""Columns of whole numbers; the others but :data:`TEXT_COLUMNS` hold decimals."""
_BLANK_ROW: dict[str, object] = {name: None for name in OPTIONAL} | dict.fromkeys(TEXT_COLUMNS, "")


@dataclass(frozen=True)
class AdhocTable:
    """A validated ad-hoc file, column by column: the spreadsheet row of each data row,
    the text columns as lists (``study`` always; ``label``, ``group``,
    ``effect_scale`` when the file fills them) and each filled numeric column as
    float64 (NaN where blank; whole numbers are exact)."""

    path: str
    kind: str
    lines: np.ndarray
    text: Mapping[str, list[str]]
    numbers: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> np.ndarray:
        """A numeric column (all NaN when the file does not fill it)."""
        found = self.numbers.get(name)
        return np.broadcast_to(np.nan, len(self)) if found is None else found

    def texts(self, name: str) -> list[str]:
        """A text column (blank cells when the file does not fill it)."""
        return self.text.get(name) or [""] * len(self)

    def values(self, i: int) -> dict[str, object]:
        """Row ``i``'s typed cells by column (None where blank), as :func:`_typed` reads."""
        out = dict(_BLANK_ROW)
        out |= {name: cells[i] for name, cells in self.text.items()}
        for name, column in self.numbers.items():
            value = float(column[i])
            if not math.isnan(value):
                out[name] = int(value) if name in INTEGER_COLUMNS else value
        return out

    def record(self, i: int) -> Record:
        """Row ``i`` as text again, for the row rules: whole numbers in digits, decimals
        by ``repr`` (which reads back as the same float)."""
        cells = {
            name: "" if value is None else str(value) for name, value in self.values(i).items()
        }
        return Record(int(self.lines[i]), cells)

    def row(self, i: int) -> tuple[Effect, Study]:
        """Row ``i`` as the effect and the study it describes."""
        values = self.values(i)
        line = int(self.lines[i])
        sid = str(values["study"])
        study = Study(sid, str(values["label"]) or sid, values["year"], path=self.path, line=line)
        return _effect(self.path, line, values), study

    def extractions(self) -> Extractions:
        """One :class:`~metaall.data.model.Study` and one
        :class:`~metaall.data.model.Effect` per row, as the analyses of a project read."""
        rows = [self.row(i) for i in range(len(self))]
        studies = {study.study: study for _, study in rows}
        effects = tuple(effect for effect, _ in rows)
        vocabulary = Vocabulary(MappingProxyType({}))
        return Extractions(MappingProxyType(studies), effects, vocabulary, self.path)


@functools.lru_cache(maxsize=8)
def _file_name(where: str) -> str:
    return Path(where).name


def _effect(where: str, line: int, values: Mapping[str, object]) -> Effect:
    """The :class:`~metaall.data.model.Effect` of one ad-hoc row's typed cells."""
    numbers = (*COUNT_FIELDS, "hr", "hr_lower", "hr_upper", "p_value", *NEW_KIND_COLUMNS)
    ci_level = values["ci_level"]
    return Effect(
        study=str(values["study"]),
        comparison=ADHOC,
        outcome=ADHOC,
        population=str(values["group"]),
        **{name: values[name] for name in numbers},
        ci_level=DEFAULT_CI_LEVEL if ci_level is None else ci_level,
        source=_file_name(where),
        location="ad-hoc data",
        source_row=f"row {line}",
        path=where,
        line=line,
    )


def _typed(row: RowReader, earlier: int | None) -> dict[str, object]:
    """One row's typed cells, read (and their errors recorded) in the order of the
    columns' rules; ``earlier`` is the row of an earlier study of the same name."""
    sid = row.text("study", required=True)
    if earlier is not None:
        row.fail("study", f"duplicate study '{sid}'; first at row {earlier}")
    values: dict[str, object] = {"study": sid, "year": row.integer("year")}
    values |= {"label": row.text("label"), "ci_level": row.number("ci_level")}
    values["group"] = row.text("group")
    values |= {name: row.integer(name) for name in COUNT_FIELDS}
    values |= {name: row.number(name) for name in ("hr", "hr_lower", "hr_upper", "p_value")}
    return values | kind_cells(row)


def _checked(where: str, record: Record, earlier: int | None) -> dict[str, object]:
    """One row's typed cells, after every rule of :mod:`metaall.data.rows`; raises the
    row's first error."""
    errors: list[DataError] = []
    row = RowReader(where, record, errors)
    values = _typed(row, earlier)
    check_numbers(row, _effect(where, record.line, values))
    if errors:
        raise errors[0]
    return values


def _kind(path: str, rows: int, filled: Callable[[str], bool]) -> str:
    """The one kind of evidence the file's cells hold (means take n_t and n_c too);
    ``filled(column)`` says whether any cell of the column holds a value."""
    if not rows:
        raise DataError(path, 2, "study", "no data rows")
    has = {kind: any(map(filled, names)) for kind, names in KIND_FIELDS.items()}
    if has[methods.MEANS]:
        has[methods.COUNTS] = filled("events_t") or filled("events_c")
    found = [kind for kind, filled in has.items() if filled]
    if len(found) > 1:
        a, b = (methods.KIND_WORDS[kind] for kind in found[:2])
        raise DataError(path, 1, "header", f"mixes {a} and {b}; use one kind")
    if not found:
        raise DataError(path, 1, "header", f"needs {HEADERS}")
    return found[0]


def _one_scale(table: AdhocTable) -> None:
    """Generic effects of one file share their scale (ratios or differences)."""
    scales = table.texts("effect_scale")
    first = scales[0]
    other = next((i for i, scale in enumerate(scales) if scale != first), None)
    if other is not None:
        raise DataError(
            table.path,
            int(table.lines[other]),
            "effect_scale",
            f"'{scales[other]}', but row {table.lines[0]} is '{first}': one scale per file",
        )


def _read(where: str, max_rows: int) -> tuple[AdhocTable, dict[int, Record]]:
    """The file's columns, unvalidated, and the rows with a cell that is not plainly a
    number (as read: they go to the row rules)."""
    lines: list[np.ndarray] = []
    text: dict[str, list[tuple[int, list[str]]]] = {}
    numbers: dict[str, list[tuple[int, np.ndarray]]] = {}
    suspect: dict[int, Record] = {}
    rows = 0
    with _no_cycle_collection():  # millions of short-lived row lists, no cycles
        for chunk in read_chunks(where, ("study",), OPTIONAL, max_rows=max_rows):
            odd = np.zeros(len(chunk.lines), dtype=bool)
            for name, cells in chunk.cells.items():
                if name == "study" or any(cells):
                    if name in TEXT_COLUMNS:
                        text.setdefault(name, []).append((rows, cells))
                        continue
                    values, bad = parse_numbers(cells, name in INTEGER_COLUMNS)
                    numbers.setdefault(name, []).append((rows, values))
                    odd |= bad
            for i in np.flatnonzero(odd).tolist():
                cells = {name: column[i] for name, column in chunk.cells.items()}
                suspect[rows + i] = Record(chunk.lines[i], cells)
            lines.append(np.array(chunk.lines, dtype=np.int64))
            rows += len(chunk.lines)
    texts = {name: _joined(parts, rows, [""] * rows) for name, parts in text.items()}
    arrays = {name: _joined(parts, rows, np.full(rows, np.nan)) for name, parts in numbers.items()}
    every = np.concatenate(lines) if lines else np.array([], dtype=np.int64)
    return AdhocTable(where, "", every, texts, arrays), suspect


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (as it was, after): reading makes lists of
    cells by the million, none in a cycle, which it would rescan again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _joined(parts: list[tuple[int, Any]], rows: int, blank: Any) -> Any:
    """A column of ``rows`` cells from the chunks that fill it, (first row, cells) each
    (``blank``: the column of blank cells, filled in place)."""
    if len(parts) == 1 and len(parts[0][1]) == rows:
        return parts[0][1]
    for start, cells in parts:
        blank[start : start + len(cells)] = cells
    return blank


def _validate(table: AdhocTable, suspect: Mapping[int, Record]) -> None:
    """Raise the first error of the first row that breaks a rule; rows that only looked
    suspect get their typed cells written into the table's columns."""
    studies = table.texts("study")
    first: dict[str, int] = {}
    if len(set(studies)) < len(studies):  # the first row of each study, for the message
        first = dict(zip(reversed(studies), range(len(studies) - 1, -1, -1), strict=True))
    scale = np.array(table.text["effect_scale"]) if "effect_scale" in table.text else ""
    ok = certainly_valid(table.kind, table.column, np.asarray(scale))
    ok &= np.fromiter(map(bool, studies), dtype=bool, count=len(studies))
    ok[list(suspect)] = False
    candidates = set(np.flatnonzero(~ok).tolist())
    if first:
        candidates.update(i for i, sid in enumerate(studies) if first[sid] != i)
    for i in sorted(candidates):
        earlier = first.get(studies[i], i)
        line = int(table.lines[earlier]) if earlier != i else None
        values = _checked(table.path, suspect.get(i) or table.record(i), line)
        for name, column in table.numbers.items():
            value = values[name]
            column[i] = math.nan if value is None else value


def read_adhoc(
    path: str | PathLike[str], measure: str | None = None, max_rows: int | None = None
) -> AdhocTable:
    """The validated columns of an ad-hoc CSV of at most ``max_rows`` data rows
    (default :data:`~metaall.data.csvfile.MAX_DATA_ROWS`); ``measure`` (optional) must
    fit the file's kind of evidence (ValueError)."""
    where = str(path)
    table, suspect = _read(where, csvfile.MAX_DATA_ROWS if max_rows is None else max_rows)
    filled = lambda name: name in table.numbers or name in table.text  # noqa: E731
    kind = _kind(where, len(table), filled)
    if measure is not None and methods.measure(measure).data != kind:
        what = methods.KIND_WORDS[kind]
        raise ValueError(f"measure {measure} does not fit {Path(where).name}, which holds {what}")
    table = AdhocTable(where, kind, table.lines, table.text, table.numbers)
    _validate(table, suspect)
    if kind == methods.GENERIC:
        _one_scale(table)
    return table


def adhoc_spec(table: AdhocTable, measure: str | None = None) -> AnalysisSpec:
    """The spec that pools an ad-hoc table: the kind's default measure (RR for counts,
    HR for hazard ratios, PLO (logit) for proportions, MD for means, GEN or GENR for
    generic effects) unless ``measure`` is given; subgroups from the ``group`` column
    when it has values."""
    where, kind = table.path, table.kind
    chosen = measure or DEFAULT_MEASURES[kind]
    if measure is None and kind == methods.GENERIC and table.texts("effect_scale")[0] == "ratio":
        chosen = "GENR"
    return AnalysisSpec(
        name=Path(where).stem,
        title=f"Ad-hoc data: {Path(where).name}",
        comparison=ADHOC,
        outcome=ADHOC,
        measure=chosen,
        zero_cells=default_zero_cells(chosen),
        subgroup_by="population" if "group" in table.text else None,
        arm_labels=SINGLE_ARM if kind == methods.PROPORTIONS else AnalysisSpec.arm_labels,
        path=where,
    )


def load_adhoc(
    path: str | PathLike[str], measure: str | None = None
) -> tuple[Extractions, AnalysisSpec]:
    """Validated studies/effects (one object per row, at most
    :data:`~metaall.data.csvfile.MAX_ROWS` rows) from an ad-hoc CSV and a default spec
    to pool them (:func:`adhoc_spec`)."""
    table = read_adhoc(path, measure, csvfile.MAX_ROWS)
    return table.extractions(), adhoc_spec(table, measure)
