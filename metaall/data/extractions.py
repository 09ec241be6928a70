"""The evidence base: studies, effects and the tag vocabulary, loaded and validated.

``extractions/`` holds three CSV files (format and rules: docs/extraction-format.md):

* ``vocabulary.csv`` (``field,tag,description``): every allowed tag;
* ``studies.csv``: one row per study;
* ``effects.csv``: one row per effect of one study, 2×2 counts or a hazard ratio.

:func:`load_extractions` validates everything on every load and raises the first
problem as a :class:`DataError`; :func:`validate_extractions` returns all of them.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from metaall.data.csvfile import Record, read_csv
from metaall.data.errors import DataError

if TYPE_CHECKING:
    from metaall.data.specs import AnalysisSpec

VOCABULARY_FILE = "vocabulary.csv"
STUDIES_FILE = "studies.csv"
EFFECTS_FILE = "effects.csv"

VOCABULARY_COLUMNS = ("field", "tag", "description")
STUDY_COLUMNS = (
    "study",
    "label",
    "year",
    "registry",
    "design",
    "disease",
    "subtype",
    "country",
    "source",
    "reference",
    "note",
)
EFFECT_COLUMNS = (
    "study",
    "comparison",
    "outcome",
    "population",
    "arm_t",
    "arm_c",
    "events_t",
    "n_t",
    "events_c",
    "n_c",
    "hr",
    "hr_lower",
    "hr_upper",
    "ci_level",
    "p_value",
    "hr_model",
    "rate_t",
    "rate_c",
    "timepoint",
    "followup",
    "source",
    "location",
    "source_row",
    "derivation",
    "note",
)
TAGGED_FIELDS = ("comparison", "outcome", "population", "design", "disease")
COUNT_FIELDS = ("events_t", "n_t", "events_c", "n_c")
DEFAULT_CI_LEVEL = 0.95
EARLIEST_YEAR = 1950

_STUDY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_TAG = re.compile(r"[a-z][a-z0-9_]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
MAX_DIGITS = 15  # whole numbers up to 15 digits are exact in the float64 engine
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Vocabulary:
    """Allowed tags per field (``comparison``, ``outcome``, ``population``, ``design``,
    ``disease``), each with its description."""

    tags: Mapping[str, Mapping[str, str]]

    def allowed(self, field_name: str) -> tuple[str, ...]:
        """The tags allowed in ``field_name``, in file order."""
        return tuple(self.tags.get(field_name, {}))

    def has(self, field_name: str, tag: str) -> bool:
        return tag in self.tags.get(field_name, {})

    def describe(self, field_name: str, tag: str) -> str:
        return self.tags[field_name][tag]


@dataclass(frozen=True)
class Study:
    """One study (row of studies.csv); ``year`` is None where no source states it."""

    study: str
    label: str
    year: int | None = None
    registry: str = ""
    design: str = ""
    disease: str = ""
    subtype: str = ""
    country: str = ""
    source: str = ""
    reference: str = ""
    note: str = ""
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class Effect:
    """One effect of one study (row of effects.csv).

    Either 2×2 counts (``events_t``/``n_t`` in the experimental arm, ``events_c``/``n_c``
    in the comparator) or a hazard ratio of t vs c with its CI at ``ci_level``, or a
    hazard ratio with only ``p_value``; a row may also carry only a p-value or rates
    (it then loads but cannot be pooled). Blank cells are None.
    """

    study: str
    comparison: str
    outcome: str
    population: str
    arm_t: str = ""
    arm_c: str = ""
    events_t: int | None = None
    n_t: int | None = None
    events_c: int | None = None
    n_c: int | None = None
    hr: float | None = None
    hr_lower: float | None = None
    hr_upper: float | None = None
    ci_level: float = DEFAULT_CI_LEVEL
    p_value: float | None = None
    hr_model: str = ""
    rate_t: float | None = None
    rate_c: float | None = None
    timepoint: str = ""
    followup: str = ""
    source: str = ""
    location: str = ""
    source_row: str = ""
    derivation: str = ""
    note: str = ""
    path: str = ""
    line: int = 0

    @property
    def kind(self) -> str:
        """``"counts"`` when any count column is filled, else ``"hr"``."""
        filled = (self.events_t, self.n_t, self.events_c, self.n_c)
        return "counts" if any(value is not None for value in filled) else "hr"

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """The natural key (study, comparison, outcome, population, kind)."""
        return (self.study, self.comparison, self.outcome, self.population, self.kind)

    @property
    def has_counts(self) -> bool:
        return self.kind == "counts"

    @property
    def has_hr(self) -> bool:
        """An HR that can be pooled: with its CI, or with a p-value."""
        return self.hr is not None and (self.hr_lower is not None or self.p_value is not None)


@dataclass(frozen=True)
class Extractions:
    """The loaded evidence base."""

    studies: Mapping[str, Study]
    effects: tuple[Effect, ...]
    vocabulary: Vocabulary
    directory: str = ""

    def study_of(self, effect: Effect) -> Study:
        return self.studies[effect.study]

    def select(
        self,
        comparison: str,
        outcome: str,
        include: Mapping[str, Iterable[str]] | None = None,
    ) -> tuple[Effect, ...]:
        """Effects of ``comparison`` and ``outcome`` whose effect or study fields take
        one of the allowed values in ``include`` (e.g. ``{"disease": ["all"]}``), in
        file order. Both kinds (counts and HR) are returned."""
        wanted = {name: set(values) for name, values in (include or {}).items()}
        chosen = []
        for effect in self.effects:
            if effect.comparison != comparison or effect.outcome != outcome:
                continue
            study = self.studies[effect.study]
            if all(_value(effect, study, name) in values for name, values in wanted.items()):
                chosen.append(effect)
        return tuple(chosen)

    def for_spec(self, spec: AnalysisSpec) -> tuple[Effect, ...]:
        """The effects an analysis spec names (its comparison, outcome and include)."""
        return self.select(spec.comparison, spec.outcome, spec.include)


def _value(effect: Effect, study: Study, name: str) -> object:
    return getattr(effect, name) if hasattr(effect, name) else getattr(study, name)


# ---------------------------------------------------------------- cell parsing


class _Row:
    """Typed access to one record's cells; problems go to ``errors``, and a cell that
    failed is remembered so that cross-field rules do not report it twice."""

    def __init__(self, path: str, record: Record, errors: list[DataError]) -> None:
        self.path = path
        self.record = record
        self.errors = errors
        self.failed: set[str] = set()

    def fail(self, name: str, message: str) -> None:
        if name not in self.failed:
            self.failed.add(name)
            self.errors.append(DataError(self.path, self.record.line, name, message))

    def ok(self, *names: str) -> bool:
        return not self.failed.intersection(names)

    def text(self, name: str, required: bool = False) -> str:
        value = self.record.cells[name]
        if required and not value:
            self.fail(name, "required, but empty")
        return value

    def tag(self, name: str, vocabulary: Vocabulary) -> str:
        value = self.text(name, required=True)
        if value and not vocabulary.has(name, value):
            self.fail(name, _unknown_tag(name, value, vocabulary))
        return value

    def integer(self, name: str) -> int | None:
        value = self.record.cells[name]
        if not value:
            return None
        if not _INTEGER.fullmatch(value):
            self.fail(name, f"expected a whole number, got '{value}'")
            return None
        if len(value.lstrip("+-").lstrip("0")) > MAX_DIGITS:
            shown = value if len(value) <= 24 else f"{value[:20]}... ({len(value)} characters)"
            wanted = f"a whole number of at most {MAX_DIGITS} digits"
            self.fail(name, f"expected {wanted}, got '{shown}'")
            return None
        return int(value)

    def number(self, name: str) -> float | None:
        value = self.record.cells[name]
        if not value:
            return None
        if not _DECIMAL.fullmatch(value):
            self.fail(name, _not_a_number(value))
            return None
        number = float(value)
        if not math.isfinite(number):
            self.fail(name, f"expected a finite number, got '{value}'")
            return None
        return number


def _unknown_tag(name: str, value: str, vocabulary: Vocabulary) -> str:
    allowed = vocabulary.allowed(name)
    if not allowed:
        return f"unknown tag '{value}' (vocabulary.csv defines no {name} tags)"
    return f"unknown tag '{value}'; allowed: {', '.join(allowed)} (see vocabulary.csv)"


def _not_a_number(value: str) -> str:
    if value[:1] in "<>≤≥":
        return f"expected a number, got '{value}'; leave it blank and quote '{value}' in note"
    if re.fullmatch(r"[+-]?[0-9]+,[0-9]+", value):
        return f"expected a number, got '{value}'; use '.' as the decimal separator"
    return f"expected a number, got '{value}'"


# ---------------------------------------------------------------- the three files


def _read(path: Path, columns: tuple[str, ...], errors: list[DataError]) -> list[Record]:
    try:
        return read_csv(path, columns)
    except DataError as exc:
        errors.append(exc)
        return []


def _vocabulary(path: Path, errors: list[DataError]) -> Vocabulary:
    tags: dict[str, dict[str, str]] = {name: {} for name in TAGGED_FIELDS}
    for record in _read(path, VOCABULARY_COLUMNS, errors):
        row = _Row(str(path), record, errors)
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
    for record in _read(path, STUDY_COLUMNS, errors):
        row = _Row(str(path), record, errors)
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
            path=str(path),
            line=record.line,
        )
        if sid and row.ok("study"):
            studies[sid] = study
    return studies


def _check_counts(row: _Row, effect: Effect) -> None:
    values = {name: getattr(effect, name) for name in COUNT_FIELDS}
    if not row.ok(*COUNT_FIELDS) or all(value is None for value in values.values()):
        return
    missing = [name for name, value in values.items() if value is None]
    if missing:
        row.fail(missing[0], "events_t, n_t, events_c and n_c go together: fill all four")
        return
    for events, total in (("events_t", "n_t"), ("events_c", "n_c")):
        if values[total] <= 0:
            row.fail(total, f"group size must be positive, got {values[total]}")
        elif values[events] < 0:
            row.fail(events, f"events must not be negative, got {values[events]}")
        elif values[events] > values[total]:
            row.fail(events, f"{values[events]} events exceed {total} = {values[total]}")


def _check_hr(row: _Row, effect: Effect) -> None:
    hr, lower, upper = effect.hr, effect.hr_lower, effect.hr_upper
    for name in ("hr", "hr_lower", "hr_upper"):
        value = getattr(effect, name)
        if value is not None and value <= 0:
            row.fail(name, f"a hazard ratio must be positive, got {value:g}")
    if not row.ok("hr", "hr_lower", "hr_upper"):
        return
    if (lower is None) != (upper is None):
        row.fail("hr_upper" if upper is None else "hr_lower", "give both CI limits or neither")
    elif lower is not None and hr is None:
        row.fail("hr", "a CI needs its hazard ratio")
    elif lower is not None and upper is not None and hr is not None and not lower < hr < upper:
        row.fail("hr", f"expected hr_lower < hr < hr_upper, got {lower:g}, {hr:g}, {upper:g}")
    elif hr is not None and lower is None and effect.p_value is None and row.ok("p_value"):
        row.fail("hr", "a hazard ratio needs hr_lower and hr_upper, or a p_value")
    if row.record.cells["ci_level"] and lower is None and row.ok("ci_level"):
        row.fail("ci_level", "ci_level given without hr_lower and hr_upper")


def _check_ranges(row: _Row, effect: Effect) -> None:
    if effect.p_value is not None and not 0 < effect.p_value <= 1:
        row.fail("p_value", f"a p-value must be in (0, 1], got {effect.p_value:g}")
    if not 0 < effect.ci_level < 1:
        row.fail("ci_level", f"ci_level must be in (0, 1), e.g. 0.95, got {effect.ci_level:g}")
    for name in ("rate_t", "rate_c"):
        value = getattr(effect, name)
        if value is not None and not 0 <= value <= 100:
            row.fail(name, f"a rate is a percentage in [0, 100], got {value:g}")
    numbers = (*COUNT_FIELDS, "hr", "p_value", "rate_t", "rate_c")
    if row.ok(*numbers) and all(getattr(effect, name) is None for name in numbers):
        row.fail("events_t", "no numbers: fill counts, an hr, a p_value or rate_t/rate_c")


def _effect(row: _Row, vocabulary: Vocabulary, studies: Mapping[str, Study]) -> Effect:
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
        arm_c=row.text("arm_c", required=True),
        **{name: row.integer(name) for name in COUNT_FIELDS},
        hr=row.number("hr"),
        hr_lower=row.number("hr_lower"),
        hr_upper=row.number("hr_upper"),
        ci_level=DEFAULT_CI_LEVEL if ci_level is None else ci_level,
        p_value=row.number("p_value"),
        hr_model=row.text("hr_model"),
        rate_t=row.number("rate_t"),
        rate_c=row.number("rate_c"),
        timepoint=row.text("timepoint"),
        followup=row.text("followup"),
        source=row.text("source", required=True),
        location=row.text("location", required=True),
        source_row=row.text("source_row", required=True),
        derivation=row.text("derivation"),
        note=row.text("note"),
        path=row.path,
        line=row.record.line,
    )
    _check_counts(row, effect)
    _check_hr(row, effect)
    _check_ranges(row, effect)
    return effect


def _effects(
    path: Path, vocabulary: Vocabulary, studies: Mapping[str, Study], errors: list[DataError]
) -> list[Effect]:
    effects: list[Effect] = []
    first: dict[tuple[str, ...], int] = {}
    for record in _read(path, EFFECT_COLUMNS, errors):
        row = _Row(str(path), record, errors)
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
    vocabulary = _vocabulary(folder / VOCABULARY_FILE, errors)
    studies = _studies(folder / STUDIES_FILE, vocabulary, errors)
    effects = _effects(folder / EFFECTS_FILE, vocabulary, studies, errors)
    loaded = Extractions(MappingProxyType(studies), tuple(effects), vocabulary, str(folder))
    return loaded, errors


def validate_extractions(directory: str | PathLike[str]) -> list[DataError]:
    """Every problem in ``directory`` (vocabulary, studies, effects, in file order)."""
    return _load(directory)[1]


def load_extractions(directory: str | PathLike[str]) -> Extractions:
    """Load and validate ``directory``; raise the first problem as a DataError."""
    loaded, errors = _load(directory)
    if errors:
        raise errors[0]
    return loaded


__all__ = [
    "EFFECT_COLUMNS",
    "STUDY_COLUMNS",
    "TAGGED_FIELDS",
    "VOCABULARY_COLUMNS",
    "Effect",
    "Extractions",
    "Study",
    "Vocabulary",
    "load_extractions",
    "validate_extractions",
]
