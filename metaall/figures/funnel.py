"""Funnel plot of an analysis result, optionally contour-enhanced, with trim-and-fill
and Egger's regression line.

* Effect on the horizontal axis (log scale for ratios, labelled in ratio units) and its
  standard error on the vertical axis, inverted so that the largest studies are at the
  top, with the pooled estimate and the pseudo confidence region estimate ± z·SE
  (Sterne & Egger 2001, J Clin Epidemiol 54:1046; metafor ``funnel``).
* ``contours``: shaded regions where a study's two-sided test against no effect has
  0.05 < P < 0.10, 0.01 < P < 0.05 and P < 0.01, centred on the null (Peters et al.
  2008, J Clin Epidemiol 61:991, "contour-enhanced meta-analysis funnel plots").
* ``trimfill``: the studies trim-and-fill imputes, drawn open, and the adjusted
  estimate (Duval & Tweedie 2000, Biometrics 56:455).
* ``egger``: the fitted line of Egger's regression, effect = b₀ + b₁·SE (Egger et al.
  1997, BMJ 315:629).

Both come from :func:`metaall.analysis.bias.small_study_tests`, the results ``metaall bias``
reports.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from metaall import distributions as dist
from metaall.analysis import AnalysisResult
from metaall.analysis.bias import estimable_rows, small_study_tests
from metaall.diagnostics.bias import MIN_STUDIES_ADVISED
from metaall.figures.chart import Chart
from metaall.figures.fonts import unbroken
from metaall.figures.panel import INK, LINE_WIDTH
from metaall.figures.scale import Scale, covering_scale
from metaall.figures.settings import FigureSettings, figure_settings
from metaall.figures.style import num

CONTOURS = ((0.10, "0.93"), (0.05, "0.85"), (0.01, "0.75"))  # two-sided P, shade
DASHED = (0, (4, 2))
DOTTED = (0, (1, 1.5))
DASH_DOT = (0, (6, 2, 1, 2))
DOT = {"s": 14, "linewidths": 0.6, "zorder": 4, "edgecolors": INK}


def _line(ax, xs, ys, dashes) -> Line2D:
    (drawn,) = ax.plot(xs, ys, color=INK, lw=LINE_WIDTH, ls=dashes, zorder=2)
    return drawn


def _trimfill(ax, filled, ymax: float, display) -> list[tuple]:
    """The imputed studies (open circles) and the adjusted estimate; legend entries."""
    legend = []
    if filled.k0:
        added = ax.scatter(
            display(filled.filled_yi), np.sqrt(filled.filled_vi), facecolors="white", **DOT
        )
        legend.append((added, f"Filled studies (k0 = {filled.k0})"))
    adjusted = _line(ax, [display(filled.estimate)] * 2, [0.0, ymax], DOTTED)
    return [*legend, (adjusted, "Trim-and-fill estimate")]


def _contours(ax, x: Scale, ymax: float, display) -> list[tuple[Patch, str]]:
    """Shade where a study at (effect, SE) would have P below each level (Peters 2008)."""
    legend = []
    edges = [dist.norm_quantile(1 - p / 2) for p, _ in CONTOURS]
    for i, (p, shade) in enumerate(CONTOURS):
        inner = edges[i] * ymax
        outer = edges[i + 1] * ymax if i + 1 < len(CONTOURS) else None
        for sign in (-1, 1):
            edge = x.hi if sign > 0 else x.lo
            if outer is None:
                corners = [
                    (display(0.0), 0.0),
                    (edge, 0.0),
                    (edge, ymax),
                    (display(sign * inner), ymax),
                ]
            else:
                corners = [
                    (display(0.0), 0.0),
                    (display(sign * inner), ymax),
                    (display(sign * outer), ymax),
                ]
            ax.add_patch(Polygon(corners, closed=True, facecolor=shade, edgecolor="none", zorder=0))
        lower = f"{CONTOURS[i + 1][0]:.2f} < P < " if i + 1 < len(CONTOURS) else "P < "
        legend.append((Patch(facecolor=shade, edgecolor="none"), f"{lower}{p:.2f}"))
    return legend


def funnel_plot(
    result: AnalysisResult,
    *,
    contours: bool = False,
    trimfill: bool = False,
    egger: bool = False,
    settings: FigureSettings | None = None,
    **options,
) -> Figure:
    """Funnel plot of the studies pooled in ``result`` (all of them, or the subgroup the
    result is restricted to). Trim-and-fill and Egger's test need k ≥ 3 studies.
    ``settings`` or ``options`` as for :func:`~metaall.figures.forest.forest_plot`
    (default width: one column)."""
    look = figure_settings(settings, **options)
    fit = result.overall.fit
    if fit is None:
        raise ValueError(f"analysis '{result.spec.name}' has no estimable study")
    chosen = look.journal
    spec = result.spec
    rows = estimable_rows(result)
    yi, se = np.array([r.yi for r in rows]), np.sqrt([r.vi for r in rows])
    display = np.exp if result.ratio else (lambda value: value)
    z = dist.z_critical(spec.level)
    pooled = chosen.ci(display(fit.estimate), display(fit.ci_lb), display(fit.ci_ub))
    model = fit.model.replace("tau²", chosen.tau)
    if result.proportion:  # the axis is the analysis scale; the note gives the percent
        est, lo, hi = (num(result.display(x), 1) for x in (fit.estimate, fit.ci_lb, fit.ci_ub))
        shown = unbroken(f"{est}% {chosen.interval.format(lo=lo, hi=hi)}")
        notes = [f"Pooled estimate ({model}): proportion {shown}."]
    else:
        notes = [f"Pooled estimate ({model}): {unbroken(f'{spec.measure} {pooled}')}."]
    if len(rows) < MIN_STUDIES_ADVISED:
        notes.append(
            f"Caution: with {len(rows)} {'study' if len(rows) == 1 else 'studies'} (fewer than "
            f"{MIN_STUDIES_ADVISED}) a funnel plot cannot reliably show asymmetry (Cochrane "
            "Handbook v6.4 §13.3.5.4)."
        )

    filled = line = None
    if trimfill or egger:  # the tests metaall bias reports
        report = small_study_tests(result)
        if report.trimfill is None:
            raise ValueError(
                f"trim-and-fill and Egger's test need at least 3 studies, not {len(rows)}"
            )
        filled = report.trimfill if trimfill else None
        line = report.egger if egger else None

    se_top = max([*se, *(np.sqrt(filled.filled_vi) if filled else [])])
    y_axis = covering_scale([0.0, se_top * 1.05], log=False)
    ymax = y_axis.hi
    y = Scale(False, ymax, 0.0, y_axis.ticks)
    xs = [
        *yi,
        *(filled.filled_yi if filled else []),
        fit.estimate - z * ymax,
        fit.estimate + z * ymax,
    ]
    x = covering_scale(display(np.asarray(xs)), result.ratio)
    name = chosen.measure_name(spec.measure)
    chart = Chart(look, x, y, (name, "Standard error"), aspect=0.85)
    ax = chart.ax
    legend = _contours(ax, x, ymax, display) if contours else []

    est = float(fit.estimate)
    region = display(np.array([est - z * ymax, est, est + z * ymax]))
    legend += [
        (_line(ax, [display(est)] * 2, [0.0, ymax], "-"), "Pooled estimate"),
        (_line(ax, region, [ymax, 0.0, ymax], DASHED), f"Pseudo {spec.level:.0%} CI"),
    ]
    studies = ax.scatter(display(yi), se, facecolors=INK, **DOT)
    legend.append((studies, f"Studies (k = {yi.size})"))
    if filled is not None:
        legend += _trimfill(ax, filled, ymax, display)
        ci = unbroken(
            chosen.ci(display(filled.estimate), display(filled.ci_lb), display(filled.ci_ub))
        )
        notes.append(
            f"Trim-and-fill ({filled.estimator}, {filled.method}): {filled.k0} "
            f"stud{'y' if filled.k0 == 1 else 'ies'} imputed on the {filled.side}; "
            f"adjusted {spec.measure} {ci}."
        )
    if line is not None:
        ends = np.array([0.0, ymax])
        drawn = _line(ax, display(line.limit_estimate + line.bias * ends), ends, DASH_DOT)
        legend.append((drawn, "Egger's regression"))
        df = chosen.stat("df", str(line.df))
        stat = chosen.with_p(f"{chosen.stat('t', num(line.tval))}, {df}", line.pval)
        notes.append(f"Egger's test: bias {num(line.bias)} (SE {num(line.se)}); {stat}.")
    return chart.finish(legend, notes)
