"""The result table of an analysis, as RevMan and R meta lay it out for a manuscript.

One row per study (events/total per arm, or log HR and SE), its weight and its effect
with CI on the scale readers use (RR 0.32, not log RR −1.14); per subgroup and overall
a pooled row naming the model, then the prediction interval, heterogeneity (with
Q-profile intervals where the model has a tau²) and the test for the overall effect;
after the total, the test for subgroup differences. Footnotes mark studies with a
continuity correction. The text report, the Markdown, CSV and DOCX tables and the HTML
report all render this one table, so they cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from metaall import distributions as dist
from metaall import methods
from metaall.analysis import AnalysisResult, GroupResult, StudyRow
from metaall.analysis.means import arm_means
from metaall.analysis.result import rows_total
from metaall.data import COUNT_FIELDS, csvfile
from metaall.formatting import fmt_num, fmt_p
from metaall.reports.regression import CoefficientTable, regression_table

NOT_ESTIMABLE = "Not estimable"
MAX_STUDY_LINES = 200
"""In the text report, a group of more studies shows only its first and last
:data:`SHOWN_AT_EACH_END` (a table of 10⁶ lines helps no reader on a terminal); the
CSV, JSON and records outputs hold every study (``metaall pool`` makes them for up to
:data:`~metaall.data.csvfile.MAX_ROWS` studies)."""
SHOWN_AT_EACH_END = 10


@dataclass(frozen=True)
class Line:
    """A table line: ``kind`` is ``heading`` (a subgroup), ``study``, ``omitted`` (the
    studies a long text table leaves out), ``pooled`` (a subtotal or the total) or
    ``note`` (a statistics line under a pooled row); headings, omissions and notes have
    one cell of text."""

    kind: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ResultTable:
    """The table of one analysis result: column headings, lines and footnotes."""

    title: str
    scope: str
    columns: tuple[str, ...]
    units: tuple[str, ...]  # a second heading line ("events/N" under each arm)
    lines: tuple[Line, ...]
    footnotes: tuple[str, ...]
    regression: CoefficientTable | None = None
    """The meta-regression's coefficient table, shown after the table (None: none)."""


def effect_text(
    result: AnalysisResult,
    est: float,
    lo: float,
    hi: float,
    of: GroupResult | StudyRow | None = None,
) -> str:
    """An effect with its interval as readers see it, e.g. ``0.32 [0.21, 0.49]`` (a
    proportion in percent, back-transformed at the sizes of ``of``: see
    :meth:`AnalysisResult.display`)."""
    digits = result.digits
    est, lo, hi = (fmt_num(result.display(x, of), digits) for x in (est, lo, hi))
    return f"{est} [{lo}, {hi}]"


def short_number(value: float) -> str:
    """A mean or SD as a table shows it: 4 significant digits (``12.1``, ``4.671``)."""
    return f"{value:.4g}"


def arm_text(row: StudyRow, arm: str) -> str:
    """An arm of a means row: ``mean (SD) n``, a derived mean and SD marked ``~``."""
    a = arm_means(row.effect, arm)
    mark = "~" if a.derived else ""
    return f"{mark}{short_number(a.mean)} ({short_number(a.sd)}) {a.n}"


def _test_name(fit) -> str:
    """``z``, or ``t(df)`` for a Hartung-Knapp t statistic."""
    if fit.test == "knha" and fit.k > 1:
        return f"t({int(fit.k) - 1})"
    return "z"


def _bounds(pair: tuple, digits: int, unit: str = "") -> str:
    lo, hi = pair
    return f"[{fmt_num(lo, digits)}{unit}, {fmt_num(hi, digits)}{unit}]"


def heterogeneity_text(group: GroupResult) -> str:
    """``Heterogeneity: tau² = … [CI]; I² = …% [CI]; H² = …; Q = …, df = …, p = …``."""
    fit = group.fit
    if fit.k <= 1:
        return "Heterogeneity: not applicable (one study)"
    ci = group.heterogeneity
    parts = []
    if methods.method(fit.method).random_effects:
        tau = f"tau² = {fit.tau2:.4f}"
        if ci is not None and ci.kind == "posterior":
            tau += " (posterior median)"
        parts.append(tau + (f" {_bounds(ci.tau2, 4)}" if ci else ""))
    i2 = f"I² = {fit.I2:.1f}%"
    parts.append(i2 + (f" {_bounds(ci.I2, 1, '%')}" if ci else ""))
    parts.append(f"H² = {fit.H2:.2f}")
    parts.append(f"Q = {fit.Q:.2f}, df = {fit.Q_df}, {fmt_p(fit.Q_pval)}")
    return "Heterogeneity: " + "; ".join(parts)


def overall_text(result: AnalysisResult, fit) -> str | None:
    """The test for the overall effect; for a Bayesian model, the posterior
    probability that the effect favours the experimental arm's side of no effect; None
    for single-arm proportions (no effect to test against)."""
    if result.proportion:
        return None
    if methods.method(fit.method).family == methods.BAYES:
        null = "1" if result.ratio else "0"
        below = fit.prob_mu_below(0.0)
        return (
            f"Posterior probabilities: P({result.spec.measure} < {null}) = {below:.4f}, "
            f"P({result.spec.measure} > {null}) = {1 - below:.4f}"
        )
    return f"Test for overall effect: {_test_name(fit)} = {fit.zval:.2f}, {fmt_p(fit.pval)}"


