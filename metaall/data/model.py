"""The evidence base as data: studies, effects and the tag vocabulary.

The row model shared by every loader (``extractions/`` and ad-hoc ``--data`` files):
the columns of each file, one frozen dataclass per row and :class:`Extractions`, the
loaded whole. Loading and validation live in :mod:`metaall.data.extractions` and
:mod:`metaall.data.rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from metaall.methods import COUNTS, GENERIC, HAZARD_RATIOS, MEANS, PROPORTIONS, Measure

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
    "car_target",
    "costim_domain",
    "overlap_group",
    "overlap_note",
)
STUDY_OPTIONAL_COLUMNS = ("car_target", "costim_domain", "overlap_group", "overlap_note")
"""Columns added after the first release: a studies.csv without them reads them as blank."""
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
    "followup_t",
    "followup_c",
    "source",
    "report",
    "location",
    "source_row",
    "derivation",
    "note",
)
PROPORTION_FIELDS = ("events", "n")
"""A single-arm proportion: ``events`` patients with the outcome out of ``n``."""
MEAN_FIELDS = ("mean_t", "sd_t", "mean_c", "sd_c")
"""Means and SDs per arm; the arm sizes are ``n_t`` and ``n_c``."""
MEDIAN_FIELDS = tuple(
    f"{name}_{arm}" for arm in ("t", "c") for name in ("median", "q1", "q3", "min", "max")
)
"""A median with its quartiles and/or range per arm, converted to a mean and SD."""
GENERIC_FIELDS = ("effect", "se", "effect_lower", "effect_upper", "effect_scale")
"""A generic effect with its standard error or confidence interval (at ``ci_level``)."""
EFFECT_SCALES = ("ratio", "difference")
"""``effect_scale``: a ratio (pooled on the log scale) or a difference (as printed)."""
NEW_KIND_COLUMNS = (*PROPORTION_FIELDS, *MEAN_FIELDS, *MEDIAN_FIELDS, *GENERIC_FIELDS)
EFFECT_COLUMNS = (*EFFECT_COLUMNS, *NEW_KIND_COLUMNS)
EFFECT_OPTIONAL_COLUMNS = ("followup_t", "followup_c", "report", *NEW_KIND_COLUMNS)
"""Columns added after the first release: an effects.csv without them reads them as blank."""
REPORTS = ("primary", "secondary")
"""``report``: the row's numbers come from the study's own publication, or from a
secondary source (a review's table)."""
TAGGED_FIELDS = ("comparison", "outcome", "population", "design", "disease")
COUNT_FIELDS = ("events_t", "n_t", "events_c", "n_c")
HR_FIELDS = ("hr", "hr_lower", "hr_upper", "ci_level", "p_value")
DEFAULT_CI_LEVEL = 0.95
KIND_FIELDS = {
    MEANS: (*MEAN_FIELDS, *MEDIAN_FIELDS),
    COUNTS: COUNT_FIELDS,
    PROPORTIONS: PROPORTION_FIELDS,
    GENERIC: GENERIC_FIELDS,
    HAZARD_RATIOS: ("hr", "hr_lower", "hr_upper"),
}
"""The columns that make a row one kind of evidence, in the order a row's kind is read
(a means row also fills n_t and n_c, which are counts' columns too)."""


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
    car_target: str = ""
    costim_domain: str = ""
    overlap_group: str = ""
    overlap_note: str = ""
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class Effect:
    """One effect of one study (row of effects.csv).

    One kind of evidence per row (:attr:`kind`): 2×2 counts (``events_t``/``n_t`` in
    the experimental arm, ``events_c``/``n_c`` in the comparator); a hazard ratio of t
    vs c with its CI at ``ci_level``, or with only ``p_value``; a single-arm
    proportion (``events`` of ``n``); means and SDs per arm (``mean_t``/``sd_t`` of
    ``n_t``, ``mean_c``/``sd_c`` of ``n_c``), each arm's mean and SD possibly given
    as its median with quartiles and/or range instead; or a generic effect with its
    SE or CI (``effect``, ``se``, ``effect_lower``, ``effect_upper``, on the
    ``effect_scale`` ratio or difference). A row may also carry only a p-value or rates
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
    followup_t: str = ""
    followup_c: str = ""
    source: str = ""
    report: str = ""
    location: str = ""
    source_row: str = ""
    derivation: str = ""
    note: str = ""
    events: int | None = None
    n: int | None = None
    mean_t: float | None = None
    sd_t: float | None = None
    mean_c: float | None = None
    sd_c: float | None = None
    median_t: float | None = None
    q1_t: float | None = None
    q3_t: float | None = None
    min_t: float | None = None
    max_t: float | None = None
    median_c: float | None = None
    q1_c: float | None = None
    q3_c: float | None = None
    min_c: float | None = None
    max_c: float | None = None
    effect: float | None = None
    se: float | None = None
    effect_lower: float | None = None
    effect_upper: float | None = None
    effect_scale: str = ""
    path: str = ""
    line: int = 0

    def filled(self, *names: str) -> bool:
        """True when any of the fields ``names`` holds a value."""
        return any(getattr(self, name) not in (None, "") for name in names)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind of evidence whose columns the row fills (one for a valid row;
        n_t and n_c belong to a means row when it has means)."""
        found = [kind for kind, names in KIND_FIELDS.items() if self.filled(*names)]
        if MEANS in found and COUNTS in found and not self.filled("events_t", "events_c"):
            found.remove(COUNTS)
        return tuple(found)

    @property
    def kind(self) -> str:
        """The kind of evidence of the row: ``means``, ``counts``, ``proportion``,
        ``generic`` or (also for a row with only a p-value or rates) ``hr``."""
        return next(iter(self.kinds), HAZARD_RATIOS)

    def from_median(self, arm: str) -> bool:
        """True when arm ``t`` or ``c`` gives its median instead of its mean and SD."""
        return getattr(self, f"mean_{arm}") is None and getattr(self, f"median_{arm}") is not None

    @property
    def size(self) -> int | None:
        """The patients the row counts: ``n`` of a proportion, else ``n_t + n_c``."""
        if self.kind == PROPORTIONS:
            return self.n
        if self.n_t is None or self.n_c is None:
            return None
        return self.n_t + self.n_c

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        """The natural key (study, comparison, outcome, population, timepoint, kind)."""
        return (
            self.study,
            self.comparison,
            self.outcome,
            self.population,
            self.timepoint,
            self.kind,
        )

    @property
    def has_counts(self) -> bool:
        return self.kind == COUNTS

    @property
    def has_hr(self) -> bool:
        """An HR that can be pooled: with its CI, or with a p-value."""
        return self.hr is not None and (self.hr_lower is not None or self.p_value is not None)

    def has_data_for(self, kind: str) -> bool:
        """True when the row holds poolable evidence of ``kind`` (one of
        :data:`metaall.methods.KINDS`)."""
        if kind == HAZARD_RATIOS:
            return self.has_hr
        if kind == GENERIC:
            return self.kind == GENERIC and self.effect_scale in EFFECT_SCALES
        return self.kind == kind

    def fits(self, measure: Measure) -> bool:
        """True when ``measure`` can be computed from the row: its kind of evidence,
        and for a generic effect its scale (GENR pools ratios, GEN differences)."""
        if not self.has_data_for(measure.data):
            return False
        return measure.data != GENERIC or (self.effect_scale == "ratio") == measure.ratio


ROB_DOMAINS = {
    "confounding": "Bias due to confounding",
    "selection": "Bias in selection of participants into the study",
    "classification": "Bias in classification of interventions",
    "deviations": "Bias due to deviations from intended interventions",
    "missing_data": "Bias due to missing data",
    "measurement": "Bias in measurement of outcomes",
    "reporting": "Bias in selection of the reported result",
}
"""The seven ROBINS-I domains (Sterne et al. 2016, BMJ 355:i4919), in their order."""
ROB_OVERALL = "overall"
ROB_SEVERITY = ("low", "moderate", "serious", "critical")
"""ROBINS-I judgements from least to most severe; ``no_information`` stands apart."""
NO_INFORMATION = "no_information"
ROB_JUDGEMENTS = (*ROB_SEVERITY, NO_INFORMATION)
ROB_COLUMNS = ("study", "domain", "judgement", "support", "source", "location")


@dataclass(frozen=True)
class Judgement:
    """One ROBINS-I judgement of one study in one domain (a row of risk_of_bias.csv):
    the judgement, a one-line support and where in which document it comes from."""

    study: str
    domain: str
    judgement: str
    support: str
    source: str
    location: str
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class StudyRiskOfBias:
    """A study's ROBINS-I assessment: a judgement per domain and overall."""

    study: str
    judgements: Mapping[str, Judgement]

    @property
    def overall(self) -> str:
        return self.judgements[ROB_OVERALL].judgement

    def judgement(self, domain: str) -> str:
        """The judgement in ``domain`` (one of ROB_DOMAINS or ``overall``)."""
        return self.judgements[domain].judgement

    def serious_domains(self) -> tuple[str, ...]:
        """Domains judged serious or critical (what a certainty rating cites)."""
        return tuple(
            d for d in ROB_DOMAINS if self.judgements[d].judgement in ("serious", "critical")
        )


@dataclass(frozen=True)
class Extractions:
    """The loaded evidence base. ``risk_of_bias`` holds the ROBINS-I assessment of
    every study that has one (``extractions/risk_of_bias.csv``), by study id."""

    studies: Mapping[str, Study]
    effects: tuple[Effect, ...]
    vocabulary: Vocabulary
    directory: str = ""
    risk_of_bias: Mapping[str, StudyRiskOfBias] = field(
        default_factory=lambda: MappingProxyType({})
    )

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
        return tuple(
            effect
            for effect in self.effects
            if effect.comparison == comparison
            and effect.outcome == outcome
            and self.outside(effect, include) is None
        )

    def outside(
        self, effect: Effect, include: Mapping[str, Iterable[str]] | None
    ) -> tuple[str, str] | None:
        """The first field (and its value) of ``effect`` or its study that ``include``
        does not allow; None when the effect is inside."""
        study = self.studies[effect.study]
        for name, values in (include or {}).items():
            value = str(_value(effect, study, name))
            if value not in values:
                return name, value
        return None


def _value(effect: Effect, study: Study, name: str) -> object:
    return getattr(effect, name) if hasattr(effect, name) else getattr(study, name)
