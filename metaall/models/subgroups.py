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

from metaall import distributions as dist
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


def q_between(estimates: Sequence[float], ses: Sequence[float]) -> tuple[float, int, float]:
    """Test for subgroup differences from separately pooled estimates: (Q, df, p)."""
    est, se = np.asarray(estimates, dtype=float), np.asarray(ses, dtype=float)
    if est.size < 2:
        return 0.0, 0, 1.0
    q = _between(est, se**2)
    return q, est.size - 1, float(dist.chi2_sf(q, est.size - 1))


def common_tau2_test(
    yi, vi, groups: Sequence, method: str = "REML", test: str = "z", tol: float | None = None
) -> tuple[float, int, float, float]:
    """Moderator test of the mixed-effects model with one tau²: (QM, df, p, tau²)."""
    batch, _, names = make_batch(yi, vi, groups=np.asarray(groups, dtype=object))
    G = len(names)
    tau2 = 0.0 if method == "FE" else float(estimate_tau2(batch, method, tol).tau2[0])
    model = batch.wls(np.array([tau2]))
    if G < 2:
        return 0.0, 0, 1.0, tau2
    qm = _between(model.beta[0], 1 / model.sw_g[0])
    k = int(batch.k[0])
    if test == "knha" and k > G:
        qm = qm / (G - 1) / (float(model.rss[0]) / (k - G))
        return qm, G - 1, float(dist.f_sf(qm, G - 1, k - G)), tau2
    return qm, G - 1, float(dist.chi2_sf(qm, G - 1)), tau2


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
    _, _, names = make_batch(yi, vi, studies, groups=groups)
    names_arr = np.asarray(studies, dtype=object) if studies is not None else None
    fits = {}
    for g in names:
        sel = groups == g
        sub_names = names_arr[sel].tolist() if names_arr is not None else None
        fits[str(g)] = fit(yi[sel], vi[sel], method, test, level, tol, sub_names)

    q, df, p = q_between([f.estimate for f in fits.values()], [f.se for f in fits.values()])
    qm, qm_df, qm_p, tau2 = common_tau2_test(yi, vi, groups, method, test, tol)
    return SubgroupResult(
        subgroups=fits,
        Q_between=q,
        Q_between_df=df,
        Q_between_pval=p,
        QM_common_tau2=qm,
        QM_common_tau2_df=qm_df,
        QM_common_tau2_pval=qm_p,
        tau2_common=tau2,
        method=method,
        test=test,
        level=level,
    )
