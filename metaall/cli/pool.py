"""``metaall pool``: run one analysis and report it."""

from __future__ import annotations

from pathlib import Path

import click

from metaall.analysis import AnalysisResult, run_analysis, with_options
from metaall.cli.common import (
    Project,
    analyse,
    format_option,
    model_options,
    overrides,
    pass_project,
    subgroup_option,
    usage_errors,
)
from metaall.data.adhoc import load_adhoc
from metaall.reports.records import analysis_record, table_rows
from metaall.reports.tables import to_csv, to_json, to_markdown
from metaall.reports.text import render_text


def render(result: AnalysisResult, fmt: str) -> str:
    """The report of one analysis in ``fmt`` (text, json, csv, markdown)."""
    if fmt == "json":
        return to_json(analysis_record(result))
    if fmt == "csv":
        return to_csv(table_rows(result))
    if fmt == "markdown":
        return to_markdown(table_rows(result))
    return render_text(result)


@click.command()
@click.argument("analysis", required=False)
@subgroup_option
@click.option(
    "--data",
    "data_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pool an ad-hoc CSV (study,events_t,n_t,events_c,n_c or study,hr,hr_lower,hr_upper) "
    "instead of an analysis from extractions/.",
)
@model_options
@format_option
@pass_project
def pool(project: Project, analysis, subgroup, data_file, fmt, **options) -> None:
    """Pool ANALYSIS (a spec in analyses/) and print studies, pooled effect, heterogeneity.

    Without --subgroup every subgroup is pooled, then all studies, with the test for
    subgroup differences. Options override the spec; the method block at the end of
    the report states every setting used.

    \b
    Examples:
      metaall pool relapse --subgroup mrd_neg
      metaall pool relapse --method DL --ci hk --format json
      metaall pool --data trials.csv --measure OR --method MH
    """
    if data_file is not None and analysis:
        raise click.UsageError("give either ANALYSIS or --data, not both")
    if data_file is None and not analysis:
        raise click.UsageError("missing ANALYSIS (or --data FILE); see 'metaall list'")
    if data_file is None:
        result = analyse(project, analysis, subgroup, options)
    else:
        measure = (options.get("measure") or "").upper() or None

        def adhoc() -> AnalysisResult:
            data, spec = load_adhoc(data_file, measure)
            return run_analysis(with_options(spec, **overrides(options)), data, subgroup)

        result = usage_errors(adhoc)
    click.echo(render(result, fmt), nl=False)
