"""Weighted least squares for the linear models of meta-analysis, batched.

Most models in metaall are *indicator designs*: intercept-only (one pooled effect) or
one categorical moderator (a pooled effect per subgroup). X then has one 0/1 column
per group, X'WX is diagonal and every projection reduces to weighted group means,
computed for a whole batch of data sets at once (with groups that may be empty in
some data sets). Any other design (e.g. the standard error as a moderator, as
trim-and-fill's side selection needs) is handled with dense p×p algebra. Either way
the quantities the tau² estimators need are (Viechtbauer 2005, Stat Med 24:3-24 §2;
P = W - WX(X'WX)⁻¹X'W, A = (X'WX)⁻¹, Mⱼ = X'WʲX):

* ``beta``, ``resid`` = y - Xβ̂,
* ``rss`` = y'Py = Σ wᵢ rᵢ² (the generalised Q statistic), ``ypp_y`` = y'PPy = Σ wᵢ² rᵢ²,
* ``tr_p`` = tr(P) = Σwᵢ - tr(A M₂),
* ``tr_pp`` = tr(PP) = Σwᵢ² - 2 tr(A M₃) + tr((A M₂)²).

Absent studies (padding of ragged batches) carry weight zero.

The iterative tau² estimators evaluate these quantities many times through the lean
:mod:`metaall.models.scoring` (:attr:`Batch.scorer`); the closed-form estimators and
the pooled values use :meth:`Batch.pooled`, the intercept-only model in the batch's own
layout. :class:`WLS` remains the general definition (any design, every quantity).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


def indicator_design(labels: np.ndarray | list | None, k: int) -> tuple[np.ndarray, list]:
    """One-hot design X (k, p) for group labels (None: intercept only) and the group names."""
    if labels is None:
        return np.ones((k, 1)), ["overall"]
    labels = np.asarray(labels, dtype=object)
    names = list(dict.fromkeys(labels.tolist()))
    X = np.zeros((k, len(names)))
    X[np.arange(k), [names.index(g) for g in labels]] = 1.0
    return X, names


@dataclass(frozen=True)
class Batch:
    """A batch of m data sets with up to k studies each, padded with absent studies."""

    y: np.ndarray  # (m, k), 0 where absent
    v: np.ndarray  # (m, k), 1 where absent
    mask: np.ndarray  # (m, k) bool, True where the study is present
    X: np.ndarray  # (k, p) design shared by all data sets

    @cached_property
    def indicator(self) -> bool:
        """True for an indicator design (each study in exactly one group)."""
        X = self.X
        if X.shape[1] == 1:
            return bool(np.all(X == 1))
        return bool(np.all((X == 0) | (X == 1)) and np.all(X.sum(axis=1) == 1))

    @cached_property
    def k(self) -> np.ndarray:
        """Number of studies per data set."""
        if self.complete:
            return np.full(self.mask.shape[0], self.mask.shape[1])
        return self.mask.sum(axis=1)

    @cached_property
    def p(self) -> np.ndarray:
        """Number of coefficients per data set (non-empty groups of an indicator design)."""
        if not self.complete and self.indicator:
            return ((self.mask @ self.X) > 0).sum(axis=1)
        return np.full(self.k.shape, self.X.shape[1])

    def leverage_ols(self) -> np.ndarray:
        """Diagonal of the unweighted hat matrix X(X'X)⁻¹X' (0 for absent studies)."""
        X = self.X
        if self.indicator:
            n_g = self.mask @ X
            with np.errstate(divide="ignore"):
                lev = np.where(n_g > 0, 1.0 / n_g, 0.0) @ X.T
        else:  # x_k' A_i x_k for every data set i: one product with the outer products
            inv = _inverse(_gram(self.mask.astype(float), X))
            lev = inv.reshape(inv.shape[0], -1) @ _outer(X).T
        return np.where(self.mask, lev, 0.0)

    @cached_property
    def complete(self) -> bool:
        """True when every data set has every study (no padding)."""
        return bool(self.mask.all())

    @cached_property
    def scorer(self):
        """The lean evaluator of :mod:`metaall.models.scoring` for this batch."""
        from metaall.models.scoring import Scorer  # scoring builds on this module

        return Scorer.for_batch(self)

    @cached_property
    def fe(self):
        """The sums at tau² = 0 (common-effect weights): Σwᵢ, y'Py (Q), tr(P)."""
        if self.X.shape[1] == 1 and self.indicator:
            return self.pooled(0.0, rss=True, trace=True)
        return self.scorer.sums(0.0, reml=True, info=False, rss=True, ypp=False)

    def pooled(self, tau2, rss: bool = False, trace: bool = False) -> Pooled:
        """The intercept-only model at tau² (one value per data set, or a scalar):
        weights, Σwᵢ and μ̂ = Σwᵢyᵢ/Σwᵢ, with ``rss`` y'Py = Σwᵢ(yᵢ - μ̂)², with
        ``trace`` tr(P) = Σwᵢ - Σwᵢ²/Σwᵢ. Computed in the batch's own (m, k) layout,
        row sums as products with a vector of ones (BLAS), for the closed-form
        estimators and the final pooled values, where nothing iterates on the sums."""
        ones = np.ones(self.y.shape[1])
        if np.ndim(tau2) == 0 and tau2 == 0:
            w = np.divide(1.0, self.v)
        else:
            tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), self.k.shape)
            w = np.add(self.v, tau2[:, None])
            np.divide(1.0, w, out=w)
        if not self.complete:
            w[~self.mask] = 0.0
        sw = w @ ones
        wy = w * self.y
        out = Pooled(w, sw, (wy @ ones) / sw)
        if rss:
            r = self.y - out.mean[:, None]
            np.multiply(w, r, out=wy)
            out.rss = np.multiply(wy, r, out=wy) @ ones
        if trace:
            out.tr_p = sw - np.multiply(w, w, out=wy) @ ones / sw
        return out

    def rows(self, idx: np.ndarray) -> Batch:
        """The sub-batch of data sets ``idx``."""
        return Batch(self.y[idx], self.v[idx], self.mask[idx], self.X)

    def wls(self, tau2: np.ndarray | float) -> WLS:
        """Weighted least squares with weights 1/(vᵢ + tau²)."""
        tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), self.k.shape)
        with np.errstate(divide="ignore"):
            w = np.where(self.mask, 1.0 / (self.v + tau2[:, None]), 0.0)
        return WLS(self, w)

    def ols(self) -> WLS:
        """Unweighted least squares (all present studies weight one)."""
        return WLS(self, self.mask.astype(float))


