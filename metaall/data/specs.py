"""Analysis specs: ``analyses/<name>.yaml`` names what to pool and how.

Read with ``yaml.safe_load`` semantics only (no tags that build Python objects), and
bounded: a spec is a regular file of at most 1 MiB, anchors and aliases (``&``, ``*``,
and so ``<<`` merges) are refused before anything is built (a few hundred bytes of
nested aliases would otherwise expand to gigabytes), and text holds no control
characters.
Every key is checked: an unknown key, a wrong type, an unknown tag or a measure and
method that do not fit raise a :class:`DataError` with the YAML file, the line of the
key and the key (``zero_cells.to`` for nested keys). Defaults follow metafor and R meta
(random effects, REML, Wald z, 95 %, prediction interval); docs/extraction-format.md
lists every key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import MappingProxyType

from metaall import methods
from metaall.data import timepoints
from metaall.data.errors import DataError
from metaall.data.model import REPORTS, Effect, Extractions, Vocabulary
from metaall.data.tsa import TSASettings, read_tsa
from metaall.data.yamlfile import YamlFile
from metaall.methods import (
    DEFAULT_METHOD,
    DEFAULT_MU_PRIOR,
    DEFAULT_PREDICTION,
    DEFAULT_TAU_PRIOR,
    DEFAULT_TEST,
    ZERO_CELL_TARGETS,
    check_prior,
)

ORDERS = ("spec", "year", "weight", "effect")
SELECTABLE_FIELDS = (
    "study",
    "population",
    "design",
    "disease",
    "country",
    "car_target",
    "costim_domain",
    "report",
)
"""Fields ``include`` may filter on and ``subgroup_by`` may group by (except study)."""
NUMERIC_MODERATORS = ("year",)
"""Moderators entered as numbers (a slope per unit)."""
MODERATORS = (*NUMERIC_MODERATORS, *SELECTABLE_FIELDS[1:], "timepoint", "group")
"""Study or effect fields a meta-regression (``mods``) may use (``group``: the row's
subgroup, by the spec's ``subgroup_by``, e.g. an ad-hoc file's ``group`` column); all
but the numeric ones are categorical, entered as 0/1 columns against a reference
level."""
SINGLE_ARM = ("All patients", "")
"""The arm labels of single-arm proportions without ``arm_labels`` (no comparator)."""
DEFAULT_SEED = 1
"""The seed of random permutation tests (reports are the same on every run)."""
OVERLAP_RULES = {
    "primary": "the primary report first, then the larger cohort",
    "larger": "the larger cohort first, then the primary report",
}
"""How an analysis picks one study per overlap group (studies.csv ``overlap_group``);
the cohort's size is n_t + n_c of the row the analysis would pool."""

_KEYS = (
    "title",
    "comparison",
    "outcome",
    "measure",
    "method",
    "test",
    "level",
    "zero_cells",
    "subgroup_by",
    "include",
    "favours",
    "arm_labels",
    "order",
    "prediction_interval",
    "control_risks",
    "risk_timepoint",
    "tau_prior",
    "mu_prior",
    "timepoint",
    "overlap",
    "caution",
    "tsa",
    "mods",
    "permutations",
)
_REQUIRED = ("comparison", "outcome", "measure")
_ZERO_KEYS = ("add", "to", "drop00")


@dataclass(frozen=True)
class ZeroCells:
    """metafor's continuity correction: add ``add`` to the cells of the tables ``to``
    selects (only0, all, if0all, none); ``drop00`` drops double-zero tables."""

    add: float = 0.5
    to: str = "only0"
    drop00: bool = True


