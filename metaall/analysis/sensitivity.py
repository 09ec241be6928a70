"""Sensitivity of an analysis: leave-one-out, cumulative and influence diagnostics.

Each is a view of the fitted model of the analysis (its overall group), whose studies
are in the order of the report's rows: nothing is pooled a second time.
"""

from __future__ import annotations

from collections.abc import Sequence

from metaall.analysis.result import AnalysisResult, StudyRow
from metaall.data.specs import ORDERS
from metaall.diagnostics import InfluenceResult, influence
from metaall.models import FitResult, PooledResult, fit


def fitted_rows(result: AnalysisResult) -> tuple[tuple[StudyRow, ...], PooledResult]:
    """The rows the analysis's model holds, in report order, and that model.

    Inverse-variance models hold the estimable studies; MH and Peto every table (a
    table without events still counts in the MH risk difference).
    """
    group = result.overall
    if group.fit is None or not any(r.estimable for r in group.rows):
        raise ValueError(f"analysis '{result.spec.name}' has no estimable study")
    return group.pooled_rows, group.fit


def leave_one_out(result: AnalysisResult) -> tuple[tuple[StudyRow, ...], PooledResult]:
    """Each study left out in turn: (the studies, the batch of refits, row i without i)."""
    rows, model = fitted_rows(result)
    if len(rows) < 2:
        raise ValueError("leave-one-out needs at least 2 studies")
    return rows, model.leave_one_out()


def cumulative(result: AnalysisResult, by: str = "year") -> tuple[list[StudyRow], PooledResult]:
    """Studies added one at a time, ordered ``by`` year (undated last), weight, effect or
    the spec's order: (the studies in that order, the batch of refits, row i = first i+1)."""
    rows, model = fitted_rows(result)
    order = ordered(rows, by)
    return [rows[i] for i in order], model.cumulative(order)


def ordered(rows: Sequence[StudyRow], by: str = "year") -> list[int]:
    """Indices of ``rows`` ordered ``by`` year (undated last; ties and undated studies
    keep the order of ``rows``), weight (largest first), effect or as given (spec)."""
    if by not in ORDERS:
        raise ValueError(f"order by one of {', '.join(ORDERS)}, not {by!r}")
    keys = {
        "spec": lambda i: i,
        "year": lambda i: (rows[i].study.year is None, rows[i].study.year or 0, i),
        "weight": lambda i: -rows[i].weight,
        "effect": lambda i: rows[i].yi,
    }
    return sorted(range(len(rows)), key=keys[by])


def influence_of(result: AnalysisResult) -> tuple[list[StudyRow], InfluenceResult]:
    """metafor's influence diagnostics (inverse-variance fits; MH/Peto analyses use the
    common-effect inverse-variance fit of the same studies)."""
    rows, model = fitted_rows(result)
    if not isinstance(model, FitResult):
        rows = [r for r in rows if r.estimable]
        model = fit(
            [r.yi for r in rows], [r.vi for r in rows], "FE", studies=[r.label for r in rows]
        )
    return list(rows), influence(model)
