"""Binomial generalized linear mixed models for the odds ratio, the exact
conditional model and single-arm proportions (metafor's ``rma.glmm``, Viechtbauer
2010, J Stat Softw 36(3); Stijnen, Hamza & Özdemir 2010, Stat Med 29:3046).

``fit_glmm`` fits one of metafor's four models of 2×2 tables (``UM.FS``, ``UM.RS``,
``CM.EL``, ``CM.AL``; ``measure='OR'``) or its random-intercept logistic model of
single-arm proportions (``GLMM``; ``measure='PLO'`` with ``xi``/``ni``, as
``rma.glmm(measure = "PLO")``, the default of R meta's ``metaprop``; see
:mod:`metaall.models.glmm_models`) by maximum likelihood and reports, as metafor
(for proportions read "log odds" for "log odds ratio"; ``back_transform('PLO', ·)``
gives the pooled proportion):

* the pooled log odds ratio θ̂ with se from the inverse observed information (the
  Hessian of the approximate marginal log-likelihood in all parameters, as lme4's
  ``vcov`` and metafor's ``numDeriv`` Hessian for CM.EL); Wald z test and CI, or with
  ``test='knha'`` (alias ``'t'``, metafor's ``test="t"``) t(k-1) quantiles and
  p-values *without* a Hartung-Knapp rescaling of the se;
* τ̂² (the variance of the study log odds ratios);
* I² = 100·τ̂²/(τ̂² + ṽ), H² = τ̂²/ṽ + 1 with the typical within-study variance
  ṽ = (k'-1)/(Σwᵢ - Σwᵢ²/Σwᵢ), wᵢ = 1/vᵢ, from the ``escalc`` log odds ratios
  (continuity correction ``add``/``to``, ``drop00``; k' of them finite) — metafor's
  ``rma.glmm`` definition (Higgins & Thompson 2002, Stat Med 21:1539);
* Q = metafor's Wald-type heterogeneity statistic ``QE.Wld`` on k - 1 df, and the
  likelihood-ratio statistic ``QE.LRT`` (fields ``QE_lrt``, ``QE_lrt_pval``);
* the prediction interval θ̂ ± c·√(se² + τ̂²), c the z or t(k-1) quantile
  (metafor's ``predict``);
* per-study ``yi``/``vi``: the ``escalc`` log odds ratios, for display only.
  ``weights`` are *approximate, display-only* percentages 100·wᵢ/Σwᵢ with
  wᵢ = 1/(vᵢ + τ̂²): a GLMM has no study weights.

The GLMM for proportions keeps studies with xᵢ = 0 or xᵢ = nᵢ (it needs no continuity
correction; ``add``/``to`` only shape the display effects). Studies with no events in
either arm (or only events) are dropped from the models of 2×2 tables when ``drop00``
(metafor's default, applied by ``rma.glmm`` to all four models); their names are in
``dropped``. With one study τ² is not identifiable: metafor stops with an error; here
the model is fitted with τ² = 0 (σ² included for UM.RS) and ``algorithm`` says so.
Errors (a pooled log odds ratio of ±∞ because every treatment arm is empty or full,
no maximum, no convergence) raise ``ValueError``; in the batches of
``leave_one_out``/``cumulative`` such a row holds NaN and its ``algorithm`` entry
starts with ``"not fitted: "`` followed by the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from metaall import distributions as dist
from metaall import methods
from metaall.effects import effect_sizes, validate_counts
from metaall.models.fit import check_level
from metaall.models.glmm_models import (
    DEFAULT_NODES,
    FITTERS,
    Events,
    ModelFit,
    Tables,
    fit_proportions,
)
from metaall.models.result import STAT_FIELDS, PooledResult

GLMM_TESTS = ("z", "knha", "t")
NOT_FITTED = "not fitted: "
COUNTS = {"OR": ("ai", "n1i", "ci", "n2i"), "PLO": ("xi", "ni")}
"""The counts each GLMM measure is fitted to, by keyword (2×2 tables; single arms)."""
PROPORTIONS = "GLMM"
"""The model of single-arm proportions."""


@dataclass(frozen=True)
class GLMMSettings:
    """The options of a :func:`fit_glmm` call, kept for refits."""

    model: str = "UM.FS"
    test: str = "z"
    add: float = 0.5
    to: str = "only0"
    drop00: bool = True
    nagq: int | str | None = None
    measure: str = "OR"


@dataclass(frozen=True)
class GLMMResult(PooledResult):
    """Result of :func:`fit_glmm` (``method`` is the model name, e.g. ``"CM.EL"``;
    ``"GLMM"`` for proportions, whose ``tables`` are (xi, ni)).

    Extra fields: ``loglik`` (metafor's ``fit.stats["ll", "ML"]``), ``loglik_marginal``
    (the maximised approximate marginal log-likelihood), ``QE_lrt``/``QE_lrt_pval``,
    ``sigma2`` (variance of the random study intercepts, UM.RS only), ``converged``,
    ``algorithm``, ``dropped`` (names of the studies left out of the model; per row in
    a batch) and what a refit needs (``tables``, ``settings``).
    """

    loglik: np.ndarray | float = 0.0
    loglik_marginal: np.ndarray | float = 0.0
    QE_lrt: np.ndarray | float = 0.0
    QE_lrt_pval: np.ndarray | float = 1.0
    sigma2: np.ndarray | float | None = None
    converged: np.ndarray | bool = True
    algorithm: np.ndarray | str = ""
    dropped: tuple = ()
    tables: tuple = ()
    settings: GLMMSettings = GLMMSettings()

    PER_STUDY_TUPLES: ClassVar[tuple[str, ...]] = ("tables",)
    REPORT_FIELDS: ClassVar[tuple[str, ...]] = (
        "loglik",
        "QE_lrt",
        "QE_lrt_pval",
        "sigma2",
        "converged",
    )

    def _labels(self) -> tuple[str, ...]:
        k = np.shape(self.tables[0])[-1]
        return self.studies or tuple(f"study {j + 1}" for j in range(k))

    @property
    def used(self) -> np.ndarray:
        """Boolean mask of the studies in the model (the complement of ``dropped``)."""
        self._require_single("the mask of studies used")
        return np.array([name not in self.dropped for name in self._labels()])

    def study_table(self) -> list[dict]:
        """One record per study: its counts (ai, n1i, ci, n2i; xi, ni for proportions),
        display effect, weight and whether used."""
        self._require_single("the table of studies")
        keys = COUNTS[self.settings.measure]
        rows = []
        for j, (name, used) in enumerate(zip(self._labels(), self.used, strict=True)):
            rows.append(
                dict(
                    study=name,
                    **{key: float(t[j]) for key, t in zip(keys, self.tables, strict=True)},
                    yi=float(self.yi[j]),
                    vi=float(self.vi[j]),
                    weight=float(self.weights[j]),
                    used=bool(used),
                )
            )
        return rows

    def _refit(self, keep: np.ndarray) -> GLMMResult:
        """Refit on each row's subset of studies; rows that cannot be fitted hold NaN."""
        keep = np.atleast_2d(np.asarray(keep, dtype=bool))
        names, s = self._labels(), self.settings
        rows = []
        for row in keep:
            idx = np.flatnonzero(row)
            try:
                counts = zip(COUNTS[s.measure], self.tables, strict=True)
                rows.append(
                    fit_glmm(
                        **{key: t[idx] for key, t in counts},
                        measure=s.measure,
                        model=s.model,
                        test=s.test,
                        level=self.level,
                        studies=[names[j] for j in idx],
                        add=s.add,
                        to=s.to,
                        drop00=s.drop00,
                        nagq=s.nagq,
                    )
                )
            except ValueError as err:
                rows.append(str(err))
        return _stack(self, keep, rows)


def _stack(parent: GLMMResult, keep: np.ndarray, rows: list) -> GLMMResult:
    """Batch result from per-row fits (or error messages), studies on the last axis."""
    m, k = keep.shape
    scalars = (*STAT_FIELDS, "loglik", "loglik_marginal", "QE_lrt", "QE_lrt_pval")
    out = {name: np.full(m, np.nan) for name in scalars}
    out["Q_df"] = np.zeros(m, dtype=int)
    out["k"] = keep.sum(axis=1)
    per_study = {name: np.full((m, k), np.nan) for name in ("yi", "vi", "weights")}
    sigma2 = np.full(m, np.nan)
    converged = np.zeros(m, dtype=bool)
    algorithm = np.empty(m, dtype=object)
    dropped = []
    for i, res in enumerate(rows):
        if isinstance(res, str):
            algorithm[i] = NOT_FITTED + res
            dropped.append(())
            continue
        for name in scalars:
            out[name][i] = getattr(res, name)
        out["Q_df"][i], out["k"][i] = res.Q_df, res.k
        for name, arr in per_study.items():
            arr[i, keep[i]] = getattr(res, name)
        if res.sigma2 is not None:
            sigma2[i] = res.sigma2
        converged[i], algorithm[i] = res.converged, res.algorithm
        dropped.append(res.dropped)
    return GLMMResult(
        **out,
        **per_study,
        method=parent.method,
        test=parent.test,
        level=parent.level,
        i2_source="tau2",
        studies=parent.studies,
        sigma2=sigma2 if parent.method == "UM.RS" else None,
        converged=converged,
        algorithm=algorithm,
        dropped=tuple(dropped),
        tables=tuple(np.where(keep, t, np.nan) for t in parent.tables),
        settings=parent.settings,
    )


def _measure_and_model(measure: str, model: str | None) -> tuple[str, str]:
    """The canonical measure and model; ValueError for a measure the GLMMs do not pool
    or a model of the other kind of data (saying which to use)."""
    entry = methods.measure(measure)
    if entry.name not in COUNTS:
        if entry.proportion:
            raise ValueError(
                f"{measure!r} is not a GLMM measure: the GLMM for proportions is the logistic "
                "model; use measure='PLO' with xi and ni (other transformations are pooled by "
                "inverse variance)"
            )
        raise ValueError(
            f"{measure!r} is not a GLMM measure: metafor's rma.glmm models (and metaall's) "
            "pool the odds ratio or a single-arm proportion (logit); use measure='OR' (for a "
            "risk ratio, pool the log RR with the Bayesian normal-normal model or an "
            "inverse-variance fit)"
        )
    if model is None:
        model = PROPORTIONS if entry.name == "PLO" else "UM.FS"
    if isinstance(model, str) and model.lower() in methods.accepted("method"):
        model = methods.method(model).name  # any case, as everywhere
    if model not in DEFAULT_NODES:
        glmms = ", ".join(methods.names("method", methods.EXACT))
        raise ValueError(f"unknown GLMM model {model!r}; use one of {glmms}")
    two_arm = ", ".join(FITTERS)
    if entry.name == "PLO" and model != PROPORTIONS:
        raise ValueError(
            f"{model} is a model of 2×2 tables (measure='OR'); for single-arm proportions "
            f"use model='{PROPORTIONS}' (measure='PLO' with xi and ni)"
        )
    if entry.name == "OR" and model == PROPORTIONS:
        raise ValueError(
            f"{PROPORTIONS} is the model of single-arm proportions (measure='PLO' with xi "
            f"and ni); for 2×2 tables use one of {two_arm}"
        )
    return entry.name, model


def _check_arguments(counts: dict, model: str, test: str, nagq) -> int | str:
    """Validate the settings; the number of quadrature nodes to use."""
    if test not in GLMM_TESTS:
        raise ValueError(f"unknown test {test!r}; use 'z' or 'knha' (t with k-1 df; alias 't')")
    first = next(iter(counts.values()))
    if np.ndim(first) > 1:
        raise ValueError(
            f"fit_glmm takes one meta-analysis (1-D counts), got shape {np.shape(first)}; "
            "fit batches row by row"
        )
    if nagq is None:
        return DEFAULT_NODES[model]
    if model == "UM.RS" and nagq != 1:
        raise ValueError(
            "UM.RS has two random effects per study and is fitted with the Laplace "
            "approximation (nagq=1), as lme4 and metafor do"
        )
    if nagq == "exact":
        return nagq
    if isinstance(nagq, str) or int(nagq) != nagq or not 1 <= nagq <= 200:
        raise ValueError(f"nagq must be 'exact' or a number of nodes from 1 to 200, got {nagq!r}")
    return int(nagq)


def _check_estimable(model: str, t: Tables) -> None:
    """Raise when the pooled log odds ratio is ±∞ (every study at the same edge)."""
    a, n1, c, n2 = t.a, t.n1, t.c, t.n2
    if np.all(a + c == 0):
        raise ValueError(f"{model}: no events in any study: the odds ratio is not estimable")
    if np.all((a == n1) & (c == n2)):
        raise ValueError(f"{model}: only events in every study: the odds ratio is not estimable")
    if model in ("UM.FS", "CM.EL"):
        informative = (a + c > 0) & (a + c < n1 + n2)
        lower, upper = (a == 0) | (c == n2), (a == n1) | (c == 0)
        edge = "the treatment arm has no events or the control arm only events"
        other = "the treatment arm has only events or the control arm no events"
    elif model == "CM.AL":
        informative = a + c > 0
        lower, upper = a == 0, c == 0
        edge, other = "the treatment arm has no events", "the control arm has no events"
    else:
        informative = np.ones(t.k, dtype=bool)
        lower, upper = a == 0, a == n1
        edge, other = "the treatment arm has no events", "the treatment arm has only events"
    for side, sign, why in ((lower, "-", edge), (upper, "+", other)):
        if np.all(side[informative]):
            raise ValueError(
                f"{model}: the maximum-likelihood log odds ratio is {sign}∞: in every study {why}"
            )
    if model == "UM.RS":
        for side, sign, why in ((c == 0, "-", "no events"), (c == n2, "+", "only events")):
            if np.all(side):
                raise ValueError(
                    f"UM.RS: the mean control-arm log odds is {sign}∞: every control arm has "
                    f"{why} (use UM.FS or a conditional model)"
                )


def fit_glmm(
    ai=None,
    n1i=None,
    ci=None,
    n2i=None,
    measure: str = "OR",
    model: str | None = None,
    test: str = "z",
    level: float = 0.95,
    studies: Sequence[str] | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    nagq: int | str | None = None,
    *,
    xi=None,
    ni=None,
) -> GLMMResult:
    """Fit metafor's ``rma.glmm`` model ``model`` to 2×2 tables or, with
    ``measure='PLO'``, the GLMM to single-arm proportions (see module docstring).

    ``ai``/``ci`` events and ``n1i``/``n2i`` totals in the treatment/control arms; or
    ``xi`` events of ``ni`` (1-D). ``model`` defaults to UM.FS for tables and is
    ``GLMM`` for proportions. ``add``/``to``/``drop00`` as metafor: ``add``/``to``
    only shape the display effects ``yi``/``vi`` (and so I²); ``drop00`` also drops
    tables with no events (or only events) in both arms from the model. ``nagq`` is
    the number of adaptive Gauss-Hermite nodes or ``"exact"`` (numerically exact
    integration); the default is metafor's: 7 nodes for UM.FS, CM.AL and GLMM (lme4's
    ``nAGQ = 7``), exact for CM.EL; UM.RS always uses the Laplace approximation, as
    lme4 must.
    """
    measure, model = _measure_and_model(measure, model)
    given = dict(ai=ai, n1i=n1i, ci=ci, n2i=n2i, xi=xi, ni=ni)
    extra = [
        key for key, value in given.items() if value is not None and key not in COUNTS[measure]
    ]
    missing = [key for key in COUNTS[measure] if given[key] is None]
    if extra or missing:
        raise ValueError(
            f"measure {measure} takes {', '.join(COUNTS[measure])}"
            + (f", not {', '.join(extra)}" if extra else f" ({', '.join(missing)} missing)")
        )
    nodes = _check_arguments({key: given[key] for key in COUNTS[measure]}, model, test, nagq)
    level = check_level(level)
    settings = GLMMSettings(model, test, add, to, drop00, nagq, measure)
    names = tuple(studies) if studies is not None else None
    if measure == "PLO":
        return _fit_proportions(xi, ni, nodes, settings, level, names)
    counts = validate_counts({"ai": ai, "n1i": n1i, "ci": ci, "n2i": n2i}, studies)
    if np.isnan(counts["ai"]).any():
        raise ValueError("fit_glmm needs complete tables (no missing counts)")
    tables = tuple(counts[key] for key in ("ai", "n1i", "ci", "n2i"))
    es = effect_sizes(*tables, "OR", add, to, drop00, studies)
    use = ~es.dropped
    k = int(use.sum())
    if k == 0:
        raise ValueError(
            f"{model}: every study has no events (or only events) in both arms and is "
            "dropped (drop00): nothing to pool"
        )
    t = Tables(*(x[use] for x in tables))
    _check_estimable(model, t)
    fit = FITTERS[model](t, nodes, k > 1)
    return _assemble(_single_study(fit) if k == 1 else fit, es, tables, settings, level, names)


def _fit_proportions(xi, ni, nodes, settings: GLMMSettings, level, names) -> GLMMResult:
    """The GLMM for proportions on every study, those with xᵢ = 0 or nᵢ included."""
    es = effect_sizes(measure="PLO", xi=xi, ni=ni, add=settings.add, to=settings.to, studies=names)
    x, n = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (xi, ni))
    if np.any(np.floor(x) != x) or np.any(np.floor(n) != n):
        raise ValueError("fit_glmm needs whole-number counts xi and ni")
    for edge, value, word in ((x == 0, "0", "no events"), (x == n, "1", "only events")):
        if edge.all():
            raise ValueError(
                f"{PROPORTIONS}: every study has {word}: the maximum-likelihood proportion is "
                f"{value} (log odds {'-' if value == '0' else '+'}∞), which a logistic model "
                "cannot estimate"
            )
    fit = fit_proportions(Events(x, n), nodes, len(x) > 1)
    return _assemble(_single_study(fit) if len(x) == 1 else fit, es, (x, n), settings, level, names)


