"""Small-study tests and sensitivity analyses as records (rows) and text."""

from __future__ import annotations

import math
from collections.abc import Sequence

from metaall import methods
from metaall.analysis import AnalysisResult, StudyRow
from metaall.analysis.bias import SmallStudyReport
from metaall.analysis.run import OverlapAlternative
from metaall.analysis.sensitivity import ModelRun
from metaall.diagnostics import InfluenceResult
from metaall.formatting import fmt_num, fmt_p
from metaall.models import PooledResult
from metaall.reports.records import clean
from metaall.reports.table import effect_text


def effect_name(result: AnalysisResult) -> str:
    """What a table's effect column holds: the measure, or proportions in percent."""
    return "Proportion (%)" if result.proportion else result.spec.measure


def bias_rows(report: SmallStudyReport) -> list[dict]:
    """One row per test: statistic, p-value, k and the caution for k < 10."""
    rows = []
    for name, test, what in (
        ("Egger", report.egger, "regression of yi on SE (weights 1/vi), t test of the slope"),
        ("Peters", report.peters, "regression of log OR on 1/N, t test of the slope"),
        ("Harbord", report.harbord, "score regression Z/√V on √V, t test of the intercept"),
    ):
        if test is not None:
            rows.append(
                {
                    "test": name,
                    "statistic": "t",
                    "value": clean(test.tval),
                    "df": test.df,
                    "pval": clean(test.pval),
                    "coefficient": clean(test.bias),
                    "k": test.k,
                    "method": what,
                    "warning": test.warning,
                }
            )
    if report.begg is not None:
        b = report.begg
        rows.append(
            {
                "test": "Begg",
                "statistic": "Kendall tau",
                "value": clean(b.tau),
                "df": None,
                "pval": clean(b.pval),
                "coefficient": None,
                "k": b.k,
                "method": "rank correlation of standardised effects and variances"
                + (" (exact)" if b.exact else ""),
                "warning": b.warning,
            }
        )
    return rows


def trimfill_record(report: SmallStudyReport) -> dict | None:
    tf = report.trimfill
    if tf is None:
        return None
    return {
        "k0": tf.k0,
        "side": tf.side,
        "estimator": tf.estimator,
        "method": tf.method,
        "estimate": clean(tf.estimate),
        "se": clean(tf.se),
        "ci_lb": clean(tf.ci_lb),
        "ci_ub": clean(tf.ci_ub),
        "pval": clean(tf.pval),
        "tau2": clean(tf.tau2),
    }


def bias_text(result: AnalysisResult, report: SmallStudyReport) -> str:
    spec = result.spec
    scope = f" (subgroup {result.restricted_to})" if result.restricted_to else ""
    out = [f"Small-study effects: {spec.title or spec.name}{scope}, k = {report.k}", ""]
    for note in report.notes:
        out.append(f"Caution: {note}")
    if report.notes:
        out.append("")
    for row in bias_rows(report):
        df = f"({row['df']})" if row["df"] is not None else ""
        coef = f", coefficient {row['coefficient']:.3f}" if row["coefficient"] is not None else ""
        out.append(
            f"{row['test']:<8} {row['statistic']}{df} = {row['value']:.3f}, {fmt_p(row['pval'])}"
            f"{coef}   [{row['method']}]"
        )
    tf = report.trimfill
    if tf is not None:
        fit = result.overall.fit
        out += [
            "",
            f"Trim-and-fill ({tf.estimator}, {tf.method}): {tf.k0} studies imputed on the "
            f"{tf.side} side",
            f"  observed: {effect_text(result, fit.estimate, fit.ci_lb, fit.ci_ub)}"
            f"  ->  adjusted: {effect_text(result, tf.estimate, tf.ci_lb, tf.ci_ub)}",
        ]
    return "\n".join(out) + "\n"


def refit_rows(
    result: AnalysisResult, rows: Sequence[StudyRow], refits: PooledResult, kind: str
) -> list[dict]:
    """Rows of a leave-one-out (``kind='omitted'``) or cumulative (``'added'``) table,
    effects on the display scale."""
    out = []
    for i, row in enumerate(rows):
        pick = {name: float(getattr(refits, name)[i]) for name in ("estimate", "ci_lb", "ci_ub")}
        out.append(
            {
                kind: row.label,
                "year": row.study.year,
                "k": int(refits.k[i]),
                "effect": clean(result.display(pick["estimate"])),
                "ci_lb": clean(result.display(pick["ci_lb"])),
                "ci_ub": clean(result.display(pick["ci_ub"])),
                "pval": clean(refits.pval[i]),
                "tau2": clean(refits.tau2[i]),
                "I2": clean(refits.I2[i]),
            }
        )
    return out


def refit_text(result: AnalysisResult, rows: list[dict], kind: str) -> str:
    spec = result.spec
    head = "Omitting" if kind == "omitted" else "Adding (cumulative)"
    width = max([len(str(r[kind])) for r in rows] + [len(head)])
    out = [
        f"{head:<{width}}  {'k':>3}  {effect_name(result)} [{spec.level:.0%} CI]"
        f"{'':>12}{'p':>10}  {'tau²':>8}  {'I²':>6}"
    ]
    for r in rows:
        effect = f"{r['effect']:.2f} [{r['ci_lb']:.2f}, {r['ci_ub']:.2f}]"
        tau2 = f"{r['tau2']:.4f}" if r["tau2"] is not None else "n/a"
        out.append(
            f"{r[kind]!s:<{width}}  {r['k']:>3}  {effect:<24}{fmt_p(r['pval']):>12}  "
            f"{tau2:>8}  {r['I2']:>5.1f}%"
        )
    fit = result.overall.fit
    everything = effect_text(result, fit.estimate, fit.ci_lb, fit.ci_ub)
    out.append(f"{'All studies':<{width}}  {fit.k:>3}  {everything}")
    return "\n".join(out) + "\n"


