"""Bayesian random-effects meta-analysis without MCMC, as R bayesmeta (Röver 2020).

The normal-normal hierarchical model yᵢ ~ N(μ, vᵢ + τ²) with a prior for τ from
:mod:`metaall.models.priors` and a flat or normal prior for μ. The posterior is
computed exactly (to quadrature accuracy, about 1e-10) by one-dimensional integration
over τ: see :mod:`metaall.models.bayes_posterior` for the formulas. R bayesmeta 3.4
computes the same quantities with a discretised mixture accurate to about 1e-4
(its ``delta = 0.01``); tightening it converges to the figures here.

How a :class:`BayesResult` fills the fields shared with the frequentist models
(:class:`metaall.models.result.PooledResult`):

* ``estimate`` = posterior median of μ, ``se`` = posterior sd of μ, ``ci_lb``/``ci_ub``
  = the credible interval (``interval='central'``: equal tails; ``'shortest'``: the
  highest-posterior-density interval, Röver 2020 §2.4);
* ``zval`` and ``pval`` are NaN: a Bayesian analysis has no test statistic. Use
  ``prob_mu_positive`` / :meth:`BayesResult.prob_mu_below` for posterior probabilities;
* ``tau2`` = posterior median of τ² (= the median of τ, squared); I² = 100·τ²/(τ² + ṽ)
  and H² = (τ² + ṽ)/ṽ from it with the typical within-study variance
  ṽ = (k-1)Σwᵢ/((Σwᵢ)² - Σwᵢ²), wᵢ = 1/vᵢ (Higgins & Thompson 2002, Stat Med 21:1539,
  eq. 9; metafor's and bayesmeta's definition), ṽ = v₁ for one study;
* ``Q``, ``Q_df``, ``Q_pval``: Cochran's Q = Σwᵢ(yᵢ - ȳ_w)² on k - 1 df, descriptive;
* ``pi_lb``/``pi_ub``: the central posterior predictive interval for a new study's
  effect θ_new (always central, whatever ``interval``);
* ``weights`` = 100·wᵢ/Σwᵢ with wᵢ = 1/(vᵢ + τ²) at the posterior median of τ²: for
  display only; the posterior averages over τ and has no fixed weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from metaall.models.bayes_posterior import Posterior
from metaall.models.fit import check_level, make_batch
from metaall.models.heterogeneity import from_q, from_tau2, typical_variance
from metaall.models.priors import TauPrior, make_tau_prior
from metaall.models.result import PooledResult, squeeze

INTERVALS = ("central", "shortest")


@dataclass(frozen=True)
class BayesResult(PooledResult):
    """Result of :func:`fit_bayes` (see the module docstring for the shared fields).

    Extra fields (floats, or arrays over the fits of a batch): posterior ``mu_median``,
    ``mu_mean``, ``mu_sd``, ``mu_ci_lb``/``mu_ci_ub`` (as ``ci_lb``/``ci_ub``),
    ``tau_median``, ``tau_mean``, ``tau_sd``, ``pred_lb``/``pred_ub`` (as ``pi_*``),
    ``prob_mu_positive`` = P(μ > 0 | y); per study (arrays of length k) the posterior
    of each study's true effect θᵢ ("shrinkage estimates"): ``theta_mean``,
    ``theta_sd``, ``theta_median``, ``theta_lb``/``theta_ub`` (interval of the kind
    ``interval``). ``prior`` describes the priors in words; ``notes`` lists posterior
    moments that do not exist (reported as ``inf``, or NaN for the mean of μ).
    """

    mu_median: np.ndarray | float = math.nan
    mu_mean: np.ndarray | float = math.nan
    mu_sd: np.ndarray | float = math.nan
    mu_ci_lb: np.ndarray | float = math.nan
    mu_ci_ub: np.ndarray | float = math.nan
    tau_median: np.ndarray | float = math.nan
    tau_mean: np.ndarray | float = math.nan
    tau_sd: np.ndarray | float = math.nan
    pred_lb: np.ndarray | float = math.nan
    pred_ub: np.ndarray | float = math.nan
    prob_mu_positive: np.ndarray | float = math.nan
    theta_mean: np.ndarray = field(default_factory=lambda: np.array([]))
    theta_sd: np.ndarray = field(default_factory=lambda: np.array([]))
    theta_median: np.ndarray = field(default_factory=lambda: np.array([]))
    theta_lb: np.ndarray = field(default_factory=lambda: np.array([]))
    theta_ub: np.ndarray = field(default_factory=lambda: np.array([]))
    tau_prior: TauPrior | None = None
    mu_prior_mean: float = 0.0
    mu_prior_sd: float | None = None
    interval: str = "central"
    prior: str = ""
    notes: tuple[str, ...] = ()
    posteriors: tuple[Posterior, ...] = field(default=(), compare=False, repr=False)

    PER_STUDY: ClassVar[tuple[str, ...]] = (
        *PooledResult.PER_STUDY,
        "theta_mean",
        "theta_sd",
        "theta_median",
        "theta_lb",
        "theta_ub",
    )
    REPORT_FIELDS: ClassVar[tuple[str, ...]] = (
        "mu_mean",
        "mu_sd",
        "tau_median",
        "tau_mean",
        "tau_sd",
        "prob_mu_positive",
    )

    def _refit(self, keep: np.ndarray) -> BayesResult:
        return fit_bayes(
            np.where(keep, self.yi, np.nan),
            np.where(keep, self.vi, np.nan),
            tau_prior=self.tau_prior,
            mu_mean=self.mu_prior_mean,
            mu_sd=self.mu_prior_sd,
            level=self.level,
            interval=self.interval,
            studies=self.studies,
        )

    def _each(self, fn, x):
        values = [fn(post, x) for post in self.posteriors]
        return values[0] if not self.batched else np.array(values)

    def tau_quantile(self, p: float):
        """The p-quantile of the marginal posterior of τ."""
        return self._each(lambda post, p: post.tau_quantile(p), p)

    def tau_cdf(self, t: float):
        """P(τ ≤ t | y)."""
        return self._each(lambda post, t: post.tau_cdf(t), t)

    def mu_quantile(self, p: float):
        """The p-quantile of the marginal posterior of μ."""
        return self._each(lambda post, p: post.mu.quantile(p), p)

    def prob_mu_below(self, x: float):
        """P(μ < x | y)."""
        return self._each(lambda post, x: float(post.mu.cdf(x)), x)

    def mu_interval(self, level: float | None = None, interval: str | None = None):
        """Credible interval for μ at another ``level`` or of another kind."""
        level = check_level(self.level if level is None else level)
        kind = _check_interval(self.interval if interval is None else interval)
        return self._each(lambda post, lev: post.mu.interval(lev, kind), level)

    def density_mu(self, x):
        """Marginal posterior density of μ at x (array-like)."""
        return self._each(lambda post, x: post.mu.pdf(x), x)

    def density_pred(self, x):
        """Posterior predictive density of a new study's effect at x."""
        return self._each(lambda post, x: post.predictive.pdf(x), x)

    def heterogeneity_interval(self):
        """The central posterior (credible) intervals of tau², and of I² and H² through
        the typical within-study variance, for a single fit of k ≥ 2 (else None)."""
        if self.batched or self.k < 2:
            return None
        from metaall.models.qprofile import HeterogeneityCI

        q = (1 - self.level) / 2
        lower, upper = (self.tau_quantile(p) ** 2 for p in (q, 1 - q))
        vt = typical_variance(self.vi)
        return HeterogeneityCI.from_tau2(lower, upper, vt, self.level, "posterior")

    def prediction(self, kind: str | None = None) -> tuple[float, float] | None:
        """The central posterior predictive interval for a new study's effect, whatever
        ``kind`` asks (the Bayesian model has its own predictive distribution)."""
        self._require_single("a prediction interval")
        return float(self.pi_lb), float(self.pi_ub)

    def density_tau(self, t):
        """Marginal posterior density of τ at t ≥ 0 (array-like)."""
        return self._each(lambda post, t: post.density_tau(t), t)


