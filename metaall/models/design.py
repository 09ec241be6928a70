"""Weighted least squares for the two linear models metaall fits.

Every model in metaall is either intercept-only (one pooled effect) or has one
categorical moderator (a pooled effect per subgroup). Both are *indicator designs*:
X has one 0/1 column per group, so X'WX is diagonal and every projection reduces to
weighted group means. This module computes, for a batch of data sets at once, the
quantities the tau² estimators need (Viechtbauer 2005, Stat Med 24:3-24 §2; the
matrix P = W - WX(X'WX)⁻¹X'W is written out per group):

* ``beta``: weighted group means, ``resid``: y - Xβ,
* ``rss`` = y'Py = Σ wᵢ rᵢ² (the generalised Q statistic),
* ``tr_p`` = tr(P) = Σ wᵢ - Σ_g Σ_{i∈g} wᵢ² / Σ_{i∈g} wᵢ,
* ``tr_pp`` = tr(PP) = Σ_g [Σwᵢ² - 2Σwᵢ³/s_g + (Σwᵢ²)²/s_g²],
* ``ypp_y`` = y'PPy = Σ wᵢ² rᵢ².

Absent studies (padding of ragged batches) carry weight zero.
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
    X: np.ndarray  # (k, p) indicator design shared by all data sets

    @cached_property
    def k(self) -> np.ndarray:
        """Number of studies per data set."""
        return self.mask.sum(axis=1)

    @cached_property
    def p(self) -> np.ndarray:
        """Number of non-empty groups (model coefficients) per data set."""
        return ((self.mask @ self.X) > 0).sum(axis=1)

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


class WLS:
    """Fit of the indicator model to a batch with given weights (see module doc)."""

    def __init__(self, batch: Batch, w: np.ndarray) -> None:
        self.batch = batch
        self.w = w
        X = batch.X
        self.sw_g = w @ X  # (m, p) total weight per group
        filled = self.sw_g > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(filled, ((w * batch.y) @ X) / self.sw_g, np.nan)
        self.beta = beta
        fitted = np.where(filled, beta, 0.0) @ X.T
        self.resid = np.where(batch.mask, batch.y - fitted, 0.0)
        self._filled = filled

    def _per_group(self, numer: np.ndarray, power: int = 1) -> np.ndarray:
        """Σ over non-empty groups of numer_g / s_g**power."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self._filled, numer / self.sw_g**power, 0.0)
        return ratio.sum(axis=1)

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
        return self.sum_w - self._per_group((self.w**2) @ self.batch.X)

    @cached_property
    def tr_pp(self) -> np.ndarray:
        """tr(PP)."""
        X = self.batch.X
        w2_g = (self.w**2) @ X
        w3_g = (self.w**3) @ X
        return self.sum_w2 - 2 * self._per_group(w3_g) + self._per_group(w2_g**2, power=2)

    @cached_property
    def log_det_xwx(self) -> np.ndarray:
        """log det(X'WX) = Σ_g log s_g."""
        return np.where(self._filled, np.log(np.where(self._filled, self.sw_g, 1.0)), 0.0).sum(1)

    def loglik(self, tau2: np.ndarray, reml: bool) -> np.ndarray:
        """(Restricted) log-likelihood at tau², as metafor's ``logLik`` reports it."""
        b = self.batch
        k, p = b.k, b.p
        log_var = np.where(b.mask, np.log(np.where(b.mask, b.v + tau2[:, None], 1.0)), 0.0)
        if reml:
            const = -0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * self._log_det_xx()
            return const - 0.5 * log_var.sum(1) - 0.5 * self.log_det_xwx - 0.5 * self.rss
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * log_var.sum(1) - 0.5 * self.rss

    def _log_det_xx(self) -> np.ndarray:
        n_g = self.batch.mask @ self.batch.X
        return np.where(n_g > 0, np.log(np.where(n_g > 0, n_g, 1.0)), 0.0).sum(1)
