"""Estimators of the between-study variance tau², for a batch of data sets at once.

Each estimator is computed as R's metafor 3.8 (``rma.uni``) computes it, including
metafor's starting values and stopping rules, so that results agree with metafor to
machine precision (Viechtbauer 2010, J Stat Softw 36(3); formulas for the general
model with moderators in Viechtbauer 2005, Stat Med 24:3-24, and Veroniki et al.
2016, Res Synth Methods 7:55-79). With k studies, p model coefficients and
wᵢ = 1/vᵢ:

* ``DL`` DerSimonian & Laird (1986): (Q - (k-p)) / tr(P).
* ``HE`` Hedges (1983), Hedges & Olkin (1985): (RSS_ols - tr(P_ols V)) / (k-p).
* ``HS`` Hunter & Schmidt (2004): (Q - k) / Σwᵢ.
* ``HSk`` Brannick et al. (2019), small-sample HS: (k/(k-p) Q - k) / Σwᵢ.
* ``SJ`` Sidik & Jonkman (2005): τ₀² · Q(τ₀²) / (k-p), τ₀² = Σ(yᵢ-ȳ)²/k.
* ``ML``, ``REML`` Viechtbauer (2005): maximisers of the (restricted) likelihood,
  by Fisher scoring from the HE value, step halving at zero, stopping when the
  change is below 1e-5, then metafor's check that tau² = 0 is not more likely.
* ``EB`` Morris (1983), Berkey et al. (1995): metafor's empirical-Bayes iteration.
* ``PM`` Paule & Mandel (1982): root of Q(tau²) = k - p on [0, max(100, 10·mad²)]
  by Brent's method at R's ``uniroot`` tolerance.

Negative values are truncated at zero. Passing ``tol`` tightens every iterative
rule (threshold and root tolerance) so that the exact solution is returned.

Where Fisher scoring fails to converge (metafor stops with an error), metaall
locates every sign change of the score on a grid, refines each with
scipy's bracketing root finder and returns the candidate (or zero) with the highest
likelihood; ``algorithm`` says which route produced each value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall import methods
from metaall.models.brent import R_UNIROOT_TOL, brent_root
from metaall.models.design import Batch

FISHER_THRESHOLD = 1e-5  # metafor's control$threshold
FISHER_MAXITER = 100  # metafor's control$maxiter
TIGHT_MAXITER = 500  # Fisher scoring converges in a few steps or oscillates


@dataclass(frozen=True)
class Tau2Estimate:
    """tau² per data set, with the algorithm that produced it and its iterations."""

    tau2: np.ndarray
    algorithm: np.ndarray  # str per data set
    iterations: np.ndarray  # int per data set


def _closed(tau2: np.ndarray, name: str) -> Tau2Estimate:
    n = tau2.shape[0]
    return Tau2Estimate(np.maximum(tau2, 0.0), np.full(n, name, dtype=object), np.zeros(n, int))


def _df(batch: Batch) -> np.ndarray:
    """Residual degrees of freedom k - p, guarded against zero (k = 1 fits)."""
    return np.maximum(batch.k - batch.p, 1)


def _hedges(batch: Batch) -> np.ndarray:
    ols = batch.ols()
    tr_pv = np.where(batch.mask, batch.v * (1.0 - batch.leverage_ols()), 0.0).sum(1)
    rss = (ols.resid**2).sum(1)
    return (rss - tr_pv) / _df(batch)


def _dl(batch: Batch) -> np.ndarray:
    fe = batch.wls(0.0)
    return (fe.rss - (batch.k - batch.p)) / fe.tr_p


def _hs(batch: Batch, small_sample: bool) -> np.ndarray:
    fe = batch.wls(0.0)
    q = fe.rss * batch.k / _df(batch) if small_sample else fe.rss
    return (q - batch.k) / fe.sum_w


def _sj(batch: Batch) -> np.ndarray:
    yn = np.where(batch.mask, batch.y, np.nan)
    tau0 = np.nanmean((yn - np.nanmean(yn, axis=1, keepdims=True)) ** 2, axis=1)
    return tau0 * batch.wls(tau0).rss / _df(batch)


def _step(batch: Batch, tau2: np.ndarray, method: str) -> np.ndarray:
    """One metafor Fisher-scoring (ML, REML) or empirical-Bayes (EB) adjustment."""
    fit = batch.wls(tau2)
    with np.errstate(divide="ignore", invalid="ignore"):  # k = 1 rows give 0/0
        if method == "ML":
            adj = (fit.ypp_y - fit.sum_w) / fit.sum_w2
        elif method == "REML":
            adj = (fit.ypp_y - fit.tr_p) / fit.tr_pp
        else:  # EB
            adj = (fit.rss * batch.k / _df(batch) - batch.k) / fit.sum_w
    adj = np.where(np.isfinite(adj), adj, 0.0)  # 0/0 (k = 1), or ±inf: no step
    # step halving keeps tau² ≥ 0; from tau² = 0 it halves a negative step to -0.
    adj = np.where((tau2 == 0) & (adj < 0), 0.0, adj)
    over = tau2 + adj < 0
    while over.any():
        adj = np.where(over, adj / 2, adj)
        over = tau2 + adj < 0
    return adj


def _iterate(batch: Batch, method: str, threshold: float, maxiter: int):
    """metafor's iteration for ML/REML/EB from max(0, HE); returns tau², iters, converged."""
    tau2 = np.maximum(_hedges(batch), 0.0)
    m = tau2.shape[0]
    iters = np.zeros(m, int)
    converged = np.zeros(m, bool)
    active = np.arange(m)
    for it in range(1, maxiter + 2):
        if active.size == 0:
            break
        sub = batch.rows(active)
        t = tau2[active]
        new = t + _step(sub, t, method)
        tau2[active] = new
        iters[active] = it
        done = np.abs(t - new) <= threshold
        converged[active[done]] = it <= maxiter
        active = active[~done]
    return tau2, iters, converged