def _check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be 'central' or 'shortest', got {interval!r}")
    return interval


def _check_propriety(prior: TauPrior, k: int, flat: bool, where: str) -> None:
    """Raise unless the posterior is proper: τ tail a + k - 1 > 1 (flat μ) or a + k > 1."""
    if prior.proper:
        return
    a = prior.tail_exponent
    need = math.floor((2 if flat else 1) - a) + 1
    if k < need:
        mu_words = "a flat prior on μ" if flat else "a normal prior on μ"
        raise ValueError(
            f"{where}the posterior is improper: the {prior.description} with {mu_words} "
            f"needs at least {need} studies, got {k}; use a proper prior for τ"
            + (" or a normal prior on μ (mu_sd)" if flat else "")
        )


def _heterogeneity(y: np.ndarray, v: np.ndarray, tau2: float) -> dict:
    """Cochran's Q, I², H² from τ² (metafor's definition) and display weights."""
    k = y.size
    w = 1 / v
    ybar = np.sum(w * y) / np.sum(w)
    Q = float(np.sum(w * (y - ybar) ** 2)) if k > 1 else 0.0
    I2, H2 = from_tau2(tau2, typical_variance(v))
    wr = 1 / (v + tau2)
    return dict(
        I2=float(I2),
        H2=float(H2),
        Q=Q,
        Q_df=k - 1,
        Q_pval=float(from_q(Q, k - 1)[2]),
        weights=100 * wr / wr.sum(),
    )


