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

ML and REML take three routes, named in ``algorithm``:

* Fisher scoring, metafor's own iteration to metafor's own verdict (the steps are
  lean passes of :mod:`metaall.models.scoring` over the data sets still iterating): where
  it converges, its value is metafor's (to 1e-8 and better);
* where it does not converge within metafor's 100 steps (metafor stops with an error),
  or converges to a point less likely than tau² = 0 by more than metafor's tolerance
  (metafor's ll0check; metafor then returns 0), the global maximum of the likelihood
  is searched (:func:`metaall.models.maxima.global_search`: every fall of the score on
  a grid, refined by Brent's method, the most likely candidate or zero);
* where the likelihood may have a second maximum (:func:`metaall.models.maxima.screen`,
  run only where the proved bounds of that module leave room for one), the same
  search runs, and its maximum replaces Fisher's value only if it is a different,
  more likely maximum. Where Fisher scoring stopped by metafor's rule short of the
  maximum of its own basin (it can creep: 35 steps ending 5.5e-4 short in tau² on
  one data set of ``tests/fixtures/r/engine_speed.json``), metafor's value is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall import methods
from metaall.models import maxima
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


def label_array(n: int, text: str) -> np.ndarray:
    """An object array of ``n`` times ``text`` (``np.full`` fills object arrays 15x slower)."""
    out = np.empty(n, dtype=object)
    out.fill(text)
    return out


def _closed(tau2: np.ndarray, name: str) -> Tau2Estimate:
    n = tau2.shape[0]
    return Tau2Estimate(np.maximum(tau2, 0.0), label_array(n, name), np.zeros(n, int))


def _df(batch: Batch) -> np.ndarray:
    """Residual degrees of freedom k - p, guarded against zero (k = 1 fits)."""
    return np.maximum(batch.k - batch.p, 1)


def _hedges(batch: Batch) -> np.ndarray:
    ols = batch.ols()
    tr_pv = np.where(batch.mask, batch.v * (1.0 - batch.leverage_ols()), 0.0).sum(1)
    rss = (ols.resid**2).sum(1)
    return (rss - tr_pv) / _df(batch)


def _dl(batch: Batch) -> np.ndarray:
    fe = batch.fe
    return (fe.rss - (batch.k - batch.p)) / fe.tr_p


def _hs(batch: Batch, small_sample: bool) -> np.ndarray:
    fe = batch.fe
    q = fe.rss * batch.k / _df(batch) if small_sample else fe.rss
    return (q - batch.k) / fe.sw


def _sj(batch: Batch) -> np.ndarray:
    yn = np.where(batch.mask, batch.y, np.nan)
    tau0 = np.nanmean((yn - np.nanmean(yn, axis=1, keepdims=True)) ** 2, axis=1)
    return tau0 * batch.wls(tau0).rss / _df(batch)


def _adjustment(scorer, tau2: np.ndarray, method: str) -> np.ndarray:
    """metafor's Fisher-scoring (ML, REML) or empirical-Bayes (EB) adjustment, before
    step halving: score / information (its sign is the score's)."""
    if method == "EB":
        s = scorer.sums(tau2, reml=False, info=False, rss=True)
        df = np.maximum(scorer.k - scorer.p, 1)
        num, den = s.rss * scorer.k / df - scorer.k, s.sw
    elif method == "ML":
        s = scorer.sums(tau2, reml=False)
        num, den = s.ypp - s.sw, s.sw2
    else:
        s = scorer.sums(tau2, reml=True)
        num, den = s.ypp - s.tr_p, s.tr_pp
    with np.errstate(divide="ignore", invalid="ignore"):  # k = 1 rows give 0/0
        adj = num / den
    # metafor: if (is.na(adj)) adj <- 0; an infinite step (overflow) is no step either
    return np.where(np.isfinite(adj), adj, 0.0)


def _halve(tau2: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """metafor's step halving: halve the step until tau² + step ≥ 0; from tau² = 0 a
    negative step halves to -0 (metafor loops until it underflows)."""
    adj = np.where((tau2 == 0) & (adj < 0), 0.0, adj)
    over = tau2 + adj < 0
    while over.any():
        adj = np.where(over, adj / 2, adj)
        over = tau2 + adj < 0
    return adj


@dataclass(frozen=True)
class Fisher:
    """metafor's iteration from max(0, HE): the last tau², iterations, whether it
    converged by metafor's rule, and the largest tau² visited with a positive score
    and the smallest with a negative one (the edges of an oscillation)."""

    tau2: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    rising: np.ndarray
    falling: np.ndarray


COMPACT = 0.75  # drop finished data sets from the working copy below this share


def fisher_scoring(scorer, method: str, threshold: float, maxiter: int, start) -> Fisher:
    """metafor's iteration for ML/REML/EB on every data set of ``scorer``.

    Every data set runs metafor's steps until a change ≤ ``threshold`` or
    ``maxiter`` + 1 steps: whether metafor converges is decided by its own iteration
    (an oscillating sequence can still settle late: about a fifth of those that
    oscillate at step 5 converge by step 100), so it is never cut short; each step is
    one lean pass (:mod:`metaall.models.scoring`) over the data sets still iterating.
    """
    tau2 = np.array(start, dtype=float)
    m = tau2.size
    iters = np.zeros(m, int)
    converged = np.zeros(m, bool)
    rising, falling = np.zeros(m), np.full(m, np.inf)
    held, live, sub = np.arange(m), np.arange(m), scorer
    for it in range(1, maxiter + 2):
        if live.size == 0:
            break
        if live.size < COMPACT * sub.m:
            sub, held, live = sub.take(live), held[live], np.arange(live.size)
        t_all = tau2[held]
        adj = _adjustment(sub, t_all, method)[live]
        t, g = t_all[live], held[live]
        rising[g] = np.where(adj > 0, np.maximum(rising[g], t), rising[g])
        falling[g] = np.where(adj < 0, np.minimum(falling[g], t), falling[g])
        new = t + _halve(t, adj)
        tau2[g] = new
        iters[g] = it
        done = np.abs(t - new) <= threshold
        converged[g[done]] = it <= maxiter
        live = live[~done]
    return Fisher(tau2, iters, converged, rising, falling)


def _tau2_max(batch: Batch) -> np.ndarray:
    """metafor's upper search limit max(100, 10·mad(y)²) (mad scaled by 1.4826 as in R)."""
    yn = np.where(batch.mask, batch.y, np.nan)
    mad = 1.4826 * np.nanmedian(np.abs(yn - np.nanmedian(yn, axis=1, keepdims=True)), axis=1)
    return np.maximum(100.0, 10 * mad**2)


def _q(batch: Batch, tau2) -> np.ndarray:
    """Generalised Q at ``tau2``: the intercept-only sums (:meth:`Batch.pooled`, one
    pass) where the design is an intercept, else the weighted least squares fit."""
    if batch.X.shape[1] == 1 and batch.indicator:
        return batch.pooled(tau2, rss=True).rss
    return batch.wls(tau2).rss


def q_root(batch: Batch, target: np.ndarray, tol: float, tau2_max: np.ndarray) -> np.ndarray:
    """Smallest tau² ≥ 0 with generalised Q(tau²) = target (0 when Q(0) < target).

    Q(tau²) = Σ (yᵢ - μ̂)²/(vᵢ + tau²) decreases in tau² (Viechtbauer 2007, Stat Med
    26:37-52), so the root is unique; the bracket [0, tau2_max] is widened by
    doubling where metafor would stop with "'tau2.max' too low".
    """
    out = np.zeros(target.shape[0])
    need = _q(batch, 0.0) >= target
    idx = np.flatnonzero(need)
    if idx.size == 0:
        return out
    sub, tgt, upper = batch.rows(idx), target[idx], tau2_max[idx].copy()
    for _ in range(200):
        high = _q(sub, upper) > tgt
        if not high.any():
            break
        upper = np.where(high, upper * 2, upper)

    def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        part = sub if len(rows) == len(idx) else sub.rows(rows)
        return _q(part, x) - tgt[rows]

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
    out = Tau2Estimate(np.zeros(n), label_array(n, "k = 1: tau² set to 0"), np.zeros(n, int))
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
    scorer = batch.scorer
    he = scorer.hedges()
    start = np.maximum(_hedges(batch) if he is None else he, 0.0)
    fs = fisher_scoring(scorer, method, threshold, maxiter, start)
    tau2, converged = fs.tau2, fs.converged
    name = "empirical-Bayes iteration" if method == "EB" else "Fisher scoring"
    algorithm = label_array(tau2.shape[0], name)
    reml = method == "REML"

    if method == "EB":
        failed = np.flatnonzero(~converged)
        if failed.size:  # the EB fixed point solves Q(tau²) = k - p
            sub = batch.rows(failed)
            target = (sub.k - sub.p).astype(float)
            tau2[failed] = q_root(sub, target, tol or 1e-12, _tau2_max(sub))
            algorithm[failed] = "Brent root of Q = k - p (EB iteration did not converge)"
        return Tau2Estimate(np.maximum(tau2, 0.0), algorithm, fs.iterations)

    # metafor's ll0check: where tau² = 0 is more likely than the converged point,
    # Fisher scoring found a local maximum; metafor then sets tau² = 0, metaall
    # searches for the global maximum (which is zero in most such cases).
    q0, ll0 = scorer.at_zero(reml)
    local = np.zeros(tau2.shape, bool)
    idx = np.flatnonzero(converged & (tau2 > threshold))
    if idx.size:
        local[idx] = ll0[idx] - scorer.take(idx).loglik(tau2[idx], reml) > R_UNIROOT_TOL
    b = maxima.bounds(scorer, reml, q0)
    suspect = maxima.screen(scorer, reml, b, converged & ~local)
    for rows, why in (
        (~converged, "did not converge"),
        (local | suspect, "stopped at a local maximum"),
    ):
        idx = np.flatnonzero(rows)
        if not idx.size:
            continue
        extra = np.stack(
            [fs.rising[idx], np.where(np.isinf(fs.falling), np.nan, fs.falling)[idx]], 1
        )
        anchor = tau2[idx] if why != "did not converge" else None
        found = maxima.global_search(scorer.take(idx), reml, maxima.take(b, idx), extra, anchor)
        best = found.tau2
        if why != "did not converge":
            # metafor's value where Fisher converged to the global maximum's basin
            # (it may have stopped short of the exact maximum by metafor's threshold)
            keep = found.same_basin & ~local[idx]
            idx, best = idx[~keep], best[~keep]
        tau2[idx] = best
        algorithm[idx] = f"grid + Brent on the score (Fisher scoring {why})"
    return Tau2Estimate(np.maximum(tau2, 0.0), algorithm, fs.iterations)


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
