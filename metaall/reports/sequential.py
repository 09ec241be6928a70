"""A trial sequential analysis as records (JSON, CSV, Markdown) and as text.

Every number comes from one :class:`~metaall.analysis.sequential.SequentialAnalysis`:
the per-trial table (cumulative effect on the scale readers use, z, information
fraction, boundaries, TSA-adjusted interval, status), the boundaries at every look
(the final look at the required information size included), the required information
size and the verdict. JSON keeps the analysis-scale estimate and SE beside them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from metaall._version import __version__
from metaall.analysis import AnalysisResult
from metaall.analysis.sequential import SequentialAnalysis, tsa_of
from metaall.formatting import fmt_num
from metaall.reports.records import clean
from metaall.reports.table import effect_text
from metaall.reports.tables import report_files

SPENDING_NAMES = {"obrien-fleming": "O'Brien-Fleming", "pocock": "Pocock"}
MAX_LABEL = 44


def spending_text(view: SequentialAnalysis) -> str:
    """The boundaries in words: spending functions, α, sides, futility."""
    s = view.settings
    sides = "two-sided" if s.side == 2 else "one-sided"
    futility = (
        "no futility boundaries"
        if s.futility == "none"
        else f"{SPENDING_NAMES[s.futility]} β-spending futility boundaries (non-binding)"
    )
    return (
        f"Lan-DeMets {SPENDING_NAMES[s.spending]} α-spending boundaries "
        f"(α = {s.alpha:g} {sides}); {futility}"
    )


def anticipated_text(view: SequentialAnalysis) -> str:
    """The parameters in words."""
    s, tsa = view.settings, view.tsa
    effect = (
        f"RRR {s.rrr:.0%}"
        if s.rrr is not None
        else (f"RR {s.rr:g}" if s.rr is not None else f"OR {s.odds_ratio:g}")
    )
    risk = f"{s.control_risk:.3g} ({view.control_risk_source})"
    het = {"d2": f"D² = {tsa.diversity:.1%}", "i2": f"I² = {tsa.inconsistency:.1%}"}.get(
        s.heterogeneity, "none"
    )
    return (
        f"anticipated {effect}, control risk {risk}, α {s.alpha:g}, β {s.beta:g} "
        f"(power {1 - s.beta:.0%}), heterogeneity adjustment {het}; {s.benefit} effects "
        "favour the intervention"
    )


def _boundary(tsa, j: int) -> tuple[float | None, float | None]:
    """The monitoring boundary in the direction of benefit at trial ``j`` and the
    futility boundary there (None where there is none)."""
    if not tsa.look[j]:
        return None, None
    benefit_lower = tsa.benefit == "lower"
    bound = tsa.lower[j] if benefit_lower else tsa.upper[j]
    futile = tsa.futility_lower[j] if benefit_lower else tsa.futility_upper[j]
    if tsa.side == 1:
        futile = tsa.futility_upper[j] if benefit_lower else tsa.futility_lower[j]
    return clean(bound), clean(futile)


def trial_rows(view: SequentialAnalysis) -> list[dict]:
    """One row per trial, chronological: cumulative effect (display scale) and CI,
    z, information, boundaries, TSA-adjusted CI and status (CSV/Markdown)."""
    tsa, d = view.tsa, view.display
    out = []
    for j, row in enumerate(view.rows):
        crossed = "; decides: " + tsa.conclusion if j == tsa.decided_at else ""
        out.append(
            {
                "trial": row.label,
                "year": row.study.year,
                "participants": round(float(tsa.participants[j])),
                "accrued": round(float(tsa.accrued[j])),
                "fraction": clean(tsa.timing[j]),
                "effect": clean(d(tsa.estimate[j])),
                "ci_lb": clean(d(tsa.ci_lb[j])),
                "ci_ub": clean(d(tsa.ci_ub[j])),
                "z": clean(tsa.zval[j]),
                "look": int(tsa.look[j]),
                "upper": clean(tsa.upper[j]),
                "lower": clean(tsa.lower[j]),
                "futility_upper": clean(tsa.futility_upper[j]),
                "futility_lower": clean(tsa.futility_lower[j]),
                "alpha_spent": clean(tsa.alpha_spent[j]),
                "adjusted_ci_lb": clean(d(tsa.adjusted_ci_lb[j])),
                "adjusted_ci_ub": clean(d(tsa.adjusted_ci_ub[j])),
                "status": tsa.status[j] + crossed,
            }
        )
    return out


def boundary_rows(view: SequentialAnalysis) -> list[dict]:
    """The boundaries at every look, the final look at the required information size
    included, on the data's z scale."""
    curve = view.tsa.boundary_curve()
    b = view.tsa.boundaries
    return [
        {
            "look": k + 1,
            "participants": clean(curve["participants"][k]),
            "fraction": clean(b.timing[k]),
            "upper": clean(curve["upper"][k]),
            "lower": clean(curve["lower"][k]),
            "futility_upper": clean(curve["futility_upper"][k]),
            "futility_lower": clean(curve["futility_lower"][k]),
            "alpha_spent": clean(b.alpha_spent[k]),
            "capped": bool(curve["capped"][k]),
        }
        for k in range(b.timing.size)
    ]


