"""``metaall forest``, ``funnel``, ``sensitivity-plot`` and ``export``: manuscript figures.

matplotlib is imported inside the commands, when a figure is asked for, so that
registering them costs ``metaall pool`` nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from metaall import checks
from metaall.analysis import AnalysisResult, available_subgroups, run_analysis, with_options
from metaall.cli.common import (
    Project,
    fail_on_data_errors,
    model_options,
    overrides,
    pass_project,
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


def _result(
    project: Project, analysis: str, subgroup: str | None, options: dict, order: str | None = None
) -> AnalysisResult:
    """Run one analysis with the command's model options (and study order)."""

    def run() -> AnalysisResult:
        data, spec = project.load_analysis(analysis)
        spec = with_options(spec, **overrides(options))
        return run_analysis(replace(spec, order=order) if order else spec, data, subgroup)

    return usage_errors(run)


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
@click.option("--subgroup", metavar="TAG", help="Restrict to one subgroup, e.g. mrd_neg.")
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    help="Study order within each subgroup (default: the spec's order).",
)
@_figure_options("double")
@model_options
@pass_project
@fail_on_data_errors
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
    result = _result(project, analysis, subgroup, options, order)
    _save(lambda: forest_plot(result, style=style, **look), output, dpi, overwrite)


@click.command()
@click.argument("analysis")
@click.option("--subgroup", metavar="TAG", help="Restrict to one subgroup, e.g. mrd_neg.")
@click.option("--contours", is_flag=True, help="Shade P < 0.10, 0.05, 0.01 (Peters 2008).")
@click.option("--trimfill", is_flag=True, help="Add the studies trim-and-fill imputes.")
@click.option("--egger", is_flag=True, help="Draw Egger's regression line.")
@_figure_options("single")
@model_options
@pass_project
@fail_on_data_errors
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
    result = _result(project, analysis, subgroup, options)
    extras = {"contours": contours, "trimfill": trimfill, "egger": egger}
    _save(lambda: funnel_plot(result, style=style, **extras, **look), output, dpi, overwrite)


@click.command("sensitivity-plot")
@click.argument("analysis")
@click.option("--subgroup", metavar="TAG", help="Restrict to one subgroup, e.g. mrd_neg.")
@click.option("--leave-one-out", "kind", flag_value="leave-one-out", help="Omit each study.")
@click.option("--cumulative", "kind", flag_value="cumulative", help="Add studies one by one.")
@click.option("--baujat", "kind", flag_value="baujat", help="Heterogeneity vs influence.")
@click.option(
    "--by",
    type=click.Choice(checks.ORDERS),
    default="year",
    show_default=True,
    help="Order of the cumulative analysis (undated studies last).",
)
@_figure_options(None, " (default: double; single for --baujat)")
@model_options
@pass_project
@fail_on_data_errors
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
    result = _result(project, analysis, subgroup, options)
    draws = {
        "leave-one-out": lambda: sensitivity.leave_one_out_plot(result, style=style, **look),
        "cumulative": lambda: sensitivity.cumulative_plot(result, by=by, style=style, **look),
        "baujat": lambda: sensitivity.baujat_plot(result, **look),
    }
    _save(draws[kind], output, dpi, overwrite)


def _formats(value: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower().lstrip(".") for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown or not formats:
        raise click.BadParameter(
            f"unknown format {', '.join(unknown) or '(none)'}; use {', '.join(FIGURE_FORMATS)}",
            param_hint="--formats",
        )
    return formats


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("figures"),
    show_default=True,
    help="Folder for the figures and tables.",
)
@click.option(
    "--formats",
    default="pdf,png,svg",
    show_default=True,
    help="Figure formats, comma-separated: pdf, svg, png, tiff, eps.",
)
@click.option("--style", type=click.Choice(STYLES), default="revman", show_default=True)
@click.option("--dpi", type=click.IntRange(72, 2400), default=300, show_default=True)
@click.option("--font", default="DejaVu Sans", show_default=True, help="Font family.")
@click.option("--overwrite", is_flag=True, help="Replace files that exist in --out.")
@pass_project
@fail_on_data_errors
def export(project, out, formats, style, dpi, font, overwrite) -> None:
    """Write every analysis's figures (forest plot; funnel plot when k ≥ 3) and tables
    (text, JSON, CSV, Markdown), overall and per subgroup, to --out.

    \b
    Examples:
      metaall export
      metaall export --out manuscript/figures --formats pdf,tiff --style jama
    """
    from metaall.figures.export import figure_files, write_files
    from metaall.reports.outputs import table_files

    chosen = _formats(formats)
    data, specs = project.load()
    files: dict[str, bytes] = {}
    skipped = []
    for spec in specs.values():
        for subgroup in [None, *available_subgroups(spec, data)]:
            result = run_analysis(spec, data, subgroup)
            if result.overall.fit is None:
                skipped.append(f"{spec.name}" + (f" [{subgroup}]" if subgroup else ""))
                continue
            files |= table_files(result)
            files |= usage_errors(
                lambda r=result: figure_files(r, chosen, style=style, font=font, dpi=dpi)
            )
    folder = out if out.is_absolute() else project.root / out
    try:
        written = write_files(folder, files, overwrite)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(written)} files written to {folder}")
    if skipped:
        click.echo(f"no estimable study, nothing written: {', '.join(skipped)}")


COMMANDS = (forest, funnel, sensitivity_plot, export)
