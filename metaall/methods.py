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
PROPORTIONS = "proportion"
MEANS = "means"
GENERIC = "generic"
KINDS = (COUNTS, HAZARD_RATIOS, PROPORTIONS, MEANS, GENERIC)
KIND_WORDS = {
    COUNTS: "2×2 counts",
    HAZARD_RATIOS: "hazard ratios",
    PROPORTIONS: "single-arm proportions",
    MEANS: "means and SDs per arm",
    GENERIC: "generic effects with their SE or CI",
}
"""Each kind of evidence in words, for messages."""

# how a measure is shown to readers (Measure.display)
RATIO = "ratio"
DIFFERENCE = "difference"
PROPORTION = "proportion"


@dataclass(frozen=True)
class Measure:
    """An effect measure: ``label`` in words, the kind of evidence (``data``) it is
    computed from, the scale it is pooled on and how readers see it.

    ``scale`` is the analysis scale (``identity``, ``log``, ``logit``, ``arcsine``,
    ``double arcsine``); ``display`` is ``ratio`` (back-transformed by exp, no effect
    at 1, a log axis), ``difference`` (as pooled, no effect at 0) or ``proportion``
    (back-transformed to 0-100%, no line of no effect); ``correction`` is metafor's
    default continuity correction ``add`` for counts and proportions (0 for the
    arcsine transforms, which need none).
    """

    name: str
    label: str
    data: str
    scale: str
    display: str
    aliases: tuple[str, ...] = ()
    correction: float = 0.5
    reference: str = ""

    @property
    def title(self) -> str:
        """The label in title case, as RevMan heads its columns ("Risk Ratio")."""
        return self.label.title()

    @property
    def log_scale(self) -> bool:
        """True when the measure is pooled on the log scale (ratios, log proportions)."""
        return self.scale == "log"

    @property
    def ratio(self) -> bool:
        """True for ratios: shown exponentiated, no effect at 1, on a log axis."""
        return self.display == RATIO

    @property
    def proportion(self) -> bool:
        """True for single-arm proportions: shown back-transformed in percent."""
        return self.display == PROPORTION

    @property
    def null(self) -> float | None:
        """The value of no effect on the display scale (None for proportions)."""
        return {RATIO: 1.0, DIFFERENCE: 0.0}.get(self.display)


