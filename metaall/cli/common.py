"""Shared pieces of the commands: the project folder, options and output."""

from __future__ import annotations

import click

from metaall.analysis import AnalysisResult
from metaall.data import DataError
from metaall.data.specs import METHODS, ORDERS, ZERO_CELL_TARGETS
from metaall.project import Project, UnknownAnalysis
from metaall.reports.tables import FORMATS, to_csv, to_json, to_markdown

pass_project = click.make_pass_decorator(Project)


subgroup_option = click.option(
    "--subgroup", metavar="TAG", help="Restrict to one subgroup, e.g. mrd_neg."
)


by_option = click.option(
    "--by",
    type=click.Choice(ORDERS),
    default="year",
    show_default=True,
    help="Order of the cumulative analysis (undated studies last).",
)


def format_option(command):
    """``--format text|json|csv|markdown``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Text for people; JSON, CSV or Markdown for pipelines and manuscripts.",
    )(command)


def model_options(command):
    """Options that override an analysis spec's model settings."""
    options = [
        click.option(
            "--measure",
            type=click.Choice(["RR", "OR", "RD", "HR"], case_sensitive=False),
            help="Effect measure (RR, OR, RD from counts; HR from hazard ratios).",
        ),
        click.option(
            "--method",
            type=click.Choice(METHODS, case_sensitive=False),
            help="FE, MH, Peto (common effect) or a tau² estimator: REML, ML, DL, HE, HS, "
            "HSk, SJ, EB, PM.",
        ),
        click.option(
            "--ci",
            "ci",
            type=click.Choice(["z", "hk"]),
            help="CI for the pooled effect: z (Wald) or hk (Hartung-Knapp).",
        ),
        click.option(
            "--level",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            help="Confidence level, e.g. 0.95.",
        ),
        click.option("--add", type=click.FloatRange(0), help="Continuity correction per cell."),
        click.option(
            "--to",
            type=click.Choice(ZERO_CELL_TARGETS),
            help="Which tables get the correction: only0, all, if0all, none.",
        ),
        click.option(
            "--drop00/--keep00",
            default=None,
            help="Treat tables with no events in either arm as not estimable (drop00).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def overrides(options: dict) -> dict:
    """Keyword arguments for :func:`metaall.analysis.with_options` from CLI options."""
    method = options.get("method")
    if method:
        method = next(m for m in METHODS if m.lower() == method.lower())
    return dict(
        measure=(options.get("measure") or "").upper() or None,
        method=method,
        test={"z": "z", "hk": "knha"}.get(options.get("ci") or ""),
        level=options.get("level"),
        add=options.get("add"),
        to=options.get("to"),
        drop00=options.get("drop00"),
        order=options.get("order"),
    )


def emit_rows(rows: list[dict], fmt: str) -> bool:
    """Print ``rows`` as JSON, CSV or Markdown; False for text (the caller lays it out)."""
    writers = {"json": to_json, "csv": to_csv, "markdown": to_markdown}
    if fmt not in writers:
        return False
    click.echo(writers[fmt](rows), nl=False)
    return True


def usage_errors(function):
    """Call ``function``; an unknown analysis or unfit option becomes a usage error (exit 2)."""
    try:
        return function()
    except UnknownAnalysis as exc:
        raise click.BadParameter(str(exc), param_hint="ANALYSIS") from None
    except DataError:
        raise
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def analyse(project: Project, analysis: str, subgroup: str | None, options: dict) -> AnalysisResult:
    """Run one analysis with the command's model options (usage problems exit 2)."""
    return usage_errors(lambda: project.analysis(analysis, subgroup, **overrides(options)))