def _score(batch: Batch, tau2: np.ndarray, reml: bool) -> np.ndarray:
    fit = batch.wls(tau2)
    return fit.ypp_y - (fit.tr_p if reml else fit.sum_w)


def _upper_bracket(batch: Batch, reml: bool) -> np.ndarray:
    """A tau² beyond every stationary point (the score is negative there)."""
    upper = np.maximum(_tau2_max(batch), 1.0)
    for _ in range(200):
        pos = _score(batch, upper, reml) >= 0
        if not pos.any():
            break
        upper = np.where(pos, upper * 2, upper)
    return upper


SCREEN_POINTS = 16


def _score_grid(batch: Batch, pts: np.ndarray, reml: bool) -> np.ndarray:
    """The score of every data set at each of its tau² values ``pts`` (m, G)."""
    if batch.X.shape[1] > 1:
        rep = np.repeat(np.arange(pts.shape[0]), pts.shape[1])
        return _score(batch.rows(rep), pts.ravel(), reml).reshape(pts.shape)
    # intercept-only: the same sums on an (m, G, k) array, without a WLS per point
    mask = batch.mask[:, None, :]
    w = np.where(mask, 1.0 / (batch.v[:, None, :] + pts[:, :, None]), 0.0)
    sw = w.sum(-1)
    mu = (w * batch.y[:, None, :]).sum(-1) / sw
    wr = w * (batch.y[:, None, :] - mu[..., None])
    return (wr**2).sum(-1) - (sw - (w**2).sum(-1) / sw if reml else sw)


def _several_maxima(batch: Batch, reml: bool) -> np.ndarray:
    """Data sets whose (restricted) likelihood may have more than one maximum.

    The score is screened on a geometric grid from a tenth of the smallest sampling
    variance to metafor's upper search limit; two or more +/- sign changes (or one
    beside a maximum at zero) flag a data set for the global search. Such likelihoods
    arise when sampling variances differ by orders of magnitude; metafor returns
    whichever maximum Fisher scoring reaches.
    """
    m = batch.k.shape[0]
    v_min = np.where(batch.mask, batch.v, np.inf).min(axis=1)
    pts = np.geomspace(v_min / 10, _tau2_max(batch), SCREEN_POINTS - 1, axis=1)
    pts = np.concatenate([np.zeros((m, 1)), pts], axis=1)
    s = _score_grid(batch, pts, reml)
    falls = ((s[:, :-1] > 0) & (s[:, 1:] <= 0)).sum(axis=1)
    return (falls >= 2) | ((falls >= 1) & (s[:, 0] <= 0))


