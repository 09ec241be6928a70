"""What changed between two states of the evidence: the pooled result of every analysis
and subgroup, the studies left out and, for specs that declare TSA parameters, the
verdict of the trial sequential analysis of every group, compared before and after.

``metaall run`` keeps the summary of its last run in its manifest and reports the
difference; ``metaall add`` shows the same lines for the trial it adds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from metaall.analysis import AnalysisResult, GroupResult
from metaall.reports.records import clean
from metaall.reports.sequential import verdict_of
from metaall.reports.table import effect_text

SUMMARY_FIELDS = ("estimate", "ci_lb", "ci_ub", "tau2", "I2", "pval")


def _groups(result: AnalysisResult) -> dict[str, GroupResult]:
    return {"all": result.overall, **{g.name: g for g in result.groups}}


def _entry(result: AnalysisResult, group: GroupResult) -> dict | None:
    fit = group.fit
    if fit is None:
        return None
    return {
        "k": int(fit.k),
        "rows": len(group.rows),
        **{key: clean(getattr(fit, key)) for key in SUMMARY_FIELDS},
        "shown": effect_text(result, fit.estimate, fit.ci_lb, fit.ci_ub),
    }


def _verdicts(result: AnalysisResult) -> dict[str, str]:
    """The TSA verdict of every group with an estimate (the spec declares ``tsa:``)."""
    return {name: verdict_of(result, g) for name, g in _groups(result).items() if g.estimable}


def summary(results: Iterable[AnalysisResult]) -> dict:
    """Pooled results per analysis and subgroup (analysis scale, JSON-ready), the
    studies each analysis leaves out with the reason, and the TSA verdicts per group of
    the analyses whose spec declares TSA parameters."""
    out = {}
    for result in results:
        entry = {
            "measure": result.spec.measure,
            "groups": {name: _entry(result, g) for name, g in _groups(result).items()},
            "excluded": [f"{x.study.label} not pooled: {x.reason}" for x in result.excluded],
        }
        if result.spec.tsa is not None:
            entry["tsa"] = _verdicts(result)
        out[result.spec.name] = entry
    return out


def _shown(entry: Mapping | None) -> str:
    return "no estimate" if entry is None else f"{entry['shown']} (k = {entry['k']})"


def changes(previous: Mapping, current: Mapping) -> list[str]:
    """Lines describing what changed between two summaries."""
    lines = []
    for name in sorted(set(previous) | set(current)):
        if name not in previous:
            lines.append(f"{name}: new analysis")
            continue
        if name not in current:
            lines.append(f"{name}: analysis removed")
            continue
        old, new = previous[name]["groups"], current[name]["groups"]
        for group in [*new, *(g for g in old if g not in new)]:
            a, b = old.get(group), new.get(group)
            if a != b:
                lines.append(
                    f"{name} [{group}]: {current[name]['measure']} {_shown(a)} -> {_shown(b)}"
                )
        old_tsa, new_tsa = previous[name].get("tsa") or {}, current[name].get("tsa") or {}
        for group in [*new_tsa, *(g for g in old_tsa if g not in new_tsa)]:
            a, b = old_tsa.get(group, "not declared"), new_tsa.get(group, "not declared")
            if a != b:
                lines.append(f"{name} [{group}]: TSA {a} -> {b}")
        known = set(previous[name].get("excluded", ()))
        lines += [f"{name}: {x}" for x in current[name].get("excluded", ()) if x not in known]
    return lines
