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
    model_options,
    pass_project,
    subgroup_option,
    usage_errors,
)
from metaall.data.specs import ORDERS

STYLES = ("revman", "jama", "bmj")
FIGURE_FORMATS = ("pdf", "svg", "png", "tiff", "tif", "eps")


def _figure_options(default_width: str | None, width_help: str = ""):
    """Output file, style, size, font and overwrite options of the figure commands
    (``default_width`` None: the plot's own default, which ``width_help`` states)."""

    def decorate(command):
        options = [
            click.option(
                "-o",
                "--output",
                required=True,
                type=click.Path(dir_okay=False, path_type=Path),
                help="File to write; its extension gives the format (pdf, svg, png, tiff, eps).",
            ),
            click.option(
                "--width",
                default=default_width,
                show_default=default_width is not None,
                help=f"single (85 mm), double (175 mm) or a width in mm{width_help}.",
            ),
            click.option(
                "--dpi",
                type=click.IntRange(72, 2400),
                default=300,
                show_default=True,
                help="Resolution of PNG and TIFF files.",
            ),
            click.option("--font", default="DejaVu Sans", show_default=True, help="Font family."),
            click.option(
                "--font-size",
                type=click.FloatRange(4, 14),
                default=7.0,
                show_default=True,
                help="Text size in points.",
            ),
            click.option("--overwrite", is_flag=True, help="Replace FILE if it exists."),
        ]
        options.insert(
            1,
            click.option(
                "--style",
                type=click.Choice(STYLES),
                default="revman",
                show_default=True,
                help="Journal conventions: column set, wording, number format.",
            ),
        )
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _save(draw, output: Path, dpi: int, overwrite: bool) -> None:
    """Draw the figure (usage problems exit 2) and write it (a refusal exits 1)."""
    from metaall.figures.export import format_of, save_figure

    usage_errors(lambda: format_of(output))
    fig = usage_errors(draw)
    try:
        path = save_figure(fig, output, dpi=dpi, overwrite=overwrite)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}")


def _look(options: dict) -> dict:
    """Width, font and font size of a figure from the command's options (a width not
    given leaves the plot's default)."""
    look = {key: options.pop(key) for key in ("width", "font", "font_size")}
    return {key: value for key, value in look.items() if value is not None}


@click.command()
@click.argument("analysis")
@subgroup_option
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    help="Study order within each subgroup (default: the spec's order).",
)
@_figure_options("double")
@model_options
@pass_project
def forest(project, analysis, subgroup, order, output, style, dpi, overwrite, **options):
    """Forest plot of ANALYSIS: studies, subgroup and overall diamonds, prediction
    interval, heterogeneity, tests, "favours" labels.

    \b
    Examples:
      metaall forest relapse -o relapse_forest.pdf
      metaall forest relapse --subgroup mrd_neg --style bmj -o mrd_neg.svg
      metaall forest os --order weight --width 160 --dpi 600 -o os.tiff
    """
    from metaall.figures.forest import forest_plot

    look = _look(options)
    result = analyse(project, analysis, subgroup, options | {"order": order})
    _save(lambda: forest_plot(result, style=style, **look), output, dpi, overwrite)


@click.command()
@click.argument("analysis")
@subgroup_option
@click.option("--contours", is_flag=True, help="Shade P < 0.10, 0.05, 0.01 (Peters 2008).")
@click.option("--trimfill", is_flag=True, help="Add the studies trim-and-fill imputes.")
@click.option("--egger", is_flag=True, help="Draw Egger's regression line.")
@_figure_options("single")
@model_options
@pass_project
def funnel(
    project, analysis, subgroup, contours, trimfill, egger, output, style, dpi, overwrite, **options
):
    """Funnel plot of ANALYSIS (standard error against effect) with the pseudo 95%
    confidence region; optionally significance contours, trim-and-fill and Egger's line.

    \b
    Examples:
      metaall funnel relapse -o relapse_funnel.pdf
      metaall funnel relapse --contours --trimfill --egger -o funnel.png
    """
    from metaall.figures.funnel import funnel_plot

    look = _look(options)
    result = analyse(project, analysis, subgroup, options)
    extras = {"contours": contours, "trimfill": trimfill, "egger": egger}
    _save(lambda: funnel_plot(result, style=style, **extras, **look), output, dpi, overwrite)


@click.command("sensitivity-plot")
@click.argument("analysis")
@subgroup_option
@click.option("--leave-one-out", "kind", flag_value="leave-one-out", help="Omit each study.")
@click.option("--cumulative", "kind", flag_value="cumulative", help="Add studies one by one.")
@click.option("--baujat", "kind", flag_value="baujat", help="Heterogeneity vs influence.")
@by_option
@_figure_options(None, " (default: double; single for --baujat)")
@model_options
@pass_project
def sensitivity_plot(
    project, analysis, subgroup, kind, by, output, style, dpi, overwrite, **options
):
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
    look = _look(options)
    result = analyse(project, analysis, subgroup, options)
    draws = {
        "leave-one-out": lambda: sensitivity.leave_one_out_plot(result, style=style, **look),
        "cumulative": lambda: sensitivity.cumulative_plot(result, by=by, style=style, **look),
        "baujat": lambda: sensitivity.baujat_plot(result, **look),
    }
    _save(draws[kind], output, dpi, overwrite)


COMMANDS = (forest, funnel, sensitivity_plot)
