"""Small-study effects: funnel-plot asymmetry tests and trim-and-fill.

Regression tests (each a weighted linear model fitted by least squares with a
multiplicative dispersion parameter, t test on k - 2 df; ``bias`` is the asymmetry
coefficient, ``limit_estimate`` the other coefficient):

* Egger et al. (1997, BMJ 315:629), as metafor ``regtest(model = "lm",
  predictor = "sei")``: yᵢ = b₀ + b₁·seᵢ with weights 1/vᵢ. b₁ equals the intercept of
  Egger's regression of the standard normal deviate yᵢ/seᵢ on the precision 1/seᵢ, and
  b₀ (its slope) is the limit estimate as seᵢ → 0 (Sterne & Egger 2005, in *Publication
  Bias in Meta-Analysis*, ch. 6).
* Peters et al. (2006, JAMA 295:676), as R meta ``metabias(method.bias = "Peters")``:
  log ORᵢ = b₀ + b₁/Nᵢ with weights 1/(1/(aᵢ+cᵢ) + 1/(bᵢ+dᵢ)), Nᵢ the total sample
  size; test of b₁.
* Harbord et al. (2006, Stat Med 25:3443), R meta's default for odds ratios: with
  Zᵢ = aᵢ - E(aᵢ) the observed minus expected events and Vᵢ its hypergeometric variance
  (the Peto terms), Zᵢ/√Vᵢ = b₀ + b₁·√Vᵢ by ordinary least squares; test of b₀. (R meta
  fits the equivalent weighted model Zᵢ/Vᵢ = b₁ + b₀/√Vᵢ with weights Vᵢ.)

Rank correlation (Begg & Mazumdar 1994, Biometrics 50:1088), as metafor ``ranktest``:
Kendall's τ between the standardised deviates (yᵢ - θ̂)/√(vᵢ - v̂) (θ̂ the
common-effect estimate, v̂ its variance) and vᵢ; the exact permutation p-value when
there are no ties (metafor asks R's ``cor.test`` for it at any k), otherwise the normal
approximation with the tie-corrected variance and no continuity correction.

Trim-and-fill (Duval & Tweedie 2000, Biometrics 56:455 and JASA 95:89), as metafor
``trimfill.rma.uni``; see :func:`trim_and_fill`.

The Cochrane Handbook v6.4 §13.3.5.4 advises against these tests with fewer than 10
studies (too little power to tell chance from asymmetry): metaall computes them anyway
and says so in the result's ``warning`` and with a :class:`FewStudiesWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from metaall import distributions as dist
from metaall import methods
from metaall.effects import effect_sizes, peto_terms
from metaall.models.fit import FitResult, check_level, fit
from metaall.models.metareg import meta_regression

MIN_STUDIES_ADVISED = 10  # Cochrane Handbook v6.4 §13.3.5.4
ESTIMATORS = ("L0", "R0", "Q0")
TRIMFILL_MAXITER = 100  # metafor's default maxiter


class FewStudiesWarning(UserWarning):
    """A funnel-plot asymmetry test was run on fewer than 10 studies."""


def _few_studies(k: int, what: str) -> str | None:
    """The warning text for k < 10 studies (issued as a FewStudiesWarning), or None."""
    if k >= MIN_STUDIES_ADVISED:
        return None
    text = (
        f"{what} on {k} studies: the Cochrane Handbook (v6.4 §13.3.5.4) advises against "
        f"funnel-plot asymmetry tests with fewer than {MIN_STUDIES_ADVISED} studies, "
        "whose power is too low to distinguish chance from real asymmetry"
    )
    warnings.warn(text, FewStudiesWarning, stacklevel=3)
    return text


def _effects(yi, vi, what: str, k_min: int) -> tuple[np.ndarray, np.ndarray]:
    """1-D yi, vi with absent studies (both NaN) removed; ValueError on bad input."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim != 1 or v.ndim != 1:
        raise ValueError(f"{what} needs 1-D yi and vi (one meta-analysis)")
    if y.shape != v.shape:
        raise ValueError(f"yi and vi must have the same length, got {y.size} and {v.size}")
    absent = np.isnan(y) & np.isnan(v)
    y, v = y[~absent], v[~absent]
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        raise ValueError("yi and vi must be finite (or both NaN for an absent study)")
    if (v <= 0).any():
        raise ValueError("vi must be positive")
    if y.size < k_min:
        raise ValueError(f"{what} needs at least {k_min} studies, got {y.size}")
    return y, v


