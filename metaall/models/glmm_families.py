"""Response families of the binomial GLMMs: the log-likelihood of each observation
as a function of its linear predictor η, with derivatives up to the third.

Binomial with logit link (y events of n): ℓ = log C(n, y) + yη - n·log(1 + e^η),
ℓ' = y - nπ, ℓ'' = -nπ(1-π), ℓ''' = -nπ(1-π)(1-2π) with π = 1/(1 + e^{-η})
(McCullagh & Nelder 1989, *Generalized Linear Models*, §4.3). The binomial
coefficient is included, as in R's ``dbinom`` and lme4's ``logLik``.

The exact conditional family (Fisher's noncentral hypergeometric) is in
:mod:`metaall.models.nchg`; both expose ``derivatives(eta, order)`` for ``eta`` of
shape (k, J, K): k studies, J observations per study, K evaluation points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Binomial:
    """y events out of n per observation, arrays of shape (k, J); n = 0 contributes 0."""

    y: np.ndarray
    n: np.ndarray
    log_coef: np.ndarray

    @classmethod
    def from_counts(cls, y, n) -> Binomial:
        from scipy.special import gammaln

        y = np.asarray(y, dtype=float)
        n = np.asarray(n, dtype=float)
        log_coef = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
        return cls(y, n, log_coef)

    def derivatives(self, eta: np.ndarray, order: int = 3) -> tuple[np.ndarray, ...]:
        """ℓ(η) and its first ``order`` derivatives, each of the shape of ``eta``."""
        y, n = self.y[..., None], self.n[..., None]
        log1pexp = np.logaddexp(0.0, eta)
        out = [self.log_coef[..., None] + y * eta - n * log1pexp]
        if order >= 1:
            p = np.exp(eta - log1pexp)
            out.append(y - n * p)
        if order >= 2:
            q = np.exp(-log1pexp)
            v = p * q
            out.append(-n * v)
        if order >= 3:
            out.append(-n * v * (q - p))
        return tuple(out)

    def saturated_loglik(self) -> np.ndarray:
        """Σ_j log dbinom(y, n, y/n) per study: the log-likelihood of the saturated model."""
        y, n = self.y, self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.where(y > 0, y * np.log(y / n), 0.0)
            lm = np.where(n - y > 0, (n - y) * np.log((n - y) / n), 0.0)
        return np.sum(self.log_coef + ly + lm, axis=-1)
