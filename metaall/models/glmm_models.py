"""The four binomial-normal models of metafor's ``rma.glmm`` for the odds ratio
(Stijnen, Hamza & Özdemir 2010, Stat Med 29:3046; Jackson et al. 2018, Stat Med
37:1059, models 2-4 and 6-7) and its model for single-arm proportions, their
common-effect and saturated counterparts for metafor's heterogeneity tests, and the
likelihood each one maximises.

With aᵢ/n1ᵢ events in the treatment arm, cᵢ/n2ᵢ in the control arm, mᵢ = aᵢ + cᵢ:

* ``UM.FS``: logit πᵢ₁ = αᵢ + θ + uᵢ/2, logit πᵢ₂ = αᵢ - uᵢ/2, uᵢ ~ N(0, τ²), fixed
  study intercepts αᵢ (lme4 ``glmer(y ~ -1 + X + study + (group12 - 1 | study))``,
  adaptive Gauss-Hermite with 7 nodes, metafor's ``nAGQ = 7``);
* ``UM.RS``: logit πᵢ₁ = μ + θ + vᵢ + uᵢ/2, logit πᵢ₂ = μ + vᵢ - uᵢ/2,
  vᵢ ~ N(0, σ²), uᵢ ~ N(0, τ²) independent (``(group12 || study)``), Laplace
  approximation (metafor forces ``nAGQ = 1`` for this model);
* ``CM.AL``: aᵢ | mᵢ ~ Binomial(mᵢ, logit⁻¹(θ + uᵢ + log(n1ᵢ/n2ᵢ))), the
  binomial approximation to the conditional likelihood, ``nAGQ = 7``;
* ``CM.EL``: aᵢ | mᵢ ~ Fisher's noncentral hypergeometric with log odds ratio θ + uᵢ
  (the exact conditional likelihood, Van Houwelingen et al. 1993, Stat Med
  12:2273), integrated to double precision (``"exact"`` in
  :mod:`metaall.models.glmm_quadrature`; metafor uses R's ``integrate`` with
  relative tolerance 1.2e-4);
* ``GLMM`` (single-arm proportions, ``rma.glmm(measure = "PLO")``): xᵢ events of nᵢ,
  xᵢ ~ Binomial(nᵢ, logit⁻¹(μ + uᵢ)), uᵢ ~ N(0, τ²) (Hamza, van Houwelingen & Stijnen
  2008, J Clin Epidemiol 61:41; Stijnen et al. 2010; lme4
  ``glmer(cbind(xi, ni - xi) ~ 1 + (1 | study), nAGQ = 7)``): CM.AL's likelihood
  without its offset.

Heterogeneity tests as metafor (``QE.Wld``, ``QE.LRT``, k - 1 df): the Wald test that
the study-specific log odds ratios of the saturated model are equal, and the
likelihood-ratio test of the common-effect model (τ² = 0) against the saturated one.
Where a study's own log odds ratio is infinite (a zero or full arm) its saturated
estimate diverges; metafor's optimisers stop somewhere along that ray, and the limit
is used here: that study drops out of the Wald statistic (its variance is infinite)
and attains its supremum (log 1 = 0 for the arm or table at the edge) in the
saturated log-likelihood.

The reported log-likelihood is metafor's ``fit.stats["ll", "ML"]``: the maximised
marginal log-likelihood for ``UM.RS`` (lme4's Laplace ``logLik``) and ``CM.EL``; for
``UM.FS``, ``CM.AL`` and ``GLMM`` metafor reports ``ll.QE - deviance/2``, the binomial
log-likelihood at the conditional modes of the random effects (lme4's ``deviance``
of a GLMM is the sum of squared deviance residuals), which is reproduced here; the
maximised criterion itself is ``loglik_marginal``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from metaall.models.glmm_families import Binomial
from metaall.models.glmm_newton import Optimum, Problem, maximise
from metaall.models.glmm_quadrature import Design
from metaall.models.nchg import NoncentralHypergeometric

DEFAULT_NODES = {"UM.FS": 7, "UM.RS": 1, "CM.AL": 7, "CM.EL": "exact", "GLMM": 7}
TAU_START = 0.5
SINGULAR = 1e-10


@dataclass(frozen=True)
class Tables:
    """The 2×2 tables a model is fitted to (1-D arrays over the studies used)."""

    a: np.ndarray
    n1: np.ndarray
    c: np.ndarray
    n2: np.ndarray

    @property
    def k(self) -> int:
        return len(self.a)


@dataclass(frozen=True)
class Events:
    """Single-arm counts a proportion model is fitted to: ``x`` events of ``n``."""

    x: np.ndarray
    n: np.ndarray

    @property
    def k(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class ModelFit:
    """What one model fit yields (all scalars; ``var`` is the variance of θ̂)."""

    estimate: float
    var: float
    tau2: float
    sigma2: float | None
    loglik: float
    loglik_marginal: float
    QE_wald: float
    QE_lrt: float
    algorithm: str


def _logit(x, n):
    return np.log((x + 0.5) / (n - x + 0.5))


def _newton(problem: Problem, x0, what: str) -> Optimum:
    return maximise(problem, np.asarray(x0, dtype=float), what)


def _covariance(opt: Optimum, lam_positions: list[int], what: str) -> np.ndarray:
    """Inverse of -H; random-effect SDs estimated at zero are left out first (their
    cross-derivatives vanish there, since the likelihood is even in each SD). A
    stationary point where -H has an eigenvalue below ``SINGULAR`` times its largest
    is no maximum: Newton's method also stops in the flat tail of a likelihood that
    increases towards infinity (its gradient vanishes exponentially there); legitimate
    fits of sparse tables have ratios above 1e-3."""
    keep = [i for i in range(len(opt.x)) if i not in lam_positions or abs(opt.x[i]) > 1e-6]
    sub = -opt.hessian[np.ix_(keep, keep)]
    eig = np.linalg.eigvalsh(sub)
    if eig.min() <= SINGULAR * eig.max():
        raise ValueError(
            f"{what}: the likelihood has no strict maximum (information eigenvalues "
            f"{eig.min():.1e} to {eig.max():.1e}: flat or curving up in some direction), so "
            "a parameter is not identified; typically the tables are separated (arms with "
            "no events or only events)"
        )
    cov = np.full(opt.hessian.shape, np.nan)
    cov[np.ix_(keep, keep)] = np.linalg.inv(sub)
    return cov


def _wald_independent(est: np.ndarray, var: np.ndarray) -> float:
    """Σ wᵢ(yᵢ - ȳ_w)², wᵢ = 1/varᵢ: the Wald test of equal independent estimates."""
    if len(est) < 2:
        return 0.0
    w = 1 / var
    mean = np.sum(w * est) / np.sum(w)
    return float(np.sum(w * (est - mean) ** 2))


def _wald_correlated(est: np.ndarray, cov: np.ndarray) -> float:
    """Wald test of equal estimates with covariance ``cov``: contrasts with the last."""
    if len(est) < 2:
        return 0.0
    C = np.hstack([np.eye(len(est) - 1), -np.ones((len(est) - 1, 1))])
    d = C @ est
    return float(d @ np.linalg.solve(C @ cov @ C.T, d))


def _algorithm(model: str, nodes: int | str, opt: Optimum) -> str:
    if nodes == "exact":
        rule = "numerically exact integration: sinh-mapped trapezoid, two-sided scale"
        hessian = "Hessian by Louis' identity"
    else:
        rule = "Laplace approximation" if nodes == 1 else f"adaptive Gauss-Hermite, {nodes} nodes"
        hessian = "finite-difference Hessian"
    return (
        f"{model}: ML by Newton-Raphson ({rule}; exact gradient, {hessian}), converged in "
        f"{opt.iterations} iterations: Newton decrement {opt.decrement:.1e} < 1e-12"
    )


# -- unconditional model, fixed study intercepts --------------------------------------
def um_fs_design(a, n1, c, n2) -> Design:
    """Arms (treatment, control) of each study; fixed effects (αᵢ, θ), random uᵢ/2, -uᵢ/2."""
    k = len(a)
    X = np.zeros((k, 2, 2))
    X[:, :, 0] = 1
    X[:, 0, 1] = 1
    C = np.zeros((k, 2, 1))
    C[:, 0, 0], C[:, 1, 0] = 0.5, -0.5
    return Design(Binomial.from_counts(np.c_[a, c], np.c_[n1, n2]), X, C, np.zeros((k, 2)))


def fit_um_fs(t: Tables, nodes: int, random: bool) -> ModelFit:
    """UM.FS (see module docstring); tables with no events or only events in both arms
    are uninformative (their intercept goes to ∓∞) and contribute log 1 = 0."""
    use = ~(((t.a == 0) & (t.c == 0)) | ((t.a == t.n1) & (t.c == t.n2)))
    a, n1, c, n2 = t.a[use], t.n1[use], t.c[use], t.n2[use]
    k = len(a)
    design = um_fs_design(a, n1, c, n2)
    fam = design.family
    active = np.ones((k, 1), dtype=bool)
    fe = _newton(Problem(design, 1, active, np.zeros(1), nodes), np.r_[_logit(c, n2), 0.0], "UM.FS")
    if random:
        opt = _newton(Problem(design, 1, active, None, nodes), np.r_[fe.x, TAU_START], "UM.FS")
    else:
        opt = fe
    cov = _covariance(opt, [k + 1] if random else [], "UM.FS")
    finite = (a > 0) & (a < n1) & (c > 0) & (c < n2)
    af, bf, cf, df = a[finite], n1[finite] - a[finite], c[finite], n2[finite] - c[finite]
    wald = _wald_independent(np.log(af * df / (bf * cf)), 1 / af + 1 / bf + 1 / cf + 1 / df)
    lrt = 2 * (fam.saturated_loglik().sum() - fe.loglik)
    tau = abs(opt.x[k + 1]) if random else 0.0
    return ModelFit(
        estimate=float(opt.x[k]),
        var=float(cov[k, k]),
        tau2=_square(tau),
        sigma2=None,
        loglik=float(opt.integral.cond_loglik.sum()),
        loglik_marginal=opt.loglik,
        QE_wald=wald,
        QE_lrt=max(lrt, 0.0),
        algorithm=_algorithm("UM.FS", nodes, opt),
    )


def _square(sd: float) -> float:
    return 0.0 if sd < 1e-10 else float(sd**2)


# -- unconditional model, random study intercepts --------------------------------------
def um_rs_design(a, n1, c, n2) -> Design:
    """Arms of each study; fixed effects (θ, μ), random intercept vᵢ and uᵢ/2, -uᵢ/2."""
    k = len(a)
    X = np.zeros((k, 2, 2))
    X[:, 0, 0] = 1  # θ on the treatment arm
    X[:, :, 1] = 1  # μ
    C = np.ones((k, 2, 2))
    C[:, 0, 1], C[:, 1, 1] = 0.5, -0.5
    return Design(Binomial.from_counts(np.c_[a, c], np.c_[n1, n2]), X, C, np.zeros((k, 2)))


def fit_um_rs(t: Tables, nodes: int, random: bool) -> ModelFit:
    """UM.RS (see module docstring); the common-effect and saturated fits keep the
    random intercepts, as metafor's (Laplace, like the model itself)."""
    k = t.k
    design = um_rs_design(t.a, t.n1, t.c, t.n2)
    none = np.zeros((k, 0), dtype=bool)
    mu0 = float(np.mean(_logit(t.c, t.n2)))
    fe_design = replace(design, C=design.C[..., :1])
    fe = _newton(Problem(fe_design, 0, none, None, "laplace"), [0.0, mu0, TAU_START], "UM.RS")
    if random:
        opt = _newton(Problem(design, 0, none, None, "laplace"), np.r_[fe.x, TAU_START], "UM.RS")
        cov = _covariance(opt, [2, 3], "UM.RS")
        sigma, tau = abs(opt.x[2]), abs(opt.x[3])
    else:
        opt, cov = fe, _covariance(fe, [2], "UM.RS")
        sigma, tau = abs(fe.x[2]), 0.0
    wald, ll_sat = _um_rs_saturated(t, fe) if k > 1 else (0.0, fe.loglik)
    return ModelFit(
        estimate=float(opt.x[0]),
        var=float(cov[0, 0]),
        tau2=_square(tau),
        sigma2=_square(sigma),
        loglik=opt.loglik,
        loglik_marginal=opt.loglik,
        QE_wald=wald,
        QE_lrt=max(2 * (ll_sat - fe.loglik), 0.0),
        algorithm=_algorithm("UM.RS", 1, opt),
    )