def _counts(ai, n1i, ci, n2i) -> tuple[np.ndarray, ...]:
    arrays = [np.asarray(a, dtype=float) for a in (ai, n1i, ci, n2i)]
    if any(a.ndim != 1 for a in arrays):
        raise ValueError("ai, n1i, ci, n2i must be 1-D (one meta-analysis)")
    if len({a.size for a in arrays}) != 1:
        names = ("ai", "n1i", "ci", "n2i")
        sizes = ", ".join(f"{n}={a.size}" for n, a in zip(names, arrays, strict=True))
        raise ValueError(f"ai, n1i, ci, n2i must have the same length, got {sizes}")
    return tuple(arrays)


@dataclass(frozen=True)
class EggerResult:
    """A regression test for funnel-plot asymmetry (Egger, Peters or Harbord).

    ``bias`` is the asymmetry coefficient with standard error ``se``, t statistic
    ``tval`` on ``df`` = k - 2 degrees of freedom and two-sided ``pval``;
    ``limit_estimate`` (with ``limit_se`` and its t interval ``limit_ci_lb``,
    ``limit_ci_ub`` at ``level``) is the other coefficient: for Egger and Peters the
    effect expected in an infinitely large study, for Harbord the slope b₁ (close to
    the pooled log odds ratio). ``warning`` is set when k < 10.
    """

    test: str
    bias: float
    se: float
    tval: float
    pval: float
    df: int
    limit_estimate: float
    limit_se: float
    limit_ci_lb: float
    limit_ci_ub: float
    level: float
    k: int
    warning: str | None = None


def _regression_test(
    test: str, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, bias_is_slope: bool, level
) -> EggerResult:
    """Weighted least squares y = b₀ + b₁x (statsmodels ``WLS``) and the t test of the
    bias coefficient: b₁ when ``bias_is_slope``, else b₀."""
    from statsmodels.regression.linear_model import WLS  # heavy import, only when asked

    level = check_level(level)
    k = y.size
    if k < 3:
        raise ValueError(f"{test}'s test needs at least 3 studies, got {k}")
    design = np.column_stack([np.ones(k), x])
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        raise ValueError(
            f"{test}'s test is undefined when every study has the same "
            f"{'precision' if test != 'Peters' else 'sample size'}"
        )
    warning = _few_studies(k, f"{test}'s test")
    res = WLS(y, design, weights=np.ones(k) if w is None else w).fit()
    b, o = (1, 0) if bias_is_slope else (0, 1)
    df = int(res.df_resid)
    crit = dist.t_quantile(0.5 + level / 2, df)
    limit, limit_se = float(res.params[o]), float(res.bse[o])
    return EggerResult(
        test=test,
        bias=float(res.params[b]),
        se=float(res.bse[b]),
        tval=float(res.tvalues[b]),
        pval=float(res.pvalues[b]),
        df=df,
        limit_estimate=limit,
        limit_se=limit_se,
        limit_ci_lb=limit - crit * limit_se,
        limit_ci_ub=limit + crit * limit_se,
        level=level,
        k=k,
        warning=warning,
    )


def egger_test(yi, vi, level: float = 0.95) -> EggerResult:
    """Egger's regression test: yᵢ = b₀ + b₁·√vᵢ weighted by 1/vᵢ, t test of b₁.

    As metafor ``regtest(model = "lm", predictor = "sei")`` (see the module docstring).
    Needs k ≥ 3 studies; warns (without refusing) when k < 10. NaN in both ``yi`` and
    ``vi`` marks an absent study.
    """
    y, v = _effects(yi, vi, "Egger's test", k_min=0)
    return _regression_test("Egger", np.sqrt(v), y, 1.0 / v, True, level)


def _informative(ai, n1i, ci, n2i) -> tuple[np.ndarray, ...]:
    """Tables with at least one event and one non-event overall (the others carry no
    information on the odds ratio; R meta leaves them out as well)."""
    a, n1, c, n2 = _counts(ai, n1i, ci, n2i)
    keep = ((a + c) > 0) & ((n1 - a + n2 - c) > 0)
    return a[keep], n1[keep], c[keep], n2[keep]


def peters_test(ai, n1i, ci, n2i, level: float = 0.95) -> EggerResult:
    """Peters' test (Peters et al. 2006, JAMA 295:676) for 2×2 tables.

    Weighted regression of the log odds ratio on 1/Nᵢ (Nᵢ = n1ᵢ + n2ᵢ) with weights
    1/(1/(aᵢ+cᵢ) + 1/(bᵢ+dᵢ)), t test of the slope (``bias``), as R meta's
    ``metabias(method.bias = "Peters")``. The log odds ratio uses R meta's and
    metafor's default continuity correction: 0.5 added to every cell of a table with
    a zero cell (and only those tables); the weights use the uncorrected counts.
    Tables with no events (or only events) in both arms are left out, as R meta does.
    """
    a, n1, c, n2 = _informative(ai, n1i, ci, n2i)
    es = effect_sizes(a, n1, c, n2, measure="OR", add=0.5, to="only0")
    weight = 1.0 / (1.0 / (a + c) + 1.0 / (n1 - a + n2 - c))
    return _regression_test("Peters", 1.0 / (n1 + n2), es.yi, weight, True, level)


