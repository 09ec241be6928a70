"""``metaall bias`` and ``metaall sensitivity``: small-study effects and"""

from __future__ import annotations

import click

from metaall.analysis.bias import small_study_tests
from metaall.analysis.sensitivity import cumulative, influence_of, leave_one_out
from metaall.cli.common import (
    Project,
    analyse,
    by_option,
    emit_rows,
    format_option,
    model_options,
    pass_project,
    subgroup_option,
)
from metaall.reports import diagnostics as rep
from metaall.reports.tables import to_json


@click.command()
@click.argument("analysis")
@subgroup_option
@model_options
@format_option
@pass_project
def bias(project: Project, analysis: str, subgroup, fmt: str, **options) -> None:
    """Tests for small-study effects: Egger, Begg, trim-and-fill (and Peters, Harbord
    for 2×2 counts). With fewer than 10 studies the tests run and say so.

    \b
    Example:
      metaall bias relapse
      metaall bias relapse --subgroup mrd_neg --format json
    """
    result = analyse(project, analysis, subgroup, options)
    try:
        report = small_study_tests(result)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    rows = rep.bias_rows(report)
    if fmt == "json":
        document = {
            "analysis": result.spec.name,
            "subgroup": result.restricted_to,
            "k": report.k,
            "tests": rows,
            "trimfill": rep.trimfill_record(report),
            "notes": list(report.notes),
        }
        click.echo(to_json(document), nl=False)
    elif not emit_rows(rows, fmt):
        click.echo(rep.bias_text(result, report), nl=False)


@click.command()
@click.argument("analysis")
@subgroup_option
@click.option(
    "--leave-one-out", "kind", flag_value="leave-one-out", help="Omit each study in turn."
)
@click.option("--cumulative", "kind", flag_value="cumulative", help="Add studies one at a time.")
@click.option(
    "--influence", "kind", flag_value="influence", help="metafor's influence diagnostics."
)
@by_option
@model_options
@format_option
@pass_project
def sensitivity(project: Project, analysis: str, subgroup, kind, by: str, fmt: str, **options):
    """Leave-one-out, cumulative (by year) or influence analysis of ANALYSIS.

    \b
    Examples:
      metaall sensitivity relapse --leave-one-out
      metaall sensitivity relapse --cumulative --by year
      metaall sensitivity relapse --subgroup mrd_neg --influence --format csv
    """
    if kind is None:
        raise click.UsageError("choose one of --leave-one-out, --cumulative, --influence")
    result = analyse(project, analysis, subgroup, options)
    try:
        if kind == "influence":
            rows, inf = influence_of(result)
            records, text = rep.influence_rows(rows, inf), rep.influence_text
        else:
            label = "omitted" if kind == "leave-one-out" else "added"
            if kind == "leave-one-out":
                rows, refits = leave_one_out(result)
            else:
                rows, refits = cumulative(result, by)
            records = rep.refit_rows(result, rows, refits, label)

            def text(records: list[dict]) -> str:
                return rep.refit_text(result, records, label)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not emit_rows(records, fmt):
        click.echo(text(records), nl=False)
