"""Prior distributions for the heterogeneity τ of a Bayesian random-effects model.

Each prior is a small frozen dataclass with

* ``log_density(tau, vi)``: the log prior density of τ (normalised when the prior is
  proper; ``vi`` is only used by the data-dependent Jeffreys prior),
* ``description``: the prior in words, for reports,
* ``proper``, ``upper`` (the end of its support) and ``tail_exponent`` a: the density
  falls as τ^(-a) for large τ (``inf`` for lighter tails or bounded support). The
  exponent decides whether the posterior is proper and which posterior moments exist
  (see :mod:`metaall.models.bayes_posterior`).

The families are those of R bayesmeta (Röver 2020, J Stat Softw 93(6), §2.2 and its
``dhalfnormal``, ``dhalfcauchy``, ``dhalft``, ``TurnerEtAlPrior`` functions):

=============  ===============================================================
``halfnormal``  p(τ) = 2 φ(τ/s)/s                                    (a = ∞)
``halfcauchy``  p(τ) = 2 / (π s (1 + (τ/s)²))                          (a = 2)
``halft``       p(τ) = 2 t_ν(τ/s)/s, ν = ``df``                      (a = ν + 1)
``uniform``     p(τ) = 1/U on (0, U); improper p(τ) ∝ 1 with ``upper=inf`` (a = 0)
``lognormal``   log τ² ~ N(``meanlog``, ``sdlog``²), i.e. log τ ~ N(meanlog/2, (sdlog/2)²)
``jeffreys``    p(τ) ∝ √(Σᵢ (τ/(vᵢ + τ²))²), bayesmeta's ``tau.prior="Jeffreys"``
                (Bodnar et al. 2017, Stat Med 36:2213); improper (a = 1)
``turner``      Turner et al. (2015, Stat Med 34:984, Table IV) empirical log-normal
                priors for τ² of log odds ratios, by outcome and comparison type
=============  ===============================================================

Improper priors give a proper posterior only with enough studies: the marginal
likelihood of τ falls as τ^-(k-1) with a flat prior on μ and τ^-k with a normal one,
so the posterior is proper when a + k - 1 > 1 (flat) or a + k > 1 (normal):
improper uniform needs k ≥ 3 (flat μ prior) or k ≥ 2 (normal μ prior), Jeffreys k ≥ 2
or k ≥ 1. :func:`metaall.models.bayes.fit_bayes` checks this and raises otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_LOG_2PI = math.log(2 * math.pi)


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


@dataclass(frozen=True)
class TauPrior:
    """Base class: a prior density for τ on (0, ``upper``)."""

    @property
    def proper(self) -> bool:
        return True

    @property
    def upper(self) -> float:
        return math.inf

    @property
    def tail_exponent(self) -> float:
        return math.inf

    @property
    def description(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def log_density(self, tau: np.ndarray, vi: np.ndarray | None = None) -> np.ndarray:
        """log p(τ) for τ > 0 (an array of the shape of ``tau``)."""
        raise NotImplementedError  # pragma: no cover - abstract


@dataclass(frozen=True)
class HalfNormal(TauPrior):
    """Half-normal prior for τ with scale s: p(τ) = 2 φ(τ/s)/s."""

    scale: float = 0.5

    def __post_init__(self):
        _positive("the half-normal scale", self.scale)

    @property
    def description(self) -> str:
        return f"half-normal prior for τ with scale {self.scale:g}"

    def log_density(self, tau, vi=None):
        s = self.scale
        return math.log(2 / s) - 0.5 * _LOG_2PI - 0.5 * (np.asarray(tau) / s) ** 2


@dataclass(frozen=True)
class HalfT(TauPrior):
    """Half-Student-t prior for τ with scale s and ν = ``df`` degrees of freedom."""

    scale: float = 0.5
    df: float = 3.0

    def __post_init__(self):
        _positive("the half-t scale", self.scale)
        _positive("the half-t degrees of freedom", self.df)

    @property
    def tail_exponent(self) -> float:
        return self.df + 1

    @property
    def description(self) -> str:
        return f"half-Student-t prior for τ with scale {self.scale:g} and {self.df:g} df"

    def log_density(self, tau, vi=None):
        s, nu = self.scale, self.df
        const = (
            math.log(2 / s)
            + math.lgamma((nu + 1) / 2)
            - math.lgamma(nu / 2)
            - 0.5 * math.log(nu * math.pi)
        )
        return const - (nu + 1) / 2 * np.log1p((np.asarray(tau) / s) ** 2 / nu)


@dataclass(frozen=True)
class HalfCauchy(HalfT):
    """Half-Cauchy prior for τ with scale s: the half-t with one degree of freedom."""

    df: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if self.df != 1.0:
            raise ValueError("the half-Cauchy prior has df = 1; use 'halft' for other df")

    @property
    def description(self) -> str:
        return f"half-Cauchy prior for τ with scale {self.scale:g}"


@dataclass(frozen=True)
class UniformTau(TauPrior):
    """Uniform prior for τ on (0, ``upper``); improper on (0, ∞) with ``upper=inf``."""

    upper: float = math.inf  # (a field here, a property of the other priors)

    def __post_init__(self):
        if not (self.upper > 0):
            raise ValueError(f"the uniform prior's upper limit must be positive, got {self.upper}")

    @property
    def proper(self) -> bool:
        return math.isfinite(self.upper)

    @property
    def tail_exponent(self) -> float:
        return math.inf if self.proper else 0.0

    @property
    def description(self) -> str:
        if self.proper:
            return f"uniform prior for τ on (0, {self.upper:g})"
        return "improper uniform prior for τ on (0, ∞)"

    def log_density(self, tau, vi=None):
        tau = np.asarray(tau, dtype=float)
        value = -math.log(self.upper) if self.proper else 0.0
        return np.where(tau <= self.upper, value, -np.inf)


@dataclass(frozen=True)
class LogNormalTau2(TauPrior):
    """Log-normal prior for τ²: log τ² ~ N(``meanlog``, ``sdlog``²).

    Equivalently log τ ~ N(meanlog/2, (sdlog/2)²), the density used for τ.
    ``source`` names where the parameters come from (for the description).
    """

    meanlog: float = -2.56
    sdlog: float = 1.74
    source: str = ""

    def __post_init__(self):
        if not math.isfinite(self.meanlog):
            raise ValueError(f"meanlog must be finite, got {self.meanlog}")
        _positive("sdlog", self.sdlog)

    @property
    def description(self) -> str:
        text = (
            f"log-normal prior for τ² with mean {self.meanlog:g} and "
            f"standard deviation {self.sdlog:g} on the log scale"
        )
        return f"{text} ({self.source})" if self.source else text

    def log_density(self, tau, vi=None):
        m, s = self.meanlog / 2, self.sdlog / 2
        with np.errstate(divide="ignore"):
            log_tau = np.log(np.asarray(tau, dtype=float))
        return -log_tau - math.log(s) - 0.5 * _LOG_2PI - 0.5 * ((log_tau - m) / s) ** 2


@dataclass(frozen=True)
class Jeffreys(TauPrior):
    """bayesmeta's Jeffreys prior for τ: p(τ) ∝ √(Σᵢ (τ/(vᵢ + τ²))²) (improper).

    It is the Jeffreys prior of τ in the normal-normal model with μ held fixed
    (Bodnar, Link, Arendacká, Possolo & Elster 2017, Stat Med 36:2213; Röver 2020 §2.2).
    It depends on the sampling variances and behaves like √k/τ for large τ, so the
    posterior is proper only for k ≥ 2 with a flat prior on μ (k ≥ 1 with a normal one).
    """

    @property
    def proper(self) -> bool:
        return False

    @property
    def tail_exponent(self) -> float:
        return 1.0

    @property
    def description(self) -> str:
        return "Jeffreys prior for τ (improper; Bodnar et al. 2017)"

    def log_density(self, tau, vi=None):
        if vi is None:
            raise ValueError("the Jeffreys prior depends on the sampling variances vi")
        tau = np.asarray(tau, dtype=float)
        t = tau[..., None]
        with np.errstate(divide="ignore"):
            return 0.5 * np.log(np.sum((t / (np.asarray(vi) + t**2)) ** 2, axis=-1))


# -- Turner et al. (2015) empirical priors -------------------------------------------
# Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT. Predictive distributions for
# between-study heterogeneity and simple methods for their application in Bayesian
# meta-analysis. Stat Med 2015; 34:984-998, Table IV: log-normal priors for τ² of log
# odds ratios, log τ² ~ N(mean, sd²), by outcome type (rows) and type of comparison
# (columns). Transcribed as in R bayesmeta 3.4 (``TurnerEtAlParameters``).
TURNER_COMPARISONS = {
    "pharma_vs_placebo": "pharmacological vs. placebo / control",
    "pharma_vs_pharma": "pharmacological vs. pharmacological",
    "nonpharma_vs_placebo": "non-pharmacological vs. placebo / control",
    "nonpharma_vs_pharma": "non-pharmacological vs. pharmacological",
    "nonpharma_vs_nonpharma": "non-pharmacological vs. non-pharmacological",
}
TURNER_OUTCOMES = {
    "all_cause_mortality": "all-cause mortality",
    "obstetric": "obstetric outcomes",
    "cause_specific_mortality": (
        "cause-specific mortality / major morbidity event / composite (mortality or morbidity)"
    ),
    "resource_use": "resource use / hospital stay / process",
    "surgical_device": "surgical / device related success / failure",
    "withdrawals": "withdrawals / drop-outs",
    "internal_structure": "internal / structure-related outcomes",
    "general_health": "general physical health indicators",
    "adverse_events": "adverse events",
    "infection": "infection / onset of new disease",
    "signs_symptoms": "signs / symptoms reflecting continuation / end of condition",
    "pain": "pain",
    "quality_of_life": "quality of life / functioning (dichotomized)",
    "mental_health": "mental health indicators",
    "biological_markers": "biological markers (dichotomized)",
    "subjective": "subjective outcomes (various)",
}
# means of log τ², one row per outcome (order of TURNER_OUTCOMES), one column per
# comparison (order of TURNER_COMPARISONS)
_TURNER_MEAN = -np.array(
    [
        [3.95, 4.18, 4.17, 2.92, 3.50],
        [3.52, 3.75, 3.74, 2.49, 3.08],
        [3.71, 3.95, 3.93, 2.68, 3.27],
        [2.34, 2.58, 2.56, 1.31, 1.90],
        [2.14, 2.37, 2.36, 1.11, 1.69],
        [2.99, 3.23, 3.21, 1.96, 2.55],
        [2.71, 2.94, 2.93, 1.67, 2.26],
        [2.29, 2.53, 2.51, 1.26, 1.85],
        [1.87, 2.10, 2.10, 0.84, 1.43],
        [2.49, 2.73, 2.71, 1.46, 2.05],
        [2.06, 2.29, 2.28, 1.03, 1.61],
        [1.83, 2.06, 2.05, 0.80, 1.38],
        [2.54, 2.78, 2.77, 1.51, 2.10],
        [2.12, 2.35, 2.34, 1.09, 1.67],
        [1.77, 2.00, 1.99, 0.74, 1.33],
        [2.70, 2.93, 2.92, 1.67, 2.26],
    ]
)
_TURNER_SD = np.array(
    [
        [1.34, 1.41, 1.55, 1.02, 1.26],
        [1.74, 1.79, 1.91, 1.50, 1.68],
        [1.74, 1.79, 1.91, 1.51, 1.68],
        [1.74, 1.79, 1.91, 1.50, 1.68],
        [1.74, 1.79, 1.91, 1.50, 1.68],
        [1.74, 1.79, 1.91, 1.51, 1.68],
        [1.74, 1.79, 1.92, 1.51, 1.68],
        [1.53, 1.58, 1.72, 1.25, 1.46],
        [1.52, 1.58, 1.71, 1.24, 1.45],
        [1.52, 1.58, 1.71, 1.24, 1.45],
        [1.51, 1.58, 1.71, 1.24, 1.45],
        [1.52, 1.58, 1.71, 1.25, 1.45],
        [1.54, 1.60, 1.73, 1.27, 1.47],
        [1.53, 1.60, 1.72, 1.27, 1.47],
        [1.52, 1.58, 1.71, 1.24, 1.45],
        [1.52, 1.58, 1.71, 1.25, 1.45],
    ]
)


def _match(value: str, table: dict[str, str], what: str) -> str:
    """The key of ``table`` named by its key or by its label (case-insensitive)."""
    wanted = value.strip().lower()
    for key, label in table.items():
        if wanted in (key, label.lower()):
            return key
    raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(table)}")


def turner_prior(outcome: str = "any", comparison: str = "any") -> LogNormalTau2:
    """Turner et al. (2015) log-normal prior for τ² of a log odds ratio (Table IV).

    ``outcome`` is a key of :data:`TURNER_OUTCOMES` (or its label), ``comparison`` a
    key of :data:`TURNER_COMPARISONS`. ``outcome='any'`` gives their marginal prior
    over all settings, log τ² ~ N(-2.56, 1.74²) (p. 993), as bayesmeta's
    ``TurnerEtAlPrior(NA)``.
    """
    if outcome == "any":
        return LogNormalTau2(-2.56, 1.74, "Turner et al. 2015, any outcome and comparison")
    row = list(TURNER_OUTCOMES).index(_match(outcome, TURNER_OUTCOMES, "outcome type"))
    if comparison == "any":
        raise ValueError(f"give the comparison type, one of {', '.join(TURNER_COMPARISONS)}")
    key = _match(comparison, TURNER_COMPARISONS, "comparison type")
    col = list(TURNER_COMPARISONS).index(key)
    source = (
        f"Turner et al. 2015 Table IV: {list(TURNER_OUTCOMES.values())[row]}, "
        f"{TURNER_COMPARISONS[key]}"
    )
    return LogNormalTau2(float(_TURNER_MEAN[row, col]), float(_TURNER_SD[row, col]), source)


def _halfnormal(scale, **_):
    return HalfNormal(scale)


def _halfcauchy(scale, **_):
    return HalfCauchy(scale)


def _halft(scale, df=None, **_):
    if df is None:
        raise ValueError("the half-t prior needs df (degrees of freedom)")
    return HalfT(scale, df)


def _uniform(scale, upper=math.inf, **_):
    return UniformTau(float(upper))


def _lognormal(scale, meanlog=None, sdlog=None, **_):
    if meanlog is None or sdlog is None:
        raise ValueError("the log-normal prior for τ² needs meanlog and sdlog")
    return LogNormalTau2(float(meanlog), float(sdlog))


def _jeffreys(scale, **_):
    return Jeffreys()


def _turner(scale, outcome="any", comparison="any", **_):
    return turner_prior(outcome, comparison)


# name -> (factory(tau_scale, **options), the options it accepts, uses tau_scale)
TAU_PRIORS = {
    "halfnormal": (_halfnormal, (), True),
    "halfcauchy": (_halfcauchy, (), True),
    "halft": (_halft, ("df",), True),
    "uniform": (_uniform, ("upper",), False),
    "lognormal": (_lognormal, ("meanlog", "sdlog"), False),
    "jeffreys": (_jeffreys, (), False),
    "turner": (_turner, ("outcome", "comparison"), False),
}


def make_tau_prior(tau_prior: str | TauPrior, tau_scale: float = 0.5, **options) -> TauPrior:
    """The prior named ``tau_prior`` (a key of :data:`TAU_PRIORS`) with its options,
    or ``tau_prior`` itself when it is already a :class:`TauPrior`.

    ``tau_scale`` is the scale of the half-normal, half-Cauchy and half-t priors;
    ``df`` (half-t), ``upper`` (uniform), ``meanlog``/``sdlog`` (log-normal for τ²)
    and ``outcome``/``comparison`` (Turner et al.) are the other options.
    """
    if isinstance(tau_prior, TauPrior):
        if options:
            raise ValueError(f"options {sorted(options)} given with a prior object")
        return tau_prior
    if tau_prior not in TAU_PRIORS:
        raise ValueError(f"unknown tau prior {tau_prior!r}; use one of {', '.join(TAU_PRIORS)}")
    factory, accepted, _ = TAU_PRIORS[tau_prior]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        allowed = ", ".join(accepted) or "none"
        raise ValueError(
            f"the {tau_prior} prior does not take {', '.join(unknown)} (its options: {allowed})"
        )
    return factory(tau_scale, **options)


# the positional parameters of each prior in the text form "name:p1:p2" (specs, CLI)
_TEXT_PARAMETERS = {
    "halfnormal": ("tau_scale",),
    "halfcauchy": ("tau_scale",),
    "halft": ("tau_scale", "df"),
    "uniform": ("upper",),
    "lognormal": ("meanlog", "sdlog"),
    "jeffreys": (),
    "turner": ("outcome", "comparison"),
}


def parse_tau_prior(text: str) -> TauPrior:
    """A τ prior from its text form ``name[:p1[:p2]]``, as specs and the command line
    write it: ``halfnormal:0.5``, ``halfcauchy:1``, ``halft:0.5:3`` (scale, df),
    ``uniform:2`` (upper limit; ``uniform`` alone is improper), ``lognormal:-2.56:1.74``
    (for τ²), ``jeffreys``, ``turner:all-cause-mortality:pharma-vs-placebo``.
    ValueError naming the form when it does not parse."""
    name, *values = str(text).strip().split(":")
    name = name.strip().lower()
    if name not in _TEXT_PARAMETERS:
        raise ValueError(f"unknown tau prior {name!r}; use one of {', '.join(_TEXT_PARAMETERS)}")
    names = _TEXT_PARAMETERS[name]
    if len(values) > len(names):
        form = ":".join([name, *names])
        raise ValueError(f"the {name} prior takes at most {len(names)} values ({form})")
    options: dict = {}
    for key, value in zip(names, values, strict=False):
        if key in ("outcome", "comparison"):
            options[key] = value.strip()
            continue
        try:
            options[key] = float(value)
        except ValueError:
            raise ValueError(f"{key} of the {name} prior must be a number, got {value!r}") from None
    scale = options.pop("tau_scale", 0.5)
    return make_tau_prior(name, scale, **options)


def parse_mu_prior(text: str) -> tuple[float, float | None]:
    """The prior for μ from its text form: ``flat`` → (0, None), or ``normal:MEAN:SD``
    → (MEAN, SD) with SD > 0."""
    name, *values = str(text).strip().split(":")
    name = name.strip().lower()
    if name == "flat" and not values:
        return 0.0, None
    if name == "normal" and len(values) == 2:
        try:
            mean, sd = (float(v) for v in values)
        except ValueError:
            raise ValueError(f"normal:MEAN:SD needs numbers, got {text!r}") from None
        if math.isfinite(mean) and math.isfinite(sd) and sd > 0:
            return mean, sd
        raise ValueError(f"normal:MEAN:SD needs a finite mean and a positive SD, got {text!r}")
    raise ValueError(f"unknown mu prior {text!r}; use flat or normal:MEAN:SD (e.g. normal:0:4)")
