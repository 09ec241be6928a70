"""Run an analysis spec on the evidence base: extractions → effect sizes → models.

:func:`run_analysis` selects the effects a spec names, turns each into an effect
size (or says why it cannot), pools each subgroup and all studies with the spec's
model, and tests for subgroup differences. The :class:`AnalysisResult` it returns is
the one object every report, table and figure is drawn from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from metaall.data import AnalysisSpec, Effect, Extractions, Study, ZeroCells
from metaall.data.extractions import COUNT_FIELDS
from metaall.data.specs import COMMON_EFFECT_METHODS, MEASURES, METHODS, ORDERS, TESTS
from metaall.effects import effect_sizes, hr_from_ci, hr_from_p
from metaall.models import PooledResult, fit, fit_mh, fit_peto
from metaall.models.subgroups import common_tau2_test, q_between

RATIO_MEASURES = ("RR", "OR", "HR")
NOT_ESTIMABLE = "not estimable: no events in either arm"


@dataclass(frozen=True)
class StudyRow:
    """One study's contribution: its extraction row, effect size and weight (percent).

    ``yi``/``vi`` are NaN for a study that is shown but cannot give an estimate.
    """

    effect: Effect
    study: Study
    group: str
    yi: float
    vi: float
    weight: float
    note: str = ""

    @property
    def estimable(self) -> bool:
        return math.isfinite(self.yi)

    @property
    def label(self) -> str:
        return self.study.label or self.study.study


@dataclass(frozen=True)
class Excluded:
    """An effect that could not enter the analysis, and why."""

    effect: Effect
    study: Study
    reason: str


@dataclass(frozen=True)
class GroupResult:
    """Studies of one subgroup (or all of them) with their pooled result (None if k = 0)."""

    name: str
    rows: tuple[StudyRow, ...]
    fit: PooledResult | None

    @property
    def total_weight(self) -> float:
        return float(sum(r.weight for r in self.rows if r.estimable))


@dataclass(frozen=True)
class SubgroupTest:
    """Tests for subgroup differences (see :mod:`metaall.models.subgroups`)."""

    Q: float
    df: int
    pval: float
    QM_common_tau2: float | None = None
    QM_common_tau2_pval: float | None = None


@dataclass(frozen=True)
class AnalysisResult:
    """Everything one run of a spec produced."""

    spec: AnalysisSpec
    subgroup: str | None
    subgroups: tuple[GroupResult, ...]
    overall: GroupResult
    difference: SubgroupTest | None
    excluded: tuple[Excluded, ...]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    """What each subgroup tag means (from the vocabulary), for reports and figures."""

    @property
    def ratio(self) -> bool:
        """True when effects are ratios pooled on the log scale."""
        return self.spec.measure in RATIO_MEASURES

    def display(self, value: float) -> float:
        """A value on the analysis scale as readers see it (exp for ratios)."""
        if not self.ratio:
            return value
        try:
            return math.exp(value)
        except OverflowError:
            return math.inf

    def to_frame(self):
        """The study and pooled rows as a pandas DataFrame (for notebooks)."""
        from metaall.reports.frames import to_frame

        return to_frame(self)


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
) -> AnalysisSpec:
    """The spec with overrides applied (None keeps the spec's value); ``ValueError`` if
    they do not fit together."""
    z = spec.zero_cells
    new = replace(
        spec,
        measure=measure or spec.measure,
        method=method or spec.method,
        test=test or spec.test,
        level=spec.level if level is None else level,
        order=order or spec.order,
        zero_cells=ZeroCells(
            add=z.add if add is None else add,
            to=to or z.to,
            drop00=z.drop00 if drop00 is None else drop00,
        ),
    )
    if new.measure not in MEASURES:
        raise ValueError(f"unknown measure {new.measure!r}; use one of {', '.join(MEASURES)}")
    if MEASURES[new.measure] != MEASURES[spec.measure]:
        raise ValueError(
            f"measure {new.measure} needs {MEASURES[new.measure]} data, but analysis "
            f"'{spec.name}' pools {MEASURES[spec.measure]}"
        )
    if new.method not in METHODS:
        raise ValueError(f"unknown method {new.method!r}; use one of {', '.join(METHODS)}")
    if new.test not in TESTS:
        raise ValueError(f"unknown CI method {new.test!r}; use z or knha (Hartung-Knapp)")
    if new.method == "MH" and new.measure not in ("RR", "OR", "RD"):
        raise ValueError(f"Mantel-Haenszel pools RR, OR or RD, not {new.measure}")
    if new.method == "Peto" and new.measure != "OR":
        raise ValueError(f"Peto's method estimates an odds ratio, not {new.measure}")
    if new.test == "knha" and new.method in COMMON_EFFECT_METHODS:
        raise ValueError(f"Hartung-Knapp needs a random-effects method, not {new.method}")
    if not 0 < new.level < 1:
        raise ValueError(f"level must be between 0 and 1, got {new.level}")
    if new.order not in ORDERS:
        raise ValueError(f"unknown order {new.order!r}; use one of {', '.join(ORDERS)}")
    return new


def _group_of(spec: AnalysisSpec, effect: Effect, study: Study) -> str:
    if spec.subgroup_by is None:
        return ""
    value = getattr(effect, spec.subgroup_by, None)
    return str(value if value is not None else getattr(study, spec.subgroup_by, ""))


def _usable(spec: AnalysisSpec, effect: Effect) -> str:
    """Why an effect cannot enter a spec's analysis ('' when it can)."""
    if spec.measure == "HR":
        if effect.has_hr:
            return ""
        if effect.hr is None and effect.p_value is not None:
            return "p-value only, no hazard ratio reported"
        if effect.kind == "counts":
            return "2×2 counts only; this analysis pools hazard ratios"
        return "no hazard ratio with a CI or p-value"
    if effect.kind == "counts":
        return ""
    if effect.hr is not None:
        return f"hazard ratio only; this analysis pools {spec.measure} from 2×2 counts"
    return "no 2×2 counts reported"


def _select(
    spec: AnalysisSpec, data: Extractions, subgroup: str | None
) -> tuple[list[tuple[Effect, Study, str]], list[Excluded]]:
    usable: list[tuple[Effect, Study, str]] = []
    unusable: list[Excluded] = []
    for effect in data.for_spec(spec):
        study = data.study_of(effect)
        group = _group_of(spec, effect, study)
        if subgroup is not None and group != subgroup:
            continue
        why = _usable(spec, effect)
        if why:
            unusable.append(Excluded(effect, study, why))
        else:
            usable.append((effect, study, group))
    # a study with a usable effect is not "excluded" for its other data kind
    taken = {(e.study, g) for e, _, g in usable}
    excluded = [
        x for x in unusable if (x.effect.study, _group_of(spec, x.effect, x.study)) not in taken
    ]
    return usable, excluded


def _order(spec: AnalysisSpec, rows: list[StudyRow]) -> tuple[StudyRow, ...]:
    def big(value: float) -> float:
        return value if math.isfinite(value) else math.inf

    keys = {
        "spec": None,
        "year": lambda r: (r.study.year is None, r.study.year or 0),
        "weight": lambda r: -r.weight if r.estimable else math.inf,
        "effect": lambda r: big(r.yi),
    }
    key = keys[spec.order]
    return tuple(rows if key is None else sorted(rows, key=key))


def _effect_sizes(spec: AnalysisSpec, items: Sequence[tuple[Effect, Study, str]]):
    """yi, vi and a note per item (NaN where not estimable)."""
    effects = [e for e, _, _ in items]
    names = [e.study for e in effects]
    if spec.measure == "HR":
        yi, vi, notes = zip(*(_log_hazard_ratio(e) for e in effects), strict=True)
        yi, vi, notes = np.array(yi), np.array(vi), list(notes)
    else:
        z = spec.zero_cells
        counts = [[getattr(e, f) for e in effects] for f in COUNT_FIELDS]
        measure = "PETO" if spec.method == "Peto" else spec.measure
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


def pool_items(spec: AnalysisSpec, items, yi, vi) -> tuple[PooledResult | None, np.ndarray]:
    """Pool ``items`` ((effect, study, group) with effect sizes ``yi``/``vi``) with the
    spec's model: the result and per-item weights (percent). Inverse-variance models
    fit the estimable items in their given order; MH and Peto take every table."""
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    weights = np.zeros(len(items))
    if spec.method in ("MH", "Peto"):
        counts = [[getattr(e, f) for e, _, _ in items] for f in COUNT_FIELDS]
        z = spec.zero_cells
        kwargs = dict(add=z.add, to=z.to, drop00=z.drop00, level=spec.level)
        if not ok.any():
            return None, weights
        if spec.method == "MH":
            res = fit_mh(*counts, measure=spec.measure, **kwargs)
        else:
            res = fit_peto(*counts, **kwargs)
        return res, np.nan_to_num(res.weights)
    if not ok.any():
        return None, weights
    names = [e.study for (e, _, _), good in zip(items, ok, strict=True) if good]
    res = fit(yi[ok], vi[ok], spec.method, spec.test, spec.level, studies=names)
    weights[ok] = res.weights
    return res, weights


def _group(
    spec: AnalysisSpec, name: str, items, yi, vi, notes, weights=None
) -> tuple[GroupResult, np.ndarray]:
    """Pool one group; rows show ``weights`` when given (else the group's own)."""
    result, own = pool_items(spec, items, yi, vi)
    shown = own if weights is None else weights
    rows = [
        StudyRow(e, s, g, float(y), float(v), float(w), note)
        for (e, s, g), y, v, w, note in zip(items, yi, vi, shown, notes, strict=True)
    ]
    return GroupResult(name, _order(spec, rows), result), own


def run_analysis(
    spec: AnalysisSpec, data: Extractions, subgroup: str | None = None
) -> AnalysisResult:
    """Run ``spec`` on ``data``; restricted to one subgroup when ``subgroup`` is given.

    Without ``subgroup`` every subgroup is pooled on its own, all studies together,
    and the subgroups are compared. Study weights shown are those of the overall fit
    (as RevMan and R meta show them).
    """
    items, excluded = _select(spec, data, subgroup)
    if subgroup is not None and not items and not excluded:
        known = available_subgroups(spec, data)
        raise ValueError(
            f"analysis '{spec.name}' has no subgroup '{subgroup}'; "
            f"available: {', '.join(known) or 'none'}"
        )
    yi, vi, notes = _effect_sizes(spec, items) if items else (np.array([]), np.array([]), [])
    overall, weights = _group(spec, subgroup or "overall", items, yi, vi, notes)

    groups: list[GroupResult] = []
    difference = None
    labels = np.array([g for _, _, g in items], dtype=object)
    names = list(dict.fromkeys(labels.tolist()))
    if subgroup is None and spec.subgroup_by is not None and len(names) > 1:
        for name in names:
            sel = labels == name
            sub_items = [it for it, keep in zip(items, sel, strict=True) if keep]
            sub_notes = [n for n, keep in zip(notes, sel, strict=True) if keep]
            group, _ = _group(spec, name, sub_items, yi[sel], vi[sel], sub_notes, weights[sel])
            groups.append(group)
        difference = _difference(spec, groups, labels, yi, vi)
    vocab, by = data.vocabulary, spec.subgroup_by
    descriptions = {g: vocab.describe(by, g) for g in names if by and vocab.has(by, g)}
    return AnalysisResult(
        spec, subgroup, tuple(groups), overall, difference, tuple(excluded), descriptions
    )


def _difference(spec, groups, labels, yi, vi) -> SubgroupTest | None:
    pooled = [g.fit for g in groups if g.fit is not None and math.isfinite(g.fit.estimate)]
    if len(pooled) < 2:
        return None
    q, df, p = q_between([f.estimate for f in pooled], [f.se for f in pooled])
    if spec.method in ("MH", "Peto"):
        return SubgroupTest(q, df, p)
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    qm, _, qm_p, _ = common_tau2_test(yi[ok], vi[ok], labels[ok], spec.method, spec.test)
    return SubgroupTest(q, df, p, qm, qm_p)


def available_subgroups(spec: AnalysisSpec, data: Extractions) -> list[str]:
    """The subgroup values present among the effects a spec selects, in file order."""
    values = (_group_of(spec, e, data.study_of(e)) for e in data.for_spec(spec))
    return [v for v in dict.fromkeys(values) if v]
