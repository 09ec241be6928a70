"""Mixed-effects meta-regression with continuous moderators, for one data set.

Trim-and-fill chooses the side of the funnel plot from the slope of the meta-regression
yᵢ = β₀ + β₁·√vᵢ + uᵢ + εᵢ fitted with the pooling method of the analysis (metafor
``trimfill.rma.uni`` calls ``rma.uni(yi, vi, mods = sqrt(vi), method = ...)``). The
tau² estimators and the weighted least squares are the engine's
(:mod:`metaall.models.tau2`, :mod:`metaall.models.design`), which handle any design
matrix X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall.models.design import Batch
from metaall.models.tau2 import estimate_tau2


@dataclass(frozen=True)
class MetaRegression:
    """Coefficients (intercept first), their covariance, and the tau² of the fit."""

    beta: np.ndarray
    vb: np.ndarray
    tau2: float


def meta_regression(y, v, X, method: str) -> MetaRegression:
    """Fit yᵢ = xᵢ'β + uᵢ + εᵢ, uᵢ ~ N(0, τ²), εᵢ ~ N(0, vᵢ), by weighted least squares
    at the tau² of ``method`` (``FE`` for τ² = 0)."""
    y, v, X = (np.asarray(a, dtype=float) for a in (y, v, X))
    batch = Batch(y[None, :], v[None, :], np.ones((1, y.size), dtype=bool), X)
    tau2 = 0.0 if method == "FE" else float(estimate_tau2(batch, method).tau2[0])
    fit = batch.wls(tau2)
    return MetaRegression(fit.beta[0], fit.covariance[0], tau2)
