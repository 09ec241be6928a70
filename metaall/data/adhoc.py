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
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from types import MappingProxyType

from metaall import methods
from metaall.data.csvfile import Record, read_csv
from metaall.data.errors import DataError
from metaall.data.model import (
    COUNT_FIELDS,
    DEFAULT_CI_LEVEL,
    HR_FIELDS,
    KIND_FIELDS,
    NEW_KIND_COLUMNS,
    Effect,
    Extractions,
    Study,
    Vocabulary,
)
from metaall.data.rows import RowReader, check_numbers, kind_cells
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


def _kind(path: str, records: list[Record]) -> str:
    """The one kind of evidence the file's cells hold (means take n_t and n_c too)."""
    if not records:
        raise DataError(path, 2, "study", "no data rows")
    has = {
        kind: any(r.cells[name] for r in records for name in names)
        for kind, names in KIND_FIELDS.items()
    }
    if has[methods.MEANS]:
        has[methods.COUNTS] = any(r.cells[n] for r in records for n in ("events_t", "events_c"))
    found = [kind for kind, filled in has.items() if filled]
    if len(found) > 1:
        a, b = (methods.KIND_WORDS[kind] for kind in found[:2])
        raise DataError(path, 1, "header", f"mixes {a} and {b}; use one kind")
    if not found:
        raise DataError(path, 1, "header", f"needs {HEADERS}")
    return found[0]


def _default_measure(kind: str, effects: list[Effect]) -> str:
    """The kind's default measure; for generic effects GENR when they are ratios."""
    if kind == methods.GENERIC and effects[0].effect_scale == "ratio":
        return "GENR"
    return DEFAULT_MEASURES[kind]


def _one_scale(path: str, effects: list[Effect]) -> None:
    """Generic effects of one file share their scale (ratios or differences)."""
    first = effects[0]
    for effect in effects[1:]:
        if effect.effect_scale != first.effect_scale:
            raise DataError(
                path,
                effect.line,
                "effect_scale",
                f"'{effect.effect_scale}', but row {first.line} is '{first.effect_scale}': "
                "one scale per file",
            )


def load_adhoc(
    path: str | PathLike[str], measure: str | None = None
) -> tuple[Extractions, AnalysisSpec]:
    """Validated studies/effects from an ad-hoc CSV and a default spec to pool them.

    The default measure is RR for counts, HR for hazard ratios, PLO (logit) for
    proportions, MD for means and GEN or GENR for generic effects; subgroups come from
    the ``group`` column when it has values.
    """
    where = str(path)
    records = read_csv(path, ("study",), OPTIONAL)
    kind = _kind(where, records)
    if measure is not None and methods.measure(measure).data != kind:
        what = methods.KIND_WORDS[kind]
        raise ValueError(f"measure {measure} does not fit {Path(where).name}, which holds {what}")
    errors: list[DataError] = []
    studies: dict[str, Study] = {}
    effects: list[Effect] = []
    for record in records:
        row = RowReader(where, record, errors)
        sid = row.text("study", required=True)
        if sid in studies:
            row.fail("study", f"duplicate study '{sid}'; first at row {studies[sid].line}")
        year = row.integer("year")
        label = row.text("label") or sid
        studies.setdefault(sid, Study(sid, label, year, path=where, line=record.line))
        ci_level = row.number("ci_level")
        effect = Effect(
            study=sid,
            comparison=ADHOC,
            outcome=ADHOC,
            population=row.text("group"),
            **{name: row.integer(name) for name in COUNT_FIELDS},
            hr=row.number("hr"),
            hr_lower=row.number("hr_lower"),
            hr_upper=row.number("hr_upper"),
            ci_level=DEFAULT_CI_LEVEL if ci_level is None else ci_level,
            p_value=row.number("p_value"),
            source=Path(where).name,
            location="ad-hoc data",
            source_row=f"row {record.line}",
            **kind_cells(row),
            path=where,
            line=record.line,
        )
        check_numbers(row, effect)
        effects.append(effect)
        if errors:
            raise errors[0]
    if kind == methods.GENERIC:
        _one_scale(where, effects)
    vocabulary = Vocabulary(MappingProxyType({}))
    data = Extractions(MappingProxyType(studies), tuple(effects), vocabulary, where)
    grouped = any(e.population for e in effects)
    chosen = measure or _default_measure(kind, effects)
    spec = AnalysisSpec(
        name=Path(where).stem,
        title=f"Ad-hoc data: {Path(where).name}",
        comparison=ADHOC,
        outcome=ADHOC,
        measure=chosen,
        zero_cells=default_zero_cells(chosen),
        subgroup_by="population" if grouped else None,
        arm_labels=SINGLE_ARM if kind == methods.PROPORTIONS else AnalysisSpec.arm_labels,
        path=where,
    )
    return data, spec