def _single_study(fit: ModelFit) -> ModelFit:
    note = "one study: tau² is not identifiable and is fixed at 0 (metafor stops with an error)"
    return replace(fit, QE_wald=0.0, QE_lrt=0.0, algorithm=f"{fit.algorithm}; {note}")


def _i2_h2(tau2: float, vi: np.ndarray) -> tuple[float, float]:
    """metafor's I² and H² for rma.glmm: from τ̂² and the typical within-study variance
    of the finite display effects (the harmonic mean of one study's vᵢ when k' = 1)."""
    if tau2 == 0:
        return 0.0, 1.0
    w = 1 / vi[np.isfinite(vi) & (vi > 0)]
    if w.size == 0:
        raise ValueError(
            "I² needs the per-study log odds ratios, and none is finite (every table has "
            "a zero cell and no continuity correction): use add > 0"
        )
    vt = (w.size - 1) / (w.sum() - np.sum(w**2) / w.sum()) if w.size > 1 else 1 / w.mean()
    return float(100 * tau2 / (vt + tau2)), float(tau2 / vt + 1)


def _assemble(fit: ModelFit, es, tables, settings: GLMMSettings, level, names) -> GLMMResult:
    """The result record from a model fit and the display effects ``es``."""
    use = ~es.dropped
    k, tau2, df = int(use.sum()), fit.tau2, int(use.sum()) - 1
    t_based = settings.test in ("knha", "t") and k > 1
    half_alpha = (1 - level) / 2
    crit = float(
        dist.t_quantile(1 - half_alpha, df) if t_based else dist.norm_quantile(1 - half_alpha)
    )
    se = float(np.sqrt(fit.var))
    zval = fit.estimate / se
    pval = float(dist.t_two_sided_p(zval, df) if t_based else dist.norm_two_sided_p(zval))
    I2, H2 = _i2_h2(tau2, es.vi)
    finite = es.estimable
    weights = np.full(len(es.yi), np.nan)
    raw = 1 / (es.vi[finite] + tau2)
    weights[finite] = 100 * raw / raw.sum()
    half = crit * np.sqrt(se**2 + tau2)
    labels = names or tuple(f"study {j + 1}" for j in range(len(use)))
    return GLMMResult(
        estimate=fit.estimate,
        se=se,
        ci_lb=fit.estimate - crit * se,
        ci_ub=fit.estimate + crit * se,
        zval=zval,
        pval=pval,
        tau2=tau2,
        I2=I2,
        H2=H2,
        Q=fit.QE_wald,
        Q_df=df,
        Q_pval=float(dist.chi2_sf(fit.QE_wald, df)) if df > 0 else 1.0,
        pi_lb=fit.estimate - half,
        pi_ub=fit.estimate + half,
        weights=weights,
        yi=es.yi,
        vi=es.vi,
        k=k,
        method=settings.model,
        test="knha" if settings.test in ("knha", "t") else "z",
        level=level,
        i2_source="tau2",
        studies=names,
        loglik=fit.loglik,
        loglik_marginal=fit.loglik_marginal,
        QE_lrt=fit.QE_lrt,
        QE_lrt_pval=float(dist.chi2_sf(fit.QE_lrt, df)) if df > 0 else 1.0,
        sigma2=fit.sigma2,
        converged=True,
        algorithm=fit.algorithm,
        dropped=tuple(name for name, u in zip(labels, use, strict=True) if not u),
        tables=tables,
        settings=settings,
    )