def _fit_one(y, v, prior, mu_mean, mu_sd, level, interval, where) -> tuple[dict, Posterior]:
    _check_propriety(prior, y.size, mu_sd is None, where)
    try:
        post = Posterior(y, v, prior, mu_mean, mu_sd)
    except ValueError as err:
        raise ValueError(f"{where}{err}") from None
    mu = post.mu
    mu_mean_, mu_sd_ = post.mu_moments()
    lo, hi = mu.interval(level, interval)
    median = mu.quantile(0.5)
    tau_median = post.tau_quantile(0.5)
    tau_mean = post.tau_moment(1)
    tau_sd = math.inf if post.tail <= 3 else math.sqrt(post.tau_moment(2) - tau_mean**2)
    pred_lb, pred_ub = post.predictive.interval(level, "central")
    thetas = [post.theta(i) for i in range(y.size)]
    bounds = np.array([th.interval(level, interval) for th in thetas])
    tau2 = tau_median**2
    values = dict(
        estimate=median,
        se=mu_sd_,
        ci_lb=lo,
        ci_ub=hi,
        zval=math.nan,
        pval=math.nan,
        tau2=tau2,
        pi_lb=pred_lb,
        pi_ub=pred_ub,
        k=y.size,
        mu_median=median,
        mu_mean=mu_mean_,
        mu_sd=mu_sd_,
        mu_ci_lb=lo,
        mu_ci_ub=hi,
        tau_median=tau_median,
        tau_mean=tau_mean,
        tau_sd=tau_sd,
        pred_lb=pred_lb,
        pred_ub=pred_ub,
        prob_mu_positive=float(mu.sf(0.0)),
        theta_mean=np.array([th.mean() for th in thetas]),
        theta_sd=np.array([th.sd() for th in thetas]),
        theta_median=np.array([th.quantile(0.5) for th in thetas]),
        theta_lb=bounds[:, 0],
        theta_ub=bounds[:, 1],
        **_heterogeneity(y, v, tau2),
    )
    return values, post