def _um_rs_saturated(t: Tables, fe: Optimum) -> tuple[float, float]:
    """Saturated UM.RS fit: a free log odds of every treatment arm, random intercepts.

    Arms with no events or only events have an infinite estimate: they are left out
    (contributing their supremum, log 1 = 0)."""
    k = t.k
    edge = (t.a == 0) | (t.a == t.n1)
    n1 = np.where(edge, 0.0, t.n1)
    fam = Binomial.from_counts(np.c_[np.where(edge, 0.0, t.a), t.c], np.c_[n1, t.n2])
    X = np.zeros((k, 2, 2))
    X[:, 0, 0] = 1  # φᵢ, the treatment-arm log odds relative to μ
    X[:, :, 1] = 1  # μ
    design = Design(fam, X, np.ones((k, 2, 1)), np.zeros((k, 2)))
    active = ~edge[:, None]
    start = _logit(t.a, t.n1) - fe.x[1]
    x0 = np.r_[start[~edge], fe.x[1], max(abs(fe.x[2]), 0.1)]
    sat = _newton(Problem(design, 1, active, None, "laplace"), x0, "UM.RS saturated model")
    n_phi = int(active.sum())
    cov = _covariance(sat, [n_phi + 1], "UM.RS saturated model")
    wald = _wald_correlated(sat.x[:n_phi], cov[:n_phi, :n_phi])
    return wald, sat.loglik


