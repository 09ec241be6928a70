"""Trial sequential analysis (TSA) of an analysis result: the trials one group of the
result pools, monitored in the order they were published.

A view of an :class:`AnalysisResult`, like :mod:`metaall.analysis.sensitivity`: the
trials are the rows the group's model holds (their effect sizes with the spec's
zero-cell rule, and the spec's model), put in chronological order, by year and then in
the report order the spec defines, trials without a year last, and handed to
:func:`metaall.sequential.trial_sequential_analysis` (Wetterslev et al. 2008, J Clin
Epidemiol 61:64; Thorlund et al. 2011, *User manual for TSA*; R's RTSA). Its last
cumulative estimate is the group's pooled estimate.

Settings: those given (the command line) over the spec's ``tsa:`` mapping
(:mod:`metaall.data.tsa`) over the defaults: α 0.05 two-sided, β 0.2, O'Brien-Fleming α
spending, no futility boundaries, the diversity D² adjustment for random-effects models
(the TSA program's default) and none for common-effect models, the control risk
the pooled control-arm risk Σcᵢ/Σn_cᵢ of the trials (the one the absolute effects use),
and benefit in the direction of the anticipated effect (RR < 1: lower effects favour
the intervention).

Models: inverse-variance models pool the rows' yi and vi with the spec's τ² estimator
and Wald z statistics (a Hartung-Knapp interval of the spec is not a z statistic: a
note says so); Mantel-Haenszel pools the 2×2 tables; Peto's odds ratio is a
common-effect inverse-variance pool of the rows' Peto log odds ratios. The
participants of a trial are n_t + n_c: hazard-ratio analyses carry none, so they
cannot be monitored by information size in participants.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from metaall import methods
from metaall.analysis.absolute import pooled_control_risk
from metaall.analysis.result import AnalysisResult, GroupResult, StudyRow
from metaall.analysis.sensitivity import ordered
from metaall.data import COUNT_FIELDS
from metaall.data.tsa import NO_FUTILITY, TSASettings
from metaall.effects import peto_terms
from metaall.sequential import TSAResult, trial_sequential_analysis

DEFAULTS = TSASettings(alpha=0.05, beta=0.2, side=2, spending="obrien-fleming", futility="none")
ADJUST = {"d2": "D2", "i2": "I2", "none": "none"}


@dataclass(frozen=True)
class SequentialAnalysis:
    """The TSA of one group of an analysis result.

    ``rows``: the trials in the TSA's (chronological) order, one per entry of the
    TSA's per-trial arrays; ``tsa``: the numeric result; ``settings``: every setting as
    used; ``source``: where they come from (``'spec'``, ``'options'`` or ``'spec and
    options'``: options given over the spec's ``tsa:``); ``control_risk_source``:
    ``'given'`` or ``'pooled control arms'``; ``notes``: how the trials were ordered and
    anything else a reader must know.
    """

    result: AnalysisResult
    group: GroupResult
    rows: tuple[StudyRow, ...]
    tsa: TSAResult
    settings: TSASettings
    source: str
    control_risk_source: str
    notes: tuple[str, ...]

    def display(self, value: float) -> float:
        """An analysis-scale value as readers see it (exp for ratios)."""
        return self.result.display(value)


def settings_of(result: AnalysisResult, given: TSASettings | None = None) -> TSASettings:
    """The settings a TSA of ``result`` uses: ``given`` over the spec's over the
    defaults (module docstring); ValueError without an anticipated effect."""
    declared = result.spec.tsa or TSASettings()
    chosen = declared.updated(**asdict(given)) if given is not None else declared
    if not chosen.effect:
        raise ValueError(
            f"no anticipated effect for the trial sequential analysis of '{result.spec.name}': "
            "give --rr, --rrr or --or (or declare tsa: in its spec)"
        )
    random = methods.method(result.spec.method).random_effects
    filled = DEFAULTS.updated(
        heterogeneity="d2" if random else "none", benefit=_direction(chosen)
    ).updated(**{k: v for k, v in asdict(chosen).items() if k not in chosen.effect})
    return filled.updated(**chosen.effect)


def _direction(settings: TSASettings) -> str:
    """Benefit lies in the direction of the anticipated effect."""
    ratio = settings.rr or settings.odds_ratio or (1 - (settings.rrr or 0))
    return "higher" if ratio > 1 else "lower"


def chronological(rows: tuple[StudyRow, ...]) -> tuple[tuple[StudyRow, ...], str]:
    """``rows`` by year, undated last (each in the order given), and a note saying so."""
    order = ordered(rows, "year")
    undated = [rows[i].label for i in order if rows[i].study.year is None]
    if not undated:
        note = "Trials in the order of publication (year; same year: report order)."
    elif len(undated) == len(rows):
        note = "No trial states its year: trials in report order."
    else:
        note = (
            f"Trials in the order of publication (year; same year: report order); "
            f"{len(undated)} without a stated year come last, in report order: "
            f"{', '.join(undated)}."
        )
    return tuple(rows[i] for i in order), note


def _check_monitorable(spec, group: GroupResult) -> None:
    """Participants come from 2×2 counts; the group needs a pooled estimate."""
    if spec.data_kind == methods.HAZARD_RATIOS:
        raise ValueError(
            f"trial sequential analysis needs each trial's participants (n_t + n_c); "
            f"analysis '{spec.name}' pools hazard ratios, which carry none"
        )
    if not spec.counts:
        raise ValueError(
            f"trial sequential analysis monitors two-arm trials with events (2×2 counts); "
            f"analysis '{spec.name}' pools {methods.KIND_WORDS[spec.data_kind]}"
        )
    if not group.estimable:
        raise ValueError(f"analysis '{spec.name}' [{group.name}] has no estimable study")


def tsa_of(
    result: AnalysisResult,
    settings: TSASettings | None = None,
    group: GroupResult | None = None,
) -> SequentialAnalysis:
    """Trial sequential analysis of ``group`` (default: all trials of ``result``) with
    ``settings`` over the spec's (module docstring); ValueError when it cannot be done
    (no estimable trial, no participants, no anticipated effect, no look)."""
    group = result.overall if group is None else group
    spec = result.spec
    _check_monitorable(spec, group)
    used = settings_of(result, settings)
    method = methods.method(spec.method)
    rows, order_note = chronological(group.pooled_rows)
    notes = [order_note]  # first: the figure and reports rely on it
    yi, vi = [r.yi for r in rows], [r.vi for r in rows]
    model = method.name
    if model == "Peto":  # Peto's log OR (O - E)/V with variance 1/V, uncorrected
        o_e, v = peto_terms(*(np.array([getattr(r.effect, f) for r in rows]) for f in COUNT_FIELDS))
        keep = v > 0
        rows = tuple(r for r, k in zip(rows, keep, strict=True) if k)
        yi, vi, model = o_e[keep] / v[keep], 1 / v[keep], "FE"
        notes.append(
            "Peto's log odds ratios (O - E)/V pooled by inverse variance (Peto's estimate)."
        )
    if spec.test != "z":
        notes.append(
            "The Z-curve uses Wald z statistics, not the analysis's "
            f"{methods.ci_method(spec.test).description} interval."
        )
    control, source = used.control_risk, "given"
    if control is None:
        pooled = [r.effect for r in rows if r.estimable]
        control = pooled_control_risk(
            *(np.array([getattr(e, f) for e in pooled], dtype=float) for f in ("events_c", "n_c"))
        )
        source = "pooled control arms"
    common = dict(
        measure=spec.measure,
        method=model,
        control_risk=control,
        **used.effect,
        adjust=ADJUST[used.heterogeneity],
        alpha=used.alpha,
        beta=used.beta,
        side=used.side,
        spending=used.spending,
        futility=None if used.futility == NO_FUTILITY else used.futility,
        benefit=used.benefit,
        level=spec.level,
        studies=[r.label for r in rows],
    )
    participants = [float(r.effect.n_t + r.effect.n_c) for r in rows]
    if model == "MH":
        counts = [[getattr(r.effect, f) for r in rows] for f in COUNT_FIELDS]
        tsa = trial_sequential_analysis(*counts, **common)
    else:
        tsa = trial_sequential_analysis(yi=yi, vi=vi, ni=participants, **common)
    used = used.updated(control_risk=tsa.information_size.control_risk)
    notes += list(tsa.notes)
    given = settings is not None and settings != TSASettings()
    origin = "spec and options" if given and spec.tsa else ("options" if given else "spec")
    return SequentialAnalysis(result, group, rows, tsa, used, origin, source, tuple(notes))
