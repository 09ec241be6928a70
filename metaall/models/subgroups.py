"""Subgroup analysis and the test for subgroup differences.

Two tests are reported, because reviewers meet both:

* ``Q_between``: the subgroups are pooled separately (each with its own tau²) and
  their estimates θ̂_g compared with a fixed-effect Q, Σ(θ̂_g - θ̄)²/se_g² on G-1 df
  (Borenstein et al. 2009, ch. 19; Cochrane Handbook v6.4 §10.11.3.1); this is what
  RevMan and R meta print as the "test for subgroup differences".
* ``QM_common_tau2``: the mixed-effects meta-regression with the subgroup as a
  categorical moderator and one tau² for all studies, estimated from the residual
  heterogeneity (metafor ``rma(yi, vi, mods = ~ group)``; Viechtbauer 2005 for the
  estimators with moderators). Its omnibus Wald test of equal subgroup means is
  QM = Σ_g s_g(β̂_g - β̄)², s_g = Σ_{i∈g} 1/(vᵢ + τ̂²), on G-1 df (an F test on
  (G-1, k-G) df, QM/(G-1)/s², under Hartung-Knapp).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from metaall.models.fit import FitResult, check_level, fit, make_batch
from metaall.models.tau2 import estimate_tau2


@dataclass(frozen=True)
class SubgroupResult:
    """Per-subgroup fits and the two tests for subgroup differences."""

    subgroups: dict[str, FitResult]
    Q_between: float
    Q_between_df: int
    Q_between_pval: float
    QM_common_tau2: float
    QM_common_tau2_df: int
    QM_common_tau2_pval: float
    tau2_common: float
    method: str
    test: str
    level: float


def _between(estimates: np.ndarray, variances: np.ndarray) -> float:
    w = 1 / variances
    centre = np.sum(w * estimates) / np.sum(w)
    return float(np.sum(w * (estimates - centre) ** 2))


def subgroups(
    yi,
    vi,
    groups: Sequence,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tol: float | None = None,
    studies: Sequence[str] | None = None,
) -> SubgroupResult:
    """Pool each subgroup separately and test for subgroup differences (module doc).

    ``groups`` labels each study; subgroups appear in order of first appearance.
    """
    level = check_level(level)
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    groups = np.asarray(groups, dtype=object)
    if groups.shape != yi.shape:
        raise ValueError(f"{groups.size} group labels given for {yi.size} studies")
    batch, _, names = make_batch(yi, vi, studies, groups=groups)
    names_arr = np.asarray(studies, dtype=object) if studies is not None else None
    fits = {}
    for g in names:
        sel = groups == g
        sub_names = names_arr[sel].tolist() if names_arr is not None else None
        fits[str(g)] = fit(yi[sel], vi[sel], method, test, level, tol, sub_names)

    est = np.array([f.estimate for f in fits.values()])
    var = np.array([f.se**2 for f in fits.values()])
    G = len(fits)
    q_between = _between(est, var) if G > 1 else 0.0

    # mixed-effects model with a common tau² (intercept-only for FE)
    tau2 = 0.0 if method == "FE" else float(estimate_tau2(batch, method, tol).tau2[0])
    model = batch.wls(np.array([tau2]))
    s_g = model.sw_g[0]
    beta = model.beta[0]
    qm = _between(beta, 1 / s_g) if G > 1 else 0.0
    k = int(batch.k[0])
    if test == "knha" and k > G:
        s2 = float(model.rss[0]) / (k - G)
        qm = qm / (G - 1) / s2 if G > 1 else 0.0
        qm_p = float(stats.f.sf(qm, G - 1, k - G)) if G > 1 else 1.0
    else:
        qm_p = float(stats.chi2.sf(qm, G - 1)) if G > 1 else 1.0
    return SubgroupResult(
        subgroups=fits,
        Q_between=q_between,
        Q_between_df=G - 1,
        Q_between_pval=float(stats.chi2.sf(q_between, G - 1)) if G > 1 else 1.0,
        QM_common_tau2=qm,
        QM_common_tau2_df=G - 1,
        QM_common_tau2_pval=qm_p,
        tau2_common=tau2,
        method=method,
        test=test,
        level=level,
    )
