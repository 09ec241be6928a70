"""Small-study effects of an analysis: funnel-plot asymmetry tests and trim-and-fill.

Built on an :class:`~metaall.analysis.AnalysisResult`: the studies that were pooled
(estimable rows of the overall group, or of one subgroup) feed the tests of
:mod:`metaall.diagnostics`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from metaall import methods
from metaall.analysis.result import AnalysisResult, StudyRow
from metaall.data import COUNT_FIELDS
from metaall.diagnostics import (
    BeggResult,
    EggerResult,
    FewStudiesWarning,
    TrimFillResult,
    begg_test,
    egger_test,
    harbord_test,
    peters_test,
    trim_and_fill,
)


def estimable_rows(result: AnalysisResult) -> list[StudyRow]:
    """The studies with an effect size, in report order (what a funnel plot shows)."""
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


def inverse_variance_method(method: str) -> str:
    """The inverse-variance method that stands in for ``method`` where a diagnostic
    needs one: the method itself, or FE for common-effect models of the tables."""
    return "FE" if methods.method(method).tables else method


def small_study_tests(result: AnalysisResult) -> SmallStudyReport:
    """Egger, Begg and trim-and-fill on the pooled studies; Peters and Harbord too when
    the analysis pools 2×2 counts (as R meta's ``metabias`` offers them for binary data).

    Tests need k ≥ 3 (Begg k ≥ 2); with k < 10 they run and carry the Cochrane
    Handbook's warning (§13.3.5.4) rather than refuse.
    """
    rows = estimable_rows(result)
    k = len(rows)
    yi = np.array([r.yi for r in rows])
    vi = np.array([r.vi for r in rows])
    notes = []
    if k < 10:
        notes.append(
            f"only {k} studies: tests for funnel asymmetry have low power with fewer than 10 "
            "(Cochrane Handbook §13.3.5.4); interpret with caution"
        )
    method = inverse_variance_method(result.spec.method)
    level = result.spec.level
    regression = k >= 3
    egger = _quiet(egger_test, yi, vi, level=level) if regression else None
    begg = _quiet(begg_test, yi, vi) if k >= 2 else None
    tf = _quiet(trim_and_fill, yi, vi, method=method, level=level) if regression else None
    peters = harbord = None
    if result.spec.data_kind == methods.COUNTS and regression:
        counts = [[getattr(r.effect, f) for r in rows] for f in COUNT_FIELDS]
        peters = _quiet(peters_test, *counts, level=level)
        harbord = _quiet(harbord_test, *counts, level=level)
    if not regression:
        notes.append("regression tests and trim-and-fill need at least 3 studies")
    return SmallStudyReport(k, egger, begg, peters, harbord, tf, tuple(notes))
