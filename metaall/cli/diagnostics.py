"""``metaall bias`` and ``metaall sensitivity``: small-study effects and the robustness
of a pooled result (leave-one-out, cumulative, influence, overlapping cohorts)."""

from __future__ import annotations

import click

from metaall.analysis.bias import small_study_tests
from metaall.analysis.run import overlap_alternatives, with_options
from metaall.analysis.sensitivity import (
    cumulative,
    influence_of,
    leave_one_out,
    model_comparison,
)
from metaall.cli.common import (
    Project,
    analysis_or_data,
    by_option,
    chosen,
    data_option,
    emit_rows,
    format_option,
    model_options,
    one_of,
    overrides,
    pass_project,
    spec_and_data,
    subgroup_option,
    usage_errors,
)
from metaall.reports import diagnostics as rep
from metaall.reports.tables import to_json


@click.command()
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@model_options
@format_option
@pass_project
def bias(project: Project, analysis, subgroup, data_file, fmt: str, **options) -> None:
    """Tests for small-study effects: Egger, Begg, trim-and-fill (and Peters, Harbord
    for 2×2 counts). With fewer than 10 studies the tests run and say so.

    \b
    Example:
      metaall bias relapse
      metaall bias relapse --subgroup mrd_neg --format json
    """
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
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
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@one_of(
    leave_one_out="Omit each study in turn.",
    cumulative="Add studies one at a time.",
    influence="metafor's influence diagnostics.",
    overlap="Pool each other study of an overlap group (studies.csv) instead of the spec's choice.",
    models="The same evidence under every model: inverse variance (REML, Hartung-Knapp, DL), "
    "Mantel-Haenszel, Peto, the binomial GLMMs (of 2×2 counts, or of single-arm proportions) "
    "and the Bayesian model.",
)
@by_option
@model_options
@format_option
@pass_project
def sensitivity(project: Project, analysis, subgroup, data_file, by: str, fmt: str, **options):
    """Leave-one-out, cumulative (by year), influence or overlapping-cohort analysis of
    ANALYSIS. --overlap pools, one at a time, each other study of an overlap group
    (studies that may share patients) in place of the one the spec's rule picks.

    \b
    Examples:
      metaall sensitivity relapse --leave-one-out
      metaall sensitivity relapse --cumulative --by year
      metaall sensitivity relapse --subgroup mrd_neg --influence --format csv
      metaall sensitivity relapse --overlap
      metaall sensitivity relapse --subgroup mrd_neg --models
    """
    kind = chosen(options, "leave_one_out", "cumulative", "influence", "overlap", "models")
    if kind == "models":
        data, spec = spec_and_data(project, analysis, data_file, options, every_model=True)
        runs = usage_errors(lambda: model_comparison(spec, data, subgroup))
        records = rep.model_rows(runs)
        if not emit_rows(records, fmt):
            click.echo(rep.model_text(runs, records), nl=False)
        return
    if kind == "overlap":
        if data_file is not None:
            raise click.UsageError("--overlap needs an analysis of the review folder, not --data")
        _overlap(project, analysis, subgroup, fmt, options)
        return
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
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


def _overlap(project: Project, analysis: str, subgroup, fmt: str, options: dict) -> None:
    data, spec = usage_errors(lambda: project.load_analysis(analysis))
    spec = usage_errors(lambda: with_options(spec, **overrides(options)))
    alternatives = usage_errors(lambda: overlap_alternatives(spec, data, subgroup))
    records = rep.overlap_rows(alternatives)
    if not emit_rows(records, fmt):
        labels = {sid: study.label for sid, study in data.studies.items()}
        click.echo(rep.overlap_text(alternatives, records, labels), nl=False)
