"""``metaall report``: one self-contained HTML file of the whole review."""

from __future__ import annotations

from pathlib import Path

import click

from metaall.cli.common import (
    Project,
    figure_options,
    pass_project,
    settings_from,
    usage_errors,
    write_report,
)

REPORT_FILE = "report.html"


@click.command("report")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("report"),
    show_default=True,
    help="Folder for report.html.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing report.html.")
@figure_options(None, " (default: double for forest, single for funnel plots)")
@pass_project
def report(project: Project, out: Path, overwrite: bool, **options) -> None:
    """Write one self-contained HTML report (figures inline as SVG, no network requests)
    with every analysis and its subgroups, forest and funnel plots, the summary of
    findings, the methods text and the studies left out with the reasons; it prints
    cleanly to PDF from a browser.

    \b
    Examples:
      metaall report --out report
      metaall report --out manuscript --style jama --overwrite
    """
    from metaall.analysis.summary import findings
    from metaall.data.writing import write_atomic
    from metaall.figures.report import report_html

    look = settings_from(options)
    data, _ = project.load()
    labels = {sid: study.label for sid, study in data.studies.items()}
    results = project.analyses()
    html = usage_errors(
        lambda: report_html(
            results, findings(project), look, risk_of_bias=data.risk_of_bias, labels=labels
        )
    )
    folder = out if out.is_absolute() else project.root / out
    target = folder / REPORT_FILE
    if overwrite:
        write_atomic(target, html.encode("utf-8"), overwrite=True)
        click.echo(f"wrote {target}")
    else:
        write_report(html, target)