@dataclass(frozen=True)
class Method:
    """A pooling method: a common-effect model or a random-effects tau² estimator.

    ``measures`` lists the measures it can pool (None: any); ``tests`` the CI methods
    it takes (None: those of its family); ``tables`` is True for methods that pool the
    counts themselves (2×2 tables; single-arm events for the GLMM of proportions)
    rather than per-study effects;
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
    def inverse_variance(self) -> bool:
        """True for FE and the tau² estimators: per-study effects pooled by inverse
        variance (the models that also fit a meta-regression)."""
        return not self.tables and self.family in INVERSE_VARIANCE

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


_PROPORTIONS_REF = (
    "Viechtbauer 2010, J Stat Softw 36(3) (metafor escalc); "
    "Schwarzer et al. 2019, Res Synth Methods 10:476"
)

MEASURES: Mapping[str, Measure] = _table(
    Measure("RR", "risk ratio", COUNTS, "log", RATIO, ("risk ratio",)),
    Measure("OR", "odds ratio", COUNTS, "log", RATIO, ("odds ratio",)),
    Measure("RD", "risk difference", COUNTS, "identity", DIFFERENCE, ("risk difference",)),
    Measure("HR", "hazard ratio", HAZARD_RATIOS, "log", RATIO, ("hazard ratio",)),
    Measure(
        "PR",
        "proportion",
        PROPORTIONS,
        "identity",
        PROPORTION,
        ("raw proportion",),
        reference=_PROPORTIONS_REF,
    ),
    Measure(
        "PLN",
        "proportion (log)",
        PROPORTIONS,
        "log",
        PROPORTION,
        ("log proportion",),
        reference=_PROPORTIONS_REF,
    ),
    Measure(
        "PLO",
        "proportion (logit)",
        PROPORTIONS,
        "logit",
        PROPORTION,
        ("logit proportion", "PLOGIT"),
        reference=_PROPORTIONS_REF,
    ),
    Measure(
        "PAS",
        "proportion (arcsine)",
        PROPORTIONS,
        "arcsine",
        PROPORTION,
        ("arcsine proportion",),
        correction=0.0,
        reference="Anscombe 1948, Biometrika 35:246",
    ),
    Measure(
        "PFT",
        "proportion (Freeman-Tukey)",
        PROPORTIONS,
        "double arcsine",
        PROPORTION,
        ("Freeman-Tukey proportion",),
        correction=0.0,
        reference="Freeman & Tukey 1950, Ann Math Stat 21:607; Miller 1978, Am Stat 32:138",
    ),
    Measure(
        "MD",
        "mean difference",
        MEANS,
        "identity",
        DIFFERENCE,
        ("mean difference",),
        reference="Cochrane Handbook v6.4 §6.5.1.1",
    ),
    Measure(
        "SMD",
        "standardised mean difference",
        MEANS,
        "identity",
        DIFFERENCE,
        ("standardized mean difference", "Hedges g"),
        reference="Hedges 1981, J Educ Stat 6:107 (Hedges' g, exact bias correction)",
    ),
    Measure(
        "ROM",
        "ratio of means",
        MEANS,
        "log",
        RATIO,
        ("ratio of means",),
        reference="Hedges, Gurevitch & Curtis 1999, Ecology 80:1150",
    ),
    Measure(
        "GEN",
        "generic effect",
        GENERIC,
        "identity",
        DIFFERENCE,
        ("generic", "GIV"),
        reference="Cochrane Handbook v6.4 §10.3.3 (generic inverse variance)",
    ),
    Measure(
        "GENR",
        "generic ratio",
        GENERIC,
        "log",
        RATIO,
        ("generic ratio", "GIV ratio"),
        reference="Cochrane Handbook v6.4 §6.3.2, §10.3.3 (generic inverse variance)",
    ),
)
"""Every measure. Means take inverse-variance and Bayesian models only (MH, Peto and
the GLMMs pool counts: their ``measures`` list the counts' measures); proportions on
the logit scale (PLO) also the binomial-normal GLMM."""

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
        "GLMM",
        "binomial-normal GLMM for proportions, logistic with random study intercepts",
        EXACT,
        "Hamza, van Houwelingen & Stijnen 2008, J Clin Epidemiol 61:41; Stijnen et al. 2010, "
        "Stat Med 29:3046; Schwarzer et al. 2019, Res Synth Methods 10:476",
        measures=("PLO",),
        abbreviation="GLMM",
        tables=True,
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
    """The measure called ``name`` (RR, OR, RD, HR, PR, PLO, MD, SMD, GEN, ...; any
    case or alias)."""
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
    if not entry.inverse_variance:
        allowed = ", ".join(n for n, m in METHODS.items() if m.inverse_variance)
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


def _instead(m: Measure, meth: Method) -> str:
    """What to use instead when ``meth`` cannot pool ``m`` (a clause, or "")."""
    if m.data == PROPORTIONS and "PLO" in meth.measures:
        return (
            "; the GLMM for proportions is the logistic model: use --measure PLO, or an "
            "inverse-variance method (REML, DL, FE, ...) for the other transformations"
        )
    if m.data == PROPORTIONS:
        return (
            "; single-arm proportions are pooled by inverse variance (REML, DL, FE, ...), "
            "--method bayes or, on the logit scale (--measure PLO), --method GLMM"
        )
    if m.data not in (COUNTS, HAZARD_RATIOS):
        return (
            f"; {KIND_WORDS[m.data]} are pooled by inverse variance (REML, DL, FE, ...) "
            "or --method bayes"
        )
    if meth.family == EXACT and m.data == COUNTS and "PLO" in meth.measures:
        tables = ", ".join(
            n for n, e in METHODS.items() if e.family == EXACT and "OR" in (e.measures or ())
        )
        return f"; it is the model of single-arm proportions: for 2×2 counts use {tables}"
    if meth.family == EXACT:
        return "; use --measure OR, or --method bayes to pool the log risk ratio"
    return ""


def check_combination(measure_name: str, method_name: str, test_name: str) -> None:
    """:class:`Unfit` when the method cannot pool the measure, or the CI method does
    not apply to the model (Hartung-Knapp needs a random-effects model)."""
    m, meth, t = measure(measure_name), method(method_name), ci_method(test_name)
    if meth.measures is not None and m.name not in meth.measures:
        what = ", ".join(meth.measures)
        raise Unfit(
            "method", f"{meth.label} pools {what} only, not {m.label} ({m.name}){_instead(m, meth)}"
        )
    if t.name not in meth.ci_methods:
        if t.random_effects_only and not meth.random_effects:
            raise Unfit("test", f"{t.label} needs a random-effects method, not {meth.model}")
        raise Unfit("test", f"{t.label} does not apply to {meth.model}")