def _global_maximum(batch: Batch, reml: bool, grid: int = 200) -> np.ndarray:
    """Highest-likelihood tau² for each data set, found without Fisher scoring.

    The score is evaluated on a grid over [0, U] (U beyond every stationary point);
    every +/- sign change brackets a local maximum, refined with scipy's vectorised
    bracketing root finder (Chandrupatla's method); zero and those maxima are then
    compared by their (restricted) likelihood. All data sets are handled at once.
    """
    n = batch.k.shape[0]
    upper = _upper_bracket(batch, reml)
    pts = upper[:, None] * np.linspace(0.0, 1.0, grid) ** 2  # (n, grid), dense near 0
    rep = np.repeat(np.arange(n), grid)
    s = _score(batch.rows(rep), pts.ravel(), reml).reshape(n, grid)
    row, j = np.nonzero((s[:, :-1] > 0) & (s[:, 1:] <= 0))

    def score(t: np.ndarray, r: np.ndarray) -> np.ndarray:
        return _score(batch.rows(row[r]), t, reml)

    from scipy.optimize.elementwise import find_root  # heavy import: only on this rare path

    roots = find_root(
        score,
        (pts[row, j], pts[row, j + 1]),
        args=(np.arange(row.size),),
        tolerances=dict(xatol=1e-15, xrtol=4 * np.finfo(float).eps),
    ).x
    cand_row = np.concatenate([np.arange(n), row])
    cand = np.concatenate([np.zeros(n), roots])
    ll = batch.rows(cand_row).wls(cand).loglik(cand, reml)
    order = np.lexsort((-ll, cand_row))  # per data set, most likely candidate first
    first = np.unique(cand_row[order], return_index=True)[1]
    return cand[order[first]]


def _tau2_max(batch: Batch) -> np.ndarray:
    """metafor's upper search limit max(100, 10·mad(y)²) (mad scaled by 1.4826 as in R)."""
    yn = np.where(batch.mask, batch.y, np.nan)
    mad = 1.4826 * np.nanmedian(np.abs(yn - np.nanmedian(yn, axis=1, keepdims=True)), axis=1)
    return np.maximum(100.0, 10 * mad**2)


def q_root(batch: Batch, target: np.ndarray, tol: float, tau2_max: np.ndarray) -> np.ndarray:
    """Smallest tau² ≥ 0 with generalised Q(tau²) = target (0 when Q(0) < target).

    Q(tau²) = Σ (yᵢ - μ̂)²/(vᵢ + tau²) decreases in tau² (Viechtbauer 2007, Stat Med
    26:37-52), so the root is unique; the bracket [0, tau2_max] is widened by
    doubling where metafor would stop with "'tau2.max' too low".
    """
    out = np.zeros(target.shape[0])
    need = batch.wls(0.0).rss >= target
    idx = np.flatnonzero(need)
    if idx.size == 0:
        return out
    sub, tgt, upper = batch.rows(idx), target[idx], tau2_max[idx].copy()
    for _ in range(200):
        high = sub.wls(upper).rss > tgt
        if not high.any():
            break
        upper = np.where(high, upper * 2, upper)

    def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return sub.rows(rows).wls(x).rss - tgt[rows]

    out[idx], _ = brent_root(f, np.zeros(idx.size), upper, tol=tol)
    return out


