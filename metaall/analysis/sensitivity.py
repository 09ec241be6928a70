"""Sensitivity of an analysis: leave-one-out, cumulative and influence diagnostics,
and the same evidence pooled by every kind of model.

Leave-one-out, cumulative and influence are views of the fitted model of the analysis
(its overall group), whose studies are in the order of the report's rows: nothing is
pooled a second time. :func:`model_comparison` runs the analysis again under each
model a methods reviewer asks about for sparse binary data (Jackson et al. 2018, Stat
Med 37:1059; Cochrane Handbook v6.4 §10.4.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from metaall import methods
from metaall.analysis.result import AnalysisResult, StudyRow
from metaall.analysis.run import run_analysis, with_options
from metaall.data import AnalysisSpec, Extractions
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


@dataclass(frozen=True)
class ModelRun:
    """The analysis under one model: its result, or why the model cannot be fitted."""

    label: str
    spec: AnalysisSpec
    result: AnalysisResult | None
    problem: str = ""
    caution: str = ""


RARE = 0.1  # event risk up to which a binomial approximates the hypergeometric well


def _caution(method: str, result: AnalysisResult) -> str:
    """Why a model's estimate should be read with care on these data: the approximate
    conditional likelihood (CM.AL) replaces each study's noncentral hypergeometric
    distribution by a binomial, which holds only for rare events (Stijnen, Hamza &
    Özdemir 2010, Stat Med 29:3046, §2.3)."""
    if method != "CM.AL":
        return ""
    rows = [r.effect for r in result.overall.pooled_rows]
    events = sum(e.events_t + e.events_c for e in rows)
    total = sum(e.n_t + e.n_c for e in rows)
    if not total or events / total <= RARE:
        return ""
    return (
        f"CM.AL assumes rare events (Stijnen et al. 2010); here {events / total:.0%} of "
        "patients had the event, so it estimates nearer the risk ratio than the odds ratio"
    )


def _alternatives(spec: AnalysisSpec) -> list[tuple[str, dict]]:
    """(label, overrides) of the models compared: inverse variance (the spec's estimator,
    DerSimonian-Laird, Hartung-Knapp), the common-effect MH and Peto and the GLMMs on
    the odds ratio (2×2 counts), the GLMM on the logit of single-arm proportions, and
    the Bayesian model with the spec's priors."""
    runs = [
        ("as specified", {}),
        ("REML", {"method": "REML", "test": "z"}),
        ("REML, Hartung-Knapp", {"method": "REML", "test": "knha"}),
        ("DerSimonian-Laird", {"method": "DL", "test": "z"}),
    ]
    glmms = [(name, m) for name, m in methods.METHODS.items() if m.family == methods.EXACT]
    if spec.counts:
        runs.append(("Mantel-Haenszel", {"method": "MH", "test": "z"}))
        runs.append(("Peto", {"method": "Peto", "measure": "OR", "test": "z"}))
        runs += [
            (_short(m), {"method": name, "measure": "OR", "test": "z"})
            for name, m in glmms
            if "OR" in m.measures
        ]
    if spec.single_arm:
        runs += [
            (_short(m), {"method": name, "measure": "PLO", "test": "z"})
            for name, m in glmms
            if "PLO" in m.measures
        ]
    runs.append(("Bayesian", {"method": "bayes", "test": "z"}))
    return runs


def _short(method: methods.Method) -> str:
    """A GLMM's short name: "GLMM UM.FS", "Exact conditional (CM.EL)"."""
    if method.name in method.abbreviation:
        return method.abbreviation
    return f"{method.abbreviation} ({method.name})"


def model_comparison(
    spec: AnalysisSpec, data: Extractions, subgroup: str | None = None
) -> list[ModelRun]:
    """The analysis (or one subgroup) pooled by each model of :func:`_alternatives`; a
    model that cannot be fitted gives its reason instead of a result."""
    out = []
    for label, changes in _alternatives(spec):
        try:
            variant = with_options(spec, mods=(), **changes)  # the pooled effect only
            result = run_analysis(variant, data, subgroup)
            caution = _caution(variant.method, result)
            out.append(ModelRun(label, variant, result, caution=caution))
        except ValueError as exc:
            out.append(ModelRun(label, spec, None, str(exc)))
    return out
