"""Small-study effects and sensitivity of an analysis (issue: one study driving it?).

Built on an :class:`~metaall.analysis.AnalysisResult`: the studies that were pooled
(estimable rows of the overall group, or of one subgroup) feed the diagnostics in
:mod:`metaall.diagnostics` and the refits of :class:`~metaall.models.PooledResult`.
Nothing is recomputed differently from the pooled result itself.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from metaall.analysis import AnalysisResult, StudyRow, pool_items
from metaall.data.extractions import COUNT_FIELDS
from metaall.data.specs import ORDERS
from metaall.diagnostics import (
    BeggResult,
    EggerResult,
    FewStudiesWarning,
    InfluenceResult,
    TrimFillResult,
    begg_test,
    egger_test,
    harbord_test,
    influence,
    peters_test,
    trim_and_fill,
)
from metaall.models import FitResult, PooledResult, fit


def pooled_rows(result: AnalysisResult) -> list[StudyRow]:
    """The studies that entered the pooled estimate, in report order."""
    return [r for r in result.overall.rows if r.estimable]


@dataclass(frozen=True)
class SmallStudyReport:
    """Tests for funnel-plot asymmetry of one analysis, with the studies they used."""

    k: int
    egger: EggerResult | None
    begg: BeggResult | None
    peters: EggerResult | None
    harbord: EggerResult | None
    trimfill: TrimFillResult | None
    notes: tuple[str, ...]


def _quiet(function, *args, **kwargs):
    """Run a test whose k < 10 warning is reported in the result, not on stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewStudiesWarning)
        return function(*args, **kwargs)


def small_study_tests(result: AnalysisResult) -> SmallStudyReport:
    """Egger, Begg and trim-and-fill on the pooled studies; Peters and Harbord too when
    the analysis pools 2×2 counts (as R meta's ``metabias`` offers them for binary data).

    Tests need k ≥ 3 (Begg k ≥ 2); with k < 10 they run and carry the Cochrane
    Handbook's warning (§13.3.5.4) rather than refuse.
    """
    rows = pooled_rows(result)
    k = len(rows)
    yi = np.array([r.yi for r in rows])
    vi = np.array([r.vi for r in rows])
    notes = []
    if k < 10:
        notes.append(
            f"only {k} studies: tests for funnel asymmetry have low power with fewer than 10 "
            "(Cochrane Handbook §13.3.5.4); interpret with caution"
        )
    method = "FE" if result.spec.method in ("MH", "Peto") else result.spec.method
    level = result.spec.level
    regression = k >= 3
    egger = _quiet(egger_test, yi, vi, level=level) if regression else None
    begg = _quiet(begg_test, yi, vi) if k >= 2 else None
    tf = _quiet(trim_and_fill, yi, vi, method=method, level=level) if regression else None
    peters = harbord = None
    if result.spec.measure != "HR" and regression:
        counts = [[getattr(r.effect, f) for r in rows] for f in COUNT_FIELDS]
        peters = _quiet(peters_test, *counts, level=level)
        harbord = _quiet(harbord_test, *counts, level=level)
    if not regression:
        notes.append("regression tests and trim-and-fill need at least 3 studies")
    return SmallStudyReport(k, egger, begg, peters, harbord, tf, tuple(notes))


def fit_rows(result: AnalysisResult) -> tuple[list[StudyRow], PooledResult]:
    """The rows a refit of the analysis holds, in report order, and that refit.

    Inverse-variance models hold the estimable studies; MH and Peto every table (a
    table without events still counts in the MH risk difference).
    """
    spec = result.spec
    rows = list(result.overall.rows)
    if spec.method not in ("MH", "Peto"):
        rows = [r for r in rows if r.estimable]
    if not any(r.estimable for r in rows):
        raise ValueError(f"analysis '{spec.name}' has no estimable study")
    items = [(r.effect, r.study, r.group) for r in rows]
    yi = np.array([r.yi for r in rows])
    vi = np.array([r.vi for r in rows])
    refit, _ = pool_items(spec, items, yi, vi)
    return rows, refit


def leave_one_out(result: AnalysisResult) -> tuple[list[StudyRow], PooledResult]:
    """Each study left out in turn: (the studies, the batch of refits, row i without i)."""
    rows, refit = fit_rows(result)
    if len(rows) < 2:
        raise ValueError("leave-one-out needs at least 2 studies")
    return rows, refit.leave_one_out()


def cumulative(result: AnalysisResult, by: str = "year") -> tuple[list[StudyRow], PooledResult]:
    """Studies added one at a time, ordered ``by`` year (undated last), weight, effect or
    the spec's order: (the studies in that order, the batch of refits, row i = first i+1)."""
    if by not in ORDERS:
        raise ValueError(f"order by one of {', '.join(ORDERS)}, not {by!r}")
    rows, refit = fit_rows(result)
    keys = {
        "spec": lambda i: i,
        "year": lambda i: (rows[i].study.year is None, rows[i].study.year or 0, i),
        "weight": lambda i: -rows[i].weight,
        "effect": lambda i: rows[i].yi,
    }
    order = sorted(range(len(rows)), key=keys[by])
    return [rows[i] for i in order], refit.cumulative(order)


def influence_of(result: AnalysisResult) -> tuple[list[StudyRow], InfluenceResult]:
    """metafor's influence diagnostics (inverse-variance fits; MH/Peto analyses use the
    common-effect inverse-variance fit of the same studies)."""
    rows, refit = fit_rows(result)
    if not isinstance(refit, FitResult):
        rows = [r for r in rows if r.estimable]
        refit = fit(
            [r.yi for r in rows], [r.vi for r in rows], "FE", studies=[r.label for r in rows]
        )
    return rows, influence(refit)
