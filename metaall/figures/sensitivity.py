"""Sensitivity plots: leave-one-out and cumulative forest plots, and the Baujat plot.

* Leave-one-out: the pooled result without each study in turn (metafor ``leave1out``
  drawn with ``forest``; Viechtbauer & Cheung 2010, Res Synth Methods 1:112), from
  :meth:`PooledResult.leave_one_out`, with the all-studies result as a diamond and a
  dashed line at it.
* Cumulative: the pooled result as studies are added one at a time, by year or another
  order (Lau et al. 1992, N Engl J Med 327:248; metafor ``cumul``), from
  :meth:`PooledResult.cumulative`; the last row, all studies, is the diamond.
* Baujat: each study's contribution to heterogeneity against its influence on the
  pooled result (Baujat et al. 2002, Stat Med 21:2641), from
  :func:`metaall.diagnostics.baujat`; points are numbered and the numbers listed below.

Every refit uses the analysis's model, estimator, CI method and level.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from metaall import methods
from metaall.analysis import AnalysisResult, sensitivity
from metaall.diagnostics import baujat
from metaall.figures.chart import Chart
from metaall.figures.forest import effect_header
from metaall.figures.panel import INK, Column, Mark, Panel, Row, draw_panel
from metaall.figures.scale import Scale, covering_scale, range_scale
from metaall.figures.settings import FigureSettings, figure_settings
from metaall.figures.style import Style, num
from metaall.models import FitResult, PooledResult

POINT = 0.35  # area of the (unweighted) squares, relative to a full-size square
STATS = ("estimate", "ci_lb", "ci_ub", "pval", "tau2", "I2")


class _Rows:
    """Rows of a sensitivity forest plot: one refit each, in the style's words."""

    def __init__(self, result: AnalysisResult, style: Style) -> None:
        self.result = result
        self.style = style
        self.random = methods.method(result.spec.method).random_effects

    def columns(self, first: tuple[Column, ...]) -> tuple[Column, ...]:
        style = self.style
        stats = [Column("effect", effect_header(self.result, style), "left")]
        if not self.result.proportion:  # a rate has no effect to test
            stats.append(Column("p", "P"))
        if self.random:
            stats.append(Column("tau2", style.tau))
        return (*first, *stats, Column("i2", "I²"))

    def row(self, cells: dict, refit: PooledResult, i: int | None) -> Row:
        """The row of refit ``i`` of a batch (None: ``refit`` is one fit)."""
        s = {
            n: float(getattr(refit, n) if i is None else np.asarray(getattr(refit, n))[i])
            for n in STATS
        }
        d, style = self.result.display, self.style
        est, lo, hi = (d(s[name]) for name in ("estimate", "ci_lb", "ci_ub"))
        effect = style.ci(est, lo, hi)
        if self.result.proportion:  # percent, one decimal
            bounds = style.interval.format(lo=num(lo, 1), hi=num(hi, 1))
            effect = f"{num(est, 1)} {bounds}"
        cells = cells | {
            "effect": effect,
            "p": style.p_value(s["pval"]),
            "i2": f"{num(s['I2'], 1)}%",
        }
        if self.random:
            cells["tau2"] = num(s["tau2"], 4)
        summary = i is None  # the all-studies fit: a diamond under the refits
        kind = "diamond" if summary else "square"
        mark = Mark(kind, d(s["estimate"]), d(s["ci_lb"]), d(s["ci_ub"]), POINT)
        return Row(cells, bold=summary, mark=mark, space_before=0.35 if summary else 0.0)

    def panel(self, columns, rows: list[Row], note: str) -> Panel:
        spec, style, fit = self.result.spec, self.style, self.result.overall.fit
        values = [v for r in rows for v in (r.mark.lo, r.mark.hi)]
        model = fit.model.replace("tau²", style.tau)
        scale = covering_scale(values, self.result.ratio, beyond_null=True)
        favours = tuple(style.spell(f) for f in spec.favours)
        if self.result.proportion:  # percent, no line of no effect, no favours
            covering = range_scale(values, log=False)
            lo, hi = max(covering.lo, 0.0), min(covering.hi, 100.0)
            ticks = tuple(t for t in covering.ticks if lo <= t <= hi)
            scale, favours = Scale(False, lo, hi, ticks, null_line=False), None
        return Panel(
            left=columns,
            right=(),
            rows=tuple(rows),
            scale=scale,
            graph_header=effect_header(self.result, style),
            favours=favours,
            notes=(f"{note} Model: {model}; {spec.level:.0%} CI.",),
            reference=self.result.display(fit.estimate),
        )


def leave_one_out_plot(
    result: AnalysisResult, settings: FigureSettings | None = None, **options
) -> Figure:
    """Forest plot of the pooled result without each study in turn (k ≥ 2); ``settings``
    or ``options`` as for :func:`~metaall.figures.forest.forest_plot`."""
    look = figure_settings(settings, **options)
    studies, refits = sensitivity.leave_one_out(result)
    rows = _Rows(result, look.journal)
    body = [rows.row({"study": r.label}, refits, i) for i, r in enumerate(studies)]
    body.append(rows.row({"study": "All studies"}, result.overall.fit, None))
    columns = rows.columns((Column("study", "Study omitted", "left"),))
    note = f"Each row pools the other {len(studies) - 1} studies; dashed line: all studies."
    return draw_panel(rows.panel(columns, body, note), look, "double")


def cumulative_plot(
    result: AnalysisResult, by: str = "year", settings: FigureSettings | None = None, **options
) -> Figure:
    """Cumulative forest plot: studies added one at a time ``by`` year (studies without
    a year last), spec order, weight (largest first) or effect (k ≥ 2)."""
    look = figure_settings(settings, **options)
    studies, refits = sensitivity.cumulative(result, by)
    rows = _Rows(result, look.journal)
    body = []
    for j, row in enumerate(studies):
        year = row.study.year
        cells = {"study": row.label, "year": "–" if year is None else str(year)}
        body.append(rows.row(cells, refits, j))
    columns = rows.columns((Column("study", "Study added", "left"), Column("year", "Year")))
    note = f"Each row pools the studies up to and including it, added by {by}."
    if by == "year":
        note += " Studies without a stated year come last."
    return draw_panel(rows.panel(columns, body, note), look, "double")


def baujat_plot(
    result: AnalysisResult, settings: FigureSettings | None = None, **options
) -> Figure:
    """Baujat plot of an inverse-variance analysis (k ≥ 2; default width one column)."""
    look = figure_settings(settings, **options)
    studies, fit = sensitivity.fitted_rows(result)
    if not isinstance(fit, FitResult):
        raise ValueError(
            f"the Baujat plot needs an inverse-variance model (FE or a tau² estimator), "
            f"not {fit.method}"
        )
    data = baujat(fit)
    x, y = covering_scale(data.x, log=False), covering_scale(data.y, log=False)
    chart = Chart(look, x, y, (data.x_label, data.y_label))
    chart.ax.scatter(data.x, data.y, s=12, facecolors=INK, edgecolors=INK, linewidths=0, zorder=3)
    chart.label_points(data.x, data.y, [str(i + 1) for i in range(len(studies))])
    key = "; ".join(f"{i + 1}\u00a0{row.label}" for i, row in enumerate(studies))
    model = fit.model.replace("tau²", "τ²")
    return chart.finish(notes=(f"Studies: {key}.", f"Model: {model}."))
