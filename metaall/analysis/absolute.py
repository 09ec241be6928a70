"""Absolute effects of a pooled ratio: what it means for 1000 patients.

For an assumed control risk p₀ (by default the pooled risk of the control arms of the
studies pooled, Σcᵢ/Σn2ᵢ, as GRADE's summary-of-findings tables use when no external
baseline is given; Guyatt et al. 2013, J Clin Epidemiol 66:158) the corresponding
intervention risk is

* RR: p₁ = RR·p₀ (capped at 1);
* OR: p₁ = OR·p₀ / (1 - p₀ + OR·p₀);
* HR: p₁ = 1 - (1 - p₀)^HR, p₀ the control risk by a stated time point (Tierney et al.
  2007, Trials 8:16; Cochrane Handbook v6.4 §15.4.4, GRADE's time-to-event outcomes);
* RD: p₁ = p₀ + RD;

each with the pooled CI bounds in place of the estimate, as R meta's ``rd()`` and GRADEpro
do. The risk difference p₁ - p₀ per 1000 and the number needed to treat 1/|p₁ - p₀| follow,
the NNT's interval by Altman (1998, BMJ 317:1309): where the CI of the risk difference
excludes zero, the reciprocals of its limits; where it includes zero, the interval runs
from the NNT for benefit through infinity to the NNT for harm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metaall import methods
from metaall.data import AnalysisSpec
from metaall.models import PooledResult

PER = 1000


@dataclass(frozen=True)
class AbsoluteEffect:
    """Risks per 1000 for one assumed control risk; ``source`` says where it came from."""

    control_risk: float
    source: str
    risk: tuple[float, float, float]  # intervention risk: estimate, lower, upper
    difference: tuple[float, float, float]  # p₁ - p₀, with its interval
    timepoint: str = ""

    def per_thousand(self, value: float) -> int:
        return round(PER * value)

    @property
    def nnt(self) -> str:
        """NNTB or NNTH with its interval (Altman 1998), in words."""
        est, lo, hi = self.difference
        if est == 0:
            return "no difference (NNT infinite)"
        kind = "NNTB" if est < 0 else "NNTH"  # a lower risk of the event is a benefit
        number = _ceil(1 / abs(est))
        if lo < 0 < hi:
            return f"{kind} {number} (NNTB {_ceil(1 / abs(lo))} to ∞ to NNTH {_ceil(1 / hi)})"
        near, far = sorted((abs(lo), abs(hi)), reverse=True)
        return f"{kind} {number} ({_ceil(1 / near)} to {_ceil(1 / far)})"


def _ceil(value: float) -> int | str:
    return math.ceil(value - 1e-9) if math.isfinite(value) else "∞"


def pooled_control_risk(events: np.ndarray, totals: np.ndarray) -> float | None:
    """Σ events / Σ total of the control arms (float arrays of the pooled studies'
    ``events_c`` and ``n_c``; None without counts: no study, or a blank, NaN)."""
    if not len(events) or np.isnan(events).any() or np.isnan(totals).any():
        return None
    total = totals.sum()
    return float(events.sum() / total) if total else None


def _risk(measure: str, ratio: float, p0: float) -> float:
    if math.isinf(ratio):  # a ratio beyond float range: every patient has the event
        return 1.0
    if measure == "RR":
        return min(ratio * p0, 1.0)
    if measure == "OR":
        return ratio * p0 / (1 - p0 + ratio * p0)
    if measure == "HR":
        return 1 - (1 - p0) ** ratio
    if measure == "RD":
        return min(max(p0 + ratio, 0.0), 1.0)
    raise ValueError(f"absolute effects are defined for RR, OR, HR and RD, not {measure}")


def _ratio(log_value: float) -> float:
    try:
        return math.exp(log_value)
    except OverflowError:
        return math.inf


def absolute_effects(
    spec: AnalysisSpec, fit: PooledResult, pooled: float | None
) -> tuple[AbsoluteEffect, ...]:
    """The absolute effects of a pooled ``fit`` at each control risk: the ``pooled``
    control-arm risk of its studies (:func:`pooled_control_risk`; None without
    counts), then the spec's ``control_risks`` (at ``risk_timepoint``; hazard ratios
    need them)."""
    measure = methods.measure(spec.measure)
    if not math.isfinite(fit.estimate) or measure.name not in ("RR", "OR", "HR", "RD"):
        return ()
    assumed = [(p, "assumed") for p in spec.control_risks]
    if pooled is not None and 0 < pooled < 1:
        assumed.insert(0, (pooled, "pooled control arms"))
    bounds = [_ratio(x) if measure.log_scale else x for x in (fit.estimate, fit.ci_lb, fit.ci_ub)]
    out = []
    for p0, source in assumed:
        risks = [_risk(measure.name, b, p0) for b in bounds]
        low, high = sorted(risks[1:])
        risk = (risks[0], low, high)
        difference = (risk[0] - p0, low - p0, high - p0)
        out.append(AbsoluteEffect(p0, source, risk, difference, spec.risk_timepoint))
    return tuple(out)