def estimate_tau2(batch: Batch, method: str, tol: float | None = None) -> Tau2Estimate:
    """tau² for every data set of ``batch`` with ``method`` (a random-effects method of
    :mod:`metaall.methods`).

    ``tol=None`` follows metafor's defaults exactly; a number makes every iterative
    estimator converge to that absolute tolerance on tau². Data sets without residual
    degrees of freedom (k = 1 in an intercept-only model) get tau² = 0, as in metafor.
    """
    entry = methods.method(method)
    if entry.name not in ESTIMATORS:
        random = ", ".join(methods.names("method", methods.RANDOM))
        raise ValueError(f"{entry.name} is not a tau² estimator; use one of {random}")
    method = entry.name
    saturated = batch.k <= batch.p
    if not saturated.any():
        return ESTIMATORS[method](batch, method, tol)
    n = saturated.size
    out = Tau2Estimate(
        np.zeros(n), np.full(n, "k = 1: tau² set to 0", dtype=object), np.zeros(n, int)
    )
    rest = np.flatnonzero(~saturated)
    if rest.size:
        est = ESTIMATORS[method](batch.rows(rest), method, tol)
        out.tau2[rest], out.algorithm[rest], out.iterations[rest] = (
            est.tau2,
            est.algorithm,
            est.iterations,
        )
    return out


def _paule_mandel(batch: Batch, tol: float | None) -> Tau2Estimate:
    target = (batch.k - batch.p).astype(float)
    tau2 = q_root(batch, target, tol or R_UNIROOT_TOL, _tau2_max(batch))
    return _closed(tau2, "Brent root of Q = k - p")


def _closed_form(function):
    return lambda batch, method, tol: _closed(function(batch), "closed form")


def _iterative(batch: Batch, method: str, tol: float | None) -> Tau2Estimate:
    """ML, REML and EB: metafor's iterations, with the safeguards described above."""
    threshold = FISHER_THRESHOLD if tol is None else tol
    maxiter = FISHER_MAXITER if tol is None else TIGHT_MAXITER
    tau2, iters, converged = _iterate(batch, method, threshold, maxiter)
    name = "empirical-Bayes iteration" if method == "EB" else "Fisher scoring"
    algorithm = np.full(tau2.shape[0], name, dtype=object)
    reml = method == "REML"

    if method == "EB":
        failed = np.flatnonzero(~converged)
        if failed.size:  # the EB fixed point solves Q(tau²) = k - p
            sub = batch.rows(failed)
            target = (sub.k - sub.p).astype(float)
            tau2[failed] = q_root(sub, target, tol or 1e-12, _tau2_max(sub))
            algorithm[failed] = "Brent root of Q = k - p (EB iteration did not converge)"
        return Tau2Estimate(np.maximum(tau2, 0.0), algorithm, iters)

    # metafor's ll0check: where tau² = 0 is more likely than the converged point,
    # Fisher scoring found a local maximum; metafor then sets tau² = 0, metaall
    # searches for the global maximum (which is zero in most such cases).
    ll = batch.wls(tau2).loglik(tau2, reml)
    ll0 = batch.wls(0.0).loglik(np.zeros_like(tau2), reml)
    local = converged & (ll0 - ll > R_UNIROOT_TOL) & (tau2 > threshold)
    suspect = converged & ~local & _several_maxima(batch, reml)
    for rows, why in (
        (~converged, "did not converge"),
        (local | suspect, "stopped at a local maximum"),
    ):
        idx = np.flatnonzero(rows)
        if not idx.size:
            continue
        sub = batch.rows(idx)
        best = _global_maximum(sub, reml)
        if why != "did not converge":  # keep Fisher's value where it is the global maximum
            gain = sub.wls(best).loglik(best, reml) - ll[idx]
            keep = gain <= 1e-9 * np.maximum(1.0, np.abs(ll[idx]))
            idx, best = idx[~keep], best[~keep]
        tau2[idx] = best
        algorithm[idx] = f"grid + Brent on the score (Fisher scoring {why})"
    return Tau2Estimate(np.maximum(tau2, 0.0), algorithm, iters)


ESTIMATORS = {
    "DL": _closed_form(_dl),
    "HE": _closed_form(_hedges),
    "HS": _closed_form(lambda batch: _hs(batch, small_sample=False)),
    "HSk": _closed_form(lambda batch: _hs(batch, small_sample=True)),
    "SJ": _closed_form(_sj),
    "PM": lambda batch, method, tol: _paule_mandel(batch, tol),
    "ML": _iterative,
    "REML": _iterative,
    "EB": _iterative,
}
"""The implementation of every tau² estimator of :mod:`metaall.methods`, by name."""
