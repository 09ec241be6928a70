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
from metaall import methods
from metaall.analysis import AnalysisResult, GroupResult, StudyRow
from metaall.formatting import fmt_num, fmt_p
from metaall.reports.records import method_details

MAX_LABEL_WIDTH = 60


def fmt_ci(result: AnalysisResult, est: float, lo: float, hi: float) -> str:
    d = result.display
    return f"{fmt_num(d(est))} [{fmt_num(d(lo))}, {fmt_num(d(hi))}]"


def _title(group: GroupResult, title: str) -> str:
    return f"{title} ({group.fit.model})" if group.fit is not None else title


class _Report:
    """Lays out one analysis; the label column is as wide as the longest label."""

    def __init__(self, result: AnalysisResult) -> None:
        self.result = result
        titles = [_title(g, f"Subtotal {g.name}") for g in result.groups]
        titles.append(_title(result.overall, self._total_title()))
        labels = [r.label for r in result.overall.rows]
        self.width = min(MAX_LABEL_WIDTH, max(len(t) for t in [*labels, *titles, "Study"]))
        self.arm = max(11, *(len(a) for a in result.spec.arm_labels))

    def _total_title(self) -> str:
        r = self.result
        return f"Subtotal {r.restricted_to}" if r.restricted_to and not r.groups else "Total"

    def label(self, text: str) -> str:
        w = self.width
        return f"{text if len(text) <= w else text[: w - 1] + '…':<{w}}"

    def header(self) -> list[str]:
        spec = self.result.spec
        effect_head = f"{spec.measure} [{spec.level:.0%} CI]"
        if not spec.counts:
            cols = f"{'log[HR]':>9} {'SE':>7}"
        else:
            t, c = spec.arm_labels
            cols = f"{t:>{self.arm}} {c:>{self.arm}}"
        line = f"{self.label('Study')} {cols} {'Weight':>7}   {effect_head}"
        sub = ""
        if spec.counts:
            sub = f"\n{self.label('')} {'events/N':>{self.arm}} {'events/N':>{self.arm}}"
        return [line + sub, "-" * len(line)]

    def study_line(self, row: StudyRow) -> str:
        result, e = self.result, row.effect
        if not result.spec.counts:
            cols = f"{row.yi:>9.4f} {math.sqrt(row.vi):>7.4f}"
        else:
            cols = f"{f'{e.events_t}/{e.n_t}':>{self.arm}} {f'{e.events_c}/{e.n_c}':>{self.arm}}"
        if not row.estimable:
            return f"{self.label(row.label)} {cols} {'-':>7}   Not estimable"
        z = dist.norm_quantile(0.5 + result.spec.level / 2)
        half = z * math.sqrt(row.vi)
        effect = fmt_ci(result, row.yi, row.yi - half, row.yi + half)
        mark = " *" if row.note else ""
        return f"{self.label(row.label)} {cols} {row.weight:>6.1f}%   {effect}{mark}"

    def totals(self, group: GroupResult) -> str:
        if not self.result.spec.counts:
            return f"{'':>9} {'':>7}"
        rows = group.rows
        et, nt = sum(r.effect.events_t for r in rows), sum(r.effect.n_t for r in rows)
        ec, nc = sum(r.effect.events_c for r in rows), sum(r.effect.n_c for r in rows)
        return f"{f'{et}/{nt}':>{self.arm}} {f'{ec}/{nc}':>{self.arm}}"

    def pooled(self, group: GroupResult, title: str) -> list[str]:
        result, fit = self.result, group.fit
        if fit is None:
            return [f"{title}: no study can give an estimate"]
        if not math.isfinite(fit.estimate):
            return [f"{self.label(_title(group, title))} {self.totals(group)}   not estimable"]
        effect = fmt_ci(result, fit.estimate, fit.ci_lb, fit.ci_ub)
        lines = [
            f"{self.label(_title(group, title))} {self.totals(group)} "
            f"{group.total_weight:>6.1f}%   {effect}"
        ]
        if result.spec.prediction_interval and math.isfinite(fit.pi_lb) and fit.k > 1:
            d = result.display
            lines.append(
                f"  Prediction interval: [{fmt_num(d(fit.pi_lb))}, {fmt_num(d(fit.pi_ub))}]"
            )
        if fit.k > 1:
            q = f"Q = {fit.Q:.2f}, df = {fit.Q_df}, {fmt_p(fit.Q_pval)}"
            random = methods.method(fit.method).random_effects
            tau = f"tau² = {fit.tau2:.4f}; " if random else ""
            lines.append(f"  Heterogeneity: {tau}I² = {fit.I2:.1f}%; H² = {fit.H2:.2f}; {q}")
        else:
            lines.append("  Heterogeneity: not applicable (one study)")
        stat = "t" if fit.test == "knha" and fit.k > 1 else "z"
        lines.append(f"  Test for overall effect: {stat} = {fit.zval:.2f}, {fmt_p(fit.pval)}")
        return lines

    def group(self, group: GroupResult, title: str) -> list[str]:
        return [self.study_line(r) for r in group.rows] + self.pooled(group, title)

    def render(self) -> str:
        result, spec = self.result, self.result.spec
        out = [spec.title or spec.name]
        scope = f"subgroup {result.restricted_to}" if result.restricted_to else "all subgroups"
        out += [f"analysis '{spec.name}', {scope}: {spec.comparison} / {spec.outcome}", ""]
        out += self.header()
        if result.groups:
            for group in result.groups:
                about = result.descriptions.get(group.name, "")
                out.append(f"{group.name}" + (f": {about}" if about else ""))
                out += [*self.group(group, f"Subtotal {group.name}"), ""]
            out += self.pooled(result.overall, "Total")
            out += self.differences()
        else:
            out += self.group(result.overall, self._total_title())
        out += [f"  * {r.label}: {r.note}" for r in result.overall.rows if r.note and r.estimable]
        out += self.left_out()
        out += ["", "Method details:"]
        for key, value in method_details(result).items():
            if isinstance(value, dict):
                value = value["rule"]
            if value is not None:
                out.append(f"  {key.replace('_', ' ')}: {value}")
        return "\n".join(out) + "\n"

    def differences(self) -> list[str]:
        d = self.result.difference
        if d is None:
            return []
        lines = [
            f"  Test for subgroup differences: Q = {d.Q:.2f}, df = {d.df}, {fmt_p(d.pval)}"
            " (separate tau² per subgroup)"
        ]
        if d.QM_common_tau2 is not None:
            lines.append(
                f"  Mixed-effects model, common tau²: QM = {d.QM_common_tau2:.2f}, "
                f"df = {d.df}, {fmt_p(d.QM_common_tau2_pval)}"
            )
        return lines

    def left_out(self) -> list[str]:
        result = self.result
        out = []
        not_estimable = [r for r in result.overall.rows if not r.estimable]
        if not_estimable:
            out += ["", "Not estimable (shown, weight 0):"]
            out += [f"  {r.label} [{r.group}]: {r.note}" for r in not_estimable]
        if result.excluded:
            out += ["", "Not included in this analysis:"]
            for x in result.excluded:
                where = f"{x.effect.source}, {x.effect.location}, {x.effect.source_row}"
                out.append(f"  {x.study.label} [{x.effect.population}]: {x.reason} ({where})")
        return out


def render_text(result: AnalysisResult) -> str:
    """The full report of one analysis."""
    return _Report(result).render()