def tsa_record(view: SequentialAnalysis) -> dict:
    """The JSON document of ``metaall tsa``."""
    tsa, result, d = view.tsa, view.result, view.display
    info = tsa.information_size
    fit = view.group.fit
    decided = tsa.decided_at
    trials = trial_rows(view)
    for record, estimate, se in zip(trials, tsa.estimate, tsa.se, strict=True):
        record["estimate"], record["se"] = clean(estimate), clean(se)
    return {
        "analysis": result.spec.name,
        "subgroup": result.restricted_to,
        "group": view.group.name,
        "measure": result.spec.measure,
        "method": result.spec.method,
        "scale": "log" if tsa.log_scale else "identity",
        "settings": {**asdict(view.settings), "source": view.source},
        "control_risk_source": view.control_risk_source,
        "information_size": {
            "participants": tsa.ris,
            "unadjusted": info.unadjusted,
            "adjustment": clean(info.adjustment),
            "heterogeneity": info.heterogeneity,
            "value": clean(info.value),
            "diversity_D2": clean(tsa.diversity),
            "inconsistency_I2": clean(tsa.inconsistency),
            "control_risk": clean(info.control_risk),
            "intervention_risk": clean(info.intervention_risk),
            "description": info.description,
        },
        "accrued": round(float(tsa.accrued[-1])),
        "boundaries": boundary_rows(view),
        "boundary_description": spending_text(view),
        "trials": trials,
        "verdict": {
            "conclusion": tsa.conclusion,
            "text": tsa.verdict,
            "decided_at": None if decided is None else view.rows[decided].label,
            "decided_at_participants": None
            if decided is None
            else round(float(tsa.accrued[decided])),
            "information_size_reached": tsa.reached,
            "more_participants": tsa.more_participants,
        },
        "adjusted_ci": [clean(d(x)) for x in tsa.adjusted_ci],
        "conventional_ci": [clean(d(fit.ci_lb)), clean(d(fit.ci_ub))],
        "estimate": clean(d(fit.estimate)),
        "level": result.spec.level,
        "notes": list(view.notes),
        "metaall_version": __version__,
    }


def _z(value: float | None, sign: str = "") -> str:
    return "" if value is None else f"{sign}{fmt_num(abs(value) if sign else value)}"


SHORT_STATUS = (  # words of the numeric layer's statuses -> a table cell
    ("not pooled", "not pooled"),
    ("final look", "final look (RIS)"),
    ("not monitored", "after the RIS"),
    ("not a look", "no look"),
    ("look", "look"),
)


def _short(status: str) -> str:
    return next((short for key, short in SHORT_STATUS if key in status), status)


def _origin(view: SequentialAnalysis) -> str:
    path = Path(view.result.spec.path) if view.result.spec.path else None
    spec = f"{path.parent.name}/{path.name}" if path else view.result.spec.name
    return {
        "spec": f"declared in {spec} (tsa:)",
        "options": "given as options",
        "spec and options": f"options over those declared in {spec} (tsa:)",
    }[view.source]


def crossed_boundary(tsa) -> bool:
    """True when the deciding trial crossed a boundary; False when none decided, or
    when futility follows from reaching the required information size without a
    crossing (the numeric layer's rule 5)."""
    j = tsa.decided_at
    if j is None:
        return False
    if tsa.conclusion != "futility":
        return True
    z, lo, hi = tsa.zval[j], tsa.futility_lower[j], tsa.futility_upper[j]
    if tsa.side == 2:
        return bool(np.isfinite(hi) and lo < z < hi)
    return bool(z > hi if tsa.benefit == "lower" else z < lo)


def crossing_text(view: SequentialAnalysis) -> str:
    """When and where the verdict was reached, in words."""
    tsa = view.tsa
    j = tsa.decided_at
    if j is None:
        return "No boundary crossed."
    where = (
        f"at trial {j + 1} ({view.rows[j].label}) with {tsa.accrued[j]:,.0f} participants "
        f"accrued (information fraction {tsa.timing[j]:.3f}), Z = {fmt_num(tsa.zval[j])}"
    )
    if not crossed_boundary(tsa):
        return f"Required information size reached {where}, inside the monitoring boundaries."
    bound, futile = _boundary(tsa, j)
    which = "futility" if tsa.conclusion == "futility" else "monitoring"
    value = futile if which == "futility" else bound
    if tsa.conclusion == "harm" and tsa.side == 2:
        value = -value
    return f"Crossed: the {which} boundary, {where} (boundary {fmt_num(value)})."