_PER_STUDY = tuple(name for name in BayesResult.PER_STUDY if name not in ("yi", "vi"))


def fit_bayes(
    yi,
    vi,
    tau_prior: str | TauPrior = "halfnormal",
    tau_scale: float = 0.5,
    mu_mean: float = 0.0,
    mu_sd: float | None = None,
    level: float = 0.95,
    interval: str = "central",
    studies: Sequence[str] | None = None,
    **prior_options,
) -> BayesResult:
    """Bayesian random-effects meta-analysis: the exact posterior of μ and τ.

    ``tau_prior`` names a prior of :data:`metaall.models.priors.TAU_PRIORS`
    (``halfnormal``, ``halfcauchy``, ``halft``, ``uniform``, ``lognormal``,
    ``jeffreys``, ``turner``) or is a :class:`~metaall.models.priors.TauPrior`;
    ``tau_scale`` is the scale of the half-normal/half-Cauchy/half-t priors and
    ``prior_options`` the other parameters (``df``, ``upper``, ``meanlog``/``sdlog``,
    ``outcome``/``comparison``; see :func:`~metaall.models.priors.make_tau_prior`).
    μ has a N(``mu_mean``, ``mu_sd``²) prior, or a flat one with ``mu_sd=None`` (then
    ``mu_mean`` is ignored). ``interval`` is ``'central'`` or ``'shortest'`` for the
    credible intervals of μ and of the θᵢ. As R ``bayesmeta(y, sigma=sqrt(vi),
    tau.prior=..., mu.prior.mean=mu_mean, mu.prior.sd=mu_sd, interval.type=interval)``.

    ``yi``/``vi`` may be 2-D (m, k) with NaN for absent studies: m analyses fitted
    one after the other and stacked, as :func:`metaall.fit`. Deterministic (no
    sampling). Raises ``ValueError`` for bad input and for an improper posterior
    (an improper τ prior with too few studies).
    """
    prior = make_tau_prior(tau_prior, tau_scale, **prior_options)
    level = check_level(level)
    interval = _check_interval(interval)
    if mu_sd is not None:
        mu_sd = float(mu_sd)
        if not (math.isfinite(mu_sd) and mu_sd > 0):
            raise ValueError(f"mu_sd must be a positive number (or None: flat prior), got {mu_sd}")
        if not math.isfinite(float(mu_mean)):
            raise ValueError(f"mu_mean must be finite, got {mu_mean}")
    batch, single, _ = make_batch(yi, vi, studies)
    m, k = batch.mask.shape
    rows, posteriors, notes = [], [], []
    for r in range(m):
        keep = batch.mask[r]
        where = "" if single else f"data set {r + 1}: "
        values, post = _fit_one(
            batch.y[r, keep], batch.v[r, keep], prior, mu_mean, mu_sd, level, interval, where
        )
        for name in _PER_STUDY:
            full = np.full(k, np.nan)
            full[keep] = values[name]
            values[name] = full
        rows.append(values)
        posteriors.append(post)
        notes += [where + note for note in post.note_moments()]
    stacked = {name: np.array([row[name] for row in rows]) for name in rows[0]}
    stacked["yi"] = np.where(batch.mask, batch.y, np.nan)
    stacked["vi"] = np.where(batch.mask, batch.v, np.nan)
    mu_words = (
        "flat prior for μ"
        if mu_sd is None
        else f"normal prior for μ with mean {mu_mean:g}, sd {mu_sd:g}"
    )
    return BayesResult(
        **squeeze(stacked, single),
        method="bayes",
        test="bayes",
        level=level,
        i2_source="tau2",
        studies=tuple(studies) if studies is not None else None,
        tau_prior=prior,
        mu_prior_mean=float(mu_mean),
        mu_prior_sd=mu_sd,
        interval=interval,
        prior=f"{prior.description}; {mu_words}",
        notes=tuple(dict.fromkeys(notes)),
        posteriors=tuple(posteriors),
    )