def prediction_text(result: AnalysisResult, group: GroupResult) -> str | None:
    if group.prediction is None:
        return None
    lo, hi = (result.display(x, group) for x in group.prediction)
    if methods.method(group.fit.method).family == methods.BAYES:
        label = "Posterior predictive interval"
    elif result.spec.prediction_interval == "higgins":
        label = "Prediction interval (t(k-2))"
    else:
        label = "Prediction interval"
    return f"{label}: [{fmt_num(lo, result.digits)}, {fmt_num(hi, result.digits)}]"


def difference_text(result: AnalysisResult) -> list[str]:
    """The test for subgroup differences, worded for the model, naming any subgroup
    left out of it (no estimate)."""
    d = result.difference
    if d is None:
        return []
    random = methods.method(result.spec.method).random_effects
    how = "each pooled with its own tau²" if random else "each pooled with a common-effect model"
    line = f"Test for subgroup differences: Q = {d.Q:.2f}, df = {d.df}, {fmt_p(d.pval)} ({how})"
    if result.not_compared:
        line += f"; not estimable, left out: {', '.join(result.not_compared)}"
    lines = [line]
    if d.QM_common_tau2 is not None:
        lines.append(
            f"Mixed-effects model, common tau²: QM = {d.QM_common_tau2:.2f}, "
            f"df = {d.df}, {fmt_p(d.QM_common_tau2_pval)}"
        )
    return lines


def omitted_text(omitted: int) -> str:
    """The line standing for the studies a long text table leaves out."""
    return (
        f"... {omitted:,} studies omitted here; --format records, csv or json lists every "
        f"study (of at most {csvfile.MAX_ROWS:,})"
    )


class _Builder:
    def __init__(self, result: AnalysisResult, limit: int | None) -> None:
        self.result = result
        self.counts = result.spec.counts
        self.kind = result.spec.data_kind
        self.limit = limit
        self.shown: list[StudyRow] = []
        self.cut = False
        """True once a group has been cut to its ends."""

    def arms(self, row: StudyRow) -> tuple[str, str]:
        e = row.effect
        if self.counts:
            return f"{e.events_t}/{e.n_t}", f"{e.events_c}/{e.n_c}"
        if self.kind == methods.PROPORTIONS:
            return f"{e.events}/{e.n}", ""
        if self.kind == methods.MEANS:
            return arm_text(row, "t"), arm_text(row, "c")
        if not row.estimable:
            return "", ""
        return f"{row.yi:.4f}", f"{math.sqrt(row.vi):.4f}"

    def study(self, row: StudyRow) -> Line:
        result = self.result
        if not row.estimable:
            return Line("study", (row.label, *self.arms(row), "-", NOT_ESTIMABLE))
        half = dist.z_critical(result.spec.level) * math.sqrt(row.vi)
        effect = effect_text(result, row.yi, row.yi - half, row.yi + half, row)
        mark = " *" if row.note else ""
        weight = f"{row.weight:.1f}%" if math.isfinite(row.weight) else ""
        return Line("study", (row.label + mark, *self.arms(row), weight, effect))

    def totals(self, group: GroupResult) -> tuple[str, str]:
        rows = group.rows
        if self.kind == methods.PROPORTIONS:
            return f"{rows_total(rows, 'events')}/{rows_total(rows, 'n')}", ""
        if self.kind == methods.MEANS:
            return str(rows_total(rows, "n_t")), str(rows_total(rows, "n_c"))
        if not self.counts:
            return "", ""
        et, nt, ec, nc = (rows_total(rows, name) for name in COUNT_FIELDS)
        return f"{et}/{nt}", f"{ec}/{nc}"

    def pooled(self, group: GroupResult, title: str) -> list[Line]:
        result, fit = self.result, group.fit
        if fit is None:
            return [Line("pooled", (title, *self.totals(group), "", NOT_ESTIMABLE))]
        label = f"{title} ({fit.model})"
        if not math.isfinite(fit.estimate):
            return [Line("pooled", (label, *self.totals(group), "", NOT_ESTIMABLE))]
        effect = effect_text(result, fit.estimate, fit.ci_lb, fit.ci_ub, group)
        weight = f"{group.total_weight:.1f}%"
        lines = [Line("pooled", (label, *self.totals(group), weight, effect))]
        notes = [
            prediction_text(result, group),
            heterogeneity_text(group),
            overall_text(result, fit),
        ]
        return lines + [Line("note", (n,)) for n in notes if n]

    def group(self, group: GroupResult, title: str) -> list[Line]:
        rows = group.rows
        if self.limit is None or len(rows) <= self.limit:
            shown = list(rows)
            lines = [self.study(r) for r in shown]
        else:
            head, tail = list(rows[:SHOWN_AT_EACH_END]), list(rows[-SHOWN_AT_EACH_END:])
            shown = head + tail
            omitted = Line("omitted", (omitted_text(len(rows) - len(shown)),))
            lines = [*map(self.study, head), omitted, *map(self.study, tail)]
            self.cut = True
        self.shown += shown
        return lines + self.pooled(group, title)

    def lines(self) -> list[Line]:
        result = self.result
        if not result.groups:
            r = result.restricted_to
            return self.group(result.overall, f"Subtotal {r}" if r else "Total")
        out: list[Line] = []
        for group in result.groups:
            about = result.descriptions.get(group.name, "")
            out.append(Line("heading", (group.name + (f": {about}" if about else ""),)))
            out += self.group(group, f"Subtotal {group.name}")
        out += self.pooled(result.overall, "Total")
        out += [Line("note", (text,)) for text in difference_text(result)]
        if result.spec.caution:
            out.append(Line("note", (f"Caution: {result.spec.caution}",)))
        return out


