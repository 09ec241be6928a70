"""Inverse-variance pooling: common-effect and random-effects models (metafor ``rma.uni``).

For k studies with effects yᵢ, sampling variances vᵢ and weights
wᵢ = 1/(vᵢ + τ̂²) (τ̂² = 0 for the common-effect model ``FE``):

* estimate μ̂ = Σwᵢyᵢ/Σwᵢ, se = (Σwᵢ)^(-1/2), Wald z test and CI
  (Borenstein et al. 2009, *Introduction to Meta-Analysis*, ch. 11-12;
  Cochrane Handbook v6.4 §10.3-10.10);
* ``test='knha'``: Hartung & Knapp (2001, Stat Med 20:3875) / Sidik & Jonkman
  (2002, Stat Med 21:3153): se² = Σwᵢ(yᵢ-μ̂)² / ((k-1)Σwᵢ), t(k-1) quantiles, no
  truncation of the scale factor (metafor's default); with k = 1 metafor falls back
  to z and so does metaall;
* prediction interval μ̂ ± c·√(se² + τ̂²), c the z (or t(k-1) under knha) quantile,
  as metafor's ``predict`` (Riley, Higgins & Deeks 2011, BMJ 342:d549); none for ``FE``;
* Cochran's Q = Σ(yᵢ-μ̂_FE)²/vᵢ on k-1 df; for random effects I² = 100·τ̂²/(τ̂²+ṽ) and
  H² = (τ̂²+ṽ)/ṽ with the typical within-study variance ṽ = (k-1)/(Σwᵢ - Σwᵢ²/Σwᵢ)
  (Higgins & Thompson 2002, Stat Med 21:1539, eq. 9; metafor's definition); for
  ``FE`` I² = max(0, 100·(Q-(k-1))/Q) and H² = Q/(k-1).

All of it is computed for a batch of meta-analyses at once: 2-D ``yi``/``vi`` of shape
(m, k), NaN marking studies absent from a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from metaall import distributions as dist
from metaall import methods
from metaall.models.design import Batch, indicator_design
from metaall.models.heterogeneity import from_q, q_pval
from metaall.models.result import PooledResult, squeeze
from metaall.models.tau2 import estimate_tau2, label_array

if TYPE_CHECKING:
    from metaall.models.metareg import MetaRegressionResult


def check_level(level: float) -> float:
    """Confidence level as a fraction in (0, 1)."""
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    return level


def check_settings(method: str, test: str, level: float) -> tuple[str, str, float]:
    """The canonical names of an inverse-variance method and a CI method (any case or
    alias) and the confidence level as a fraction; ValueError for anything else."""
    return methods.inverse_variance(method).name, methods.ci_method(test).name, check_level(level)


def _study_name(studies: Sequence[str] | None, j: int, row: int | None) -> str:
    name = studies[j] if studies is not None else f"study {j + 1}"
    return name if row is None else f"data set {row + 1}, {name}"


MAX_ABS_EFFECT = 1e50
VARIANCE_RANGE = (1e-50, 1e50)
MAX_VARIANCE_RATIO = 1e8


def _check_ranges(y, v, mask, studies, single) -> None:
    """Refuse values whose sums of squares would overflow, or whose weights differ by
    more than float64 can add up (a ValueError naming the study, never NaN).

    With |yᵢ| ≤ 1e50 and 1e-50 ≤ vᵢ ≤ 1e50 every term the estimators form (up to
    wᵢ³rᵢ², REML's Fisher information) stays below 1e251, far from float64's 1.8e308.
    Within a data set max vᵢ/min vᵢ ≤ 1e8: tr(PP) = Σwᵢ² - 2tr(AM₃) + tr((AM₂)²)
    (REML's information) is of the order of the smallest wᵢ² and is computed from
    terms of the order of the largest: beyond a ratio of 1e8 of the weights, (1e-8)²
    is below float64's 2.2e-16 and it cancels to noise (Σwᵢ - Σwᵢ²/Σwᵢ of
    DerSimonian-Laird and I² likewise, a little later)."""
    low, high = VARIANCE_RANGE
    for bad, why in (
        (mask & (np.abs(y) > MAX_ABS_EFFECT), f"|yi| must be at most {MAX_ABS_EFFECT:g}"),
        (mask & ((v < low) | (v > high)), f"vi must be between {low:g} and {high:g}"),
    ):
        if bad.any():
            r, j = np.argwhere(bad)[0]
            name = _study_name(studies, j, None if single else r)
            raise ValueError(f"{name}: {why} (yi={y[r, j]:g}, vi={v[r, j]:g})")
    vmin = np.where(mask, v, np.inf).min(axis=1)
    vmax = np.where(mask, v, 0.0).max(axis=1)
    wide = vmax > MAX_VARIANCE_RATIO * vmin
    if wide.any():
        r = int(np.argmax(wide))
        j_min = int(np.argmin(np.where(mask[r], v[r], np.inf)))
        j_max = int(np.argmax(np.where(mask[r], v[r], 0.0)))
        where = "" if single else f"data set {r + 1}: "
        raise ValueError(
            f"{where}vi spans more than {MAX_VARIANCE_RATIO:.0e} "
            f"({_study_name(studies, j_min, None)}: {v[r, j_min]:g}, "
            f"{_study_name(studies, j_max, None)}: {v[r, j_max]:g}); weights that far apart "
            "cannot be summed in floating point: check the variances and their units"
        )


def _in_range(y: np.ndarray, v: np.ndarray) -> bool:
    """Whether complete data pass :func:`_check_ranges` (a quick test without masks;
    data that fail it go down the detailed checks, which name the study)."""
    low, high = VARIANCE_RANGE
    vmin, vmax = v.min(axis=1), v.max(axis=1)
    return bool(
        max(y.max(), -y.min()) <= MAX_ABS_EFFECT
        and vmin.min() >= low
        and vmax.max() <= high
        and np.all(vmax <= MAX_VARIANCE_RATIO * vmin)
    )


def make_batch(
    yi, vi, studies: Sequence[str] | None = None, groups=None
) -> tuple[Batch, bool, list]:
    """Validate yi/vi (1-D or 2-D) and return the padded batch, whether input was 1-D,
    and the group names of the design."""
    y = np.atleast_1d(np.asarray(yi, dtype=float))
    v = np.atleast_1d(np.asarray(vi, dtype=float))
    if y.shape != v.shape:
        raise ValueError(f"yi and vi must have the same shape, got {y.shape} and {v.shape}")
    if y.ndim not in (1, 2) or y.shape[-1] == 0:
        raise ValueError(f"yi must be a non-empty 1-D or 2-D array, got shape {y.shape}")
    single = y.ndim == 1
    y2, v2 = np.atleast_2d(y), np.atleast_2d(v)
    k = y2.shape[1]
    if studies is not None and len(studies) != k:
        raise ValueError(f"{len(studies)} study names given for {k} studies")
    X, names = indicator_design(groups, k)
    if np.isfinite(np.add.reduce(y2, None) + np.add.reduce(v2, None)) and _in_range(y2, v2):
        # every study present and valid (a NaN or ±inf would make a sum non-finite;
        # an overflowing sum only sends valid data down the detailed checks below)
        return Batch(y2, v2, np.ones(y2.shape, dtype=bool), X), single, names
    ny, nv = np.isnan(y2), np.isnan(v2)
    for bad, why in (
        (ny != nv, "yi and vi must both be given or both be NaN (absent)"),
        (np.isinf(y2), "yi must be finite"),
        (~nv & ~(v2 > 0), "vi must be positive"),
        (np.isinf(v2), "vi must be finite"),
    ):
        if bad.any():
            r, j = np.argwhere(bad)[0]
            raise ValueError(
                f"{_study_name(studies, j, None if single else r)}: {why} "
                f"(yi={y2[r, j]}, vi={v2[r, j]})"
            )
    mask = ~ny
    empty = ~mask.any(axis=1)
    if empty.any():
        raise ValueError(f"data set {int(np.argmax(empty)) + 1} has no studies")
    _check_ranges(y2, v2, mask, studies, single)
    batch = Batch(np.where(mask, y2, 0.0), np.where(mask, v2, 1.0), mask, X)
    return batch, single, names


def _present(batch: Batch, values: np.ndarray) -> np.ndarray:
    """A copy of per-study ``values`` with NaN for absent studies."""
    return values.copy() if batch.complete else np.where(batch.mask, values, np.nan)


@dataclass(frozen=True)
class FitResult(PooledResult):
    """Result of :func:`fit`; also records how tau² was found."""

    algorithm: np.ndarray | str = "closed form"
    tol: float | None = None

    def _refit(self, keep: np.ndarray) -> FitResult:
        yi = np.where(keep, self.yi, np.nan)
        vi = np.where(keep, self.vi, np.nan)
        return fit(yi, vi, self.method, self.test, self.level, self.tol, self.studies)

    def confint(self, level: float | None = None):
        """Q-profile confidence intervals for tau², I² and H² (see ``qprofile``)."""
        from metaall.models.qprofile import qprofile

        return qprofile(self, self.level if level is None else level)

    def heterogeneity_interval(self):
        """The Q-profile intervals of a single random-effects fit of k ≥ 2 (else None)."""
        if self.batched or self.method == "FE" or self.k < 2:
            return None
        return self.confint()

    def influence(self):
        """Leave-one-out influence diagnostics, as metafor's ``influence``
        (see :func:`metaall.diagnostics.influence`)."""
        from metaall.diagnostics.influence import influence

        return influence(self)

    def baujat(self):
        """Baujat plot coordinates, as metafor's ``baujat``
        (see :func:`metaall.diagnostics.baujat`)."""
        from metaall.diagnostics.influence import baujat

        return baujat(self)


def pool(batch: Batch, method: str, test: str, level: float, tol: float | None) -> dict:
    """Pool every data set of an intercept-only batch; the statistics as (m,) arrays."""
    k = batch.k
    one = k == 1
    if method == "FE":
        tau2 = np.zeros(k.shape)
        algorithm = label_array(k.size, "closed form")
    else:
        est = estimate_tau2(batch, method, tol)
        tau2, algorithm = est.tau2, est.algorithm

    fe = batch.fe
    knha = (test == "knha") & ~one
    re = fe if method == "FE" else batch.pooled(tau2, rss=test == "knha")
    estimate = re.mean
    var = 1.0 / re.sw
    df = np.maximum(k - 1, 1)
    if test == "knha":
        s2w = np.where(re.rss <= np.finfo(float).eps, 0.0, re.rss / df)
        var = np.where(knha, s2w * var, var)
    se = np.sqrt(var)
    alpha = 1 - level
    crit = np.full(k.shape, dist.norm_quantile(1 - alpha / 2))
    if knha.any():  # t quantiles only when asked: scipy.special is slow to import
        crit = np.where(knha, dist.t_quantile(1 - alpha / 2, df), crit)
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = estimate / se
    pval = dist.norm_two_sided_p(zval)
    if knha.any():
        pval = np.where(knha, dist.t_two_sided_p(zval, df), pval)

    Q = np.maximum(fe.rss, 0.0)
    Q = np.where(one, 0.0, Q) if one.any() else Q
    Q_df = k - 1
    if method != "FE":
        Q_pval = q_pval(Q, Q_df)
        with np.errstate(divide="ignore", invalid="ignore"):
            vt = (k - 1) / fe.tr_p
            I2 = np.where(one, 0.0, np.nan_to_num(100 * tau2 / (vt + tau2), nan=0.0))
            H2 = np.where(one, 1.0, tau2 / vt + 1)
        half = crit * np.sqrt(var + tau2)
        pi_lb, pi_ub = estimate - half, estimate + half
    else:
        I2, H2, Q_pval = from_q(Q, Q_df)
        pi_lb = pi_ub = np.full(k.shape, np.nan)
    # percent weights 100·wᵢ/Σw (in place unless the weights are the cached common-effect ones)
    weights = np.multiply(re.w, (100 / re.sw)[:, None], out=None if re is fe else re.w)
    if not batch.complete:
        weights[~batch.mask] = np.nan
    return dict(
        estimate=estimate,
        se=se,
        ci_lb=estimate - crit * se,
        ci_ub=estimate + crit * se,
        zval=zval,
        pval=pval,
        tau2=tau2,
        I2=I2,
        H2=H2,
        Q=Q,
        Q_df=Q_df,
        Q_pval=Q_pval,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        weights=weights,
        k=k,
        algorithm=algorithm,
    )


def fit(
    yi,
    vi,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tol: float | None = None,
    studies: Sequence[str] | None = None,
    mods=None,
) -> FitResult | MetaRegressionResult:
    """Fit a common-effect (``method='FE'``) or random-effects model.

    ``method`` is ``FE`` or a tau² estimator (``DL``, ``HE``, ``HS``, ``HSk``, ``SJ``,
    ``ML``, ``REML``, ``EB``, ``PM``; see :mod:`metaall.models.tau2`); ``test`` is
    ``'z'`` or ``'knha'`` (Hartung-Knapp). ``yi``/``vi`` may be 2-D (m, k): m
    meta-analyses fitted in one vectorised call, NaN marking absent studies; every
    attribute of the result is then an array over the m fits. ``tol=None`` follows
    metafor's convergence rules exactly (its numbers are reproduced to machine
    precision); a number asks for that absolute accuracy on tau².

    With ``mods`` (an array (k,) or (k, q), or a mapping of names to columns), the
    meta-regression on an intercept and the moderators is fitted instead and a
    :class:`~metaall.models.metareg.MetaRegressionResult` returned (see
    :func:`~metaall.models.metareg.meta_regression`).
    """
    if mods is not None:
        from metaall.models.metareg import meta_regression

        return meta_regression(yi, vi, mods, method, test, level, tol, studies)
    method, test, level = check_settings(method, test, level)
    batch, single, _ = make_batch(yi, vi, studies)
    stats_ = pool(batch, method, test, level, tol)
    yi2, vi2 = _present(batch, batch.y), _present(batch, batch.v)
    values = squeeze({**stats_, "yi": yi2, "vi": vi2}, single)
    algorithm = values.pop("algorithm")
    return FitResult(
        **values,
        method=method,
        test=test,
        level=level,
        i2_source="Q" if method == "FE" else "tau2",
        studies=tuple(studies) if studies is not None else None,
        algorithm=algorithm,
        tol=tol,
    )
