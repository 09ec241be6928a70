"""``metaall forest``, ``funnel``, ``sensitivity-plot``, ``rob-plot``, ``posterior``,
``tsa-plot`` and ``bubble``: manuscript figures (``metaall export`` writes the first
three, see :mod:`metaall.cli.run`).

matplotlib is imported inside the commands, when a figure is asked for, so that
registering them costs ``metaall pool`` nothing.
"""

from __future__ import annotations

from pathlib import Path

import click

from metaall.cli.common import (
    Project,
    analyse,
    analysis_or_data,
    by_option,
    chosen,
    data_option,
    figure_options,
    fit_options,
    model_options,
    one_of,
    pass_project,
    settings_from,
    subgroup_option,
    usage_errors,
)
from metaall.cli.sequential import tsa_options, tsa_settings
from metaall.data import load_extractions
from metaall.data.specs import MODERATORS, ORDERS
from metaall.data.writing import UnsafeTarget
from metaall.figures.settings import format_of


def _output_options(command):
    command = click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")(command)
    return click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="File to write; its extension gives the format (pdf, svg, png, tiff, eps).",
    )(command)


def _save(draw, output: Path, dpi: int, overwrite: bool) -> None:
    """Draw the figure (usage problems exit 2) and write it (a refusal exits 1)."""
    from metaall.figures.export import save_figure

    usage_errors(lambda: format_of(output))
    fig = usage_errors(draw)
    try:
        path = save_figure(fig, output, dpi=dpi, overwrite=overwrite)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc} (--overwrite replaces it)") from None
    except UnsafeTarget as exc:  # a device, folder, FIFO, dangling link, read-only file
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}")


@click.command()
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    help="Study order within each subgroup (default: the spec's order).",
)
@click.option(
    "--columns",
    metavar="LIST",
    help="Columns beside the labels, comma-separated from: counts, weight, effect "
    "(default: all that fit the width; a single column merges counts and drops weight).",
)
@click.option(
    "--rob",
    is_flag=True,
    help="Add ROBINS-I traffic-light columns from extractions/risk_of_bias.csv.",
)
@click.option(
    "--shrinkage",
    is_flag=True,
    help="With --method bayes: draw each study's shrunken estimate under its own.",
)
@_output_options
@figure_options(None, " (default: double; with --rob as wide as the columns need)")
@model_options
@pass_project
def forest(
    project, analysis, subgroup, data_file, columns, rob, shrinkage, output, overwrite, **options
):
    """Forest plot of ANALYSIS: studies, subgroup and overall diamonds, prediction
    interval, heterogeneity, tests, "favours" labels; --rob adds each study's risk of
    bias (ROBINS-I domains D1-D7 and overall) as RevMan's traffic lights.

    \b
    Examples:
      metaall forest relapse -o relapse_forest.pdf
      metaall forest relapse --subgroup mrd_neg --style bmj -o mrd_neg.svg
      metaall forest relapse --subgroup mrd_neg --width single -o mrd_neg_1col.pdf
      metaall forest os --order weight --width 160 --dpi 600 -o os.tiff
      metaall forest --data trials.csv --measure OR -o trials.pdf
      metaall forest relapse --rob -o relapse_rob.png
      metaall forest relapse --subgroup mrd_neg --method bayes --shrinkage -o bayes.pdf
    """
    from metaall.figures.forest import forest_plot

    look = settings_from(options)
    shown = None if columns is None else tuple(c.strip() for c in columns.split(",") if c.strip())
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    assessments = _risk_of_bias(project) if rob else None
    _save(
        lambda: forest_plot(result, look, shown, rob=assessments, shrinkage=shrinkage),
        output,
        look.dpi,
        overwrite,
    )


def _risk_of_bias(project: Project):
    """The project's ROBINS-I assessments (a usage error when there are none)."""
    assessments = load_extractions(project.extractions_dir).risk_of_bias
    if not assessments:
        where = project.extractions_dir / "risk_of_bias.csv"
        raise click.UsageError(f"no risk-of-bias assessments: {where} is missing or empty")
    return assessments


