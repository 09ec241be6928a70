"""Mixed-effects meta-regression with continuous moderators, for one data set.

Trim-and-fill chooses the side of the funnel plot from the slope of the meta-regression
yᵢ = β₀ + β₁·√vᵢ + uᵢ + εᵢ fitted with the pooling method of the analysis (metafor
``trimfill.rma.uni`` calls ``rma.uni(yi, vi, mods = sqrt(vi), method = ...)``). The
engine in :mod:`metaall.models` handles indicator (subgroup) designs only, so this
module fits a general design matrix X (k × p) with dense matrices — k is the number of
studies of one meta-analysis, so this is cheap.

With W = diag(1/(vᵢ + τ²)) and P = W - WX(X'WX)⁻¹X'W (Viechtbauer 2005, Stat Med
24:3-24, §2), the τ² estimators are those of :mod:`metaall.models.tau2`, written for a
general X as metafor 3.8 ``rma.uni`` computes them (same starting values, step halving,
convergence threshold 1e-5 and the ML/REML check against τ² = 0):

* ``DL``: (y'P₀y - (k-p)) / tr(P₀), P₀ = P at τ² = 0;
* ``HE``: (y'(I - H)y - tr((I - H)V)) / (k-p), H = X(X'X)⁻¹X';
* ``HS``: (y'P₀y - k) / Σwᵢ; ``HSk``: (k/(k-p)·y'P₀y - k) / Σwᵢ;
* ``SJ``: τ₀²·y'P(τ₀²)y / (k-p), τ₀² = Σ(yᵢ-ȳ)²/k;
* ``PM``: root of y'P(τ²)y = k - p (Brent, R's ``uniroot`` tolerance);
* ``ML``/``REML``/``EB``: metafor's Fisher-scoring / empirical-Bayes iteration from
  max(0, HE): adjustments (y'PPy - tr W)/tr(W²), (y'PPy - tr P)/tr(PP) and
  (k/(k-p)·y'Py - k)/Σwᵢ.

Where metafor's iteration does not converge (metafor stops with an error), the
(restricted) likelihood is maximised on [0, max(100, 10·mad(y)²)] instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall.models.brent import R_UNIROOT_TOL, brent_root

THRESHOLD = 1e-5  # metafor's control$threshold
MAXITER = 100  # metafor's control$maxiter


@dataclass(frozen=True)
class MetaRegression:
    """Coefficients (intercept first), their covariance, and the tau² of the fit."""

    beta: np.ndarray
    vb: np.ndarray
    tau2: float


def _projection(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P = W - WX(X'WX)⁻¹X'W."""
    wx = X * w[:, None]
    return np.diag(w) - wx @ np.linalg.solve(X.T @ wx, wx.T)


