"""``metaall pool``: run one analysis and report it."""

from __future__ import annotations

from pathlib import Path

import click

from metaall.analysis import AnalysisResult, run_analysis, with_options
from metaall.cli.common import (
    Project,
    analyse,
    model_options,
    overrides,
    pass_project,
    subgroup_option,
    usage_errors,
)
from metaall.data.adhoc import load_adhoc
from metaall.data.writing import write_atomic
from metaall.reports.records import analysis_record, table_rows
from metaall.reports.table import result_table, table_records
from metaall.reports.tables import to_csv, to_json, to_markdown
from metaall.reports.text import render_text

POOL_FORMATS = ("text", "json", "csv", "markdown", "docx", "records")


def render(result: AnalysisResult, fmt: str) -> str | bytes:
    """The report of one analysis in ``fmt``: the text report; the JSON document; the
    result table (ratio scale, as in a manuscript) as CSV, Markdown or Word; or
    ``records``, every per-study record on the analysis scale as CSV."""
    if fmt == "json":
        return to_json(analysis_record(result))
    if fmt == "records":
        return to_csv(table_rows(result))
    if fmt in ("csv", "markdown"):
        records = table_records(result_table(result))
        return to_csv(records) if fmt == "csv" else to_markdown(records)
    if fmt == "docx":
        from metaall.reports.docx import table_docx

        return table_docx(result_table(result))
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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(POOL_FORMATS),
    default="text",
    show_default=True,
    help="text for people; json for pipelines; csv, markdown or docx: the result table "
    "as in a manuscript (ratio scale); records: every per-study record (analysis scale).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of the terminal (needed for docx).",
)
@pass_project
def pool(project: Project, analysis, subgroup, data_file, fmt, output, **options) -> None:
    """Pool ANALYSIS (a spec in analyses/) and print studies, pooled effect, heterogeneity.

    Without --subgroup every subgroup is pooled, then all studies, with the test for
    subgroup differences. Options override the spec; the method block at the end of
    the report states every setting used.

    \b
    Examples:
      metaall pool relapse --subgroup mrd_neg
      metaall pool relapse --method DL --ci hk --format json
      metaall pool --data trials.csv --measure OR --method MH
      metaall pool relapse --format docx -o relapse_table.docx
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
    report = render(result, fmt)
    if output is None:
        if isinstance(report, bytes):
            raise click.UsageError("--format docx writes a file: give -o FILE.docx")
        click.echo(report, nl=False)
        return
    data = report if isinstance(report, bytes) else report.encode("utf-8")
    try:
        write_atomic(output, data, overwrite=False)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {output}")