INFLUENTIAL_RULE = (
    "* influential by metafor's rule: |DFFITS| > 3√(1/(k-1)), P(χ²₁ < Cook's D) > 0.5, "
    "hat > 3/k or |DFBETAS| > 1"
)


def influence_rows(rows: list[StudyRow], inf: InfluenceResult) -> list[dict]:
    names = ("rstudent", "dffits", "cooks_d", "cov_r", "tau2_del", "QE_del", "hat", "weight")
    return [
        {
            "study": row.label,
            **{name: clean(getattr(inf, name)[i]) for name in names},
            "dfbetas": clean(inf.dfbetas[i]),
            "influential": bool(inf.influential[i]),
        }
        for i, row in enumerate(rows)
    ]


def influence_text(records: list[dict]) -> str:
    width = max(len(r["study"]) for r in records)
    cols = ("rstudent", "dffits", "cooks_d", "cov_r", "tau2_del", "QE_del", "hat", "weight")
    out = [f"{'Study':<{width}}  " + "  ".join(f"{c:>9}" for c in cols) + "  influential"]
    for r in records:
        cells = "  ".join(
            f"{r[c]:>9.3f}" if r[c] is not None and math.isfinite(r[c]) else f"{'n/a':>9}"
            for c in cols
        )
        out.append(f"{r['study']:<{width}}  {cells}  {'*' if r['influential'] else ''}")
    out.append(INFLUENTIAL_RULE)
    return "\n".join(out) + "\n"


def overlap_rows(runs: list[OverlapAlternative]) -> list[dict]:
    """One row per alternative of ``metaall sensitivity --overlap``."""
    return [_overlap_record(run) for run in runs]


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


def overlap_text(runs: list[OverlapAlternative], records: list[dict], labels: dict) -> str:
    result = runs[0].result
    spec, fit = result.spec, result.overall.fit
    scope = f", subgroup {result.restricted_to}" if result.restricted_to else ""
    model = f" ({fit.model})" if fit is not None else ""
    lines = [f"Overlapping cohorts: analysis '{spec.name}'{scope}{model}"]
    names = ["as specified"]
    names += [f"{r.group}: {labels[r.pooled]} for {labels[r.instead_of]}" for r in runs[1:]]
    width = max(len(n) for n in names)
    head = f"{effect_name(result)} [{spec.level:.0%} CI]"
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


def model_rows(runs: Sequence[ModelRun]) -> list[dict]:
    """One row per model of ``metaall sensitivity --models`` (display scale)."""
    rows = []
    for run in runs:
        group = run.result.overall if run.result is not None else None
        fit = group.fit if group is not None and group.estimable else None
        bayes = fit is not None and methods.method(fit.method).family == methods.BAYES
        tested = not run.spec.single_arm  # a rate has no null to test against
        row = {
            "model": run.label,
            "method": run.spec.method,
            "measure": run.spec.measure,
            "k": int(fit.k) if fit is not None else None,
            "effect": None,
            "ci_lb": None,
            "ci_ub": None,
            "interval": methods.method(run.spec.method).interval,
            "pval": None,
            "prob_below_null": None,
            "tau2": None,
            "I2": None,
            "note": run.problem or run.caution or ("" if fit is not None else "no estimate"),
        }
        if fit is not None:
            show = run.result.display
            row.update(
                effect=clean(show(fit.estimate)),
                ci_lb=clean(show(fit.ci_lb)),
                ci_ub=clean(show(fit.ci_ub)),
                pval=clean(fit.pval) if tested and not bayes else None,
                prob_below_null=clean(fit.prob_mu_below(0.0)) if tested and bayes else None,
                tau2=clean(fit.tau2),
                I2=clean(fit.I2),
            )
        rows.append(row)
    return rows


def model_text(runs: Sequence[ModelRun], rows: list[dict]) -> str:
    """The comparison of models as a text table, with each model's reference."""
    first = runs[0].result
    spec = runs[0].spec
    scope = f", subgroup {first.restricted_to}" if first and first.restricted_to else ""
    width = max(len(r["model"]) for r in rows)
    out = [f"The same evidence under each model: analysis '{spec.name}'{scope}", ""]
    out.append(
        f"{'Model':<{width}}  {'':>3}  {'k':>3}  {'effect [95% interval]':<22}  {'p':<14}  tau²"
    )
    for row in rows:
        if row["effect"] is None:
            out.append(f"{row['model']:<{width}}  {row['measure']:>3}  {'':>3}  {row['note']}")
            continue
        effect = f"{fmt_num(row['effect'])} [{fmt_num(row['ci_lb'])}, {fmt_num(row['ci_ub'])}]"
        if row["prob_below_null"] is not None:
            p = f"P(<null)={row['prob_below_null']:.3f}"
        else:
            p = "—" if row["pval"] is None else fmt_p(row["pval"])
        out.append(
            f"{row['model']:<{width}}  {row['measure']:>3}  {row['k']:>3}  {effect:<22}  "
            f"{p:<14}  {fmt_num(row['tau2'], 4)}"
        )
    out += [f"Caution: {run.caution}." for run in runs if run.caution and run.result]
    pooled = {methods.COUNTS: "; GLMMs and Peto pool the odds ratio"}
    pooled[methods.PROPORTIONS] = "; the GLMM pools the logit of the proportion"
    out += ["", f"CrI for the Bayesian model{pooled.get(spec.data_kind, '')}. Sources:"]
    seen = []
    for run in runs:
        entry = methods.method(run.spec.method)
        if entry.name not in seen:
            seen.append(entry.name)
            out.append(f"  {entry.name}: {entry.reference}")
    return "\n".join(out) + "\n"