@click.command()
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@click.option("--contours", is_flag=True, help="Shade P < 0.10, 0.05, 0.01 (Peters 2008).")
@click.option("--trimfill", is_flag=True, help="Add the studies trim-and-fill imputes.")
@click.option("--egger", is_flag=True, help="Draw Egger's regression line.")
@_output_options
@figure_options("single")
@model_options
@pass_project
def funnel(
    project, analysis, subgroup, data_file, contours, trimfill, egger, output, overwrite, **options
):
    """Funnel plot of ANALYSIS (standard error against effect) with the pseudo 95%
    confidence region; optionally significance contours, trim-and-fill and Egger's line.

    \b
    Examples:
      metaall funnel relapse -o relapse_funnel.pdf
      metaall funnel relapse --contours --trimfill --egger -o funnel.png
      metaall funnel --data trials.csv -o trials_funnel.pdf
    """
    from metaall.figures.funnel import funnel_plot

    look = settings_from(options)
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    extras = {"contours": contours, "trimfill": trimfill, "egger": egger}
    _save(lambda: funnel_plot(result, **extras, settings=look), output, look.dpi, overwrite)


@click.command("sensitivity-plot")
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@one_of(
    leave_one_out="Omit each study.",
    cumulative="Add studies one by one.",
    baujat="Heterogeneity vs influence.",
)
@by_option
@_output_options
@figure_options(None, " (default: double; single for --baujat)")
@model_options
@pass_project
def sensitivity_plot(project, analysis, subgroup, data_file, by, output, overwrite, **options):
    """Leave-one-out or cumulative forest plot, or Baujat plot, of ANALYSIS: the plots
    of 'metaall sensitivity'.

    \b
    Examples:
      metaall sensitivity-plot relapse --leave-one-out -o loo.pdf
      metaall sensitivity-plot relapse --cumulative --by year -o cumulative.svg
      metaall sensitivity-plot relapse --baujat --width single -o baujat.png
    """
    from metaall.figures import sensitivity

    kind = chosen(options, "leave_one_out", "cumulative", "baujat")
    look = settings_from(options)
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    draws = {
        "leave-one-out": lambda: sensitivity.leave_one_out_plot(result, look),
        "cumulative": lambda: sensitivity.cumulative_plot(result, by, look),
        "baujat": lambda: sensitivity.baujat_plot(result, look),
    }
    _save(draws[kind], output, look.dpi, overwrite)


@click.command("rob-plot")
@click.argument("analysis", required=False)
@subgroup_option
@click.option(
    "--summary",
    "kind",
    flag_value="summary",
    default=True,
    help="Per domain, the share of studies at each judgement (the default).",
)
@click.option(
    "--traffic-light",
    "kind",
    flag_value="traffic-light",
    help="One row per study, a dot per domain and overall.",
)
@click.option(
    "--weighted",
    is_flag=True,
    help="Summary: count each study by its weight in ANALYSIS (robvis weighted = TRUE).",
)
@_output_options
@figure_options(None, " (default: single)")
@model_options
@pass_project
def rob_plot(project, analysis, subgroup, kind, weighted, output, overwrite, **options):
    """Risk-of-bias figure (ROBINS-I, extractions/risk_of_bias.csv): the summary of each
    domain or the traffic-light table, of every assessed study or of the studies ANALYSIS
    pools.

    \b
    Examples:
      metaall rob-plot -o rob_summary.pdf
      metaall rob-plot relapse --subgroup mrd_neg --weighted -o rob_mrd_neg.png
      metaall rob-plot relapse --traffic-light -o rob_relapse.svg
    """
    from metaall.figures.rob import rob_summary_plot, traffic_light_plot

    look = settings_from(options)
    assessments = _risk_of_bias(project)
    if analysis is None:
        if weighted or subgroup:
            raise click.UsageError("--weighted and --subgroup need an ANALYSIS")
        data = load_extractions(project.extractions_dir)
        labels = {sid: study.label for sid, study in data.studies.items() if sid in assessments}
        weights, title = None, "Risk of bias (ROBINS-I): all assessed studies"
    else:
        result = analyse(project, analysis, subgroup, options)
        rows = [r for r in result.overall.rows if r.estimable]
        labels = {r.study.study: r.label for r in rows}
        weights = {r.study.study: r.weight for r in rows} if weighted else None
        scope = f", subgroup {result.restricted_to}" if result.restricted_to else ""
        title = f"Risk of bias (ROBINS-I): {result.spec.title}{scope}"
    if kind == "traffic-light":
        draw = lambda: traffic_light_plot(assessments, labels, look)  # noqa: E731
    else:
        draw = lambda: rob_summary_plot(assessments, labels, weights, look, title)  # noqa: E731
    _save(draw, output, look.dpi, overwrite)


