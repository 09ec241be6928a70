"""The evidence base as data: studies, effects and the tag vocabulary.

The row model shared by every loader (``extractions/`` and ad-hoc ``--data`` files):
the columns of each file, one frozen dataclass per row and :class:`Extractions`, the
loaded whole. Loading and validation live in :mod:`metaall.data.extractions` and
:mod:`metaall.data.rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from metaall.methods import COUNTS, HAZARD_RATIOS

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
HR_FIELDS = ("hr", "hr_lower", "hr_upper", "ci_level", "p_value")
DEFAULT_CI_LEVEL = 0.95


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
        return COUNTS if any(value is not None for value in filled) else HAZARD_RATIOS

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """The natural key (study, comparison, outcome, population, kind)."""
        return (self.study, self.comparison, self.outcome, self.population, self.kind)

    @property
    def has_counts(self) -> bool:
        return self.kind == COUNTS

    @property
    def has_hr(self) -> bool:
        """An HR that can be pooled: with its CI, or with a p-value."""
        return self.hr is not None and (self.hr_lower is not None or self.p_value is not None)

    def has_data_for(self, kind: str) -> bool:
        """True when the row holds poolable evidence of ``kind`` (counts or hr)."""
        return self.has_counts if kind == COUNTS else self.has_hr


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


def _value(effect: Effect, study: Study, name: str) -> object:
    return getattr(effect, name) if hasattr(effect, name) else getattr(study, name)
