"""The vocabulary of metaall: every effect measure, pooling method and CI method by name.

This module is the single owner of those names. Specs, the command line, the Python
API, reports and figures all ask it: which names exist, what each is called in words,
which family of models a method belongs to, which measures it can pool, and which
combinations make sense. Names are matched case-insensitively and through aliases
(``hk`` is ``knha``, ``fixed`` is ``FE``); every lookup returns the canonical entry.
Adding a method is one entry here plus its implementation (a tau² estimator in
:mod:`metaall.models.tau2`; a model family's dispatch in :mod:`metaall.analysis.run`).

Standard library only: importing it costs nothing on the command line's start-up path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# model families
COMMON = "common effect"
RANDOM = "random effects"
EXACT = "exact likelihood"
BAYES = "Bayesian"
FAMILIES = (COMMON, RANDOM, EXACT, BAYES)
INVERSE_VARIANCE = (COMMON, RANDOM)
"""The families that pool per-study effects by inverse-variance weights."""

# the kinds of evidence a measure is computed from (Effect.kind in metaall.data)
COUNTS = "counts"
HAZARD_RATIOS = "hr"


@dataclass(frozen=True)
class Measure:
    """An effect measure: ``label`` in words, the evidence it is computed from and
    whether it is pooled on the log scale (ratios) or as it is."""

    name: str
    label: str
    data: str
    log_scale: bool
    aliases: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The label in title case, as RevMan heads its columns ("Risk Ratio")."""
        return self.label.title()


@dataclass(frozen=True)
class Method:
    """A pooling method: a common-effect model or a random-effects tau² estimator.

    ``measures`` lists the measures it can pool (None: any); ``tests`` the CI methods
    it takes (None: those of its family); ``tables`` is True for methods that pool the
    2×2 tables themselves rather than per-study effects;
    ``study_measure`` names the per-study effect the method shows when it is not the
    measure's own (Peto's one-step log odds ratios); ``abbreviation`` is RevMan's name
    for the weighting (IV, M-H, Peto); ``reference`` is the source a methods section
    cites.
    """

    name: str
    label: str
    family: str
    reference: str
    measures: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    abbreviation: str = "IV"
    tables: bool = False
    study_measure: str | None = None
    tests: tuple[str, ...] | None = None

    @property
    def random_effects(self) -> bool:
        """True for models with a between-study variance tau²."""
        return self.family != COMMON

    @property
    def tau2_estimator(self) -> bool:
        """True for the inverse-variance random-effects models: a tau² estimator."""
        return self.family == RANDOM

    @property
    def interval(self) -> str:
        """What its interval is called: ``CrI`` (credible) for a Bayesian model, else
        ``CI``."""
        return "CrI" if self.family == BAYES else "CI"

    @property
    def ci_methods(self) -> tuple[str, ...]:
        """The CI methods (:data:`TESTS`) this method takes."""
        if self.tests is not None:
            return self.tests
        return ("z",) if self.family in (COMMON, BAYES) else ("z", "knha")

    @property
    def model(self) -> str:
        """The model in plain words, e.g. "random effects, REML tau²"."""
        if self.family == RANDOM:
            return f"random effects, {self.name} tau²"
        if self.family == COMMON:
            return f"common effect, {self.label}"
        return self.label


@dataclass(frozen=True)
class Test:
    """How the pooled effect's CI and test are computed: ``label`` names the method,
    ``description`` adds its reference distribution."""

    name: str
    label: str
    description: str
    reference: str
    random_effects_only: bool = False
    aliases: tuple[str, ...] = ()


def _table(*entries) -> Mapping:
    return MappingProxyType({entry.name: entry for entry in entries})


MEASURES: Mapping[str, Measure] = _table(
    Measure("RR", "risk ratio", COUNTS, True, ("risk ratio",)),
    Measure("OR", "odds ratio", COUNTS, True, ("odds ratio",)),
    Measure("RD", "risk difference", COUNTS, False, ("risk difference",)),
    Measure("HR", "hazard ratio", HAZARD_RATIOS, True, ("hazard ratio",)),
)

_RATIOS_FROM_COUNTS = ("RR", "OR", "RD")