# -- conditional models ---------------------------------------------------------------
def _conditional_fits(design: Design, nodes, random: bool, what: str):
    """Common-effect fit (τ = 0) and, if ``random``, the random-effects fit of θ + uᵢ;
    the covariance of the latter's parameters."""
    none = np.zeros((design.X.shape[0], 0), dtype=bool)
    fe = _newton(Problem(design, 0, none, np.zeros(1), nodes), [0.0], what)
    if not random:
        return fe, fe, _covariance(fe, [], what)
    opt = _newton(Problem(design, 0, none, None, nodes), [fe.x[0], TAU_START], what)
    return fe, opt, _covariance(opt, [1], what)


def _random_intercept(x, n, offset, nodes, random: bool, model: str) -> ModelFit:
    """xᵢ ~ Binomial(nᵢ, logit⁻¹(offsetᵢ + θ + uᵢ)), uᵢ ~ N(0, τ²): CM.AL and the GLMM
    for proportions. Wald test on the studies' own log odds xᵢ/(nᵢ - xᵢ) (less the
    offset; variance 1/xᵢ + 1/(nᵢ - xᵢ)), those at an edge left out (see module
    docstring); LRT against the saturated binomial fit."""
    k = len(x)
    fam = Binomial.from_counts(x[:, None], n[:, None])
    design = Design(fam, np.ones((k, 1, 1)), np.ones((k, 1, 1)), offset[:, None])
    fe, opt, cov = _conditional_fits(design, nodes, random, model)
    finite = (x > 0) & (x < n)
    xf, mf = x[finite], (n - x)[finite]
    return ModelFit(
        estimate=float(opt.x[0]),
        var=float(cov[0, 0]),
        tau2=_square(abs(opt.x[1])) if random else 0.0,
        sigma2=None,
        loglik=float(opt.integral.cond_loglik.sum()),
        loglik_marginal=opt.loglik,
        QE_wald=_wald_independent(np.log(xf / mf) - offset[finite], 1 / xf + 1 / mf),
        QE_lrt=max(2 * (fam.saturated_loglik().sum() - fe.loglik), 0.0),
        algorithm=_algorithm(model, nodes, opt),
    )