def _hedges(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    k, p = X.shape
    resid_maker = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
    return float((y @ resid_maker @ y - np.trace(resid_maker * v[None, :])) / (k - p))


def _loglik(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float, reml: bool) -> float:
    k, p = X.shape
    w = 1.0 / (v + tau2)
    rss = float(y @ _projection(X, w) @ y)
    ll = -0.5 * np.log(v + tau2).sum() - 0.5 * rss
    if reml:
        logdet = np.linalg.slogdet(X.T @ (X * w[:, None]))[1]
        return float(ll - 0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * logdet)
    return float(ll - 0.5 * k * np.log(2 * np.pi))


def _tau2_max(y: np.ndarray) -> float:
    mad = 1.4826 * np.median(np.abs(y - np.median(y)))
    return max(100.0, 10 * mad**2)


def _iterate(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str) -> float | None:
    """metafor's ML/REML/EB iteration; None when it does not converge."""
    k, p = X.shape
    tau2 = max(0.0, _hedges(y, v, X))
    for _ in range(MAXITER + 1):
        w = 1.0 / (v + tau2)
        P = _projection(X, w)
        Py = P @ y
        if method == "ML":
            adj = (Py @ Py - w.sum()) / (w**2).sum()
        elif method == "REML":
            adj = (Py @ Py - np.trace(P)) / (P * P).sum()
        else:  # EB
            adj = (y @ Py * k / (k - p) - k) / w.sum()
        adj = 0.0 if np.isnan(adj) else float(adj)
        while tau2 + adj < 0:
            adj /= 2
        old, tau2 = tau2, tau2 + adj
        if abs(old - tau2) <= THRESHOLD:
            return tau2
    return None


def _maximise(y: np.ndarray, v: np.ndarray, X: np.ndarray, reml: bool) -> float:
    from scipy.optimize import minimize_scalar  # rare path: keep the import off startup

    upper = _tau2_max(y)
    best = minimize_scalar(
        lambda t: -_loglik(y, v, X, t, reml), bounds=(0.0, upper), method="bounded"
    ).x
    return 0.0 if _loglik(y, v, X, 0.0, reml) >= _loglik(y, v, X, best, reml) else float(best)


def _q_root(y: np.ndarray, v: np.ndarray, X: np.ndarray, target: float) -> float:
    def q(t: float) -> float:
        return float(y @ _projection(X, 1.0 / (v + t)) @ y)

    if q(0.0) < target:
        return 0.0
    upper = _tau2_max(y)
    while q(upper) > target:
        upper *= 2

    def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.array([q(t) - target for t in x])

    root, _ = brent_root(f, np.zeros(1), np.array([upper]), tol=R_UNIROOT_TOL)
    return float(root[0])


def estimate_tau2(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str) -> float:
    """tau² of the meta-regression of y on X with sampling variances v (see module doc)."""
    k, p = X.shape
    if method == "FE":
        return 0.0
    ymc = y - y.mean()  # metafor centres y before estimating tau²
    w0 = 1.0 / v
    if method == "DL":
        P0 = _projection(X, w0)
        tau2 = (ymc @ P0 @ ymc - (k - p)) / np.trace(P0)
    elif method == "HE":
        tau2 = _hedges(ymc, v, X)
    elif method in ("HS", "HSk"):
        q = ymc @ _projection(X, w0) @ ymc
        q = q * k / (k - p) if method == "HSk" else q
        tau2 = (q - k) / w0.sum()
    elif method == "SJ":
        tau0 = float(np.mean(ymc**2))
        tau2 = tau0 * (ymc @ _projection(X, 1.0 / (v + tau0)) @ ymc) / (k - p)
    elif method == "PM":
        tau2 = _q_root(ymc, v, X, float(k - p))
    elif method in ("ML", "REML", "EB"):
        iterated = _iterate(ymc, v, X, method)
        if iterated is None:
            if method == "EB":  # the EB fixed point solves Q(tau²) = k - p
                return _q_root(ymc, v, X, float(k - p))
            return _maximise(ymc, v, X, method == "REML")
        tau2 = iterated
        if method != "EB":  # metafor's check that tau² = 0 is not more likely
            reml = method == "REML"
            gain = _loglik(ymc, v, X, 0.0, reml) - _loglik(ymc, v, X, tau2, reml)
            if gain > R_UNIROOT_TOL and tau2 > THRESHOLD:
                tau2 = 0.0
    else:
        raise ValueError(f"unknown method {method!r}")
    return max(0.0, float(tau2))


def meta_regression(y, v, X, method: str) -> MetaRegression:
    """Fit yᵢ = xᵢ'β + uᵢ + εᵢ, uᵢ ~ N(0, τ²), εᵢ ~ N(0, vᵢ), by weighted least squares
    at the tau² of ``method`` (``FE`` for τ² = 0)."""
    y, v, X = np.asarray(y, float), np.asarray(v, float), np.asarray(X, float)
    tau2 = estimate_tau2(y, v, X, method)
    wx = X * (1.0 / (v + tau2))[:, None]
    vb = np.linalg.inv(X.T @ wx)
    return MetaRegression(vb @ (wx.T @ y), vb, tau2)