METHODS: Mapping[str, Method] = _table(
    Method(
        "REML",
        "restricted maximum likelihood",
        RANDOM,
        "Viechtbauer 2005, Stat Med 24:3-24",
    ),
    Method(
        "FE",
        "inverse variance",
        COMMON,
        "Borenstein et al. 2009, Introduction to Meta-Analysis, ch. 11",
        aliases=("fixed", "common", "IV"),
    ),
    Method(
        "MH",
        "Mantel-Haenszel",
        COMMON,
        "Mantel & Haenszel 1959, J Natl Cancer Inst 22:719; Greenland & Robins 1985, "
        "Biometrics 41:55",
        measures=_RATIOS_FROM_COUNTS,
        aliases=("Mantel-Haenszel",),
        abbreviation="M-H",
        tables=True,
    ),
    Method(
        "Peto",
        "Peto",
        COMMON,
        "Yusuf et al. 1985, Prog Cardiovasc Dis 27:335",
        measures=("OR",),
        abbreviation="Peto",
        tables=True,
        study_measure="PETO",
    ),
    Method(
        "DL", "DerSimonian-Laird", RANDOM, "DerSimonian & Laird 1986, Control Clin Trials 7:177"
    ),
    Method("HE", "Hedges", RANDOM, "Hedges & Olkin 1985, Statistical Methods for Meta-Analysis"),
    Method("HS", "Hunter-Schmidt", RANDOM, "Hunter & Schmidt 2004, Methods of Meta-Analysis"),
    Method(
        "HSk",
        "Hunter-Schmidt, small-sample corrected",
        RANDOM,
        "Brannick et al. 2019, Res Synth Methods 10:268",
    ),
    Method("SJ", "Sidik-Jonkman", RANDOM, "Sidik & Jonkman 2005, J Biopharm Stat 15:823"),
    Method("ML", "maximum likelihood", RANDOM, "Viechtbauer 2005, Stat Med 24:3-24"),
    Method("EB", "empirical Bayes", RANDOM, "Morris 1983, JASA 78:47; Berkey et al. 1995"),
    Method("PM", "Paule-Mandel", RANDOM, "Paule & Mandel 1982, J Res Natl Bur Stand 87:377"),
    *(
        Method(
            name,
            f"binomial-normal GLMM, {label} ({name})",
            EXACT,
            reference,
            measures=("OR",),
            abbreviation=abbreviation,
            tables=True,
        )
        for name, label, reference, abbreviation in (
            (
                "UM.FS",
                "unconditional model with fixed study intercepts",
                "Turner et al. 2000, Stat Med 19:3417; Jackson et al. 2018, Stat Med 37:1059",
                "GLMM UM.FS",
            ),
            (
                "UM.RS",
                "unconditional model with random study intercepts",
                "Jackson et al. 2018, Stat Med 37:1059",
                "GLMM UM.RS",
            ),
            (
                "CM.EL",
                "conditional model, exact noncentral hypergeometric likelihood",
                "Van Houwelingen et al. 1993, Stat Med 12:2273; Stijnen et al. 2010, "
                "Stat Med 29:3046",
                "Exact conditional",
            ),
            (
                "CM.AL",
                "conditional model, approximate binomial likelihood",
                "Stijnen et al. 2010, Stat Med 29:3046",
                "Approximate conditional",
            ),
        )
    ),
    Method(
        "bayes",
        "Bayesian random effects, exact posterior",
        BAYES,
        "Röver 2020, J Stat Softw 93(6); Friede et al. 2017, Biom J 59:658",
        aliases=("bayesian", "bayesmeta"),
        abbreviation="Bayes",
    ),
)

TESTS: Mapping[str, Test] = _table(
    Test("z", "Wald", "Wald (z)", "normal approximation", aliases=("wald",)),
    Test(
        "knha",
        "Hartung-Knapp",
        "Hartung-Knapp (t, k-1 df)",
        "Hartung & Knapp 2001, Stat Med 20:3875; Sidik & Jonkman 2002, Stat Med 21:3153; "
        "IntHout et al. 2014, BMC Med Res Methodol 14:25",
        random_effects_only=True,
        aliases=("hk", "hksj"),
    ),
)


@dataclass(frozen=True)
class PredictionInterval:
    """How the interval for a new study's true effect is computed."""

    name: str
    label: str
    reference: str
    aliases: tuple[str, ...] = ()


PREDICTION_INTERVALS: Mapping[str, PredictionInterval] = _table(
    PredictionInterval(
        "metafor",
        "estimate ± c·√(se² + τ²), c the quantile of the CI (z; t(k-1) under Hartung-Knapp)",
        "Riley, Higgins & Deeks 2011, BMJ 342:d549 (metafor predict())",
        aliases=("z",),
    ),
    PredictionInterval(
        "higgins",
        "estimate ± t(k-2)·√(se² + τ²)",
        "Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137",
        aliases=("t", "t(k-2)"),
    ),
)

