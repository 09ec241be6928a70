"""``metaall list`` and ``metaall validate``: what the project holds, and whether it is sound."""

from __future__ import annotations

from pathlib import Path

import click

from metaall.analysis import available_subgroups, run_analysis
from metaall.cli.common import (
    Project,
    analysis_or_data,
    data_option,
    emit_rows,
    emit_table,
    format_option,
    model_options,
    pass_project,
    subgroup_option,
    usage_errors,
)
from metaall.data import (
    check_specs_against,
    load_extractions,
    load_specs,
    validate_extractions,
    validate_specs,
)
from metaall.data.journal import reading


def catalog_rows(project: Project) -> list[dict]:
    """One row per analysis and per subgroup: studies pooled and not included."""
    data, specs = project.load()
    rows = []
    for name, spec in specs.items():
        for subgroup in [None, *available_subgroups(spec, data)]:
            result = run_analysis(spec, data, subgroup)
            pooled = sum(r.estimable for r in result.overall.rows)
            rows.append(
                {
                    "analysis": name,
                    "subgroup": subgroup or "(all)",
                    "measure": spec.measure,
                    "method": spec.method,
                    "studies": pooled,
                    "not_estimable": len(result.overall.rows) - pooled,
                    "not_included": len(result.excluded),
                    "title": spec.title,
                }
            )
    return rows


@click.command("list")
@format_option
@pass_project
def list_(project: Project, fmt: str) -> None:
    """List analyses, their subgroups and how many studies each pools.

    \b
    Example:
      metaall list
    """
    rows = catalog_rows(project)
    if not emit_rows(rows, fmt):
        width = max(len(r["analysis"]) for r in rows) if rows else 8
        click.echo(f"{'analysis':<{width}}  {'subgroup':<22} {'measure':<7} {'method':<6} studies")
        for r in rows:
            extra = []
            if r["not_estimable"]:
                extra.append(f"{r['not_estimable']} not estimable")
            if r["not_included"]:
                extra.append(f"{r['not_included']} not included")
            note = f"  ({', '.join(extra)})" if extra else ""
            name = r["analysis"] if r["subgroup"] == "(all)" else ""
            click.echo(
                f"{name:<{width}}  {r['subgroup']:<22} {r['measure']:<7} {r['method']:<6} "
                f"{r['studies']:>7}{note}"
            )


def project_problems(project: Project) -> list:
    """Every problem of the extractions, then of the specs (which need the vocabulary)."""
    project.require()
    problems = validate_extractions(project.extractions_dir)
    if problems:
        return problems
    data = load_extractions(project.extractions_dir)
    problems = validate_specs(project.analyses_dir, data.vocabulary)
    if problems:
        return problems
    return check_specs_against(load_specs(project.analyses_dir, data.vocabulary), data)


@click.command()
@pass_project
def validate(project: Project) -> None:
    """Check every extraction file and analysis spec; exit 0 only when all are clean.

    Prints every problem, one line each (file:row: field: message).

    \b
    Example:
      metaall validate
    """
    with reading(project.extractions_dir):  # every check and count on one snapshot
        problems = project_problems(project)
        data, specs = project.load() if not problems else (None, None)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        raise SystemExit(1)
    counts = f"{len(data.studies)} studies, {len(data.effects)} effects, {len(specs)} analyses"
    click.echo(f"ok: {counts}")


@click.command("methods")
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@model_options
@pass_project
def methods_(project: Project, analysis, subgroup, data_file, **options) -> None:
    """Methods paragraph (with references) and results sentences of ANALYSIS for a
    manuscript, written from the same result as its tables and figures.

    \b
    Examples:
      metaall methods relapse
      metaall methods relapse --subgroup mrd_neg --method bayes
    """
    from metaall.reports.methods_text import methods_text

    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    click.echo(methods_text(result), nl=False)


SOF_FORMATS = ("text", "markdown", "csv", "html", "docx")


@click.command("sof")
@click.argument("outcomes", nargs=-1, metavar="[ANALYSIS[:SUBGROUP]]...")
@click.option("--format", "fmt", type=click.Choice(SOF_FORMATS), default="text", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the table to FILE (needed for docx).",
)
@pass_project
def sof(project: Project, outcomes, fmt: str, output: Path | None) -> None:
    """GRADE summary-of-findings table: one row per outcome (every analysis by default;
    ANALYSIS:SUBGROUP for one subgroup) with participants, relative effect, risks per
    1000 and the certainty of the evidence, suggested from the data (ROBINS-I, I²,
    optimal information size, Egger with >= 10 studies) or set in grade.yaml.

    \b
    Examples:
      metaall sof
      metaall sof relapse:mrd_neg relapse os --format docx -o sof.docx
    """
    from metaall.analysis.summary import findings
    from metaall.reports.sof import sof_table

    table = sof_table(usage_errors(lambda: findings(project, outcomes)))
    emit_table(table, fmt, output)