@dataclass(frozen=True)
class AnalysisSpec:
    """One named analysis: which effects, which measure, which model."""

    name: str
    comparison: str
    outcome: str
    measure: str
    title: str = ""
    method: str = DEFAULT_METHOD
    test: str = DEFAULT_TEST
    level: float = 0.95
    zero_cells: ZeroCells = ZeroCells()
    subgroup_by: str | None = "population"
    include: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    favours: tuple[str, str] = ("Favours experimental", "Favours control")
    arm_labels: tuple[str, str] = ("Experimental", "Control")
    order: str = "spec"
    prediction_interval: str | None = DEFAULT_PREDICTION
    """How the prediction interval is computed (see metaall.methods), None: not shown."""
    control_risks: tuple[float, ...] = ()
    """Assumed control risks for absolute effects, besides the pooled control-arm risk."""
    risk_timepoint: str = ""
    """When the control risks apply (needed for hazard ratios), e.g. "2 years"."""
    tau_prior: str = DEFAULT_TAU_PRIOR
    """The prior for tau of the Bayesian model, in text form (models.priors)."""
    mu_prior: str = DEFAULT_MU_PRIOR
    """The prior for mu of the Bayesian model: flat or normal:MEAN:SD."""
    timepoint: tuple[str, ...] = ()
    """Time points the analysis accepts, preferred first (empty: every time point, last
    follow-up first, then the longest duration; see :mod:`metaall.data.timepoints`)."""
    overlap: str = "primary"
    """Which study of an overlap group is pooled (a key of OVERLAP_RULES)."""
    caution: str = ""
    """A caution that reports print with the total of all subgroups."""
    tsa: TSASettings | None = None
    """Trial sequential analysis parameters (:mod:`metaall.data.tsa`), None: not declared."""
    mods: tuple[str, ...] = ()
    """Moderators of a meta-regression (:data:`MODERATORS`), empty for none."""
    permutations: int | None = None
    """Permutations of the meta-regression's permutation test (None: no test); exact
    when there are no more distinct permutations, as metafor's ``permutest``."""
    seed: int = DEFAULT_SEED
    """The seed of a random permutation test."""
    path: str = ""

    @property
    def data_kind(self) -> str:
        """The kind of evidence (Effect.kind) the spec's measure is computed from."""
        return methods.measure(self.measure).data

    @property
    def counts(self) -> bool:
        """True when the spec pools 2×2 counts (rows show events/total per arm)."""
        return self.data_kind == methods.COUNTS

    @property
    def single_arm(self) -> bool:
        """True when the spec pools single-arm proportions (no comparator)."""
        return self.data_kind == methods.PROPORTIONS

    @property
    def corrected(self) -> bool:
        """True when the spec's evidence takes a continuity correction (counts and
        proportions)."""
        return self.data_kind in (methods.COUNTS, methods.PROPORTIONS)

    def select(self, data: Extractions) -> tuple[Effect, ...]:
        """The effects this spec names (its comparison, outcome and include), in file
        order; both kinds of evidence (the analysis decides which it can use)."""
        return data.select(self.comparison, self.outcome, self.include)


def default_zero_cells(measure: str) -> ZeroCells:
    """metafor's continuity correction for ``measure``: ½ to the cells of tables (or
    proportions) with a zero cell; none for the arcsine transforms (PAS, PFT)."""
    return ZeroCells(add=methods.measure(measure).correction)


def _zero_cells(spec: YamlFile, value: object, measure: str) -> ZeroCells:
    if not isinstance(value, dict):
        raise spec.error("zero_cells", "expected a mapping with add, to, drop00")
    for key in value:
        if key not in _ZERO_KEYS:
            raise spec.error(f"zero_cells.{key}", f"unknown key; allowed: {', '.join(_ZERO_KEYS)}")
    default = default_zero_cells(measure)
    return ZeroCells(
        add=spec.number("zero_cells.add", value.get("add", default.add), 0, math.inf, True),
        to=spec.choice("zero_cells.to", value.get("to", default.to), ZERO_CELL_TARGETS),
        drop00=spec.flag("zero_cells.drop00", value.get("drop00", default.drop00)),
    )


def _include(spec: YamlFile, value: object, vocabulary: Vocabulary) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise spec.error("include", "expected a mapping field: [allowed values]")
    include: dict[str, tuple[str, ...]] = {}
    for name, allowed in value.items():
        key = f"include.{name}"
        spec.choice(key, name, SELECTABLE_FIELDS)
        if not isinstance(allowed, list) or not allowed:
            raise spec.error(key, "expected a non-empty list of values")
        if name in vocabulary.tags:
            include[name] = tuple(spec.tag(key, tag, vocabulary, name) for tag in allowed)
        elif name == "report":
            include[name] = tuple(spec.choice(key, item, REPORTS) for item in allowed)
        else:
            include[name] = tuple(spec.text(key, item) for item in allowed)
    return include


