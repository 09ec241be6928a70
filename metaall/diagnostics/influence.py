"""Case-deletion (influence) diagnostics and the Baujat plot for one meta-analysis.

Every statistic compares the fit with the fit that leaves study i out, as metafor's
``influence.rma.uni`` (Viechtbauer & Cheung 2010, Res Synth Methods 1:112, "Outlier and
influence diagnostics for meta-analysis", §3) defines it for the intercept-only model
(p = 1 coefficient). The k leave-one-out fits come from one vectorised batch call
(:meth:`PooledResult.leave_one_out`). With μ̂, Var(μ̂) and τ̂² from the full fit,
μ̂₍₋ᵢ₎, Var(μ̂₍₋ᵢ₎), τ̂²₍₋ᵢ₎ from the fit without study i, wᵢ = 1/(vᵢ + τ̂²) and s²₍₋ᵢ₎ the
Hartung-Knapp scale factor of the deleted fit (1 for z tests):

* ``hat``: hᵢ = wᵢ/Σwⱼ; ``weight``: 100·hᵢ (percent);
* ``rstudent``: (yᵢ - μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎(vᵢ + τ̂²₍₋ᵢ₎) + Var(μ̂₍₋ᵢ₎)) (externally
  studentised residual; residuals below 100·machine epsilon count as 0);
* ``dffits``: (μ̂ - μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎ · hᵢ · (τ̂²₍₋ᵢ₎ + vᵢ));
* ``cooks_d``: (μ̂ - μ̂₍₋ᵢ₎)² / Var(μ̂);
* ``cov_r``: Var(μ̂₍₋ᵢ₎) / Var(μ̂) (covariance ratio; < 1 means study i lowers precision);
* ``dfbetas``: (μ̂ - μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎ / Σⱼ 1/(vⱼ + τ̂²₍₋ᵢ₎)) (sum over all k studies);
* ``tau2_del``, ``QE_del``: τ̂² and Cochran's Q without study i.

``influential`` flags a study when any of (metafor's rule, after Belsley, Kuh & Welsch
1980 and Cook & Weisberg 1982): |dffits| > 3√(p/(k-p)); the χ²₁ distribution function
at Cook's distance > 0.5; hat > 3p/k; |dfbetas| > 1.

Baujat et al. (2002, Stat Med 21:2641) plot, as metafor ``baujat.rma``: x = squared
Pearson residual (yᵢ - μ̂)²/(vᵢ + τ̂²) — for the common-effect model this is study i's
contribution to Cochran's Q, as in the paper — and y = (μ̂₍₋ᵢ₎ - μ̂)²/Var(μ̂₍₋ᵢ₎), the
influence of study i on the pooled estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from metaall import distributions as dist
from metaall import methods
from metaall.models.result import PooledResult

_TINY_RESIDUAL = 100 * np.finfo(float).eps  # metafor zeroes smaller residuals


@dataclass(frozen=True)
class InfluenceResult:
    """Per-study influence statistics (arrays of length k, in study order); see the
    module docstring for each formula. ``leave_one_out`` is the batch of deleted fits."""

    rstudent: np.ndarray
    dffits: np.ndarray
    cooks_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    QE_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    studies: tuple[str, ...] | None = None
    leave_one_out: PooledResult | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class BaujatData:
    """Coordinates of the Baujat plot: ``x`` (contribution to heterogeneity / squared
    Pearson residual) and ``y`` (influence on the pooled result), one point per study,
    with the axis labels metafor uses for this kind of model."""

    x: np.ndarray
    y: np.ndarray
    x_label: str
    y_label: str
    studies: tuple[str, ...] | None = None


def _single(fit: PooledResult, what: str) -> int:
    if not isinstance(fit, PooledResult) or methods.method(fit.method).tables:
        raise TypeError(
            f"{what} needs an inverse-variance fit from metaall.fit(), got {type(fit).__name__}"
        )
    if fit.batched:
        raise ValueError(f"{what} needs a single meta-analysis, not a batch")
    if fit.k < 2:
        raise ValueError(f"{what} needs at least 2 studies, got {fit.k}")
    return int(fit.k)


def influence(fit: PooledResult) -> InfluenceResult:
    """Leave-one-out influence diagnostics of a single meta-analysis (see module doc)."""
    k = _single(fit, "influence diagnostics")
    y, v = np.asarray(fit.yi), np.asarray(fit.vi)
    loo = fit.leave_one_out()
    shift = fit.estimate - loo.estimate
    var_del = loo.se**2
    tau2_del = loo.tau2

    w = 1.0 / (v + fit.tau2)
    hat = w / w.sum()
    # weights 1/(vⱼ + τ̂²₍₋ᵢ₎) of every study j at each deleted fit's tau² (row i)
    w_del = 1.0 / (v[None, :] + tau2_del[:, None])
    # Hartung-Knapp: Var(μ̂₍₋ᵢ₎) = s²₍₋ᵢ₎ / Σ_{j≠i} wⱼ; z tests: s² = 1
    knha = fit.test == "knha"
    s2w = var_del * (w_del.sum(1) - np.diag(w_del)) if knha else np.ones(k)

    resid = y - loo.estimate
    resid = np.where(np.abs(resid) < _TINY_RESIDUAL, 0.0, resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        rstudent = resid / np.sqrt(s2w * (v + tau2_del) + var_del)
        dffits = shift / np.sqrt(s2w * hat * (tau2_del + v))
        dfbetas = shift / np.sqrt(s2w / w_del.sum(1))
        cooks_d = shift**2 / fit.se**2
        cov_r = var_del / fit.se**2
    p = 1
    with np.errstate(invalid="ignore"):
        influential = (
            (np.abs(dffits) > 3 * np.sqrt(p / (k - p)))
            | (1 - dist.chi2_sf(cooks_d, p) > 0.5)  # χ²_p distribution function
            | (hat > 3 * p / k)
            | (np.abs(dfbetas) > 1)
        )
    return InfluenceResult(
        rstudent=rstudent,
        dffits=dffits,
        cooks_d=cooks_d,
        cov_r=cov_r,
        tau2_del=tau2_del,
        QE_del=np.asarray(loo.Q, dtype=float),
        hat=hat,
        weight=np.asarray(fit.weights, dtype=float),
        dfbetas=dfbetas,
        influential=influential,
        studies=fit.studies,
        leave_one_out=loo,
    )


def baujat(fit: PooledResult) -> BaujatData:
    """Baujat plot coordinates of a single meta-analysis (see module doc)."""
    _single(fit, "the Baujat plot")
    y, v = np.asarray(fit.yi), np.asarray(fit.vi)
    loo = fit.leave_one_out()
    common = fit.method == "FE"
    return BaujatData(
        x=(y - fit.estimate) ** 2 / (v + fit.tau2),
        y=(loo.estimate - fit.estimate) ** 2 / loo.se**2,
        x_label="Contribution to Overall Heterogeneity" if common else "Squared Pearson Residual",
        y_label="Influence on Overall Result",
        studies=fit.studies,
    )
