"""The evidence base: studies, effects and the tag vocabulary, loaded and validated.

``extractions/`` holds three CSV files (format and rules: docs/extraction-format.md):

* ``vocabulary.csv`` (``field,tag,description``): every allowed tag;
* ``studies.csv``: one row per study;
* ``effects.csv``: one row per effect of one study: 2×2 counts, a hazard ratio, a
  single-arm proportion, means per arm or a generic effect;
* ``risk_of_bias.csv`` (optional): ROBINS-I judgements per study and domain
  (:mod:`metaall.data.risk_of_bias`).

:func:`load_extractions` validates everything on every load and raises the first
problem as a :class:`DataError`; :func:`validate_extractions` returns all of them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from types import MappingProxyType

from metaall.data.csvfile import Record, read_csv
from metaall.data.errors import DataError
from metaall.data.journal import reading
from metaall.data.model import (
    COUNT_FIELDS,
    DEFAULT_CI_LEVEL,
    EFFECT_COLUMNS,
    EFFECT_OPTIONAL_COLUMNS,
    REPORTS,
    STUDY_COLUMNS,
    STUDY_OPTIONAL_COLUMNS,
    TAGGED_FIELDS,
    VOCABULARY_COLUMNS,
    Effect,
    Extractions,
    Study,
    Vocabulary,
)
from metaall.data.risk_of_bias import RISK_OF_BIAS_FILE, load_risk_of_bias
from metaall.data.rows import RowReader, check_numbers, kind_cells
from metaall.methods import PROPORTIONS

VOCABULARY_FILE = "vocabulary.csv"
STUDIES_FILE = "studies.csv"
EFFECTS_FILE = "effects.csv"
EARLIEST_YEAR = 1950

_STUDY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_TAG = re.compile(r"[a-z][a-z0-9_]*")
_ANTIGEN = re.compile(r"CD[0-9]+(\+CD[0-9]+)*")
_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(\+[A-Za-z0-9][A-Za-z0-9-]*)*")


# ---------------------------------------------------------------- the three files


def _read(
    path: Path, columns: tuple[str, ...], errors: list[DataError], optional: tuple[str, ...] = ()
) -> list[Record]:
    """Records of ``path`` whose header holds ``columns`` (those in ``optional`` may be
    left out); a problem goes to ``errors`` and gives no records."""
    required = tuple(c for c in columns if c not in optional)
    try:
        return read_csv(path, required, optional)
    except DataError as exc:
        errors.append(exc)
        return []


def _vocabulary(path: Path, errors: list[DataError]) -> Vocabulary:
    tags: dict[str, dict[str, str]] = {name: {} for name in TAGGED_FIELDS}
    for record in _read(path, VOCABULARY_COLUMNS, errors):
        row = RowReader(str(path), record, errors)
        name = row.text("field", required=True)
        tag = row.text("tag", required=True)
        row.text("description", required=True)
        if name and name not in tags:
            row.fail("field", f"unknown field '{name}'; tags are for: {', '.join(TAGGED_FIELDS)}")
        elif tag and not _TAG.fullmatch(tag):
            row.fail("tag", f"'{tag}' is not a tag: use lower-case letters, digits and '_'")
        elif name and tag and tag in tags[name]:
            row.fail("tag", f"duplicate tag '{tag}' for field '{name}'")
        elif name and tag:
            tags[name][tag] = record.cells["description"]
    return Vocabulary(MappingProxyType({k: MappingProxyType(v) for k, v in tags.items()}))


def _studies(path: Path, vocabulary: Vocabulary, errors: list[DataError]) -> dict[str, Study]:
    studies: dict[str, Study] = {}
    last_year = datetime.date.today().year + 1
    for record in _read(path, STUDY_COLUMNS, errors, STUDY_OPTIONAL_COLUMNS):
        row = RowReader(str(path), record, errors)
        sid = row.text("study", required=True)
        if sid and not _STUDY_ID.fullmatch(sid):
            row.fail("study", f"'{sid}' is not a study id: use letters, digits and . _ + -")
        elif sid in studies:
            row.fail("study", f"duplicate study id '{sid}' (first at row {studies[sid].line})")
        year = row.integer("year")
        if year is not None and not EARLIEST_YEAR <= year <= last_year:
            row.fail("year", f"implausible year {year} (expected {EARLIEST_YEAR}-{last_year})")
        study = Study(
            study=sid,
            label=row.text("label", required=True),
            year=year if row.ok("year") else None,
            registry=row.text("registry"),
            design=row.tag("design", vocabulary),
            disease=row.tag("disease", vocabulary),
            subtype=row.text("subtype"),
            country=row.text("country"),
            source=row.text("source", required=True),
            reference=row.text("reference"),
            note=row.text("note"),
            **_cart_and_overlap(row),
            path=str(path),
            line=record.line,
        )
        if sid and row.ok("study"):
            studies[sid] = study
    _lone_overlap_groups(studies, errors)
    return studies


def _cart_and_overlap(row: RowReader) -> dict[str, str]:
    """The CAR-T construct and overlap-group cells of a study row, checked."""
    target = row.pattern("car_target", _ANTIGEN, "an antigen like 'CD19' or 'CD19+CD22'")
    domain = row.pattern("costim_domain", _DOMAIN, "a domain as printed, like '4-1BB' or 'CD28'")
    if domain and not target and row.ok("car_target"):
        row.fail("costim_domain", "a costimulatory domain needs its car_target")
    group = row.pattern("overlap_group", _TAG, "a group id of lower-case letters, digits and _")
    note = row.text("overlap_note")
    if group and not note:
        row.fail("overlap_note", "required with overlap_group: the evidence for and against")
    return {
        "car_target": target,
        "costim_domain": domain,
        "overlap_group": group,
        "overlap_note": note,
    }


def _lone_overlap_groups(studies: Mapping[str, Study], errors: list[DataError]) -> None:
    members: dict[str, list[Study]] = {}
    for study in studies.values():
        if study.overlap_group:
            members.setdefault(study.overlap_group, []).append(study)
    for group, found in members.items():
        if len(found) == 1:
            only = found[0]
            message = f"overlap group '{group}' has only this study; a group needs two or more"
            errors.append(DataError(only.path, only.line, "overlap_group", message))


def _effect(row: RowReader, vocabulary: Vocabulary, studies: Mapping[str, Study]) -> Effect:
    sid = row.text("study", required=True)
    if sid and sid not in studies:
        row.fail("study", f"unknown study '{sid}' (not in studies.csv)")
    ci_level = row.number("ci_level")
    effect = Effect(
        study=sid,
        comparison=row.tag("comparison", vocabulary),
        outcome=row.tag("outcome", vocabulary),
        population=row.tag("population", vocabulary),
        arm_t=row.text("arm_t", required=True),
        arm_c=row.text("arm_c"),
        **{name: row.integer(name) for name in COUNT_FIELDS},
        hr=row.number("hr"),
        hr_lower=row.number("hr_lower"),
        hr_upper=row.number("hr_upper"),
        ci_level=DEFAULT_CI_LEVEL if ci_level is None else ci_level,
        p_value=row.number("p_value"),
        hr_model=row.text("hr_model"),
        rate_t=row.number("rate_t"),
        rate_c=row.number("rate_c"),
        timepoint=row.timepoint("timepoint"),
        followup=row.text("followup"),
        followup_t=row.text("followup_t"),
        followup_c=row.text("followup_c"),
        source=row.text("source", required=True),
        report=row.choice("report", REPORTS),
        location=row.text("location", required=True),
        source_row=row.text("source_row", required=True),
        derivation=row.text("derivation"),
        note=row.text("note"),
        **kind_cells(row),
        path=row.path,
        line=row.record.line,
    )
    check_numbers(row, effect)
    _comparator(row, effect)
    return effect


def _comparator(row: RowReader, effect: Effect) -> None:
    """Two-arm evidence names its comparator arm; a single-arm proportion has none."""
    single = effect.kind == PROPORTIONS and len(effect.kinds) == 1
    if single and effect.arm_c:
        row.fail("arm_c", "a single-arm proportion has no comparator arm: leave arm_c blank")
    elif not single and not effect.arm_c:
        row.fail("arm_c", "required, but empty")


def _effects(
    path: Path, vocabulary: Vocabulary, studies: Mapping[str, Study], errors: list[DataError]
) -> list[Effect]:
    effects: list[Effect] = []
    first: dict[tuple[str, ...], int] = {}
    for record in _read(path, EFFECT_COLUMNS, errors, EFFECT_OPTIONAL_COLUMNS):
        row = RowReader(str(path), record, errors)
        effect = _effect(row, vocabulary, studies)
        if effect.key in first:
            shown = ", ".join(effect.key)
            row.fail("study", f"duplicate effect ({shown}); first at row {first[effect.key]}")
        else:
            first[effect.key] = record.line
        effects.append(effect)
    return effects


def _load(directory: str | PathLike[str]) -> tuple[Extractions, list[DataError]]:
    folder = Path(directory)
    errors: list[DataError] = []
    with reading(folder):  # every file from before or every file from after any 'add'
        vocabulary = _vocabulary(folder / VOCABULARY_FILE, errors)
        studies = _studies(folder / STUDIES_FILE, vocabulary, errors)
        effects = _effects(folder / EFFECTS_FILE, vocabulary, studies, errors)
        rob = load_risk_of_bias(folder / RISK_OF_BIAS_FILE, studies, errors)
    loaded = Extractions(
        MappingProxyType(studies), tuple(effects), vocabulary, str(folder), MappingProxyType(rob)
    )
    return loaded, errors


def validate_extractions(directory: str | PathLike[str]) -> list[DataError]:
    """Every problem in ``directory`` (vocabulary, studies, effects, risk of bias, in
    file order)."""
    return _load(directory)[1]


def load_extractions(directory: str | PathLike[str]) -> Extractions:
    """Load and validate ``directory``; raise the first problem as a DataError."""
    loaded, errors = _load(directory)
    if errors:
        raise errors[0]
    return loaded
