"""Meta-regression: the mixed-effects model with moderators (metafor ``rma.uni`` with
``mods``), for one data set or a batch of data sets sharing one design.

The model yᵢ = xᵢ'β + uᵢ + εᵢ, uᵢ ~ N(0, τ²), εᵢ ~ N(0, vᵢ), with X = [1, mods] (k × p),
is fitted by weighted least squares at the τ² of the chosen estimator
(:mod:`metaall.models.tau2`, all of which take the design into account; ``FE`` for
τ² = 0). With W = diag(1/(vᵢ + τ̂²)) (Viechtbauer 2010, J Stat Softw 36(3) §3.3;
Viechtbauer 2005, Stat Med 24:3-24; Cochrane Handbook v6.4 §10.11.4):

* β̂ = (X'WX)⁻¹X'Wy, Var(β̂) = (X'WX)⁻¹; Wald z tests and CIs per coefficient;
* ``test='knha'``: Var(β̂) scaled by s² = Σwᵢ(yᵢ - xᵢ'β̂)²/(k-p) (Knapp & Hartung 2003,
  Stat Med 22:2693), t(k-p) tests and CIs;
* omnibus test of the moderators (every coefficient but the intercept; the
  intercept itself in an intercept-only model): QM = β̂₂'V₂₂⁻¹β̂₂ ~ χ²(p-1), or under
  ``knha`` QM/(p-1) ~ F(p-1, k-p), as metafor;
* residual heterogeneity QE = y'P y at τ² = 0 ~ χ²(k-p), P = W - WX(X'WX)⁻¹X'W;
* residual I² = 100·τ̂²/(τ̂² + ṽ), H² = (τ̂² + ṽ)/ṽ with ṽ = (k-p)/tr(P) at τ² = 0
  (metafor's definition); for ``FE`` I² = max(0, 100(QE - (k-p))/QE), H² = QE/(k-p);
* pseudo-R² = max(0, 100·(τ̂₀² - τ̂²)/τ̂₀²) with τ̂₀² from the intercept-only model of
  the same estimator (Raudenbush 2009; López-López et al. 2014, Br J Math Stat Psychol
  67:30; 0 when τ̂₀² = 0), metafor's default; for ``FE`` metafor's adjusted R² of the
  weighted regression (``lm(yi ~ X, weights = 1/vi)``), truncated at 0.

Predictions (for bubble plots): ŷ = x'β̂, se = √(x'Var(β̂)x), CI with the z or t(k-p)
quantile, prediction interval ŷ ± crit·√(se² + τ̂²) (metafor ``predict.rma``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from metaall import distributions as dist
from metaall.models.design import Batch
from metaall.models.heterogeneity import from_q
from metaall.models.result import squeeze
from metaall.models.tau2 import estimate_tau2, label_array

INTERCEPT = "intrcpt"  # metafor's name for the intercept


@dataclass(frozen=True)
class Prediction:
    """Fitted values at given moderator values, with confidence and prediction intervals."""

    pred: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray


@dataclass(frozen=True)
class MetaRegressionResult:
    """Result of :func:`meta_regression` (``fit(..., mods=...)``); see module docstring.

    Per-coefficient arrays (``beta``, ``se``, ``zval``, ``pval``, ``ci_lb``, ``ci_ub``)
    have the intercept first and shape (p,), or (m, p) for a batch; ``vb`` is the
    covariance of β̂, (p, p) or (m, p, p). The tests and heterogeneity statistics are
    floats, or arrays of shape (m,) for a batch. ``zval`` holds t statistics and
    ``QM`` an F statistic (on ``QM_df`` and ``df`` degrees of freedom) under
    ``test='knha'``. ``I2`` and ``R2`` are in percent.
    """

    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    QM: np.ndarray | float
    QM_df: int
    QM_pval: np.ndarray | float
    QE: np.ndarray | float
    QE_df: np.ndarray | int
    QE_pval: np.ndarray | float
    tau2: np.ndarray | float
    I2: np.ndarray | float
    H2: np.ndarray | float
    R2: np.ndarray | float
    df: np.ndarray | int  # residual degrees of freedom k - p
    k: np.ndarray | int
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray  # (k, p) design, intercept column first
    names: tuple[str, ...]
    method: str
    test: str
    level: float
    algorithm: np.ndarray | str = "closed form"
    tol: float | None = None
    studies: tuple[str, ...] | None = None

    @property
    def batched(self) -> bool:
        """True when the result holds many meta-regressions (2-D input)."""
        return np.ndim(self.tau2) > 0

    @property
    def p(self) -> int:
        """Number of coefficients, intercept included."""
        return self.X.shape[1]

    def predict(self, newmods=None, level: float | None = None) -> Prediction:
        """Predicted effects at moderator values ``newmods`` ((n, p-1) or (n,) for one
        moderator; default: the studies' own values), as metafor's ``predict.rma``."""
        if self.batched:
            raise ValueError("predict needs a single meta-regression, not a batch")
        if newmods is None:
            X = self.X
        else:
            new = np.asarray(newmods, dtype=float).reshape(-1, self.p - 1)
            X = np.column_stack([np.ones(new.shape[0]), new])
        level = self.level if level is None else _check_level(level)
        crit = _critical(self.test, level, np.asarray(self.df))
        pred = X @ self.beta
        se = np.sqrt(np.einsum("np,pq,nq->n", X, self.vb, X))
        half_ci, half_pi = crit * se, crit * np.sqrt(se**2 + self.tau2)
        return Prediction(pred, se, pred - half_ci, pred + half_ci, pred - half_pi, pred + half_pi)


def _check_level(level: float) -> float:
    from metaall.models.fit import check_level  # fit imports this module lazily

    return check_level(level)


def _critical(test: str, level: float, df: np.ndarray) -> np.ndarray:
    """The z or t(df) quantile for a two-sided interval at ``level``."""
    alpha = 1 - level
    if test == "knha":
        return dist.t_quantile(1 - alpha / 2, df)
    return np.full(np.shape(df), dist.norm_quantile(1 - alpha / 2))


def coefficient_tests(batch: Batch, method: str, test: str, level: float, tol) -> dict:
    """τ², coefficients, their covariance, tests and CIs, and the omnibus QM for every
    data set of ``batch`` (the part of the fit a permutation test repeats)."""
    if method == "FE":
        tau2 = np.zeros(batch.k.shape)
        algorithm = label_array(batch.k.size, "closed form")
    else:
        est = estimate_tau2(batch, method, tol)
        tau2, algorithm = est.tau2, est.algorithm
    wls = batch.wls(tau2)
    beta, vb = wls.beta, wls.covariance
    p = batch.X.shape[1]
    df = batch.k - p
    if test == "knha":
        s2w = np.where(wls.rss <= np.finfo(float).eps, 0.0, wls.rss / df)
        vb = s2w[:, None, None] * vb
    se = np.sqrt(np.einsum("ipp->ip", vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    tested = slice(1, None) if p > 1 else slice(0, 1)
    b, V = beta[:, tested], vb[:, tested, tested]
    m = b.shape[1]
    if m == 1:  # one tested coefficient: QM = b²/V, no LAPACK call per data set
        degenerate = ~(V[:, 0, 0] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            QM = np.where(degenerate, np.inf, b[:, 0] ** 2 / V[:, 0, 0])
    else:
        degenerate = ~(np.linalg.det(V) > 0)  # knha with a perfect fit: s² = 0
        V = np.where(degenerate[:, None, None], np.eye(m), V)
        QM = np.einsum("ip,ip->i", b, np.linalg.solve(V, b[..., None])[..., 0])
        QM = np.where(degenerate, np.inf, QM)
    crit = _critical(test, level, df)
    if test == "knha":
        QM = QM / m
        QM_pval = dist.f_sf(QM, m, df)
        pval = dist.t_two_sided_p(zval, df[:, None])
    else:
        QM_pval = dist.chi2_sf(QM, m)
        pval = dist.norm_two_sided_p(zval)
    return dict(
        beta=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=beta - crit[:, None] * se,
        ci_ub=beta + crit[:, None] * se,
        vb=vb,
        QM=QM,
        QM_df=m,
        QM_pval=QM_pval,
        tau2=tau2,
        df=df,
        algorithm=algorithm,
    )


def _heterogeneity(batch: Batch, method: str, tau2: np.ndarray) -> dict:
    """Residual QE with its test, I² and H² (see module docstring)."""
    fe = batch.wls(0.0)
    df = batch.k - batch.X.shape[1]
    QE = np.maximum(fe.rss, 0.0)
    I2, H2, QE_pval = from_q(QE, df)
    if method != "FE":
        vt = df / fe.tr_p
        I2, H2 = 100 * tau2 / (vt + tau2), tau2 / vt + 1
    return dict(QE=QE, QE_df=df, QE_pval=QE_pval, I2=I2, H2=H2)


def _pseudo_r2(batch: Batch, method: str, tau2: np.ndarray, tol) -> np.ndarray:
    """metafor's R² (percent): τ² explained, or for FE the adjusted weighted R²."""
    if method != "FE":
        null = replace(batch, X=np.ones((batch.X.shape[0], 1)))
        tau2_0 = estimate_tau2(null, method, tol).tau2
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(tau2_0 > 0, 100 * (tau2_0 - tau2) / tau2_0, 0.0)
        return np.maximum(0.0, r2)
    fe = batch.wls(0.0)
    w = fe.w
    fitted = np.where(batch.mask, batch.y - fe.resid, 0.0)
    centre = (w * fitted).sum(1, keepdims=True) / fe.sum_w[:, None]
    mss = (w * (fitted - centre) ** 2).sum(1)
    k, p = batch.k, batch.X.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        adj = 1 - (1 - mss / (mss + fe.rss)) * (k - 1) / (k - p)
    constant = mss + fe.rss == 0  # every yᵢ equal: metafor's R² = 0
    return np.where(constant, 0.0, np.maximum(0.0, 100 * adj))


def design_matrix(mods, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """X = [1, mods] (k, p) and the coefficient names from ``mods``: an array (k,) or
    (k, q), or a mapping of names to columns (e.g. with :func:`dummy_columns`)."""
    if isinstance(mods, Mapping):
        names = tuple(str(name) for name in mods)
        columns = [np.asarray(col, dtype=float) for col in mods.values()]
        if not columns or any(col.shape != (k,) for col in columns):
            shapes = [col.shape for col in columns]
            raise ValueError(f"each moderator needs one value per study ({k}), got {shapes}")
        M = np.column_stack(columns)
    else:
        M = np.asarray(mods, dtype=float)
        M = M[:, None] if M.ndim == 1 else M
        if M.ndim != 2 or M.shape[0] != k or M.shape[1] == 0:
            raise ValueError(f"mods must have one row per study ({k}), got shape {M.shape}")
        names = tuple(f"mod{j + 1}" for j in range(M.shape[1]))
    if not np.isfinite(M).all():
        row = int(np.argwhere(~np.isfinite(M))[0][0])
        raise ValueError(f"moderator values must be finite numbers (study {row + 1})")
    return np.column_stack([np.ones(k), M]), (INTERCEPT, *names)


def dummy_columns(labels, name: str = "", levels: Sequence | None = None) -> dict:
    """0/1 columns for a categorical moderator, one per level but the reference.

    As R's treatment contrasts for ``factor(labels)``: the reference is the first
    level, the levels being sorted (as R's ``factor`` does; pass ``levels`` to choose
    the order, and so the reference). Columns are named ``name + level``, as R names
    them. Raises ``ValueError`` for a label not among ``levels`` or a single level.
    """
    labels = [str(x) for x in labels]
    levels = sorted(set(labels)) if levels is None else [str(x) for x in levels]
    unknown = sorted(set(labels) - set(levels))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the levels {levels}")
    if len(levels) < 2:
        raise ValueError(f"a categorical moderator needs at least 2 levels, got {levels}")
    values = np.array(labels, dtype=object)
    return {f"{name}{level}": (values == level).astype(float) for level in levels[1:]}


def _check_design(batch: Batch, single: bool) -> None:
    """Every data set needs more studies than coefficients and a full-rank design."""
    p = batch.X.shape[1]
    few = batch.k <= p
    where = "" if single else f"data set {int(np.argmax(few)) + 1}: "
    if few.any():
        raise ValueError(
            f"{where}a meta-regression with {p} coefficients needs more than {p} studies, "
            f"got {int(batch.k[np.argmax(few)])}"
        )
    gram = np.einsum("ik,kp,kq->ipq", batch.mask.astype(float), batch.X, batch.X)
    rank = np.linalg.matrix_rank(gram)
    deficient = rank < p
    if deficient.any():
        where = "" if single else f"data set {int(np.argmax(deficient)) + 1}: "
        raise ValueError(
            f"{where}the moderators are collinear (the design has rank "
            f"{int(rank[np.argmax(deficient)])} for {p} coefficients)"
        )


def meta_regression(
    yi,
    vi,
    mods,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tol: float | None = None,
    studies: Sequence[str] | None = None,
) -> MetaRegressionResult:
    """Fit the meta-regression of ``yi`` on an intercept and ``mods``; see module
    docstring. ``yi``/``vi`` may be 2-D (m, k): m data sets with one design, NaN
    marking absent studies. ``method``, ``test``, ``level`` and ``tol`` as
    :func:`metaall.fit` (which calls this when given ``mods``).
    """
    from metaall.models.fit import check_settings, make_batch

    method, test, level = check_settings(method, test, level)
    batch, single, _ = make_batch(yi, vi, studies)
    X, names = design_matrix(mods, batch.y.shape[1])
    batch = replace(batch, X=X)
    _check_design(batch, single)
    stats_ = coefficient_tests(batch, method, test, level, tol)
    stats_.update(_heterogeneity(batch, method, stats_["tau2"]))
    stats_["R2"] = _pseudo_r2(batch, method, stats_["tau2"], tol)
    stats_["k"] = batch.k
    stats_["yi"] = np.where(batch.mask, batch.y, np.nan)
    stats_["vi"] = np.where(batch.mask, batch.v, np.nan)
    QM_df = stats_.pop("QM_df")
    values = squeeze(stats_, single)
    return MetaRegressionResult(
        **values,
        QM_df=QM_df,
        X=X,
        names=names,
        method=method,
        test=test,
        level=level,
        tol=tol,
        studies=tuple(studies) if studies is not None else None,
    )
