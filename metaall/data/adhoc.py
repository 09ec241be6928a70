"""Ad-hoc data for ``metaall pool --data FILE.csv``: pool a table without a project.

The file holds 2×2 counts (``study,events_t,n_t,events_c,n_c``) or hazard ratios
(``study,hr,hr_lower,hr_upper``, or ``hr`` with ``p_value``), optionally with
``label``, ``year``, ``group`` (subgroups) and ``ci_level``. Rows are validated by the
same rules as ``extractions/effects.csv``, with errors naming file, row and field.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from types import MappingProxyType

from metaall import methods
from metaall.data.csvfile import read_csv
from metaall.data.errors import DataError
from metaall.data.model import (
    COUNT_FIELDS,
    DEFAULT_CI_LEVEL,
    HR_FIELDS,
    Effect,
    Extractions,
    Study,
    Vocabulary,
)
from metaall.data.rows import RowReader, check_numbers
from metaall.data.specs import AnalysisSpec

DEFAULT_MEASURES = {methods.COUNTS: "RR", methods.HAZARD_RATIOS: "HR"}
OPTIONAL = ("label", "year", "group", *COUNT_FIELDS, *HR_FIELDS)
ADHOC = "adhoc"


def _kind(path: str, records) -> str:
    has = {
        kind: any(r.cells[name] for r in records for name in names)
        for kind, names in ((methods.COUNTS, COUNT_FIELDS), (methods.HAZARD_RATIOS, HR_FIELDS))
    }
    if all(has.values()):
        raise DataError(path, 1, "header", "mixes 2×2 counts and hazard ratios; use one kind")
    if not records:
        raise DataError(path, 2, "study", "no data rows")
    if not any(has.values()):
        wanted = "events_t,n_t,events_c,n_c or hr,hr_lower,hr_upper"
        raise DataError(path, 1, "header", f"needs {wanted}")
    return methods.COUNTS if has[methods.COUNTS] else methods.HAZARD_RATIOS


def load_adhoc(
    path: str | PathLike[str], measure: str | None = None
) -> tuple[Extractions, AnalysisSpec]:
    """Validated studies/effects from an ad-hoc CSV and a default spec to pool them.

    The default measure is RR for counts and HR for hazard ratios; subgroups come from
    the ``group`` column when it has values.
    """
    where = str(path)
    records = read_csv(path, ("study",), OPTIONAL)
    kind = _kind(where, records)
    if measure is not None and methods.measure(measure).data != kind:
        raise ValueError(f"measure {measure} does not fit {Path(where).name}, which holds {kind}")
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
            path=where,
            line=record.line,
        )
        check_numbers(row, effect)
        effects.append(effect)
        if errors:
            raise errors[0]
    vocabulary = Vocabulary(MappingProxyType({}))
    data = Extractions(MappingProxyType(studies), tuple(effects), vocabulary, where)
    grouped = any(e.population for e in effects)
    spec = AnalysisSpec(
        name=Path(where).stem,
        title=f"Ad-hoc data: {Path(where).name}",
        comparison=ADHOC,
        outcome=ADHOC,
        measure=measure or DEFAULT_MEASURES[kind],
        subgroup_by="population" if grouped else None,
        path=where,
    )
    return data, spec