def _prediction(spec: YamlFile, value: object) -> str | None:
    """``true`` (metafor's interval), ``false`` (none) or the name of an interval."""
    if isinstance(value, bool):
        return DEFAULT_PREDICTION if value else None
    return spec.named("prediction_interval", value, "prediction interval")


def _risks(spec: YamlFile, value: object) -> tuple[float, ...]:
    """A list of proportions in (0, 1)."""
    if not isinstance(value, list):
        raise spec.error("control_risks", "expected a list of risks, e.g. [0.3, 0.5]")
    return tuple(spec.number("control_risks", item, 0, 1, False) for item in value)


def _prior(spec: YamlFile, key: str, data: dict, default: str) -> str:
    """A prior in text form, checked by parsing it (metaall.models.priors)."""
    if key not in data:
        return default
    text = spec.text(key, data[key])
    try:
        check_prior(key, text)
    except ValueError as exc:
        raise spec.error(key, str(exc)) from None
    return text


def _mods(spec: YamlFile, value: object, method: str) -> tuple[str, ...]:
    """A list of moderators (study or effect fields), each once, for an
    inverse-variance method."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise spec.error("mods", "expected a list of study or effect fields, e.g. [year]")
    chosen = []
    for item in items:
        name = spec.choice("mods", item, MODERATORS)
        if name in chosen:
            raise spec.error("mods", f"'{name}' is listed twice")
        chosen.append(name)
    try:
        methods.inverse_variance(method)
    except ValueError as exc:
        raise spec.error(
            "mods", f"a meta-regression needs an inverse-variance model: {exc}"
        ) from None
    return tuple(chosen)


def _arm_labels(spec: YamlFile, data: dict, measure: str) -> tuple[str, str]:
    """The two arms' labels; a single-arm proportion has one (``[CD19 CAR-T]``)."""
    single = methods.measure(measure).data == methods.PROPORTIONS
    if "arm_labels" not in data:
        return SINGLE_ARM if single else AnalysisSpec.arm_labels
    value = data["arm_labels"]
    if single:
        if not isinstance(value, list) or len(value) != 1:
            raise spec.error("arm_labels", "a single-arm proportion has one arm: [label]")
        return spec.text("arm_labels", value[0]), ""
    return spec.pair("arm_labels", value)


def _permutations(spec: YamlFile, value: object, mods: tuple[str, ...]) -> int:
    if not mods:
        raise spec.error("permutations", "a permutation test needs mods (the moderators)")
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 10**7:
        raise spec.error("permutations", f"expected a whole number from 2 to 10^7, got {value!r}")
    return value