def fit_cm_al(t: Tables, nodes: int, random: bool) -> ModelFit:
    """CM.AL (see module docstring)."""
    return _random_intercept(t.a, t.a + t.c, np.log(t.n1 / t.n2), nodes, random, "CM.AL")


def fit_proportions(t: Events, nodes: int, random: bool) -> ModelFit:
    """GLMM for single-arm proportions (see module docstring)."""
    return _random_intercept(t.x, t.n, np.zeros(t.k), nodes, random, "GLMM")


def fit_cm_el(t: Tables, nodes: int, random: bool) -> ModelFit:
    """CM.EL (see module docstring); tables with one possible value (no events or only
    events) have conditional likelihood 1."""
    k = t.k
    fam = NoncentralHypergeometric.from_tables(t.a, t.n1, t.c, t.n2)
    design = Design(fam, np.ones((k, 1, 1)), np.ones((k, 1, 1)), np.zeros((k, 1)))
    fe, opt, cov = _conditional_fits(design, nodes, random, "CM.EL")

    inner = ~(fam.at_lower | fam.at_upper | fam.degenerate)
    b, d = t.n1 - t.a, t.n2 - t.c
    start = np.log((t.a + 0.5) * (d + 0.5) / ((b + 0.5) * (t.c + 0.5)))[inner]
    wald, ll_sat = 0.0, 0.0
    if inner.any() and k > 1:
        sat_problem = Problem(design, 1, inner[:, None], np.zeros(1), nodes)
        sat = _newton(sat_problem, start, "CM.EL saturated model")
        info = -np.diag(sat.hessian)
        wald = _wald_independent(sat.x, 1 / info)
        ll_sat = float(sat.integral.value[inner].sum())
    return ModelFit(
        estimate=float(opt.x[0]),
        var=float(cov[0, 0]),
        tau2=_square(abs(opt.x[1])) if random else 0.0,
        sigma2=None,
        loglik=opt.loglik,
        loglik_marginal=opt.loglik,
        QE_wald=wald,
        QE_lrt=max(2 * (ll_sat - fe.loglik), 0.0),
        algorithm=_algorithm("CM.EL", nodes, opt),
    )


FITTERS = {"UM.FS": fit_um_fs, "UM.RS": fit_um_rs, "CM.AL": fit_cm_al, "CM.EL": fit_cm_el}
"""The models of 2×2 tables; :func:`fit_proportions` is the one of single-arm counts."""