def absolute_lines(result: AnalysisResult, group: GroupResult) -> list[str]:
    """The absolute effects of ``group`` per 1000, one line per assumed control risk."""
    if not group.absolute:
        return []
    arm_t, arm_c = result.spec.arm_labels
    out = []
    for a in group.absolute:
        k = a.per_thousand
        when = f" by {a.timepoint}" if a.timepoint else ""
        out.append(
            f"{arm_c} {k(a.control_risk)} per 1000{when} ({a.source}) -> {arm_t} "
            f"{k(a.risk[0])} ({k(a.risk[1])} to {k(a.risk[2])}); difference "
            f"{k(a.difference[0]):+d} ({k(a.difference[1]):+d} to {k(a.difference[2]):+d}); "
            f"{a.nnt}"
        )
    return out


def effect_heading(result: AnalysisResult) -> str:
    """The effect column's heading: ``RR [95% CI]``, ``Proportion (%) [95% CI]``."""
    spec = result.spec
    interval = f"{spec.level:.0%} {methods.method(spec.method).interval}"
    name = "Proportion (%)" if result.proportion else spec.measure
    return f"{name} [{interval}]"


def data_columns(result: AnalysisResult) -> tuple[tuple[str, str], tuple[str, str]]:
    """The headings of the two data columns and their units line, by kind of evidence."""
    spec = result.spec
    t, c = spec.arm_labels
    if spec.counts:
        return (t, c), ("events/N", "events/N")
    if spec.data_kind == methods.PROPORTIONS:
        return (t, ""), ("events/N", "")
    if spec.data_kind == methods.MEANS:
        return (t, c), ("mean (SD) N", "mean (SD) N")
    scale = "log" if result.measure.log_scale else ""
    return (f"{scale}[{spec.measure}]" if scale else spec.measure, "SE"), ("", "")


def result_table(result: AnalysisResult, limit: int | None = None) -> ResultTable:
    """The table of ``result`` (see the module docstring); a group of more than
    ``limit`` studies shows only its first and last :data:`SHOWN_AT_EACH_END` (and the
    footnotes only theirs)."""
    spec = result.spec
    effect = effect_heading(result)
    columns, units = data_columns(result)
    scope = f"subgroup {result.restricted_to}" if result.restricted_to else "all subgroups"
    builder = _Builder(result, limit)
    lines = tuple(builder.lines())
    rows = builder.shown if builder.cut else result.overall.rows
    footnotes = [f"* {r.label}: {r.note}" for r in rows if r.note and r.estimable]
    if any(c.startswith("~") for line in lines if line.kind == "study" for c in line.cells):
        footnotes.append("~ mean and SD derived from the median, not reported (see * above)")
    return ResultTable(
        title=spec.title or spec.name,
        scope=f"analysis '{spec.name}', {scope}: {spec.comparison} / {spec.outcome}",
        columns=("Study", *columns, "Weight", effect),
        units=("", *units, "", ""),
        lines=lines,
        footnotes=tuple(footnotes),
        regression=regression_table(result),
    )


def table_records(table: ResultTable, footnotes: bool = True) -> list[dict[str, str]]:
    """The table as rows keyed by column heading (headings and notes in the first
    column), then (``footnotes``) the footnotes: what the CSV table writes."""
    names = [
        " ".join(p for p in pair if p) for pair in zip(table.columns, table.units, strict=True)
    ]
    lines = (*table.lines, *(Line("note", (f,)) for f in table.footnotes if footnotes))
    if footnotes and table.regression is not None:
        lines += tuple(Line("note", (text,)) for text in table.regression.lines())
    return [dict(zip(names, line.cells, strict=False)) for line in lines]


def table_markdown(table: ResultTable) -> str:
    """The table in Markdown, its footnotes as lines below it."""
    from metaall.reports.tables import markdown_text, to_markdown

    text = to_markdown(table_records(table, footnotes=False))
    if table.footnotes:
        text += "\n" + "".join(f"{markdown_text(note)}  \n" for note in table.footnotes)
    reg = table.regression
    if reg is not None:
        text += f"\n{markdown_text(reg.title)}\n\n"
        if reg.rows:
            text += to_markdown(reg.records()) + "\n"
        text += "".join(f"{markdown_text(note)}  \n" for note in reg.notes)
    return text
