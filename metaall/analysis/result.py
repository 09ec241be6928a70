"""What one run of an analysis spec produced: study rows, pooled groups, exclusions.

:class:`AnalysisResult` is the single object every report, table and figure is drawn
from. Rows are in report order (the spec's ``order``) and each group's fitted model
holds its studies in that same order, so a view of the fit (leave-one-out,
cumulative, influence) lines up with the rows without refitting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from metaall import methods
from metaall.data import AnalysisSpec, Effect, Study
from metaall.effects.transform import back_transform
from metaall.models import BayesResult, HeterogeneityCI, PooledResult

if TYPE_CHECKING:
    from metaall.analysis.regression import Regression


@dataclass(frozen=True)
class StudyRow:
    """One study's contribution: its extraction row, effect size and weight (percent).

    ``yi``/``vi`` are NaN for a study that is shown but cannot give an estimate.
    """

    effect: Effect
    study: Study
    group: str
    yi: float
    vi: float
    weight: float
    note: str = ""

    @property
    def estimable(self) -> bool:
        return math.isfinite(self.yi)

    @property
    def label(self) -> str:
        return self.study.label or self.study.study


class RowSource(Protocol):
    """Where lazy study rows come from: a table's rows by index."""

    def item(self, i: int) -> tuple[Effect, Study, str]:
        """Row ``i``'s effect, study and subgroup."""

    def column(self, name: str) -> np.ndarray:
        """A numeric field of every row (float, NaN where blank)."""


class StudyRows(Sequence[StudyRow]):
    """Study rows kept as arrays, each :class:`StudyRow` made when read: the rows of a
    large ad-hoc table (a tuple of 10⁶ rows would take seconds and GBs). ``index``
    gives each row's index in ``source``; the other arrays are per row."""

    def __init__(self, source: RowSource, index: np.ndarray, yi, vi, weights, notes) -> None:
        self.source, self.index = source, index
        self.yi, self.vi, self.weights = yi, vi, weights
        self.notes = notes

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        effect, study, group = self.source.item(int(self.index[i]))
        note = self.notes[i]
        return StudyRow(
            effect, study, group, float(self.yi[i]), float(self.vi[i]), float(self.weights[i]), note
        )

    def take(self, keep: np.ndarray) -> StudyRows:
        """The rows at ``keep`` (indices or a mask)."""
        arrays = (self.index, self.yi, self.vi, self.weights, self.notes)
        return StudyRows(self.source, *(a[keep] for a in arrays))

    @property
    def estimable(self) -> np.ndarray:
        return np.isfinite(self.yi)

    def total(self, name: str) -> int:
        """The sum of a whole-number field (e.g. ``n_t``) over the rows."""
        return int(self.source.column(name)[self.index].sum())


def estimable_rows(rows: Sequence[StudyRow], estimable: bool = True) -> Sequence[StudyRow]:
    """The rows with an estimate (those without, with ``estimable`` False)."""
    if isinstance(rows, StudyRows):
        return rows.take(rows.estimable == estimable)
    return tuple(r for r in rows if r.estimable == estimable)


def rows_total(rows: Sequence[StudyRow], name: str) -> int:
    """The sum of the effects' whole-number field ``name`` over ``rows``."""
    if isinstance(rows, StudyRows):
        return rows.total(name)
    return sum(getattr(r.effect, name) for r in rows)


@dataclass(frozen=True)
class Excluded:
    """An effect that could not enter the analysis, and why."""

    effect: Effect
    study: Study
    reason: str


@dataclass(frozen=True)
class GroupResult:
    """Studies of one subgroup (or all of them) with their pooled result (None if k = 0).

    ``fit`` holds the studies it pooled in the order of ``rows``: every row for
    methods that pool the 2×2 tables (MH, Peto), the estimable rows otherwise.
    """

    name: str
    rows: Sequence[StudyRow]
    fit: PooledResult | None
    heterogeneity: HeterogeneityCI | None = None
    """Q-profile intervals for tau², I² and H² (random-effects fits of k ≥ 2)."""
    prediction: tuple[float, float] | None = None
    """The prediction interval the spec asks for (None: not asked for, or undefined)."""
    absolute: tuple = ()
    """Absolute effects per assumed control risk (:mod:`metaall.analysis.absolute`)."""

    @property
    def total_weight(self) -> float:
        rows = self.rows
        if isinstance(rows, StudyRows):
            return float(rows.weights[rows.estimable].sum())
        return float(sum(r.weight for r in rows if r.estimable))

    @property
    def estimable(self) -> bool:
        """True when the group has a finite pooled estimate."""
        return self.fit is not None and math.isfinite(self.fit.estimate)

    @property
    def shrunken(self) -> dict[str, tuple[float, float, float]]:
        """Under the Bayesian model, each pooled study's shrunken estimate: the posterior
        median of its own true effect and its credible interval (analysis scale), by
        study id (Röver 2020, J Stat Softw 93(6), §2.5); empty for other models."""
        fit = self.fit
        if not isinstance(fit, BayesResult):
            return {}
        return {
            row.effect.study: (float(m), float(lo), float(hi))
            for row, m, lo, hi in zip(
                self.pooled_rows, fit.theta_median, fit.theta_lb, fit.theta_ub, strict=True
            )
        }

    @property
    def pooled_rows(self) -> Sequence[StudyRow]:
        """The rows the fit holds, in the fit's order."""
        if self.fit is not None and methods.method(self.fit.method).tables:
            return self.rows
        return estimable_rows(self.rows)