@click.command("posterior")
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@_output_options
@figure_options("single")
@model_options
@pass_project
def posterior(project, analysis, subgroup, data_file, output, overwrite, **options):
    """Posterior densities of the effect (mu) and the heterogeneity (tau) of ANALYSIS
    under the Bayesian model (--method bayes is implied), with their priors.

    \b
    Examples:
      metaall posterior relapse --subgroup mrd_neg -o posterior.pdf
      metaall posterior relapse --subgroup mrd_neg --mu-prior normal:0:4 -o posterior.png
    """
    from metaall.figures.posterior import posterior_plot

    options["method"] = options.get("method") or "bayes"
    look = settings_from(options)
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    _save(lambda: posterior_plot(result, look), output, look.dpi, overwrite)


@click.command("tsa-plot")
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@tsa_options
@_output_options
@figure_options("double")
@fit_options
@pass_project
def tsa_plot(project, analysis, subgroup, data_file, output, overwrite, **options):
    """Trial sequential analysis figure of ANALYSIS: the cumulative Z-curve against
    the participants accrued, the conventional and monitoring (and futility)
    boundaries, the required information size and the verdict; the parameters of
    'metaall tsa'.

    \b
    Examples:
      metaall tsa-plot relapse -o relapse_tsa.pdf
      metaall tsa-plot relapse --subgroup mrd_neg --rr 0.8 --width single -o tsa.png
      metaall tsa-plot relapse --futility obrien-fleming --style bmj -o tsa.svg
    """
    from metaall.analysis.sequential import tsa_of
    from metaall.figures.tsa import tsa_plot as draw

    given = tsa_settings(options)
    look = settings_from(options)
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    _save(lambda: draw(tsa_of(result, given), look), output, look.dpi, overwrite)


@click.command()
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@click.option(
    "--mod",
    "moderator",
    required=True,
    type=click.Choice(MODERATORS),
    help="The moderator on the horizontal axis (numeric: year); the meta-regression is "
    "fitted on it alone.",
)
@click.option("--labels", is_flag=True, help="Name each study beside its circle.")
@_output_options
@figure_options("single")
@model_options
@pass_project
def bubble(project, analysis, subgroup, data_file, moderator, labels, output, overwrite, **options):
    """Bubble plot of the meta-regression of ANALYSIS on one numeric moderator: each
    study's effect against the moderator, circles sized by weight, the fitted line and
    its confidence band (metafor regplot); ratios on a log axis, proportions in percent.

    \b
    Examples:
      metaall bubble relapse --mod year -o relapse_year.pdf
      metaall bubble --data rates.csv --mod year --labels -o rates_year.png
      metaall bubble relapse --mod year --method DL --ci hk --style bmj -o year.svg
    """
    from metaall.figures.bubble import bubble_plot

    options["mods"] = (moderator,)
    look = settings_from(options)
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    _save(lambda: bubble_plot(result, moderator, look, labels), output, look.dpi, overwrite)


COMMANDS = (forest, funnel, sensitivity_plot, rob_plot, posterior, tsa_plot, bubble)
