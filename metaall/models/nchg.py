"""Fisher's noncentral hypergeometric distribution: the exact conditional likelihood of
a 2×2 table given its margins (metafor's ``rma.glmm(model="CM.EL")``).

With n1, n2 the arm sizes and m = a + c the total events, the events a in arm 1 given
m have, for log odds ratio θ (Breslow & Day 1980, *Statistical Methods in Cancer
Research* I, §4.2; Liao & Rosen 2001, Am Stat 55:366),

    P(X = x | m; θ) = C(n1, x) C(n2, m - x) e^{xθ} / Σ_u C(n1, u) C(n2, m - u) e^{uθ},

over the support max(0, m - n2) ≤ x ≤ min(n1, m). The normalising constant is summed
directly over the whole support in log space (log-sum-exp), as metafor's
``.dnoncenhypergeom`` does (BiasedUrn's ``dFNCHypergeo``, metafor's default, sums the
same series to a relative precision of 1e-10). As a function of θ the log density is
an exponential family in x: its derivatives are the cumulants of X,

    d/dθ log P = a - E[X],  d²/dθ² = -Var[X],  d³/dθ³ = -κ₃[X].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoncentralHypergeometric:
    """Observed tables as a response family: one observation per study (J = 1).

    ``support`` (k, S) holds each study's possible values (padded with the last
    valid value), ``log_coef`` (k, S) the log binomial coefficients
    log C(n1, x) + log C(n2, m - x) (-inf on the padding), ``observed`` (k,) the index
    of the observed count within the support.
    """

    support: np.ndarray
    log_coef: np.ndarray
    observed: np.ndarray

    @classmethod
    def from_tables(cls, a, n1, c, n2) -> NoncentralHypergeometric:
        """Support and coefficients of the conditional distribution of each table."""
        from scipy.special import gammaln

        a, n1, c, n2 = (np.asarray(x, dtype=float) for x in (a, n1, c, n2))
        m = a + c
        lo = np.maximum(0.0, m - n2)
        hi = np.minimum(n1, m)
        width = int(np.max(hi - lo)) + 1
        offset = np.arange(width)
        support = np.minimum(lo[:, None] + offset, hi[:, None])
        valid = lo[:, None] + offset <= hi[:, None]

        def log_choose(n, x):
            return gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)

        log_coef = log_choose(n1[:, None], support) + log_choose(n2[:, None], m[:, None] - support)
        log_coef = np.where(valid, log_coef, -np.inf)
        return cls(support, log_coef, (a - lo).astype(int))

    @property
    def degenerate(self) -> np.ndarray:
        """Tables whose conditional distribution has one point (no events or only events)."""
        return (
            ~np.isfinite(self.log_coef[:, 1])
            if self.log_coef.shape[1] > 1
            else np.ones(self.log_coef.shape[0], dtype=bool)
        )

    @property
    def at_lower(self) -> np.ndarray:
        """Observed count at the bottom of the support (conditional MLE of θ is -∞)."""
        return self.observed == 0

    @property
    def at_upper(self) -> np.ndarray:
        """Observed count at the top of the support (conditional MLE of θ is +∞)."""
        top = np.isfinite(self.log_coef).sum(axis=1) - 1
        return self.observed == top

    def derivatives(self, eta: np.ndarray, order: int = 3) -> tuple[np.ndarray, ...]:
        """log P(a | m; η) and its first ``order`` derivatives in η.

        ``eta`` has shape (k, 1, K): K log odds ratios per study. Returns arrays of
        the same shape: the log density, then a - E[X], -Var[X], -κ₃[X].
        """
        x = self.support[:, None, None, :]
        terms = self.log_coef[:, None, None, :] + x * eta[..., None]
        top = np.max(terms, axis=-1, keepdims=True)
        weights = np.exp(terms - top)
        total = weights.sum(axis=-1, keepdims=True)
        log_norm = (top + np.log(total))[..., 0]
        rows = np.arange(self.support.shape[0])
        observed = self.log_coef[rows, self.observed][:, None, None]
        a = self.support[rows, self.observed][:, None, None]
        out = [observed + a * eta - log_norm]
        if order >= 1:
            p = weights / total
            mean = np.sum(p * x, axis=-1)
            out.append(a - mean)
        if order >= 2:
            dev = x - mean[..., None]
            out.append(-np.sum(p * dev**2, axis=-1))
        if order >= 3:
            out.append(-np.sum(p * dev**3, axis=-1))
        return tuple(out)