@dataclass
class Pooled:
    """Result of :meth:`Batch.pooled` (``rss``, ``tr_p``: None unless asked for)."""

    w: np.ndarray  # (m, k) weights 1/(vᵢ + tau²), 0 for absent studies
    sw: np.ndarray
    mean: np.ndarray
    rss: np.ndarray | None = None
    tr_p: np.ndarray | None = None


def spd_inverse(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of symmetric positive definite matrices stacked on
    the last axis, (p, p, n): Cholesky A = LL' (Golub & Van Loan 2013, Alg. 4.2.1),
    L⁻¹ by forward substitution, A⁻¹ = L⁻ᵀL⁻¹, each step vectorised over n."""
    p = A.shape[0]
    L = np.zeros_like(A)
    for j in range(p):
        s = A[j, j] - sum(L[j, i] ** 2 for i in range(j))
        L[j, j] = np.sqrt(s)
        for r in range(j + 1, p):
            L[r, j] = (A[r, j] - sum(L[r, i] * L[j, i] for i in range(j))) / L[j, j]
    inv_l = np.zeros_like(A)
    for j in range(p):
        inv_l[j, j] = 1.0 / L[j, j]
        for r in range(j + 1, p):
            inv_l[r, j] = -sum(L[r, i] * inv_l[i, j] for i in range(j, r)) / L[r, r]
    inv = np.empty_like(A)
    for a in range(p):
        for b in range(a, p):
            inv[a, b] = inv[b, a] = sum(inv_l[i, a] * inv_l[i, b] for i in range(b, p))
    log_det = 2 * sum(np.log(L[j, j]) for j in range(p))
    return inv, log_det


VECTORISED_FROM = 64  # data sets: numpy's linalg calls LAPACK once per small matrix


def _inverse(G: np.ndarray) -> np.ndarray:
    """Inverses of a stack of Gram matrices (m, p, p): LAPACK for a few, the vectorised
    Cholesky inverse for a batch (:func:`spd_inverse`)."""
    if G.shape[0] < VECTORISED_FROM:
        return np.linalg.inv(G)
    return spd_inverse(G.transpose(1, 2, 0))[0].transpose(2, 0, 1)


def _outer(X: np.ndarray) -> np.ndarray:
    """The outer products xₖxₖ' of the design's rows, flattened: (k, p²)."""
    return (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)


def _gram(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """X'diag(w)X for every data set, (m, p, p): Σₖ wₖxₖxₖ' as one matrix product."""
    p = X.shape[1]
    return (w @ _outer(X)).reshape(-1, p, p)


class WLS:
    """Fit of the design to a batch with given weights (see module doc)."""

    def __init__(self, batch: Batch, w: np.ndarray) -> None:
        self.batch = batch
        self.w = w
        X = batch.X
        if batch.indicator:
            self.sw_g = w @ X  # (m, p) total weight per group: the diagonal of X'WX
            filled = self.sw_g > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                beta = np.where(filled, ((w * batch.y) @ X) / self.sw_g, np.nan)
            self._filled = filled
            fitted = np.where(filled, beta, 0.0) @ X.T
        else:
            self._inverse = _inverse(_gram(w, X))
            beta = np.einsum("ipq,iq->ip", self._inverse, (w * batch.y) @ X)
            fitted = beta @ X.T
        self.beta = beta
        self.resid = np.where(batch.mask, batch.y - fitted, 0.0)

    @cached_property
    def covariance(self) -> np.ndarray:
        """A = (X'WX)⁻¹ per data set, (m, p, p): the covariance of β̂ at these weights."""
        if self.batch.indicator:
            with np.errstate(divide="ignore"):
                diag = np.where(self._filled, 1.0 / self.sw_g, np.nan)
            return np.einsum("ip,pq->ipq", diag, np.eye(diag.shape[1]))
        return self._inverse

    def _a_times(self, power: int) -> np.ndarray:
        """A·M_power per data set: (m, p) diagonal (indicator designs) or (m, p, p)."""
        X = self.batch.X
        if self.batch.indicator:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(self._filled, ((self.w**power) @ X) / self.sw_g, 0.0)
        return self._inverse @ _gram(self.w**power, X)

    def _trace(self, matrix: np.ndarray) -> np.ndarray:
        return matrix.sum(axis=1) if self.batch.indicator else np.einsum("ipp->i", matrix)

    @cached_property
    def sum_w(self) -> np.ndarray:
        return self.w.sum(axis=1)

    @cached_property
    def sum_w2(self) -> np.ndarray:
        return (self.w**2).sum(axis=1)

    @cached_property
    def rss(self) -> np.ndarray:
        """y'Py = Σ wᵢ rᵢ² (Cochran's Q at tau² = 0)."""
        return (self.w * self.resid**2).sum(axis=1)

    @cached_property
    def ypp_y(self) -> np.ndarray:
        """y'PPy = Σ wᵢ² rᵢ²."""
        return ((self.w * self.resid) ** 2).sum(axis=1)

    @cached_property
    def tr_p(self) -> np.ndarray:
        """tr(P)."""
        return self.sum_w - self._trace(self._a_times(2))

    @cached_property
    def tr_pp(self) -> np.ndarray:
        """tr(PP)."""
        am2 = self._a_times(2)
        if self.batch.indicator:
            square = (am2**2).sum(axis=1)
        else:
            square = np.einsum("iab,iba->i", am2, am2)
        return self.sum_w2 - 2 * self._trace(self._a_times(3)) + square

    def _log_det(self, w: np.ndarray) -> np.ndarray:
        """log det(X'diag(w)X) over the non-empty groups."""
        if self.batch.indicator:
            s = w @ self.batch.X
            return np.where(s > 0, np.log(np.where(s > 0, s, 1.0)), 0.0).sum(1)
        return np.linalg.slogdet(_gram(w, self.batch.X))[1]

    def loglik(self, tau2: np.ndarray, reml: bool) -> np.ndarray:
        """(Restricted) log-likelihood at tau², as metafor's ``logLik`` reports it."""
        b = self.batch
        k, p = b.k, b.p
        log_var = np.where(b.mask, np.log(np.where(b.mask, b.v + tau2[:, None], 1.0)), 0.0)
        if reml:
            const = -0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * self._log_det(b.mask.astype(float))
            return const - 0.5 * log_var.sum(1) - 0.5 * self._log_det(self.w) - 0.5 * self.rss
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * log_var.sum(1) - 0.5 * self.rss
