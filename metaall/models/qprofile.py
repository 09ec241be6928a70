"""Q-profile confidence intervals for tau², I² and H² (metafor ``confint.rma.uni``).

Viechtbauer (2007, Stat Med 26:37-52): the generalised Q statistic
Q(τ²) = Σ(yᵢ - μ̂_τ)²/(vᵢ + τ²) follows χ²(k-1) at the true τ², and decreases in τ².
The limits are the τ² where Q(τ²) equals the upper and lower α/2 quantiles of
χ²(k-1), truncated at zero; I² and H² limits follow from the τ² limits with the
fit's typical within-study variance ṽ. As in metafor, the roots are found by Brent's
method on [0, max(100, 10·τ̂²)] at R's ``uniroot`` tolerance unless the fit asked
for a tighter ``tol``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall import distributions as dist
from metaall.models.brent import R_UNIROOT_TOL
from metaall.models.fit import FitResult, check_level, make_batch
from metaall.models.heterogeneity import from_tau2
from metaall.models.tau2 import q_root


@dataclass(frozen=True)
class HeterogeneityCI:
    """(lower, upper) limits for tau², I² (percent) and H², at ``level``; ``kind`` says
    whether they are a confidence (Q-profile) or a credible (posterior) interval."""

    tau2: tuple
    I2: tuple
    H2: tuple
    level: float
    kind: str = "Q-profile"

    @classmethod
    def from_tau2(cls, lower, upper, vt, level: float, kind: str = "Q-profile"):
        """Limits for I² and H² from the tau² limits and the typical variance ṽ."""

        def plain(value):
            return float(value) if np.ndim(value) == 0 else value

        (i2_lo, h2_lo), (i2_hi, h2_hi) = from_tau2(lower, vt), from_tau2(upper, vt)
        pairs = [(plain(a), plain(b)) for a, b in ((lower, upper), (i2_lo, i2_hi), (h2_lo, h2_hi))]
        return cls(*pairs, level, kind)


def qprofile(result: FitResult, level: float = 0.95) -> HeterogeneityCI:
    """Q-profile intervals for a random-effects fit (single or batch)."""
    if result.method == "FE":
        raise ValueError("a common-effect (FE) model has no tau² to give an interval for")
    level = check_level(level)
    batch, single, _ = make_batch(result.yi, result.vi)
    k = batch.k
    if (k < 2).any():
        raise ValueError("the Q-profile interval needs at least 2 studies")
    df = k - 1
    alpha = 1 - level
    tau2_hat = np.atleast_1d(result.tau2)
    upper_search = np.maximum(100.0, 10 * tau2_hat)
    tol = result.tol or R_UNIROOT_TOL
    lower = q_root(batch, dist.chi2_quantile(1 - alpha / 2, df), tol, upper_search)
    upper = q_root(batch, dist.chi2_quantile(alpha / 2, df), tol, upper_search)
    vt = df / batch.wls(0.0).tr_p
    if single:
        return HeterogeneityCI.from_tau2(float(lower[0]), float(upper[0]), float(vt[0]), level)
    return HeterogeneityCI.from_tau2(lower, upper, vt, level)
