"""The trial sequential analysis figure: the cumulative Z-curve against the accrued
participants, with the boundaries it is judged against.

What it shows, as the TSA program (Thorlund et al. 2011, *User manual for TSA*,
Copenhagen Trial Unit, ch. 6) and R RTSA's ``plot`` draw it (Wetterslev et al. 2008,
J Clin Epidemiol 61:64; Brok et al. 2009, Int J Epidemiol 38:287):

* the cumulative Z-curve: one point per pooled trial, in chronological order,
  numbered (the key is listed below the plot);
* the conventional boundaries ±z_{1-α/2} (one-sided: z_{1-α} on the side of benefit),
  horizontal, dashed;
* the Lan-DeMets α-spending monitoring boundaries at every look, the final look at the
  required information size included
  (:meth:`~metaall.sequential.TSAResult.boundary_curve`), joined by straight lines as
  the TSA program joins them; looks whose boundary is capped (no α left to spend) are
  not drawn, and the boundaries stop at the required information size, after which the
  analysis is not monitored;
* the β-spending futility boundaries (the inner wedge, shaded) when asked for;
* the required information size as a vertical line;
* the verdict, the required information size and the TSA-adjusted interval in the
  caption.

The y axis is symmetric about zero for two-sided tests; boundaries above 8 in absolute
value are cut by the axes (RTSA and the TSA program show -8 to 8). Layout, fonts, styles
and file formats are those of the other charts (:class:`~metaall.figures.chart.Chart`).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from metaall import distributions as dist
from metaall.analysis import AnalysisResult
from metaall.analysis.sequential import SequentialAnalysis, tsa_of
from metaall.figures.chart import Chart
from metaall.figures.export import figure_bytes
from metaall.figures.fonts import unbroken
from metaall.figures.panel import INK, LINE_WIDTH
from metaall.figures.scale import MAX_TICKS, Scale, covering_scale
from metaall.figures.settings import FORMATS, FigureSettings, figure_settings
from metaall.reports.sequential import SPENDING_NAMES, crossed_boundary

SHOWN = 8.0  # |z| beyond which boundaries are cut (RTSA's plot range)
MIN_SHOWN = 3.0  # the axis reaches at least ±3: the conventional boundaries stand clear
HEADROOM = 1.1  # room above the highest value for the labels at the axis ends
X_ROOM = 1.06  # the RIS line and the last trial stand clear of the right end
DASHED = (0, (4, 2))
DOTTED = (0, (1, 1.5))
DASH_DOT = (0, (6, 2, 1, 2))
WEDGE = "0.88"
BOUNDARY_INK = "0.45"  # grey and thick: the boundaries stand apart from the black Z-curve


def _line(ax, xs, ys, dashes, width: float = LINE_WIDTH, **extra) -> Line2D:
    (drawn,) = ax.plot(xs, ys, color=INK, lw=width, ls=dashes, **extra)
    return drawn


def _y_range(view: SequentialAnalysis, conventional: float) -> list[float]:
    tsa = view.tsa
    curve = tsa.boundary_curve()
    values = [*tsa.zval[tsa.included], conventional, -conventional if tsa.side == 2 else 0.0]
    for name in ("upper", "lower", "futility_upper", "futility_lower"):
        shown = curve[name][~curve["capped"]]
        values += list(np.clip(shown[np.isfinite(shown)], -SHOWN, SHOWN))
    top = max(HEADROOM * max(abs(v) for v in values), MIN_SHOWN)
    return (
        [-top, top] if tsa.side == 2 else [*values, HEADROOM * min(values), HEADROOM * max(values)]
    )


def _symmetric(top: float) -> Scale:
    """An axis from -h to h, h the first multiple of 1, 2, 5, 10, ... at or above ``top``
    that needs at most 7 ticks."""
    step = 1.0
    while True:
        for m in (1.0, 2.0, 5.0):
            hi = math.ceil(top / (m * step) - 1e-9) * m * step
            if 2 * hi / (m * step) + 1 <= MAX_TICKS:
                count = round(2 * hi / (m * step))
                return Scale(False, -hi, hi, tuple(-hi + i * m * step for i in range(count + 1)))
        step *= 10


def _boundaries(ax, view: SequentialAnalysis) -> list[tuple]:
    """The monitoring boundaries (a dot at each look) and the futility boundaries where
    they span two looks or more; legend entries."""
    tsa = view.tsa
    curve = tsa.boundary_curve()
    x, keep = curve["participants"], ~curve["capped"]
    legend = []
    drawn = None
    for name in ("upper", "lower"):
        y = curve[name]
        ok = keep & np.isfinite(y)
        if ok.any():
            (drawn,) = ax.plot(
                x[ok],
                y[ok],
                color=BOUNDARY_INK,
                lw=2.4 * LINE_WIDTH,
                ls="-",
                marker="o",
                markersize=2.6,
                markeredgewidth=0,
                zorder=3,
            )
    if drawn is not None:
        legend.append((drawn, f"{SPENDING_NAMES[tsa.spending]} monitoring boundaries"))
    lo, hi = curve["futility_lower"], curve["futility_upper"]
    wedge = np.isfinite(lo) & np.isfinite(hi)
    if wedge.sum() >= 2:  # two-sided: the inner wedge
        ax.fill_between(x[wedge], lo[wedge], hi[wedge], color=WEDGE, linewidth=0, zorder=0)
        for y in (lo, hi):
            futility = _line(ax, x[wedge], y[wedge], DASH_DOT, zorder=2)
        legend.append((futility, "Futility boundaries (inner wedge)"))
    elif not wedge.any():
        for y in (lo, hi):
            one = np.isfinite(y)
            if one.sum() >= 2:
                futility = _line(ax, x[one], y[one], DASH_DOT, zorder=2)
                legend.append((futility, "Futility boundary"))
    return legend


def _favours(chart: Chart, view: SequentialAnalysis, style) -> None:
    """The 'favours' labels of the spec inside the plot: below zero the first."""
    spec = view.result.spec
    below, above = (style.spell(label) for label in spec.favours)
    ax, y = chart.ax, chart.y
    pad = 0.3 * chart.em
    for text, value, va, dy in ((above, y.hi, "top", -pad), (below, y.lo, "bottom", pad)):
        ax.annotate(
            text,
            (chart.x.lo, value),
            xytext=(pad, dy),
            textcoords="offset points",
            va=va,
            ha="left",
            fontproperties=chart.prop,
            color="0.35",
            parse_math=False,
        )


def _ris(chart: Chart, view: SequentialAnalysis) -> tuple:
    """The vertical line at the required information size, labelled at the end of the
    axis the Z-curve heads away from."""
    tsa, ax = view.tsa, chart.ax
    line = _line(ax, [tsa.ris, tsa.ris], [chart.y.lo, chart.y.hi], DOTTED, zorder=1)
    top = tsa.benefit == "lower"
    right_room = chart.x.fraction(tsa.ris) < 0.8
    ax.annotate(
        f"RIS\u00a0=\u00a0{tsa.ris:,}",
        (tsa.ris, chart.y.hi if top else chart.y.lo),
        xytext=((1 if right_room else -1) * 0.3 * chart.em, 0),
        textcoords="offset points",
        va="top" if top else "bottom",
        ha="left" if right_room else "right",
        fontproperties=chart.prop,
        parse_math=False,
    )
    return line, "Required information size (RIS)"


def _order(view: SequentialAnalysis, pooled) -> str:
    """The order of the trials, naming undated ones by their number."""
    undated = [str(i + 1) for i, row in enumerate(pooled) if row.study.year is None]
    if not undated:
        return "Trials in the order of publication (year; same year: report order)."
    if len(undated) == len(pooled):
        return "No trial states its year: trials in report order."
    numbers = _ranges([int(u) for u in undated])
    which = (
        f"trial {numbers} states no year and comes"
        if len(undated) == 1
        else (f"trials {numbers} state no year and come")
    )
    return (
        f"Trials in the order of publication (year; same year: report order); {which} "
        "last, in report order."
    )


def _ranges(numbers: list[int]) -> str:
    """1, 2, 3, 5 -> '1\u20133, 5'."""
    out, start = [], numbers[0]
    for a, b in zip(numbers, [*numbers[1:], None], strict=True):
        if b != a + 1:
            out.append(str(start) if start == a else f"{start}\u2013{a}")
            start = b
    return ", ".join(out)


def _notes(view: SequentialAnalysis, style) -> list[str]:
    tsa, spec = view.tsa, view.result.spec
    d = view.display
    fit = view.group.fit
    last = int(np.flatnonzero(tsa.look)[-1])
    conventional = style.ci(d(fit.estimate), d(fit.ci_lb), d(fit.ci_ub))
    if tsa.boundaries.capped[tsa.look[last] - 1]:
        adjusted = "not informative yet (boundary capped at the last look)"
    else:
        adjusted = unbroken(style.ci(d(tsa.estimate[last]), *(d(x) for x in tsa.adjusted_ci)))
    verdict = tsa.verdict[0].upper() + tsa.verdict[1:]
    pooled = [r for r, k in zip(view.rows, tsa.included, strict=True) if k]
    trials = "; ".join(f"{i + 1}\u00a0{row.label}" for i, row in enumerate(pooled))
    notes = [
        f"{verdict}.",
        f"Required information size (RIS): {tsa.information_size.description}.",
        f"TSA-adjusted {spec.measure} {adjusted}; conventional {spec.level:.0%} "
        f"CI {unbroken(conventional)}.",
        f"Trials: {trials}.",
        _order(view, pooled),
    ]
    if tsa.boundaries.capped.any():
        notes.append(
            "Boundaries at looks with negligible α to spend (< 1e-9) are not drawn (capped "
            "at 20, as in RTSA)."
        )
    return notes


def tsa_plot(
    view: SequentialAnalysis | AnalysisResult,
    settings: FigureSettings | None = None,
    **options,
) -> Figure:
    """The TSA figure of a :class:`SequentialAnalysis` (or of an analysis result with
    the TSA parameters its spec declares); ``settings`` or ``options`` as for the other
    figures (default width: two columns)."""
    look = figure_settings(settings, **options)
    if isinstance(view, AnalysisResult):
        view = tsa_of(view)
    style = look.journal
    tsa = view.tsa
    s = view.settings
    conventional = float(dist.norm_quantile(1 - s.alpha / s.side))
    accrued = tsa.accrued[tsa.included]
    x = covering_scale([0.0, max(float(accrued.max()), float(tsa.ris)) * X_ROOM], log=False)
    values = _y_range(view, conventional)
    y = _symmetric(values[1]) if tsa.side == 2 else covering_scale(values, log=False)
    single = look.width_mm("double") < 120
    labels = ("Participants accrued", f"Cumulative {style.z} score")
    chart = Chart(look, x, y, labels, aspect=0.75 if single else 0.5, default_width="double")
    ax = chart.ax
    ax.axhline(0.0, color="0.6", lw=0.5 * LINE_WIDTH, zorder=0)
    legend = []
    signs = (1, -1) if tsa.side == 2 else ((-1,) if tsa.benefit == "lower" else (1,))
    for sign in signs:
        drawn = _line(ax, [x.lo, x.hi], [sign * conventional] * 2, DASHED, zorder=1)
    sides = "two-sided" if tsa.side == 2 else "one-sided"
    legend.append((drawn, f"Conventional boundary (\u03b1\u00a0=\u00a0{s.alpha:g}, {sides})"))
    legend += _boundaries(ax, view)
    legend.append(_ris(chart, view))
    z = tsa.zval[tsa.included]
    curve = _line(ax, accrued, z, "-", zorder=4, marker="o", markersize=3.2, markeredgewidth=0)
    legend.insert(0, (curve, f"Cumulative {style.z}-curve (k\u00a0=\u00a0{z.size})"))
    if tsa.decided_at is not None:
        j = tsa.decided_at
        ring = ax.scatter(
            [tsa.accrued[j]],
            [tsa.zval[j]],
            s=45,
            facecolors="none",
            edgecolors=INK,
            linewidths=0.8 * LINE_WIDTH,
            zorder=5,
        )
        what = "Boundary crossed" if crossed_boundary(tsa) else "RIS reached"
        legend.append((ring, f"{what} ({tsa.conclusion})"))
    chart.label_points(accrued, z, [str(i + 1) for i in range(z.size)])
    _favours(chart, view, style)
    return chart.finish(legend, _notes(view, style))


def tsa_figure_files(
    result: AnalysisResult, settings: FigureSettings, formats=("pdf", "png")
) -> dict[str, bytes]:
    """``<stem>_tsa.<ext>`` for a result whose spec declares TSA parameters (nothing
    when it declares none or the TSA cannot be done: its text report says why)."""
    if result.spec.tsa is None:
        return {}
    try:
        fig = tsa_plot(tsa_of(result), settings)
    except ValueError:
        return {}
    return {
        f"{result.stem}_tsa.{fmt}": figure_bytes(fig, FORMATS[fmt], settings.dpi) for fmt in formats
    }
