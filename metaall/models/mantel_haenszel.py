"""Common-effect pooling of 2×2 tables: Mantel-Haenszel and Peto (metafor ``rma.mh``,
``rma.peto``), vectorised over a batch of data sets like :func:`metaall.fit`.

With aᵢ, bᵢ, cᵢ, dᵢ the cells, n1ᵢ, n2ᵢ the arm sizes and Nᵢ = n1ᵢ + n2ᵢ:

* MH odds ratio R/S, R = Σaᵢdᵢ/Nᵢ, S = Σbᵢcᵢ/Nᵢ (Mantel & Haenszel 1959), variance of
  its log by Robins, Breslow & Greenland (1986, Biometrics 42:311);
* MH risk ratio R/S, R = Σaᵢn2ᵢ/Nᵢ, S = Σcᵢn1ᵢ/Nᵢ, variance of its log
  Σ(n1ᵢn2ᵢ(aᵢ+cᵢ)/Nᵢ² - aᵢcᵢ/Nᵢ)/(RS) (Greenland & Robins 1985, Biometrics 41:55);
* MH risk difference Σ(aᵢn2ᵢ - cᵢn1ᵢ)/Nᵢ / Σn1ᵢn2ᵢ/Nᵢ, variance by Sato, Greenland &
  Robins (1989, Biometrics 45:1323);
* Peto log odds ratio Σ(Oᵢ-Eᵢ)/ΣVᵢ, variance 1/ΣVᵢ (Yusuf et al. 1985, Prog Cardiovasc
  Dis 27:335).

The pooled estimates use the raw counts: they need no continuity correction. The
heterogeneity test is Cochran's Q of the per-study effects around the pooled value,
Q = Σ(yᵢ - θ̂)²/vᵢ, with the per-study effects computed with the correction
``add``/``to`` and double-zero tables dropped (``drop00``, metafor's defaults), so
Q has k' - 1 df where k' counts studies with an estimable effect; for Peto,
Q = Σ(Oᵢ-Eᵢ)²/Vᵢ - (Σ(Oᵢ-Eᵢ))²/ΣVᵢ. I² = max(0, 100(Q - df)/Q) and H² = Q/df
come from Q (there is no tau²). Cochrane Handbook v6.4 §10.4.1-10.4.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from metaall import distributions as dist
from metaall.effects import EffectSizes, effect_sizes, peto_terms, validate_counts
from metaall.models.fit import check_level
from metaall.models.heterogeneity import from_q
from metaall.models.result import PooledResult, squeeze

MH_MEASURES = ("OR", "RR", "RD")


@dataclass(frozen=True)
class CountsResult(PooledResult):
    """Result of :func:`fit_mh` or :func:`fit_peto`; keeps the tables for refits."""

    measure: str = "OR"
    tables: tuple = ()
    correction: tuple = (0.5, "only0", True)

    PER_STUDY_TUPLES: ClassVar[tuple[str, ...]] = ("tables",)

    def _refit(self, keep: np.ndarray) -> CountsResult:
        ai, n1i, ci, n2i = (np.where(keep, t, np.nan) for t in self.tables)
        add, to, drop00 = self.correction
        kwargs = dict(add=add, to=to, drop00=drop00, level=self.level, studies=self.studies)
        if self.method == "Peto":
            return fit_peto(ai, n1i, ci, n2i, **kwargs)
        return fit_mh(ai, n1i, ci, n2i, measure=self.measure, **kwargs)


def _sum(x: np.ndarray) -> np.ndarray:
    return np.nansum(x, axis=1)


def _mh_estimate(measure: str, a, b, c, d, n1, n2):
    """log MH estimate (or RD), its variance and the per-study MH weights."""
    N = n1 + n2
    if measure == "OR":
        R_i, S_i = a * d / N, b * c / N
        R, S = _sum(R_i), _sum(S_i)
        P, Q = (a + d) / N, (b + c) / N
        var = 0.5 * (
            _sum(P * R_i) / R**2 + _sum(P * S_i + Q * R_i) / (R * S) + _sum(Q * S_i) / S**2
        )
        return np.log(R / S), var, S_i
    if measure == "RR":
        R_i, S_i = a * n2 / N, c * n1 / N
        R, S = _sum(R_i), _sum(S_i)
        var = _sum(n1 / N * (n2 / N) * (a + c) - a / N * c) / (R * S)
        return np.log(R / S), var, S_i
    w = n1 * n2 / N
    est = _sum(a * (n2 / N) - c * (n1 / N)) / _sum(w)
    P = c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + (n1 / N) * (n2 / N) * (n2 - n1) / 2
    Qs = a * (n2 - c) / N + c * (n1 - a) / N
    return est, (est * _sum(P) + _sum(Qs) / 2) / _sum(w) ** 2, w


@dataclass(frozen=True)
class _Input:
    """The validated tables of one call, its settings and the per-study effects."""

    tables: tuple[np.ndarray, ...]  # ai, n1i, ci, n2i as (m, k)
    single: bool
    es: EffectSizes
    level: float
    studies: Sequence[str] | None
    correction: tuple


def _prepare(ai, n1i, ci, n2i, measure, add, to, drop00, level, studies) -> _Input:
    """Validate the tables; per-study effects with the correction (for Q and display)."""
    single = np.ndim(ai) <= 1
    c = validate_counts({"ai": ai, "n1i": n1i, "ci": ci, "n2i": n2i}, studies)
    tables = tuple(np.atleast_2d(c[key]) for key in ("ai", "n1i", "ci", "n2i"))
    present = ~np.isnan(tables[0])
    empty = ~present.any(axis=1)
    if empty.any():
        where = "" if single else f"data set {int(np.argmax(empty)) + 1}: "
        raise ValueError(f"{where}no studies to pool")
    no_events = ~(present & (tables[0] + tables[2] > 0)).any(axis=1)
    if no_events.any():
        where = "" if single else f"data set {int(np.argmax(no_events)) + 1}: "
        raise ValueError(
            f"{where}no study has an event in either arm: the pooled effect is undefined "
            "(0/0); there is nothing to pool"
        )
    es = effect_sizes(*tables, measure, add, to, drop00, studies)
    return _Input(tables, single, es, check_level(level), studies, (add, to, drop00))


def _assemble(
    data: _Input, method: str, measure: str, estimate, var, weights, Q, Q_df
) -> CountsResult:
    es, tables, single, level, studies = (
        data.es,
        data.tables,
        data.single,
        data.level,
        data.studies,
    )
    crit = dist.norm_quantile(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var)
        zval = estimate / se
        Q = np.where(Q_df > 0, np.maximum(Q, 0.0), 0.0)
        pct = 100 * weights / np.nansum(weights, axis=1, keepdims=True)
    I2, H2, Q_pval = from_q(Q, Q_df)
    nan = np.full(estimate.shape, np.nan)
    values = squeeze(
        dict(
            estimate=estimate,
            se=se,
            ci_lb=estimate - crit * se,
            ci_ub=estimate + crit * se,
            zval=zval,
            pval=dist.norm_two_sided_p(zval),
            tau2=np.zeros(estimate.shape),
            I2=I2,
            H2=H2,
            Q=Q,
            Q_df=Q_df,
            Q_pval=Q_pval,
            pi_lb=nan,
            pi_ub=nan,
            weights=pct,
            yi=es.yi,
            vi=es.vi,
            k=np.sum(~np.isnan(tables[0]), axis=1),
        ),
        single,
    )
    return CountsResult(
        **values,
        method=method,
        test="z",
        level=level,
        i2_source="Q",
        studies=tuple(studies) if studies is not None else None,
        measure=measure,
        tables=tuple(t[0] if single else t for t in tables),
        correction=data.correction,
    )


def fit_mh(
    ai,
    n1i,
    ci,
    n2i,
    measure: str = "OR",
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    level: float = 0.95,
    studies: Sequence[str] | None = None,
) -> CountsResult:
    """Mantel-Haenszel common-effect pooling of OR, RR or RD (see module docstring).

    ``add``/``to``/``drop00`` only affect the per-study effects used for Q and shown
    per study, never the MH estimate. The estimate is NaN when it is undefined
    (e.g. no events in one arm of every table for OR/RR).
    """
    measure = measure.upper()
    if measure not in MH_MEASURES:
        raise ValueError(f"Mantel-Haenszel pools OR, RR or RD, not {measure!r}")
    data = _prepare(ai, n1i, ci, n2i, measure, add, to, drop00, level, studies)
    a, n1, c, n2 = data.tables
    es = data.es
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate, var, weights = _mh_estimate(measure, a, n1 - a, c, n2 - c, n1, n2)
        estimate = np.where(np.isfinite(estimate), estimate, np.nan)
        resid = np.where(es.estimable, (es.yi - estimate[:, None]) ** 2 / es.vi, np.nan)
    Q_df = es.estimable.sum(axis=1) - 1
    return _assemble(data, "MH", measure, estimate, var, weights, _sum(resid), Q_df)


def fit_peto(
    ai,
    n1i,
    ci,
    n2i,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    level: float = 0.95,
    studies: Sequence[str] | None = None,
) -> CountsResult:
    """Peto's one-step common-effect log odds ratio (see module docstring)."""
    data = _prepare(ai, n1i, ci, n2i, "PETO", add, to, drop00, level, studies)
    o_e, v = peto_terms(*data.tables)
    sum_v = _sum(v)
    if (sum_v == 0).any():
        raise ValueError("Peto's method needs at least one table with events and non-events")
    with np.errstate(divide="ignore", invalid="ignore"):
        Q = _sum(np.where(v > 0, o_e**2 / v, 0.0)) - _sum(o_e) ** 2 / sum_v
    Q_df = np.where((v > 0).sum(axis=1) > 1, data.es.estimable.sum(axis=1) - 1, 0)
    weights = np.where(v > 0, v, 0.0)
    return _assemble(data, "Peto", "OR", _sum(o_e) / sum_v, 1 / sum_v, weights, Q, Q_df)