def tsa_text(view: SequentialAnalysis) -> str:
    """The report of ``metaall tsa``: verdict, information size, boundaries, the
    per-trial table and the notes."""
    tsa, result = view.tsa, view.result
    spec = result.spec
    scope = f"subgroup {view.group.name}" if view.group is not result.overall else "all trials"
    if result.restricted_to:
        scope = f"subgroup {result.restricted_to}"
    reached = tsa.accrued[-1] / tsa.ris
    out = [
        f"Trial sequential analysis: {spec.title or spec.name}",
        f"analysis '{spec.name}', {scope}: {spec.comparison} / {spec.outcome}",
        "",
        f"Verdict: {tsa.verdict}",
        crossing_text(view),
        "",
        f"Required information size: {tsa.information_size.description}",
        f"Parameters: {anticipated_text(view)}; {_origin(view)}",
        f"Boundaries: {spending_text(view)}",
        f"Accrued: {tsa.accrued[-1]:,.0f} participants, {reached:.0%} of the required "
        "information size",
        "",
    ]
    out += _table(view)
    lo, hi = tsa.adjusted_ci
    fit = view.group.fit
    last = _last(tsa)
    adjusted = (
        "not informative yet (the boundary at the last look is capped)"
        if tsa.boundaries.capped[tsa.look[last] - 1]
        else f"{spec.measure} {effect_text(result, tsa.estimate[last], lo, hi)}"
    )
    out += [
        "",
        f"TSA-adjusted CI at the last look: {adjusted} (conventional "
        f"{spec.level:.0%} CI {effect_text(result, fit.estimate, fit.ci_lb, fit.ci_ub)})",
    ]
    notes = list(view.notes)
    if tsa.boundaries.capped.any():
        out.append(
            f"* the α spent by this look is negligible (< 1e-9): boundary capped at "
            f"{tsa.boundaries.cap:g}, as in RTSA (no crossing possible)"
        )
        notes = [n for n in notes if "to the cap" not in n]
    out += ["", "Notes:", *(f"  {note[:1].upper()}{note[1:]}" for note in notes)]
    out.append(
        "  Sources: Wetterslev et al. 2008 (J Clin Epidemiol 61:64), Wetterslev et al. 2017 "
        "(BMC Med Res Methodol 17:39), Brok et al. 2009 (Int J Epidemiol 38:287); R RTSA."
    )
    return "\n".join(out) + "\n"


def _table(view: SequentialAnalysis) -> list[str]:
    """The per-trial table of the text report (a long label gets a line of its own)."""
    tsa, result = view.tsa, view.result
    spec = result.spec
    out = []
    records = trial_rows(view)
    width = min(MAX_LABEL, max(len(x) for x in [*(r["trial"] for r in records), "Trial"]))
    sign = "±" if tsa.side == 2 else ""
    futility = view.settings.futility != "none"
    effect_head = f"{spec.measure} [{spec.level:.0%} CI]"
    head = (
        f"{'Trial':<{width}} {'Year':>4} {'N':>6} {'Accrued':>8} {'Fraction':>8}  "
        f"{effect_head:<20} {'Z':>6} {'Boundary':>8}"
        + (f" {'Futility':>8}" if futility else "")
        + "  Status"
    )
    out += [head, "-" * len(head)]
    decides = "crossed" if crossed_boundary(tsa) else "decides"
    for j, r in enumerate(records):
        bound, futile = _boundary(tsa, j)
        year = "" if r["year"] is None else str(r["year"])
        if r["effect"] is None:
            effect, z = "not pooled", ""
        else:
            effect = effect_text(result, tsa.estimate[j], tsa.ci_lb[j], tsa.ci_ub[j])
            z = fmt_num(r["z"])
        cap = "*" if bound is not None and abs(bound) >= tsa.boundaries.cap else ""
        status = _short(tsa.status[j]) + (
            f", {decides}: {tsa.conclusion}" if j == tsa.decided_at else ""
        )
        cells = (
            f"{year:>4} {r['participants']:>6,.0f} {r['accrued']:>8,.0f} {r['fraction']:>8.3f}  "
            f"{effect:<20} {z:>6} {_z(bound, sign) + cap:>8}"
            + (f" {_z(futile, sign):>8}" if futility else "")
            + f"  {status}"
        )
        label = r["trial"]
        if len(label) > width:
            out += [label, f"{'':<{width}} {cells}"]
        else:
            out.append(f"{label:<{width}} {cells}")
    return out


def _last(tsa) -> int:
    """The index of the last look."""
    looks = [j for j, k in enumerate(tsa.look) if k]
    return looks[-1]


def tsa_files(result: AnalysisResult) -> dict[str, bytes]:
    """The TSA of a result whose spec declares ``tsa:`` as text, JSON, CSV and
    Markdown (``<stem>_tsa.*``); a text file saying why when it cannot be done; nothing
    when the spec declares no TSA parameters."""
    if result.spec.tsa is None:
        return {}
    stem = f"{result.stem}_tsa"
    try:
        view = tsa_of(result)
    except ValueError as exc:
        return {f"{stem}.txt": f"Trial sequential analysis not done: {exc}\n".encode()}
    return report_files(stem, tsa_text(view), tsa_record(view), trial_rows(view))


def verdict_of(result: AnalysisResult, group=None) -> str:
    """The TSA verdict of a group of ``result`` with the spec's parameters, or why
    there is none (for the before → after summaries)."""
    try:
        return tsa_of(result, group=group).tsa.verdict
    except ValueError as exc:
        return f"not done: {exc}"