DEFAULT_METHOD = "REML"
DEFAULT_TEST = "z"
DEFAULT_PREDICTION = "metafor"
DEFAULT_TAU_PRIOR = "halfnormal:0.5"  # weakly informative for log odds/risk ratios (Röver 2020)
DEFAULT_MU_PRIOR = "flat"


def check_prior(key: str, text: str) -> None:
    """ValueError when ``text`` is not a prior of its kind (``tau_prior`` or
    ``mu_prior``); parsed by :mod:`metaall.models.priors`, imported only here."""
    from metaall.models.priors import parse_mu_prior, parse_tau_prior

    (parse_tau_prior if key == "tau_prior" else parse_mu_prior)(text)


ZERO_CELL_TARGETS = ("only0", "all", "if0all", "none")
"""metafor's ``to``: which 2×2 tables get the continuity correction ``add``."""

_KINDS: Mapping[str, Mapping] = MappingProxyType(
    {
        "measure": MEASURES,
        "method": METHODS,
        "test": TESTS,
        "prediction interval": PREDICTION_INTERVALS,
    }
)


def _index(table: Mapping) -> dict[str, str]:
    index = {}
    for entry in table.values():
        for name in (entry.name, *entry.aliases):
            key = name.lower()
            if index.setdefault(key, entry.name) != entry.name:
                raise AssertionError(f"name {name!r} used twice")  # a registry bug
    return index


_INDEX = {kind: _index(table) for kind, table in _KINDS.items()}


def accepted(kind: str) -> tuple[str, ...]:
    """Every spelling of ``kind`` (measure, method, test) that lookups accept, in
    lower case: the canonical names and their aliases."""
    return tuple(_INDEX[kind])


def lookup(kind: str, name: object):
    """The entry of ``kind`` called ``name`` (any case, or an alias); ValueError
    listing the names otherwise."""
    table = _KINDS[kind]
    key = _INDEX[kind].get(name.lower()) if isinstance(name, str) else None
    if key is None:
        raise ValueError(f"unknown {kind} {name!r}; use one of {', '.join(table)}")
    return table[key]


def measure(name: object) -> Measure:
    """The measure called ``name`` (RR, OR, RD, HR; any case)."""
    return lookup("measure", name)


def method(name: object) -> Method:
    """The pooling method called ``name`` (REML, FE, MH, ...; any case or alias)."""
    return lookup("method", name)


def ci_method(name: object) -> Test:
    """The CI method called ``name`` (z, knha; alias hk)."""
    return lookup("test", name)


def names(kind: str, family: str | None = None) -> tuple[str, ...]:
    """Canonical names of ``kind``; for methods optionally of one ``family``."""
    table = _KINDS[kind]
    return tuple(n for n, e in table.items() if family is None or e.family == family)


def inverse_variance(name: object) -> Method:
    """The method called ``name`` if it pools per-study effects by inverse variance
    (FE or a tau² estimator); ValueError naming the alternatives otherwise."""
    entry = method(name)
    if entry.tables or entry.family not in INVERSE_VARIANCE:
        allowed = ", ".join(
            n for n, m in METHODS.items() if not m.tables and m.family in INVERSE_VARIANCE
        )
        raise ValueError(
            f"method {entry.name} ({entry.model}) does not pool effect sizes by inverse "
            f"variance; use one of {allowed}"
        )
    return entry


class Unfit(ValueError):
    """Settings that do not go together; ``key`` names the one to change."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def check_combination(measure_name: str, method_name: str, test_name: str) -> None:
    """:class:`Unfit` when the method cannot pool the measure, or the CI method does
    not apply to the model (Hartung-Knapp needs a random-effects model)."""
    m, meth, t = measure(measure_name), method(method_name), ci_method(test_name)
    if meth.measures is not None and m.name not in meth.measures:
        what = ", ".join(meth.measures)
        hint = ""
        if meth.family == EXACT:
            hint = "; use --measure OR, or --method bayes to pool the log risk ratio"
        raise Unfit("method", f"{meth.label} pools {what} only, not {m.label} ({m.name}){hint}")
    if t.name not in meth.ci_methods:
        if t.random_effects_only and not meth.random_effects:
            raise Unfit("test", f"{t.label} needs a random-effects method, not {meth.model}")
        raise Unfit("test", f"{t.label} does not apply to {meth.model}")
