"""Meta-regression of an analysis on study-level moderators (the spec's ``mods``).

Each moderator is a field of the pooled rows or of their studies
(:data:`metaall.data.specs.MODERATORS`): ``year`` enters as a number (a slope per
year); every other field is categorical and enters as 0/1 columns, one per level but
the reference, the first level in sorted order (R's treatment contrasts for
``factor()``, :func:`metaall.models.metareg.dummy_columns`). The mixed-effects model is
fitted to the effects the analysis pools, with its tau² estimator and CI method
(metafor ``rma(yi, vi, mods = ~ ...)``), and tested by permutation when the spec asks
(metafor ``permutest``: exact when the distinct permutations are no more than asked).

A study without a value for a moderator stops the analysis with a
:class:`~metaall.data.DataError` naming the file, row and field (a meta-regression
cannot leave a study out silently). A model that cannot be fitted to these studies
(a moderator with one value among them, as in a subgroup of that moderator; no more
studies than coefficients; collinear moderators) is reported with the reason instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metaall.analysis.result import StudyRow
from metaall.data import AnalysisSpec, DataError
from metaall.data.specs import NUMERIC_MODERATORS
from metaall.models.metareg import MetaRegressionResult, dummy_columns, meta_regression


@dataclass(frozen=True)
class Moderator:
    """One moderator: numeric (one column) or categorical (a column per level but
    ``reference``); ``columns`` names its coefficients."""

    name: str
    numeric: bool
    columns: tuple[str, ...]
    levels: tuple[str, ...] = ()
    reference: str = ""

    @property
    def coding(self) -> str:
        """How it enters the model, in words."""
        if self.numeric:
            return f"{self.name} (numeric)"
        return f"{self.name} (categorical, reference {self.reference})"


@dataclass(frozen=True)
class Regression:
    """The meta-regression of an analysis: the fit (None with ``problem`` saying why
    it could not be fitted), its moderators, the studies in the fit's order and the
    permutation test (None unless asked for)."""

    moderators: tuple[Moderator, ...]
    studies: tuple[str, ...]
    fit: MetaRegressionResult | None = None
    permutation: object | None = None
    problem: str = ""

    @property
    def coding(self) -> str:
        return "; ".join(m.coding for m in self.moderators)


EFFECT_MODERATORS = ("population", "report", "timepoint")
"""Moderators that are fields of the effect row; the others are the study's."""


def moderator_value(row: StudyRow, name: str) -> object:
    """The value of moderator ``name`` for a row: its subgroup (``group``), the
    effect's field, else its study's."""
    if name == "group":
        return row.group
    return getattr(row.effect if name in EFFECT_MODERATORS else row.study, name)


def _missing(spec: AnalysisSpec, row: StudyRow, name: str) -> DataError:
    """The error for a row whose moderator is blank, at the row that should hold it."""
    on_effect = name in (*EFFECT_MODERATORS, "group")
    where = row.effect if on_effect or not row.study.path else row.study
    return DataError(
        where.path,
        where.line,
        name,
        f"blank, but analysis '{spec.name}' uses {name} as a moderator (mods); fill it, or "
        "leave the study out of the analysis",
    )


def design(
    spec: AnalysisSpec, rows: Sequence[StudyRow]
) -> tuple[dict[str, np.ndarray], tuple[Moderator, ...]]:
    """The moderator columns (name -> values per row) and the moderators."""
    columns: dict[str, np.ndarray] = {}
    moderators = []
    for name in spec.mods:
        values = [moderator_value(row, name) for row in rows]
        for row, value in zip(rows, values, strict=True):
            if value is None or value == "":
                raise _missing(spec, row, name)
        if name in NUMERIC_MODERATORS:
            columns[name] = np.array(values, dtype=float)
            moderators.append(Moderator(name, True, (name,)))
            continue
        levels = tuple(sorted({str(v) for v in values}))
        dummies = {} if len(levels) < 2 else dummy_columns(values, name, levels)
        columns |= dummies
        moderators.append(Moderator(name, False, tuple(dummies), levels, levels[0]))
    return columns, tuple(moderators)


def regression_of(spec: AnalysisSpec, rows: Sequence[StudyRow]) -> Regression | None:
    """The meta-regression of ``rows`` (the estimable rows of the pooled group, in the
    fit's order) on the spec's moderators; None when the spec has none."""
    if not spec.mods:
        return None
    columns, moderators = design(spec, rows)
    studies = tuple(r.effect.study for r in rows)
    single = [m for m in moderators if not m.numeric and len(m.levels) < 2]
    if single:
        m = single[0]
        problem = f"{m.name} takes one value ({', '.join(m.levels)}) among these studies"
        return Regression(moderators, studies, problem=problem)
    yi = np.array([r.yi for r in rows])
    vi = np.array([r.vi for r in rows])
    try:
        fit = meta_regression(yi, vi, columns, spec.method, spec.test, spec.level, studies=studies)
    except ValueError as exc:
        return Regression(moderators, studies, problem=str(exc))
    permutation = None
    if spec.permutations is not None:
        from metaall.models.permutation import permutation_test

        permutation = permutation_test(fit, iterations=spec.permutations, seed=spec.seed)
    return Regression(moderators, studies, fit, permutation)
