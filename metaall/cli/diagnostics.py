"""``metaall bias`` and ``metaall sensitivity``: small-study effects and the robustness
of a pooled result (leave-one-out, cumulative, influence, overlapping cohorts)."""

from __future__ import annotations

import click

from metaall.analysis.bias import small_study_tests
from metaall.analysis.run import OverlapAlternative, overlap_alternatives, with_options
from metaall.analysis.sensitivity import cumulative, influence_of, leave_one_out
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
    subgroup_option,
    usage_errors,
)
from metaall.formatting import fmt_num, fmt_p
from metaall.reports import diagnostics as rep
from metaall.reports.records import clean
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
    """
    kind = chosen(options, "leave_one_out", "cumulative", "influence", "overlap")
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
    records = [_overlap_record(run) for run in alternatives]
    if not emit_rows(records, fmt):
        labels = {sid: study.label for sid, study in data.studies.items()}
        click.echo(_overlap_text(alternatives, records, labels), nl=False)


def _overlap_record(run: OverlapAlternative) -> dict:
    """One row of the table: which study pooled from which group, and the pooled result."""
    result, fit = run.result, run.result.overall.fit
    ok = fit is not None
    return {
        "overlap_group": run.group or None,
        "pooled": run.pooled or None,
        "instead_of": run.instead_of or None,
        "k": fit.k if ok else 0,
        "measure": result.spec.measure,
        "effect": clean(result.display(fit.estimate)) if ok else None,
        "ci_lb": clean(result.display(fit.ci_lb)) if ok else None,
        "ci_ub": clean(result.display(fit.ci_ub)) if ok else None,
        "pval": clean(fit.pval) if ok else None,
        "tau2": clean(fit.tau2) if ok else None,
        "I2": clean(fit.I2) if ok else None,
    }


def _overlap_text(runs: list[OverlapAlternative], records: list[dict], labels: dict) -> str:
    result = runs[0].result
    spec, fit = result.spec, result.overall.fit
    scope = f", subgroup {result.restricted_to}" if result.restricted_to else ""
    model = f" ({fit.model})" if fit is not None else ""
    lines = [f"Overlapping cohorts: analysis '{spec.name}'{scope}{model}"]
    names = ["as specified"]
    names += [f"{r.group}: {labels[r.pooled]} for {labels[r.instead_of]}" for r in runs[1:]]
    width = max(len(n) for n in names)
    head = f"{spec.measure} [{spec.level:.0%} CI]"
    lines.append(f"{'Pooled':<{width}}  {'k':>3}  {head:<20} {'p':<12} {'tau²':>7} {'I²':>6}")
    for name, rec in zip(names, records, strict=True):
        if rec["effect"] is None:
            lines.append(f"{name:<{width}}  {rec['k']:>3}  no study can give an estimate")
            continue
        ci = f"{fmt_num(rec['effect'])} [{fmt_num(rec['ci_lb'])}, {fmt_num(rec['ci_ub'])}]"
        tau2, i2 = fmt_num(rec["tau2"], 4), fmt_num(rec["I2"], 1)
        p = fmt_p(rec["pval"])
        lines.append(f"{name:<{width}}  {rec['k']:>3}  {ci:<20} {p:<12} {tau2:>7} {i2:>5}%")
    if len(runs) == 1:
        lines.append("No overlap group has two studies in this analysis.")
    else:
        rule = spec.overlap
        lines.append(f"Each row swaps one group's study; the spec pools by its rule: {rule}.")
    return "\n".join(lines) + "\n"
