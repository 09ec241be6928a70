"""The human-readable report of ``metaall pool``, laid out as RevMan's analysis output.

Study rows (events/total per arm, or log HR and SE), weight and effect with 95% CI;
per subgroup and overall: the pooled row naming its model, prediction interval,
heterogeneity and test for overall effect; the test for subgroup differences; the
studies that are not estimable or not included, with the reason; and a method block
with everything needed to reproduce the numbers.
"""

from __future__ import annotations

import math

from metaall import distributions as dist
from metaall.analysis import AnalysisResult, GroupResult, StudyRow
from metaall.reports.records import method_details

LABEL_WIDTH = 44


def fmt_p(p: float) -> str:
    """p-value as journals print it (AMA style): 'p < 0.001', 'p = 0.004', 'p = 0.33'."""
    if p is None or not math.isfinite(p):
        return "p = n/a"
    if p < 0.0001:
        return "p < 0.0001"
    if p < 0.01:
        return f"p = {p:.4f}" if p < 0.001 else f"p = {p:.3f}"
    return f"p = {p:.2f}"


def fmt_num(value: float, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def fmt_ci(result: AnalysisResult, est: float, lo: float, hi: float) -> str:
    d = result.display
    return f"{fmt_num(d(est))} [{fmt_num(d(lo))}, {fmt_num(d(hi))}]"


def _label(text: str) -> str:
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 1] + "…"


def _header(result: AnalysisResult) -> list[str]:
    spec = result.spec
    effect_head = f"{spec.measure} [{spec.level:.0%} CI]"
    if spec.measure == "HR":
        cols = f"{'log[HR]':>9} {'SE':>7}"
    else:
        t, c = spec.arm_labels
        cols = f"{t[:11]:>11} {c[:11]:>11}"
    line = f"{'Study':<{LABEL_WIDTH}} {cols} {'Weight':>7}   {effect_head}"
    sub = ""
    if spec.measure != "HR":
        sub = f"\n{'':<{LABEL_WIDTH}} {'events/N':>11} {'events/N':>11}"
    return [line + sub, "-" * len(line)]


def _study_line(result: AnalysisResult, row: StudyRow) -> str:
    e = row.effect
    if result.spec.measure == "HR":
        cols = f"{row.yi:>9.4f} {math.sqrt(row.vi):>7.4f}"
    else:
        cols = f"{f'{e.events_t}/{e.n_t}':>11} {f'{e.events_c}/{e.n_c}':>11}"
    if not row.estimable:
        return f"{_label(row.label):<{LABEL_WIDTH}} {cols} {'-':>7}   Not estimable"
    z = dist.norm_quantile(0.5 + result.spec.level / 2)
    half = z * math.sqrt(row.vi)
    effect = fmt_ci(result, row.yi, row.yi - half, row.yi + half)
    mark = " *" if row.note else ""
    return f"{_label(row.label):<{LABEL_WIDTH}} {cols} {row.weight:>6.1f}%   {effect}{mark}"


def _totals(result: AnalysisResult, group: GroupResult) -> str:
    if result.spec.measure == "HR":
        return f"{'':>9} {'':>7}"
    rows = group.rows
    et, nt = sum(r.effect.events_t for r in rows), sum(r.effect.n_t for r in rows)
    ec, nc = sum(r.effect.events_c for r in rows), sum(r.effect.n_c for r in rows)
    return f"{f'{et}/{nt}':>11} {f'{ec}/{nc}':>11}"


def _pooled_block(result: AnalysisResult, group: GroupResult, title: str) -> list[str]:
    fit = group.fit
    if fit is None:
        return [f"{title}: no study can give an estimate"]
    name = f"{title} ({fit.model})"
    effect = fmt_ci(result, fit.estimate, fit.ci_lb, fit.ci_ub)
    lines = [
        f"{_label(name):<{LABEL_WIDTH}} {_totals(result, group)} "
        f"{group.total_weight:>6.1f}%   {effect}"
    ]
    if result.spec.prediction_interval and math.isfinite(fit.pi_lb):
        d = result.display
        pi = f"[{fmt_num(d(fit.pi_lb))}, {fmt_num(d(fit.pi_ub))}]"
        lines.append(f"  Prediction interval: {pi}")
    q = f"Q = {fit.Q:.2f}, df = {fit.Q_df}, {fmt_p(fit.Q_pval)}"
    het = f"I² = {fit.I2:.1f}%; H² = {fit.H2:.2f}; {q}"
    tau = f"tau² = {fit.tau2:.4f}; " if fit.method not in ("FE", "MH", "Peto") else ""
    lines.append(f"  Heterogeneity: {tau}{het}")
    stat = "t" if fit.test == "knha" and fit.k > 1 else "z"
    lines.append(f"  Test for overall effect: {stat} = {fit.zval:.2f}, {fmt_p(fit.pval)}")
    return lines


def _group_lines(result: AnalysisResult, group: GroupResult, title: str) -> list[str]:
    return [_study_line(result, r) for r in group.rows] + _pooled_block(result, group, title)


def _footnotes(result: AnalysisResult) -> list[str]:
    rows = [r for r in result.overall.rows if r.note and r.estimable]
    return [f"  * {r.label}: {r.note}" for r in rows]


def render_text(result: AnalysisResult, describe=lambda tag: "") -> str:
    """The full report; ``describe(tag)`` gives a subgroup's description (vocabulary)."""
    spec = result.spec
    out = [spec.title or spec.name]
    scope = f"subgroup {result.subgroup}" if result.subgroup else "all subgroups"
    out.append(f"analysis '{spec.name}', {scope}: {spec.comparison} / {spec.outcome}")
    out.append("")
    out += _header(result)
    if result.subgroups:
        for group in result.subgroups:
            about = describe(group.name)
            out.append(f"{group.name}" + (f": {about}" if about else ""))
            out += _group_lines(result, group, f"Subtotal {group.name}")
            out.append("")
        out += _pooled_block(result, result.overall, "Total")
        d = result.difference
        if d is not None:
            out.append(
                f"  Test for subgroup differences: Q = {d.Q:.2f}, df = {d.df}, {fmt_p(d.pval)}"
                " (separate tau² per subgroup)"
            )
            if d.QM_common_tau2 is not None:
                out.append(
                    f"  Mixed-effects model, common tau²: QM = {d.QM_common_tau2:.2f}, "
                    f"df = {d.df}, {fmt_p(d.QM_common_tau2_pval)}"
                )
    else:
        title = f"Subtotal {result.subgroup}" if result.subgroup else "Total"
        out += _group_lines(result, result.overall, title)
    out += _footnotes(result)
    not_estimable = [r for r in result.overall.rows if not r.estimable]
    if not_estimable:
        out += ["", "Not estimable (shown, weight 0):"]
        out += [f"  {r.label} [{r.group}]: {r.note}" for r in not_estimable]
    if result.excluded:
        out += ["", "Not included in this analysis:"]
        for x in result.excluded:
            where = f"{x.effect.source}, {x.effect.location}, {x.effect.source_row}"
            out.append(f"  {x.study.label} [{x.effect.population}]: {x.reason} ({where})")
    out += ["", "Method details:"]
    for key, value in method_details(result).items():
        if isinstance(value, dict):
            value = value["rule"]
        if value is not None:
            out.append(f"  {key.replace('_', ' ')}: {value}")
    return "\n".join(out) + "\n"
