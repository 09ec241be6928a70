"""Heterogeneity statistics shared by every model that reports them: from Cochran's Q,
and from a between-study variance tau².

For Q on df degrees of freedom (Higgins & Thompson 2002, Stat Med 21:1539; Cochrane
Handbook v6.4 §10.10.2): I² = max(0, 100·(Q - df)/Q) percent, H² = Q/df, and the test
of homogeneity P(χ²_df > Q). With no degrees of freedom (one informative study) there
is no heterogeneity to measure: I² = 0, H² = 1, p = 1, as metafor reports.
"""

from __future__ import annotations

import numpy as np

from metaall import distributions as dist


def q_pval(Q, df) -> np.ndarray:
    """The p-value P(χ²_df > Q) of the test of homogeneity (1 without df)."""
    Q, df = np.asarray(Q, dtype=float), np.asarray(df)
    pval = dist.chi2_sf(Q, np.maximum(df, 1))
    return pval if np.all(df > 0) else np.where(df > 0, pval, 1.0)


def from_q(Q, df) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(I² in percent, H², p-value of Q) for arrays ``Q`` and ``df``."""
    Q, df = np.asarray(Q, dtype=float), np.asarray(df)
    informative = df > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        I2 = np.nan_to_num(np.maximum(0.0, 100 * (Q - df) / Q), nan=0.0)
        H2 = Q / df
    return np.where(informative, I2, 0.0), np.where(informative, H2, 1.0), q_pval(Q, df)


def typical_variance(vi) -> float:
    """The typical within-study variance ṽ = (k-1)·Σwᵢ / ((Σwᵢ)² - Σwᵢ²), wᵢ = 1/vᵢ
    (Higgins & Thompson 2002, Stat Med 21:1539, eq. 9; metafor's I²); v₁ for one study."""
    w = 1 / np.asarray(vi, dtype=float)
    k = w.size
    if k == 1:
        return float(1 / w[0])
    return float((k - 1) * w.sum() / (w.sum() ** 2 - np.sum(w**2)))


def from_tau2(tau2, vt) -> tuple[np.ndarray, np.ndarray]:
    """(I² in percent, H²) from tau² and the typical variance ṽ: I² = 100·τ²/(ṽ + τ²),
    H² = (ṽ + τ²)/ṽ (metafor's definitions for random-effects models)."""
    tau2 = np.asarray(tau2, dtype=float)
    return 100 * tau2 / (vt + tau2), (vt + tau2) / vt
