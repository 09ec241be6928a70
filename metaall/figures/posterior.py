"""The posterior of a Bayesian meta-analysis: the effect μ and the heterogeneity τ.

Two panels, one above the other, as R bayesmeta's ``plot(..., which = 3:4)`` draws
them (Röver 2020, J Stat Softw 93(6), figure 2): the marginal posterior density of μ
(on the effect's scale: the log ratio axis is labelled in ratios) with its median and
credible interval shaded, the posterior predictive density of a new study's effect
dashed, and the prior of μ dotted when it is not flat; below, the marginal posterior
density of τ with its median and interval, and the prior of τ dotted. Every curve is
evaluated from the fitted :class:`~metaall.models.bayes.BayesResult` (no sampling).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from metaall import methods
from metaall.analysis import AnalysisResult
from metaall.figures.fonts import font, text_width, wrap
from metaall.figures.page import PT_PER_MM, new_figure
from metaall.figures.panel import INK, LINE, LINE_WIDTH, MARGIN, TICK
from metaall.figures.scale import covering_scale, tick_label
from metaall.figures.settings import FigureSettings, figure_settings

POINTS = 400  # curve resolution
SHADE = "0.82"


def _curve_points(lo: float, hi: float) -> np.ndarray:
    return np.linspace(lo, hi, POINTS)


def _density_axes(fig: Figure, box: tuple, x_scale, label: str, em: float, prop) -> object:
    ax = fig.add_axes(box)
    ax.set_xlim(x_scale.lo, x_scale.hi)
    ax.set_xticks(x_scale.ticks, [tick_label(t) for t in x_scale.ticks], fontproperties=prop)
    ax.set_yticks([])
    ax.set_ylim(bottom=0)
    ax.tick_params(length=TICK * em, width=LINE_WIDTH, pad=0.35 * em)
    for name, spine in ax.spines.items():
        spine.set_linewidth(LINE_WIDTH)
        spine.set_visible(name == "bottom")
    ax.set_xlabel(label, fontproperties=prop, labelpad=0.4 * em)
    return ax


def posterior_plot(
    result: AnalysisResult, settings: FigureSettings | None = None, **options
) -> Figure:
    """The posterior densities of μ and τ of a Bayesian analysis (``--method bayes``),
    each with its prior; ``settings`` or ``options`` as for the other plots (default
    width: one column)."""
    fit = result.overall.fit
    if fit is None or methods.method(fit.method).family != methods.BAYES:
        raise ValueError("the posterior plot needs the Bayesian model: use --method bayes")
    look = figure_settings(settings, **options)
    em = look.font_size
    prop = font(look.font, look.font_size)
    width = look.width_mm("single") * PT_PER_MM
    gap = (TICK + 0.35 + 2 * LINE + 1.6) * em  # tick labels, axis title, next panel's key
    top = MARGIN * em + LINE * em

    spec = result.spec
    log = result.ratio
    q = (1 - fit.level) / 2
    mu_lo, mu_hi = fit.mu_quantile(q / 20), fit.mu_quantile(1 - q / 20)
    mu_lo, mu_hi = min(mu_lo, fit.pred_lb), max(mu_hi, fit.pred_ub)
    show = np.exp if log else (lambda v: v)
    x_mu = covering_scale(show(np.array([mu_lo, mu_hi])), log)
    xs = _curve_points(math.log(x_mu.lo) if log else x_mu.lo, math.log(x_mu.hi) if log else x_mu.hi)
    tau_hi = float(fit.tau_quantile(0.995))
    x_tau = covering_scale([0.0, tau_hi], False)
    ts = _curve_points(0.0, x_tau.hi)
    # half of the widest tick label hangs over each end of the axes
    overhang = max(text_width(tick_label(t), prop) for t in (*x_mu.ticks, *x_tau.ticks)) / 2
    left = right = MARGIN * em + overhang
    panel_w = width - left - right
    panel_h = 0.45 * panel_w

    notes = [
        f"Priors: {fit.prior}.",
        f"Posterior median {spec.measure} {result.display(fit.estimate):.2f} "
        f"[{fit.level:.0%} CrI {result.display(fit.ci_lb):.2f}, {result.display(fit.ci_ub):.2f}]; "
        f"τ median {float(fit.tau_median):.3f} "
        f"[{float(fit.tau_quantile(q)):.3f}, {float(fit.tau_quantile(1 - q)):.3f}]. "
        "Shaded: credible interval; solid vertical: median; dashed: a new study's effect "
        "(predictive); dotted: prior.",
    ]
    lines = [piece for note in notes for piece in wrap(note, width - 2 * MARGIN * em, prop)]
    height = top + 2 * panel_h + 2 * gap + len(lines) * LINE * em + MARGIN * em
    fig = new_figure(width, height)

    def box(index: int) -> tuple:
        upper = top + index * (panel_h + gap)
        return (left / width, 1 - (upper + panel_h) / height, panel_w / width, panel_h / height)

    name = methods.measure(spec.measure).title if log else spec.measure
    ax_mu = _density_axes(fig, box(0), x_mu, f"{name} (μ; log scale)" if log else "μ", em, prop)
    if log:
        ax_mu.set_xscale("log")
        ax_mu.set_xlim(x_mu.lo, x_mu.hi)
        ax_mu.set_xticks(x_mu.ticks, [tick_label(t) for t in x_mu.ticks], fontproperties=prop)
        ax_mu.minorticks_off()
    density = np.asarray(fit.density_mu(xs), dtype=float)
    predictive = np.asarray(fit.density_pred(xs), dtype=float)
    inside = (xs >= fit.ci_lb) & (xs <= fit.ci_ub)
    ax_mu.fill_between(show(xs), 0, density, where=inside, color=SHADE, lw=0)
    ax_mu.plot(show(xs), density, color=INK, lw=LINE_WIDTH * 1.5)
    ax_mu.plot(show(xs), predictive, color=INK, lw=LINE_WIDTH, ls=(0, (4, 2)))
    if fit.mu_prior_sd is not None:
        prior = np.exp(-0.5 * ((xs - fit.mu_prior_mean) / fit.mu_prior_sd) ** 2) / (
            fit.mu_prior_sd * math.sqrt(2 * math.pi)
        )
        ax_mu.plot(show(xs), prior, color=INK, lw=LINE_WIDTH, ls=(0, (1, 1.5)))
    peak = max(density.max(), predictive.max())
    ax_mu.vlines(
        show(fit.estimate), 0, float(fit.density_mu(fit.estimate)), color=INK, lw=LINE_WIDTH
    )
    ax_mu.axvline(1.0 if log else 0.0, color="0.5", lw=LINE_WIDTH)
    ax_mu.set_ylim(0, peak * 1.08)

    ax_tau = _density_axes(fig, box(1), x_tau, "Heterogeneity τ", em, prop)
    tau_density = np.asarray(fit.density_tau(ts), dtype=float)
    finite = tau_density[np.isfinite(tau_density)]
    inside = (ts >= fit.tau_quantile(q)) & (ts <= fit.tau_quantile(1 - q))
    ax_tau.fill_between(ts, 0, np.nan_to_num(tau_density), where=inside, color=SHADE, lw=0)
    ax_tau.plot(ts, tau_density, color=INK, lw=LINE_WIDTH * 1.5)
    prior_tau = np.exp(fit.tau_prior.log_density(ts, np.asarray(fit.vi)))
    ax_tau.plot(ts, prior_tau, color=INK, lw=LINE_WIDTH, ls=(0, (1, 1.5)))
    median = float(fit.tau_median)
    ax_tau.vlines(median, 0, float(fit.density_tau(median)), color=INK, lw=LINE_WIDTH)
    ax_tau.set_ylim(0, (finite.max() if finite.size else 1.0) * 1.08)

    for ax, title in ((ax_mu, "Effect μ"), (ax_tau, "Heterogeneity τ")):
        ax.set_title(title, fontproperties=font(look.font, look.font_size, bold=True), loc="left")
    handles = [
        Line2D([], [], color=INK, lw=LINE_WIDTH * 1.5),
        Line2D([], [], color=INK, lw=LINE_WIDTH, ls=(0, (4, 2))),
        Line2D([], [], color=INK, lw=LINE_WIDTH, ls=(0, (1, 1.5))),
    ]
    ax_mu.legend(
        handles,
        ["posterior", "predictive", "prior"],
        prop=prop,
        frameon=False,
        loc="upper right",
        handlelength=2.2,
    )
    y = top + 2 * panel_h + 2 * gap - 0.6 * em
    for text in lines:
        fig.text(
            MARGIN * em / width, 1 - (y + LINE * em * 0.75) / height, text, fontproperties=prop
        )
        y += LINE * em
    return fig