def harbord_test(ai, n1i, ci, n2i, level: float = 0.95) -> EggerResult:
    """Harbord's score-based test (Harbord, Egger & Sterne 2006, Stat Med 25:3443).

    With Zᵢ = aᵢ - (aᵢ+cᵢ)n1ᵢ/Nᵢ and Vᵢ = n1ᵢn2ᵢ(aᵢ+cᵢ)(bᵢ+dᵢ)/(Nᵢ²(Nᵢ-1)) (the
    efficient score and Fisher information of the log odds ratio, no continuity
    correction needed), ordinary least squares of Zᵢ/√Vᵢ on √Vᵢ; ``bias`` is the
    intercept, as R meta's default test for odds ratios
    (``metabias(method.bias = "Harbord")``). Tables with no events (or only events)
    in both arms (Vᵢ = 0) are left out.
    """
    a, n1, c, n2 = _informative(ai, n1i, ci, n2i)
    z, v = peto_terms(a, n1, c, n2)
    return _regression_test("Harbord", np.sqrt(v), z / np.sqrt(v), None, False, level)


@dataclass(frozen=True)
class BeggResult:
    """Begg and Mazumdar's rank correlation test: Kendall's ``tau`` and its two-sided
    ``pval`` (``exact`` says whether the permutation distribution was used)."""

    tau: float
    pval: float
    exact: bool
    k: int
    warning: str | None = None


def begg_test(yi, vi) -> BeggResult:
    """Begg's rank correlation test, as metafor ``ranktest`` (see the module docstring).

    Needs k ≥ 2 studies; warns (without refusing) when k < 10.
    """
    y, v = _effects(yi, vi, "Begg's test", k_min=2)
    w = 1.0 / v
    theta = np.sum(w * y) / w.sum()
    deviates = (y - theta) / np.sqrt(v - 1.0 / w.sum())
    warning = _few_studies(y.size, "Begg's test")
    ties = np.unique(deviates).size < y.size or np.unique(v).size < y.size
    method = "asymptotic" if ties else "exact"
    from scipy.stats import kendalltau  # scipy.stats is slow to import: only when asked

    res = kendalltau(deviates, v, method=method)
    return BeggResult(float(res.statistic), float(res.pvalue), not ties, y.size, warning)


def _from_fit(name: str) -> property:
    return property(
        lambda self: getattr(self.fit, name), doc=f"``{name}`` of the fit on the filled data."
    )


@dataclass(frozen=True)
class TrimFillResult:
    """Trim-and-fill: the number of missing studies ``k0`` (with ``se_k0``; for R0 also
    ``p_k0``, the probability of at least k0 under no asymmetry), the ``side`` they were
    imputed on, the imputed studies ``filled_yi``/``filled_vi``, and the pooled result on
    the filled data, ``fit`` (observed studies first, then the filled ones). ``estimate``,
    ``se``, ``tau2``, ``ci_lb``, ``ci_ub``, ``zval``, ``pval`` and ``method`` are read from
    ``fit``."""

    k0: int
    se_k0: float
    p_k0: float
    side: str
    estimator: str
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    fit: FitResult = field(repr=False)

    estimate = _from_fit("estimate")
    se = _from_fit("se")
    tau2 = _from_fit("tau2")
    ci_lb = _from_fit("ci_lb")
    ci_ub = _from_fit("ci_ub")
    zval = _from_fit("zval")
    pval = _from_fit("pval")
    method = _from_fit("method")


def _ranks_first(x: np.ndarray) -> np.ndarray:
    """Ranks 1..k, ties in order of appearance (R's ``rank(ties.method = "first")``)."""
    ranks = np.empty(x.size)
    ranks[np.argsort(x, kind="stable")] = np.arange(1, x.size + 1)
    return ranks


