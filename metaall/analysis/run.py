"""Run an analysis spec on the evidence base: extractions → effect sizes → models.

:func:`run_analysis` selects the effects a spec names, turns each into an effect
size (or says why it cannot), pools each subgroup and all studies with the spec's
model, and tests for subgroup differences. The :class:`AnalysisResult` it returns is
the one object every report, table and figure is drawn from.

Selection (:func:`_select`): the rows of the spec's comparison and outcome; rows
outside its ``include`` or at a time point it does not use are listed as not
included; a study enters once (its first population in ``include.population``, then
its preferred time point); and of the studies of one overlap group (studies that may
share patients, studies.csv ``overlap_group``) one, by the spec's ``overlap`` rule,
the others listed with the reason. :func:`overlap_members` gives the alternatives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from metaall import methods
from metaall.analysis.absolute import absolute_effects, pooled_control_risk
from metaall.analysis.means import arm_means
from metaall.analysis.regression import regression_of
from metaall.analysis.result import (
    AnalysisResult,
    Excluded,
    GroupResult,
    StudyRow,
    SubgroupTest,
)
from metaall.data import (
    COUNT_FIELDS,
    AnalysisSpec,
    Effect,
    Extractions,
    Study,
    Vocabulary,
    ZeroCells,
    timepoints,
)
from metaall.data.model import PROPORTION_FIELDS
from metaall.data.specs import MODERATORS, ORDERS, OVERLAP_RULES, default_zero_cells
from metaall.effects import effect_sizes, generic_effects, hr_from_ci, hr_from_p
from metaall.models import PooledResult, fit, fit_mh, fit_peto
from metaall.models.bayes import fit_bayes
from metaall.models.glmm import COUNTS as GLMM_COUNTS
from metaall.models.glmm import fit_glmm
from metaall.models.priors import parse_mu_prior, parse_tau_prior
from metaall.models.subgroups import common_tau2_test, q_between

NOT_ESTIMABLE = "not estimable: no events in either arm"

Item = tuple[Effect, Study, str]  # an effect, its study and its subgroup


def with_options(
    spec: AnalysisSpec,
    measure: str | None = None,
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
    add: float | None = None,
    to: str | None = None,
    drop00: bool | None = None,
    order: str | None = None,
    prediction: str | None = None,
    control_risks: tuple[float, ...] | None = None,
    risk_timepoint: str | None = None,
    tau_prior: str | None = None,
    mu_prior: str | None = None,
    mods: tuple[str, ...] | None = None,
    permutations: int | None = None,
    seed: int | None = None,
) -> AnalysisSpec:
    """The spec with overrides applied (None keeps the spec's value); names are looked
    up in :mod:`metaall.methods`; ``ValueError`` if the settings do not fit together.
    ``prediction`` is a prediction-interval method, or ``"none"`` for no interval;
    ``mods`` the moderators of a meta-regression (an empty tuple: none),
    ``permutations`` the size of its permutation test."""
    z = spec.zero_cells
    new_measure = methods.measure(measure or spec.measure).name
    if new_measure != spec.measure and z == default_zero_cells(spec.measure):
        z = default_zero_cells(new_measure)  # the new measure's own default correction
    interval = spec.prediction_interval
    if prediction is not None:
        interval = (
            None if prediction == "none" else methods.lookup("prediction interval", prediction).name
        )
    new = replace(
        spec,
        measure=new_measure,
        method=methods.method(method or spec.method).name,
        test=methods.ci_method(test or spec.test).name,
        level=spec.level if level is None else level,
        order=order or spec.order,
        prediction_interval=interval,
        control_risks=spec.control_risks if control_risks is None else tuple(control_risks),
        risk_timepoint=spec.risk_timepoint if risk_timepoint is None else risk_timepoint,
        tau_prior=tau_prior or spec.tau_prior,
        mu_prior=mu_prior or spec.mu_prior,
        zero_cells=ZeroCells(
            add=z.add if add is None else add,
            to=to or z.to,
            drop00=z.drop00 if drop00 is None else drop00,
        ),
        mods=spec.mods if mods is None else tuple(mods),
        permutations=spec.permutations if permutations is None else permutations,
        seed=spec.seed if seed is None else seed,
    )
    if not new.mods and permutations is None:  # no moderators: no permutation test either
        new = replace(new, permutations=None)
    if new.data_kind != spec.data_kind:
        raise ValueError(
            f"measure {new.measure} needs {new.data_kind} data, but analysis "
            f"'{spec.name}' pools {spec.data_kind}"
        )
    methods.check_combination(new.measure, new.method, new.test)
    for key in ("tau_prior", "mu_prior"):
        methods.check_prior(key, getattr(new, key))
    if not 0 < new.level < 1:
        raise ValueError(f"level must be between 0 and 1, got {new.level}")
    if new.zero_cells.to not in methods.ZERO_CELL_TARGETS:
        targets = ", ".join(methods.ZERO_CELL_TARGETS)
        raise ValueError(f"unknown zero-cell target {new.zero_cells.to!r}; use one of {targets}")
    for risk in new.control_risks:
        if not 0 < risk < 1:
            raise ValueError(f"an assumed control risk is a proportion in (0, 1), got {risk:g}")
    if new.order not in ORDERS:
        raise ValueError(f"unknown order {new.order!r}; use one of {', '.join(ORDERS)}")
    check_moderators(new)
    return new


def check_moderators(spec: AnalysisSpec) -> None:
    """ValueError unless the spec's moderators are known fields, each named once, its
    model pools by inverse variance, and a permutation test has moderators to test."""
    for name in spec.mods:
        if name not in MODERATORS:
            raise ValueError(f"unknown moderator {name!r}; use one of {', '.join(MODERATORS)}")
    if len(set(spec.mods)) != len(spec.mods):
        raise ValueError(f"a moderator is named twice in {', '.join(spec.mods)}")
    if spec.mods:
        try:
            methods.inverse_variance(spec.method)
        except ValueError as exc:
            raise ValueError(
                f"a meta-regression needs an inverse-variance model ('--mods none' pools "
                f"without it): {exc}"
            ) from None
    if spec.permutations is not None:
        if not spec.mods:
            raise ValueError("a permutation test needs moderators (--mods)")
        if spec.permutations < 2:
            raise ValueError(f"permutations must be at least 2, got {spec.permutations}")


def _group_of(spec: AnalysisSpec, effect: Effect, study: Study) -> str:
    if spec.subgroup_by is None:
        return ""
    value = getattr(effect, spec.subgroup_by, None)
    return str(value if value is not None else getattr(study, spec.subgroup_by, ""))


def _usable(spec: AnalysisSpec, effect: Effect) -> str:
    """Why an effect cannot enter a spec's analysis ('' when it can)."""
    measure = methods.measure(spec.measure)
    if effect.fits(measure):
        return ""
    pools = f"this analysis pools {measure.label} ({measure.name})"
    if spec.data_kind == methods.GENERIC and effect.kind == methods.GENERIC:
        scale = effect.effect_scale or "no effect_scale"
        return f"a generic effect on the {scale} scale; {pools}"
    if effect.kind in (methods.PROPORTIONS, methods.MEANS, methods.GENERIC):
        return f"{methods.KIND_WORDS[effect.kind]} only; {pools}"
    if spec.data_kind not in (methods.COUNTS, methods.HAZARD_RATIOS):
        return f"no {methods.KIND_WORDS[spec.data_kind]} reported; {pools}"
    if spec.data_kind == methods.HAZARD_RATIOS:
        if effect.hr is None and effect.p_value is not None:
            return "p-value only, no hazard ratio reported"
        if effect.has_counts:
            return "2×2 counts only; this analysis pools hazard ratios"
        return "no hazard ratio with a CI or p-value"
    if effect.hr is not None:
        return f"hazard ratio only; this analysis pools {spec.measure} from 2×2 counts"
    return "no 2×2 counts reported"


def _population_rank(spec: AnalysisSpec, data: Extractions) -> dict[str, int]:
    """Preference among populations when a study has rows in several: the order of
    ``include.population``, else the vocabulary's order (most specific first)."""
    order = spec.include.get("population") or data.vocabulary.allowed("population")
    return {population: i for i, population in enumerate(order)}


def _timepoint_rank(spec: AnalysisSpec, timepoint: str) -> tuple:
    """Preference among a study's time points: the spec's order, else the default
    (last follow-up, then the longest duration; :func:`timepoints.order_key`)."""
    if spec.timepoint:
        return (spec.timepoint.index(timepoint),)
    return timepoints.order_key(timepoint)


def _one_per_study(spec: AnalysisSpec, data: Extractions, rows: list[Item]):
    """Each study's preferred usable row (population first, then time point), and the
    other rows with the reason they stay out."""
    rank = _population_rank(spec, data)
    by_study: dict[str, list[Item]] = {}
    for item in rows:
        by_study.setdefault(item[0].study, []).append(item)
    chosen: dict[str, Item] = {}
    left_out: list[Excluded] = []
    for sid, items in by_study.items():
        best = min(
            items,
            key=lambda it: (
                rank.get(it[0].population, len(rank)),
                _timepoint_rank(spec, it[0].timepoint),
            ),
        )
        chosen[sid] = best
        for effect, study, _ in items:
            if effect is best[0]:
                continue
            if effect.population != best[0].population:
                why = (
                    f"the study enters once, with its {best[0].population} row "
                    f"(populations in order: {', '.join(rank)})"
                )
            else:
                when = best[0].timepoint or "no stated time point"
                why = f"the study enters once, with its row at {when}"
            left_out.append(Excluded(effect, study, why))
    return chosen, left_out


def _overlap_key(rule: str, effect: Effect) -> tuple[int, int]:
    """Sort key of a group member's row under ``rule`` (a key of OVERLAP_RULES): the
    primary report and the larger cohort (n_t + n_c) first, in the rule's order."""
    primary = int(effect.report == "primary")
    size = effect.size or (effect.n_t or 0) + (effect.n_c or 0)
    return (-primary, -size) if rule == "primary" else (-size, -primary)


def _overlap_groups(spec: AnalysisSpec, chosen: Mapping[str, Item]) -> dict[str, list[str]]:
    """Overlap groups with two or more studies among ``chosen``, each a list of study
    ids in the order of the spec's rule (ties: file order)."""
    groups: dict[str, list[Item]] = {}
    for item in chosen.values():
        if item[1].overlap_group:
            groups.setdefault(item[1].overlap_group, []).append(item)
    return {
        group: [
            e.study for e, _, _ in sorted(items, key=lambda it: _overlap_key(spec.overlap, it[0]))
        ]
        for group, items in groups.items()
        if len(items) > 1
    }


def overlap_members(spec: AnalysisSpec, data: Extractions) -> dict[str, list[str]]:
    """Per overlap group (studies.csv ``overlap_group``), the studies with a row this
    analysis can pool, in the order of the spec's ``overlap`` rule: the first is the
    one pooled, the others are the alternatives ``metaall sensitivity --overlap`` tries."""
    return _overlap_groups(spec, _candidates(spec, data)[0])


def _candidates(spec: AnalysisSpec, data: Extractions):
    """The preferred usable row per study, and every row that cannot or does not enter
    before overlap groups are resolved (with the reason)."""
    usable: list[Item] = []
    excluded: list[Excluded] = []
    unusable: list[Excluded] = []
    allowed = set(spec.timepoint)
    told: set[tuple[str, str]] = set()
    for effect in data.select(spec.comparison, spec.outcome):
        study = data.study_of(effect)
        outside = data.outside(effect, spec.include)
        if outside is not None:
            name, value = outside
            wanted = ", ".join(spec.include[name])
            why = f"{name} {value or '(blank)'} is outside this analysis (include.{name}: {wanted})"
            if (effect.study, why) not in told:  # once per study and reason
                told.add((effect.study, why))
                excluded.append(Excluded(effect, study, why))
            continue
        why = _usable(spec, effect)
        if why:
            unusable.append(Excluded(effect, study, why))
        elif allowed and effect.timepoint not in allowed:
            shown = effect.timepoint or "not stated"
            wanted = ", ".join(spec.timepoint)
            excluded.append(
                Excluded(effect, study, f"time point {shown}; this analysis uses {wanted}")
            )
        else:
            usable.append((effect, study, _group_of(spec, effect, study)))
    chosen, left_out = _one_per_study(spec, data, usable)
    # a study with a usable row is not "excluded" for its rows of the other data kind
    taken = {(e.study, g) for e, _, g in usable}
    excluded += [
        x for x in unusable if (x.effect.study, _group_of(spec, x.effect, x.study)) not in taken
    ]
    return chosen, excluded + left_out


def _select(
    spec: AnalysisSpec,
    data: Extractions,
    subgroup: str | None,
    overlap_choice: Mapping[str, str] | None = None,
) -> tuple[list[Item], list[Excluded]]:
    """The rows an analysis pools (in file order) and those it lists as not included.

    A study enters once (see :func:`_one_per_study`); of the studies of one overlap
    group (studies.csv ``overlap_group``) only one, by the spec's ``overlap`` rule or
    as ``overlap_choice`` (group -> study) says. Chosen before the restriction to
    ``subgroup``, so a subgroup run shows the studies of that subgroup in the full run.
    """
    chosen, excluded = _candidates(spec, data)
    for group, studies in _overlap_groups(spec, chosen).items():
        keep = (overlap_choice or {}).get(group, studies[0])
        if keep not in studies:
            raise ValueError(f"study '{keep}' has no row that analysis '{spec.name}' can pool")
        kept = chosen[keep][1]
        rule = OVERLAP_RULES[spec.overlap] if keep == studies[0] else "as asked"
        for sid in studies:
            if sid != keep:
                effect, study, _ = chosen.pop(sid)
                why = (
                    f"may share patients with {kept.label} (overlap group {group}), which this "
                    f"analysis pools: one study per group, {rule}"
                )
                excluded.append(Excluded(effect, study, why))
    order = {id(effect): i for i, effect in enumerate(data.effects)}
    items = sorted(chosen.values(), key=lambda it: order[id(it[0])])
    excluded.sort(key=lambda x: order[id(x.effect)])
    if subgroup is not None:
        items = [it for it in items if it[2] == subgroup]
        excluded = [x for x in excluded if _group_of(spec, x.effect, x.study) == subgroup]
    return items, excluded


class Studies(Protocol):
    """The studies one run pools, in file order: the selected rows of a project
    (:class:`ItemStudies`) or the columns of an ad-hoc table
    (:class:`metaall.analysis.table.TableStudies`)."""

    names: Sequence[str]
    """Study ids."""

    def __len__(self) -> int: ...

    def numbers(self, name: str) -> Sequence:
        """A count or proportion field of every study (None or NaN where blank)."""

    def effect(self, i: int) -> Effect:
        """Study ``i``'s effect row."""

    def years(self) -> np.ndarray:
        """Each study's year (NaN where undated)."""

    def groups(self) -> np.ndarray:
        """Each study's subgroup, as an object array."""

    def subset(self, keep: np.ndarray) -> Studies:
        """The studies where ``keep`` is True."""

    def rows(self, order: np.ndarray, yi, vi, weights, notes) -> Sequence[StudyRow]:
        """The study rows in ``order`` (indices), with their effect sizes, weights and
        notes (in file order)."""


class ItemStudies:
    """:class:`Studies` of selected rows of a project: (effect, study, subgroup) items."""

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        self.names = [e.study for e, _, _ in items]

    def __len__(self) -> int:
        return len(self.items)

    def numbers(self, name: str) -> list:
        return [getattr(e, name) for e, _, _ in self.items]

    def effect(self, i: int) -> Effect:
        return self.items[i][0]

    def years(self) -> np.ndarray:
        return np.array([math.nan if s.year is None else s.year for _, s, _ in self.items])

    def groups(self) -> np.ndarray:
        return np.array([g for _, _, g in self.items], dtype=object)

    def subset(self, keep: np.ndarray) -> ItemStudies:
        return ItemStudies([it for it, k in zip(self.items, keep, strict=True) if k])

    def rows(self, order: np.ndarray, yi, vi, weights, notes) -> tuple[StudyRow, ...]:
        items = self.items
        return tuple(
            StudyRow(*items[i], float(yi[i]), float(vi[i]), float(weights[i]), notes[i])
            for i in order.tolist()
        )


def _order(spec: AnalysisSpec, years: np.ndarray, weights, yi) -> np.ndarray:
    """Indices of the studies in the spec's report order (ties in file order):
    undated studies last by year; studies without an estimate last by weight or effect."""
    index = np.arange(len(yi))
    estimable = np.isfinite(yi)
    keys = {
        "spec": (),
        "year": (np.nan_to_num(years, nan=0.0), np.isnan(years)),
        "weight": (np.where(estimable, -np.asarray(weights, dtype=float), np.inf),),
        "effect": (np.where(estimable, yi, np.inf),),
    }
    return np.lexsort((index, *keys[spec.order]))


def _effect_sizes(spec: AnalysisSpec, studies: Studies):
    """yi, vi and a note per study (NaN where not estimable): at once from counts and
    proportions, study by study from hazard ratios, means and generic effects."""
    names = studies.names
    one_by_one = {
        methods.MEANS: lambda e: _from_means(spec, e),
        methods.GENERIC: _generic,
    }
    if spec.data_kind == methods.HAZARD_RATIOS:
        yi, vi, notes = _log_hazard_ratios(studies)
    elif spec.data_kind in one_by_one:
        each = one_by_one[spec.data_kind]
        computed = (each(studies.effect(i)) for i in range(len(studies)))
        yi, vi, notes = zip(*computed, strict=True)
        yi, vi, notes = np.array(yi), np.array(vi), list(notes)
    elif spec.data_kind == methods.PROPORTIONS:
        z = spec.zero_cells
        xi, ni = (studies.numbers(f) for f in ("events", "n"))
        es = effect_sizes(measure=spec.measure, xi=xi, ni=ni, add=z.add, to=z.to, studies=names)
        yi, vi = es.yi, es.vi
        notes = [f"{z.add:g} added to events and non-events" if c else "" for c in es.corrected]
        notes = [
            n if np.isfinite(y) else "not estimable: no events or no non-events, uncorrected"
            for n, y in zip(notes, yi, strict=True)
        ]
    else:
        z = spec.zero_cells
        counts = [studies.numbers(f) for f in COUNT_FIELDS]
        measure = methods.method(spec.method).study_measure or spec.measure
        es = effect_sizes(*counts, measure, z.add, z.to, z.drop00, studies=names)
        yi, vi = es.yi, es.vi
        notes = [
            NOT_ESTIMABLE if dropped else (f"{z.add:g} added to each cell" if corr else "")
            for dropped, corr in zip(es.dropped, es.corrected, strict=True)
        ]
    degenerate = np.isfinite(yi) & ~(np.isfinite(vi) & (vi > 0))
    for i in np.flatnonzero(degenerate):  # e.g. an SE that underflows to zero
        notes[i] = "not estimable: zero or undefined sampling variance"
    return np.where(degenerate, np.nan, yi), np.where(degenerate, np.nan, vi), notes


def _log_hazard_ratios(studies: Studies) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """log HRs, their variances and notes, at once per CI level and for those with a
    p-value; a batch holding a row that gives no SE goes row by row
    (:func:`_log_hazard_ratio`, which says why)."""
    hr, lower, upper, p, level = (
        np.asarray(studies.numbers(name), dtype=float)
        for name in ("hr", "hr_lower", "hr_upper", "p_value", "ci_level")
    )
    yi, vi = np.full(len(hr), math.nan), np.full(len(hr), math.nan)
    notes = [""] * len(hr)
    with_ci = ~np.isnan(lower)
    batches = [
        (with_ci & (level == at), lambda m, at=at: hr_from_ci(hr[m], lower[m], upper[m], at))
        for at in np.unique(level[with_ci]).tolist()
    ]
    batches.append((~with_ci, lambda m: hr_from_p(hr[m], p[m])))
    for mask, compute in batches:
        if not mask.any():
            continue
        try:
            es = compute(mask)
        except ValueError:
            for i in np.flatnonzero(mask).tolist():
                yi[i], vi[i], notes[i] = _log_hazard_ratio(studies.effect(i))
            continue
        yi[mask], vi[mask] = es.yi, es.vi
        if mask is batches[-1][0]:
            for i in np.flatnonzero(mask).tolist():
                notes[i] = f"SE from HR and p = {p[i]:g}"
    return yi, vi, notes


def _log_hazard_ratio(e: Effect) -> tuple[float, float, str]:
    """log HR, its variance and a note; NaN with the reason when no SE can be derived."""
    try:
        if e.hr_lower is not None:
            es, note = hr_from_ci(e.hr, e.hr_lower, e.hr_upper, e.ci_level), ""
        else:
            es, note = hr_from_p(e.hr, e.p_value), f"SE from HR and p = {e.p_value:g}"
    except ValueError as exc:
        reason = str(exc).split(": ", 1)[-1]
        return math.nan, math.nan, f"not estimable: {reason}"
    return float(es.yi[0]), float(es.vi[0]), note


def _from_means(spec: AnalysisSpec, e: Effect) -> tuple[float, float, str]:
    """MD, SMD or ROM from the arms' means and SDs (derived from the median where an
    arm gives its median: :func:`arm_means`), its variance and a note; NaN with the
    reason when the measure is undefined for the row (e.g. ROM of a negative mean)."""
    try:
        t, c = (arm_means(e, arm) for arm in ("t", "c"))
        es = effect_sizes(
            measure=spec.measure,
            m1i=[t.mean],
            sd1i=[t.sd],
            n1i=[t.n],
            m2i=[c.mean],
            sd2i=[c.sd],
            n2i=[c.n],
        )
    except ValueError as exc:
        return math.nan, math.nan, f"not estimable: {str(exc).split(': ', 1)[-1]}"
    arms = dict(zip(("t", "c"), spec.arm_labels, strict=True))
    by_method: dict[str, list[str]] = {}
    for a in (t, c):
        if a.derivation:
            by_method.setdefault(a.derivation, []).append(arms[a.arm])
    derived = [f"{' and '.join(labels)}: {how}" for how, labels in by_method.items()]
    return float(es.yi[0]), float(es.vi[0]), "; ".join(derived)


def _generic(e: Effect) -> tuple[float, float, str]:
    """A generic effect and its variance from its SE or CI (log scale for ratios)."""
    ratio = e.effect_scale == "ratio"
    try:
        if e.se is not None:
            es = generic_effects(yi=[e.effect], se=[e.se], log=ratio)
        else:
            bounds = dict(lower=[e.effect_lower], upper=[e.effect_upper], level=e.ci_level)
            estimate = None if e.effect is None else [e.effect]
            es = generic_effects(yi=estimate, log=ratio, **bounds)
    except ValueError as exc:
        return math.nan, math.nan, f"not estimable: {str(exc).split(': ', 1)[-1]}"
    note = "effect taken as the midpoint of its CI" if e.effect is None else ""
    if ratio and e.effect is None:
        note = "effect taken as the geometric midpoint of its CI"
    return float(es.yi[0]), float(es.vi[0]), note


def _pool(spec: AnalysisSpec, studies: Studies, yi, vi) -> tuple[PooledResult | None, np.ndarray]:
    """The spec's model fitted to ``studies``, and the study index of each of its
    studies.

    Methods that pool the counts (MH, Peto, the GLMMs) take every study; the others
    the estimable effect sizes, in the order given.
    """
    method = methods.method(spec.method)
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    if not ok.any():
        return None, np.array([], dtype=int)
    if method.tables:
        return _fit_tables(spec, method, studies), np.arange(len(studies))
    used = np.flatnonzero(ok)
    names = studies.names if ok.all() else [studies.names[i] for i in used.tolist()]
    return _fit_effects(spec, method, yi[ok], vi[ok], names), used


def _fit_tables(spec: AnalysisSpec, method: methods.Method, studies: Studies):
    """The spec's model of the counts themselves: MH, Peto or a binomial GLMM of the
    2×2 tables, or the GLMM of single-arm events."""
    fields = PROPORTION_FIELDS if spec.single_arm else COUNT_FIELDS
    counts = [studies.numbers(f) for f in fields]
    z = spec.zero_cells
    kwargs = dict(add=z.add, to=z.to, drop00=z.drop00, level=spec.level)
    if method.family == methods.EXACT:
        by_name = dict(zip(GLMM_COUNTS[spec.measure], counts, strict=True))
        return fit_glmm(
            measure=spec.measure,
            model=method.name,
            test=spec.test,
            studies=list(studies.names),
            **by_name,
            **kwargs,
        )
    if method.name == "MH":
        return fit_mh(*counts, measure=spec.measure, **kwargs)
    return fit_peto(*counts, **kwargs)


def _fit_effects(spec: AnalysisSpec, method: methods.Method, yi, vi, names) -> PooledResult:
    """The spec's model of per-study effects: inverse variance, or the Bayesian
    normal-normal model with the spec's priors."""
    if method.family == methods.BAYES:
        mu_mean, mu_sd = parse_mu_prior(spec.mu_prior)
        prior = parse_tau_prior(spec.tau_prior)
        return fit_bayes(
            yi, vi, prior, mu_mean=mu_mean, mu_sd=mu_sd, level=spec.level, studies=names
        )
    return fit(yi, vi, spec.method, spec.test, spec.level, studies=names)


def _group(
    spec: AnalysisSpec, name: str, studies: Studies, yi, vi, notes, weights=None
) -> tuple[GroupResult, np.ndarray]:
    """Pool one group: rows in report order, the fit's studies in the same order.

    Rows show ``weights`` when given (else the group's own); returns the group and
    its own weights per study (percent, 0 where not pooled).
    """
    result, used = _pool(spec, studies, yi, vi)
    own = np.zeros(len(studies))
    if result is not None:
        own[used] = np.nan_to_num(result.weights)
    shown = own if weights is None else weights
    order = _order(spec, studies.years(), shown, yi)
    rows = studies.rows(order, yi, vi, shown, notes)
    if result is None:
        return GroupResult(name, rows, None), own
    position = np.full(len(studies), -1)
    position[used] = np.arange(len(used))
    taken = position[order]
    taken = taken[taken >= 0]
    if (taken != np.arange(len(taken))).any():  # e.g. by year; file order needs no copy
        result = result.take(taken)
    heterogeneity = result.heterogeneity_interval()
    prediction = result.prediction(spec.prediction_interval) if spec.prediction_interval else None
    pooled = order[np.isfinite(yi[order])]
    arms = (np.asarray(studies.numbers(f), dtype=float)[pooled] for f in ("events_c", "n_c"))
    absolute = absolute_effects(spec, result, pooled_control_risk(*arms))
    group = GroupResult(name, rows, result, heterogeneity, prediction, absolute)
    return group, own


def run_analysis(
    spec: AnalysisSpec,
    data: Extractions,
    subgroup: str | None = None,
    overlap_choice: Mapping[str, str] | None = None,
) -> AnalysisResult:
    """Run ``spec`` on ``data``; restricted to one subgroup when ``subgroup`` is given.

    Without ``subgroup`` every subgroup is pooled on its own, all studies together,
    and the subgroups are compared. Study weights shown are those of the overall fit
    (as RevMan and R meta show them). Which rows enter, and why the others do not:
    :func:`_select` (``overlap_choice`` overrides the spec's pick in an overlap group).
    """
    if subgroup is not None:
        check_subgroup(spec, subgroup, available_subgroups(spec, data))
    items, excluded = _select(spec, data, subgroup, overlap_choice)
    return pool_studies(spec, ItemStudies(items), subgroup, excluded, data.vocabulary)


def check_subgroup(spec: AnalysisSpec, subgroup: str, known: Sequence[str]) -> None:
    """ValueError unless ``subgroup`` is one of the analysis's subgroups ``known``."""
    if subgroup not in known:
        raise ValueError(
            f"analysis '{spec.name}' has no subgroup '{subgroup}'; "
            f"available: {', '.join(known) or 'none'}"
        )


def pool_studies(
    spec: AnalysisSpec,
    studies: Studies,
    subgroup: str | None,
    excluded: Sequence[Excluded],
    vocabulary: Vocabulary,
) -> AnalysisResult:
    """The result of pooling ``studies`` (those of ``subgroup`` when given, else each
    subgroup, all together and the test between them), listing ``excluded``."""
    if len(studies):
        yi, vi, notes = _effect_sizes(spec, studies)
    else:
        yi, vi, notes = np.array([]), np.array([]), []
    overall, weights = _group(spec, subgroup or "overall", studies, yi, vi, notes)

    groups: list[GroupResult] = []
    difference = None
    labels = studies.groups()
    names = list(dict.fromkeys(labels.tolist()))
    if subgroup is None and spec.subgroup_by is not None and len(names) > 1:
        kept_notes = np.array(notes, dtype=object)
        for name in names:
            sel = labels == name
            group, _ = _group(
                spec,
                name,
                studies.subset(sel),
                yi[sel],
                vi[sel],
                kept_notes[sel].tolist(),
                weights[sel],
            )
            groups.append(group)
        difference = _difference(spec, groups, labels, yi, vi)
    by = spec.subgroup_by
    descriptions = {g: vocabulary.describe(by, g) for g in names if by and vocabulary.has(by, g)}
    regression = None
    if spec.mods and overall.fit is not None:
        regression = regression_of(spec, overall.pooled_rows)
    return AnalysisResult(
        spec,
        subgroup,
        tuple(groups),
        overall,
        difference,
        tuple(excluded),
        descriptions,
        regression,
    )


def _difference(spec, groups, labels, yi, vi) -> SubgroupTest | None:
    pooled = [g.fit for g in groups if g.estimable]
    if len(pooled) < 2:
        return None
    q, df, p = q_between([f.estimate for f in pooled], [f.se for f in pooled])
    if not methods.method(spec.method).inverse_variance:
        return SubgroupTest(q, df, p)  # the moderator test is an inverse-variance model
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    qm, _, qm_p, _ = common_tau2_test(yi[ok], vi[ok], labels[ok], spec.method, spec.test)
    return SubgroupTest(q, df, p, qm, qm_p)


def available_subgroups(spec: AnalysisSpec, data: Extractions) -> list[str]:
    """The subgroup values present among the effects a spec selects, in file order."""
    values = (_group_of(spec, e, data.study_of(e)) for e in spec.select(data))
    return [v for v in dict.fromkeys(values) if v]


@dataclass(frozen=True)
class OverlapAlternative:
    """One run of an analysis with one overlap group's study swapped: ``pooled`` taken
    from ``group`` instead of the spec's choice ``instead_of`` (all three empty for the
    analysis as its spec says)."""

    group: str
    pooled: str
    instead_of: str
    result: AnalysisResult


def overlap_alternatives(
    spec: AnalysisSpec, data: Extractions, subgroup: str | None = None
) -> list[OverlapAlternative]:
    """The analysis as specified, then once per other member of each overlap group with
    that member pooled instead of the spec's choice (one group swapped at a time, the
    others as specified): the sensitivity analysis for studies that may share patients
    (Cochrane Handbook v6.4 §10.14, "sensitivity analyses"; §23.2.3 on studies reported
    more than once)."""
    runs = [OverlapAlternative("", "", "", run_analysis(spec, data, subgroup))]
    for group, studies in overlap_members(spec, data).items():
        for other in studies[1:]:
            result = run_analysis(spec, data, subgroup, {group: other})
            runs.append(OverlapAlternative(group, other, studies[0], result))
    return runs
