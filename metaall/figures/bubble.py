"""Bubble plot of a meta-regression on one numeric moderator (metafor ``regplot``).

Each study is a circle at (moderator value, observed effect) whose area is
proportional to its weight in the meta-regression, 1/(vᵢ + τ̂²) (Thompson & Higgins
2002, Stat Med 21:1559, on presenting meta-regressions; metafor's ``regplot`` sizes
points by the weights likewise). The fitted line ŷ = β̂₀ + β̂₁x and its confidence band
come from :meth:`~metaall.models.metareg.MetaRegressionResult.predict` (metafor
``predict.rma``) over the moderator's range. Effects are shown as readers see them:
ratios on a log axis in ratio units, proportions back-transformed in percent (the line
and band transformed point by point, so they curve), differences as they are. The
notes give the slope with its CI and test, QM, the residual tau² and R².
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from metaall.analysis import AnalysisResult
from metaall.data.specs import NUMERIC_MODERATORS
from metaall.figures.chart import Chart
from metaall.figures.panel import INK, LINE_WIDTH
from metaall.figures.scale import Scale, range_scale
from metaall.figures.settings import FigureSettings, figure_settings
from metaall.figures.style import num
from metaall.formatting import fmt_num

GRID = 101  # points of the fitted line and its band
BAND = "0.85"
BUBBLE = "0.55"
LARGEST = 2.2  # diameter of the heaviest study's circle (em)
PAD = 0.05  # of each axis's span, beyond the ticks at both ends
ASPECT = 0.7  # plot height / width


def _y_label(result: AnalysisResult, style) -> str:
    if result.proportion:
        return "Proportion (%)"
    name = style.measure_name(result.spec.measure)
    return f"{name} (log scale)" if result.ratio else name


def _y_scale(result: AnalysisResult, values: np.ndarray) -> Scale:
    finite = values[np.isfinite(values)]
    if result.proportion:
        scale = range_scale(finite, log=False)
        lo, hi = max(scale.lo, 0.0), min(scale.hi, 100.0)
        ticks = tuple(t for t in scale.ticks if lo <= t <= hi)
        return Scale(False, lo, hi, ticks, null_line=False)
    return range_scale(finite, log=result.ratio)


def _padded(scale: Scale, share: float = PAD) -> Scale:
    """The scale widened by ``share`` of its span at each end (circles at the extreme
    values stay clear of the axes); its ticks unchanged."""
    if scale.log:
        lo, hi = np.log(scale.lo), np.log(scale.hi)
        pad = share * (hi - lo)
        return replace(scale, lo=float(np.exp(lo - pad)), hi=float(np.exp(hi + pad)))
    pad = share * (scale.hi - scale.lo)
    return replace(scale, lo=scale.lo - pad, hi=scale.hi + pad)


def bubble_plot(
    result: AnalysisResult,
    moderator: str,
    settings: FigureSettings | None = None,
    labels: bool = False,
    **options,
) -> Figure:
    """Bubble plot of ``result``'s meta-regression on the numeric ``moderator`` (the
    result of an analysis run with ``mods=(moderator,)``). ``labels`` names each study.
    ``settings`` or ``options`` as for :func:`~metaall.figures.forest.forest_plot`
    (default width: one column). ValueError when there is no such fitted regression."""
    look = figure_settings(settings, **options)
    reg = result.regression
    if moderator not in NUMERIC_MODERATORS:
        raise ValueError(
            f"a bubble plot needs a numeric moderator ({', '.join(NUMERIC_MODERATORS)}), not "
            f"{moderator!r}; categorical moderators are compared by 'metaall pool --mods'"
        )
    if reg is None or [m.name for m in reg.moderators] != [moderator]:
        raise ValueError(f"the result has no meta-regression on {moderator} alone")
    if reg.fit is None:
        raise ValueError(f"the meta-regression on {moderator} could not be fitted: {reg.problem}")
    fit = reg.fit
    style = look.journal
    x = fit.X[:, 1]
    rows = {r.effect.study: r for r in result.overall.pooled_rows}
    pooled = [rows[sid] for sid in reg.studies]
    y = np.array([result.display(r.yi, r) for r in pooled], dtype=float)
    grid = np.linspace(x.min(), x.max(), GRID) if x.max() > x.min() else np.array([x.min()])
    band = fit.predict(grid)
    show = [np.asarray(result.display(v), dtype=float) for v in (band.pred, band.ci_lb, band.ci_ub)]
    x_scale = _padded(range_scale(x, log=False))
    y_scale = _padded(_y_scale(result, np.concatenate([y, *show])))
    axis_labels = (moderator.capitalize(), _y_label(result, style))
    chart = Chart(look, x_scale, y_scale, axis_labels, aspect=ASPECT)
    ax = chart.ax
    null = result.measure.null
    if null is not None and y_scale.lo < null < y_scale.hi:  # the line of no effect
        ax.axhline(null, color=INK, lw=LINE_WIDTH * 0.6, ls=(0, (1, 1.5)), zorder=0)
    ax.fill_between(grid, show[1], show[2], color=BAND, lw=0, zorder=1)
    (line,) = ax.plot(grid, show[0], color=INK, lw=LINE_WIDTH * 1.5, zorder=2)
    weights = 1 / (fit.vi + fit.tau2)
    diameter = LARGEST * look.font_size * np.sqrt(weights / weights.max())
    ax.scatter(
        x,
        y,
        s=diameter**2,
        facecolors=BUBBLE,
        edgecolors=INK,
        linewidths=0.5,
        alpha=0.8,
        zorder=3,
        clip_on=False,
    )
    if labels:
        chart.label_points(x, y, [r.label for r in pooled], radii=diameter / 2)
    slope = 1  # the moderator's coefficient (after the intercept)
    level = f"{fit.level:.0%} CI"
    stat = "t" if fit.test == "knha" else "z"
    scale = result.measure.scale
    per = f"slope per {moderator}" + (f" ({scale} scale)" if scale != "identity" else "")
    notes = [
        f"Meta-regression ({result.spec.method}, k = {int(fit.k)}): {per} "
        f"{num(fit.beta[slope], 4)} ({level} {num(fit.ci_lb[slope], 4)} to "
        f"{num(fit.ci_ub[slope], 4)}), {stat} = {num(fit.zval[slope])}, "
        f"{style.p(float(fit.pval[slope]))}.",
        f"Residual tau² = {fmt_num(float(fit.tau2), 4)}; I² = {fmt_num(float(fit.I2), 1)}%; "
        f"R² = {fmt_num(float(fit.R2), 1)}%; QE = {fmt_num(float(fit.QE))}, "
        f"df = {int(fit.QE_df)}, {style.p(float(fit.QE_pval))}.",
    ]
    legend = [
        (
            Line2D([], [], marker="o", ls="none", markerfacecolor=BUBBLE, markeredgecolor=INK),
            "Studies (area ∝ weight)",
        ),
        (line, "Fitted line"),
        (Patch(facecolor=BAND, edgecolor="none"), level),
    ]
    return chart.finish(legend, notes)
