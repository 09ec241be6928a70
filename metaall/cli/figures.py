"""``metaall forest``, ``funnel`` and ``sensitivity-plot``: manuscript figures (``metaall
export`` writes them all, see :mod:`metaall.cli.run`).

matplotlib is imported inside the commands, when a figure is asked for, so that
registering them costs ``metaall pool`` nothing.
"""

from __future__ import annotations

from pathlib import Path

import click

from metaall.cli.common import (
    analyse,
    by_option,
    figure_options,
    model_options,
    pass_project,
    settings_from,
    subgroup_option,
    usage_errors,
)
from metaall.data.specs import ORDERS
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
@click.argument("analysis")
@subgroup_option
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    help="Study order within each subgroup (default: the spec's order).",
)
@_output_options
@figure_options("double")
@model_options
@pass_project
def forest(project, analysis, subgroup, output, overwrite, **options):
    """Forest plot of ANALYSIS: studies, subgroup and overall diamonds, prediction
    interval, heterogeneity, tests, "favours" labels.

    \b
    Examples:
      metaall forest relapse -o relapse_forest.pdf
      metaall forest relapse --subgroup mrd_neg --style bmj -o mrd_neg.svg
      metaall forest os --order weight --width 160 --dpi 600 -o os.tiff
    """
    from metaall.figures.forest import forest_plot

    look = settings_from(options)
    result = analyse(project, analysis, subgroup, options)
    _save(lambda: forest_plot(result, look), output, look.dpi, overwrite)


@click.command()
@click.argument("analysis")
@subgroup_option
@click.option("--contours", is_flag=True, help="Shade P < 0.10, 0.05, 0.01 (Peters 2008).")
@click.option("--trimfill", is_flag=True, help="Add the studies trim-and-fill imputes.")
@click.option("--egger", is_flag=True, help="Draw Egger's regression line.")
@_output_options
@figure_options("single")
@model_options
@pass_project
def funnel(project, analysis, subgroup, contours, trimfill, egger, output, overwrite, **options):
    """Funnel plot of ANALYSIS (standard error against effect) with the pseudo 95%
    confidence region; optionally significance contours, trim-and-fill and Egger's line.

    \b
    Examples:
      metaall funnel relapse -o relapse_funnel.pdf
      metaall funnel relapse --contours --trimfill --egger -o funnel.png
    """
    from metaall.figures.funnel import funnel_plot

    look = settings_from(options)
    result = analyse(project, analysis, subgroup, options)
    extras = {"contours": contours, "trimfill": trimfill, "egger": egger}
    _save(lambda: funnel_plot(result, **extras, settings=look), output, look.dpi, overwrite)


@click.command("sensitivity-plot")
@click.argument("analysis")
@subgroup_option
@click.option("--leave-one-out", "kind", flag_value="leave-one-out", help="Omit each study.")
@click.option("--cumulative", "kind", flag_value="cumulative", help="Add studies one by one.")
@click.option("--baujat", "kind", flag_value="baujat", help="Heterogeneity vs influence.")
@by_option
@_output_options
@figure_options(None, " (default: double; single for --baujat)")
@model_options
@pass_project
def sensitivity_plot(project, analysis, subgroup, kind, by, output, overwrite, **options):
    """Leave-one-out or cumulative forest plot, or Baujat plot, of ANALYSIS: the plots
    of 'metaall sensitivity'.

    \b
    Examples:
      metaall sensitivity-plot relapse --leave-one-out -o loo.pdf
      metaall sensitivity-plot relapse --cumulative --by year -o cumulative.svg
      metaall sensitivity-plot relapse --baujat --width single -o baujat.png
    """
    from metaall.figures import sensitivity

    if kind is None:
        raise click.UsageError("choose one of --leave-one-out, --cumulative, --baujat")
    look = settings_from(options)
    result = analyse(project, analysis, subgroup, options)
    draws = {
        "leave-one-out": lambda: sensitivity.leave_one_out_plot(result, look),
        "cumulative": lambda: sensitivity.cumulative_plot(result, by, look),
        "baujat": lambda: sensitivity.baujat_plot(result, look),
    }
    _save(draws[kind], output, look.dpi, overwrite)


COMMANDS = (forest, funnel, sensitivity_plot)
