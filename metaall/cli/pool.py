"""``metaall pool``: run one analysis and report it."""

from __future__ import annotations

from pathlib import Path

import click

from metaall.analysis import AnalysisResult
from metaall.cli.common import (
    Project,
    analysis_or_data,
    data_option,
    model_options,
    pass_project,
    regression_options,
    subgroup_option,
    write_report,
)
from metaall.data import csvfile
from metaall.reports.records import analysis_record, table_rows
from metaall.reports.table import result_table, table_markdown, table_records
from metaall.reports.tables import to_csv, to_json
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
    if fmt == "csv":
        return to_csv(table_records(result_table(result)))
    if fmt == "markdown":
        return table_markdown(result_table(result))
    if fmt == "docx":
        from metaall.reports.docx import table_docx

        return table_docx(result_table(result))
    return render_text(result)


@click.command()
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@model_options
@regression_options
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
    the report states every setting used. With --mods (or the spec's mods) the
    meta-regression's coefficients, QM, QE, tau² and R² follow the table.

    \b
    Examples:
      metaall pool relapse --subgroup mrd_neg
      metaall pool relapse --method DL --ci hk --format json
      metaall pool --data trials.csv --measure OR --method MH
      metaall pool relapse --format docx -o relapse_table.docx
      metaall pool cart_cr_cri --mods costim_domain --permutations 1000
      metaall pool --data rates.csv --measure PFT
    """
    result = analysis_or_data(project, analysis, subgroup, data_file, options, columns=True)
    studies = len(result.overall.rows)
    if fmt != "text" and studies > csvfile.MAX_ROWS:
        raise click.UsageError(
            f"--format {fmt} lists every study, of at most {csvfile.MAX_ROWS:,}; this analysis "
            f"pools {studies:,} (the text report takes any number)"
        )
    write_report(render(result, fmt), output)