@dataclass(frozen=True)
class SubgroupTest:
    """Tests for subgroup differences (see :mod:`metaall.models.subgroups`)."""

    Q: float
    df: int
    pval: float
    QM_common_tau2: float | None = None
    QM_common_tau2_pval: float | None = None


@dataclass(frozen=True)
class AnalysisResult:
    """Everything one run of a spec produced.

    ``restricted_to`` is the subgroup the run was restricted to (None: all of them);
    ``groups`` holds one pooled group per subgroup when the run compared subgroups,
    ``overall`` all studies of the run, ``difference`` the test between the groups.
    """

    spec: AnalysisSpec
    restricted_to: str | None
    groups: tuple[GroupResult, ...]
    overall: GroupResult
    difference: SubgroupTest | None
    excluded: tuple[Excluded, ...]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    """What each subgroup tag means (from the vocabulary), for reports and figures."""
    regression: Regression | None = None
    """The meta-regression on the spec's moderators (None: the spec has none)."""

    @property
    def measure(self) -> methods.Measure:
        return methods.measure(self.spec.measure)

    @property
    def ratio(self) -> bool:
        """True when effects are ratios: shown exponentiated, on a log axis, no effect
        at 1 (not for log proportions, which are shown as proportions)."""
        return self.measure.ratio

    @property
    def proportion(self) -> bool:
        """True for single-arm proportions, shown back-transformed in percent."""
        return self.measure.proportion

    @property
    def digits(self) -> int:
        """Decimals of displayed effects: 1 for percentages, else 2."""
        return 1 if self.proportion else 2

    @property
    def not_compared(self) -> tuple[str, ...]:
        """Subgroups without a pooled estimate, which the test for subgroup differences
        leaves out."""
        return tuple(g.name for g in self.groups if not g.estimable)

    @property
    def stem(self) -> str:
        """File-name stem of this result's outputs: the analysis, then the subgroup."""
        return self.spec.name + (f"_{self.restricted_to}" if self.restricted_to else "")

    def sizes(self, of: GroupResult | StudyRow | None = None) -> list[int]:
        """The study sizes behind a value (for the Freeman-Tukey back-transformation):
        one study's, a group's pooled studies', or (None) all pooled studies'."""
        if isinstance(of, StudyRow):
            return [of.effect.size]
        rows = (self.overall if of is None else of).pooled_rows
        if isinstance(rows, StudyRows):
            source = rows.source
            if self.spec.single_arm:
                sizes = source.column("n")[rows.index]
            else:
                sizes = (source.column("n_t") + source.column("n_c"))[rows.index]
            return [int(s) for s in sizes if s]
        return [r.effect.size for r in rows if r.effect.size]

    def display(self, value, of: GroupResult | StudyRow | None = None):
        """A value (or array) on the analysis scale as readers see it: exp for ratios,
        percent for proportions (:func:`metaall.effects.back_transform`; PFT at the
        harmonic mean of the sizes of ``of``, as metafor's ``transf.ipft.hm``: a study
        at its own size, a pooled value at its group's studies, default all pooled)."""
        measure = self.measure
        if measure.proportion:
            sizes = self.sizes(of) if measure.name == "PFT" else None
            return 100 * back_transform(measure.name, value, ni=sizes)
        if not measure.ratio:
            return value
        if np.ndim(value):
            with np.errstate(over="ignore"):
                return np.exp(value)
        try:
            return math.exp(value)
        except OverflowError:
            return math.inf

    def to_frame(self):
        """The study and pooled rows as a pandas DataFrame (for notebooks)."""
        from metaall.reports.frames import to_frame

        return to_frame(self)