def _timepoints(spec: YamlFile, value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise spec.error("timepoint", "expected a time point or a list of them, e.g. [2 years]")
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise spec.error("timepoint", f"expected a time point, got {item!r}")
        try:
            canonical = timepoints.normalise(item)
        except ValueError as exc:
            raise spec.error("timepoint", str(exc)) from None
        if canonical in chosen:
            raise spec.error("timepoint", f"'{item}' is listed twice")
        chosen.append(canonical)
    return tuple(chosen)


def _build(path: Path, vocabulary: Vocabulary) -> AnalysisSpec:
    spec = YamlFile(path)
    data = spec.data
    for key in data:
        if key not in _KEYS:
            raise spec.error(str(key), f"unknown key; allowed: {', '.join(_KEYS)}")
    for key in _REQUIRED:
        if key not in data:
            raise DataError(spec.path, 0, key, "required key missing")
    default = AnalysisSpec(name=path.stem, comparison="", outcome="", measure="")
    measure = spec.named("measure", data["measure"], "measure")
    method = spec.named("method", data.get("method", default.method), "method")
    test = spec.named("test", data.get("test", default.test), "test")
    try:
        methods.check_combination(measure, method, test)
    except methods.Unfit as exc:
        raise spec.error(exc.key, str(exc)) from None
    subgroup_by = data.get("subgroup_by", default.subgroup_by)
    if subgroup_by is not None:
        subgroup_by = spec.choice("subgroup_by", subgroup_by, SELECTABLE_FIELDS[1:])
    mods = _mods(spec, data["mods"], method) if "mods" in data else ()
    zero_cells = default_zero_cells(measure)
    if "zero_cells" in data:
        zero_cells = _zero_cells(spec, data["zero_cells"], measure)
    return AnalysisSpec(
        name=path.stem,
        title=spec.text("title", data["title"]) if "title" in data else path.stem,
        comparison=spec.tag("comparison", data["comparison"], vocabulary, "comparison"),
        outcome=spec.tag("outcome", data["outcome"], vocabulary, "outcome"),
        measure=measure,
        method=method,
        test=test,
        level=spec.number("level", data.get("level", default.level), 0, 1, False),
        zero_cells=zero_cells,
        subgroup_by=subgroup_by,
        include=MappingProxyType(_include(spec, data.get("include", {}), vocabulary)),
        favours=spec.pair("favours", data["favours"]) if "favours" in data else default.favours,
        arm_labels=_arm_labels(spec, data, measure),
        order=spec.choice("order", data.get("order", default.order), ORDERS),
        prediction_interval=_prediction(spec, data.get("prediction_interval", True)),
        control_risks=_risks(spec, data.get("control_risks", [])),
        risk_timepoint=spec.text("risk_timepoint", data["risk_timepoint"])
        if "risk_timepoint" in data
        else "",
        tau_prior=_prior(spec, "tau_prior", data, default.tau_prior),
        mu_prior=_prior(spec, "mu_prior", data, default.mu_prior),
        timepoint=_timepoints(spec, data["timepoint"]) if "timepoint" in data else (),
        overlap=spec.choice("overlap", data.get("overlap", default.overlap), tuple(OVERLAP_RULES)),
        caution=spec.text("caution", data["caution"]) if "caution" in data else "",
        tsa=read_tsa(spec, data["tsa"]) if "tsa" in data else None,
        mods=mods,
        permutations=_permutations(spec, data["permutations"], mods)
        if "permutations" in data
        else None,
        path=str(path),
    )


def load_spec(path: str | PathLike[str], vocabulary: Vocabulary) -> AnalysisSpec:
    """Read and validate one spec file; its name is the file stem."""
    return _build(Path(path), vocabulary)


def _paths(directory: str | PathLike[str]) -> list[Path]:
    folder = Path(directory)
    if not folder.is_dir():
        raise DataError(str(folder), 0, "directory", "no such directory")
    return sorted(folder.glob("*.yaml"))


def validate_specs(directory: str | PathLike[str], vocabulary: Vocabulary) -> list[DataError]:
    """The first problem of every spec file in ``directory`` (one per file)."""
    errors = []
    for path in _paths(directory):
        try:
            _build(path, vocabulary)
        except DataError as exc:
            errors.append(exc)
    return errors


def load_specs(directory: str | PathLike[str], vocabulary: Vocabulary) -> dict[str, AnalysisSpec]:
    """All ``*.yaml`` specs in ``directory`` by name; raise the first problem."""
    return {path.stem: _build(path, vocabulary) for path in _paths(directory)}


def check_specs_against(
    specs: Mapping[str, AnalysisSpec], extractions: Extractions
) -> list[DataError]:
    """Problems only the data reveal: an ``include.study`` id that is not a study, and
    a spec that selects no effect of the kind its measure pools (at its time points)."""
    errors = []
    for spec in specs.values():
        for sid in spec.include.get("study", ()):
            if sid not in extractions.studies:
                errors.append(DataError(spec.path, 0, "include.study", f"unknown study '{sid}'"))
        measure = methods.measure(spec.measure)
        usable = [
            e
            for e in spec.select(extractions)
            if e.fits(measure) and (not spec.timepoint or e.timepoint in spec.timepoint)
        ]
        if not usable:
            what = methods.KIND_WORDS[spec.data_kind]
            if measure.data == methods.GENERIC:
                what = f"generic {'ratio' if measure.ratio else 'difference'}"
            errors.append(
                DataError(
                    spec.path, 0, "measure", f"no {what} for {spec.comparison} / {spec.outcome}"
                )
            )
    return errors