def _k0(centred: np.ndarray, estimator: str) -> tuple[float, float]:
    """Unrounded k0 and its standard error from the centred, sorted effects."""
    k = centred.size
    signed = np.sign(centred) * _ranks_first(np.abs(centred))
    if estimator == "R0":
        negative = -signed[signed < 0]
        k0 = k - (negative.max() if negative.size else 0.0) - 1
        return k0, float(np.sqrt(2 * max(0.0, k0) + 2))
    s_r = signed[signed > 0].sum()
    if estimator == "L0":
        k0 = (4 * s_r - k * (k + 1)) / (2 * k - 1)
    else:  # Q0
        with np.errstate(invalid="ignore"):
            k0 = k - 0.5 - np.sqrt(2 * k**2 - 4 * s_r + 0.25)
    var_sr = (
        k * (k + 1) * (2 * k + 1)
        + 10 * k0**3
        + 27 * k0**2
        + 17 * k0
        - 18 * k * k0**2
        - 18 * k * k0
        + 6 * k**2 * k0
    ) / 24
    with np.errstate(invalid="ignore"):
        if estimator == "L0":
            se = 4 * np.sqrt(var_sr) / (2 * k - 1)
        else:
            se = 2 * np.sqrt(var_sr) / np.sqrt((k - 0.5) ** 2 - k0 * (2 * k - k0 - 1))
    return float(k0), float(se)


def trim_and_fill(
    yi,
    vi,
    method: str = "FE",
    side: str | None = None,
    estimator: str = "L0",
    level: float = 0.95,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill, as metafor ``trimfill.rma.uni``.

    1. ``side=None``: the missing studies are assumed on the left of the funnel when
       the slope of the meta-regression of yᵢ on √vᵢ (fitted with ``method``) is
       positive or zero, on the right when it is negative.
    2. Effects are mirrored for ``side='right'`` and sorted. Iterate from k0 = 0:
       pool (with ``method``) the k - k0 smallest effects to θ̂, rank |yᵢ - θ̂| over all
       k studies (ties by position) and estimate k0 from the signed ranks:
       L0 = (4Sᵣ - k(k+1))/(2k-1), Sᵣ the sum of the positive ranks;
       R0 = γ* - 1, γ* the run of positive ranks at the top (k minus the largest
       negative rank); Q0 = k - ½ - √(2k² - 4Sᵣ + ¼); k0 = max(0, round(k0)), until k0
       no longer changes (metafor's limit of 100 iterations).
    3. Fill: the k0 most extreme studies mirrored about θ̂ (2θ̂ - yᵢ, same vᵢ), and
       pool the k + k0 studies with ``method`` (z test, ``level``; as metafor, which
       refits without the Hartung-Knapp option).

    Standard error of k0 (Duval & Tweedie 2000, Biometrics 56:455, eq. for Var(Sᵣ)):
    L0: 4√Var(Sᵣ)/(2k-1); R0: √(2k0 + 2). Needs k ≥ 3 studies.
    """
    method = methods.inverse_variance(method).name
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}")
    if side not in (None, "left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None (from the data), got {side!r}")
    level = check_level(level)
    y, v = _effects(yi, vi, "trim-and-fill", k_min=3)
    k = y.size
    if side is None:
        if np.ptp(v) == 0:  # metafor stops here too: the slope on √vᵢ is undefined
            raise ValueError("all studies have the same variance: choose the side (left/right)")
        side = "right" if meta_regression(y, v, np.sqrt(v), method).beta[1] < 0 else "left"
    flip = -1.0 if side == "right" else 1.0
    order = np.argsort(flip * y, kind="stable")
    ys, vs = flip * y[order], v[order]

    k0, previous, iterations = 0, -1, 0
    while k0 != previous:
        iterations += 1
        if iterations > TRIMFILL_MAXITER:
            raise RuntimeError(f"trim-and-fill did not converge in {TRIMFILL_MAXITER} iterations")
        previous = k0
        theta = float(fit(ys[: k - k0], vs[: k - k0], method).estimate)
        raw, se_k0 = _k0(ys - theta, estimator)
        if np.isnan(raw):
            raise ValueError(f"the {estimator} estimator is undefined for these data")
        k0 = int(max(0, np.round(raw)))
        se_k0 = max(0.0, se_k0) if not np.isnan(se_k0) else se_k0

    filled_yi = flip * (2 * theta - ys[k - k0 :])
    filled_vi = vs[k - k0 :]
    res = fit(np.concatenate([y, filled_yi]), np.concatenate([v, filled_vi]), method, level=level)
    return TrimFillResult(
        k0=k0,
        se_k0=se_k0,
        p_k0=0.5 ** (k0 + 1) if estimator == "R0" else np.nan,
        side=side,
        estimator=estimator,
        filled_yi=filled_yi,
        filled_vi=filled_vi,
        fit=res,
    )
