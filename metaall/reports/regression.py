"""The meta-regression of an analysis as a table and a record.

The coefficient table lists, per coefficient (the intercept first, then a slope per
numeric moderator and a contrast per level of a categorical one against its
reference), the estimate, its standard error, the z (t under Hartung-Knapp)
statistic, the p-value and the confidence interval, with the permutation p-value when
a permutation test was run; under it the omnibus test of the moderators (QM), the
residual heterogeneity (QE, tau², I²) and the share of tau² the moderators explain
(R², metafor's pseudo-R²). Numbers are on the analysis scale, as metafor prints them.
The text report, the Markdown, CSV, Word and HTML tables and the JSON record are all
drawn from these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall import methods
from metaall.analysis import AnalysisResult
from metaall.formatting import fmt_num, fmt_p


@dataclass(frozen=True)
class CoefficientTable:
    """The coefficient table of a meta-regression: a title, column headings, one row
    of text cells per coefficient, and the lines under it."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...]

    def lines(self) -> list[str]:
        """The table as lines of text for a renderer without columns (CSV notes)."""
        out = [self.title]
        for cells in self.rows:
            pairs = [
                f"{name} {cell}" for name, cell in zip(self.columns[1:], cells[1:], strict=True)
            ]
            out.append(f"{cells[0]}: " + ", ".join(pairs))
        return [*out, *self.notes]

    def records(self) -> list[dict[str, str]]:
        """The rows keyed by column heading (Markdown)."""
        return [dict(zip(self.columns, cells, strict=True)) for cells in self.rows]


def _scale(result: AnalysisResult) -> str:
    measure = result.measure
    if measure.scale == "identity":
        return ""
    return f"; coefficients on the {measure.scale} scale of {measure.name}"


def _statistic(fit) -> str:
    return f"t({int(fit.df)})" if fit.test == "knha" else "z"


def _permutation_words(permutation) -> str:
    if permutation.exact:
        return f"exact, all {permutation.iterations} distinct permutations"
    seed = f", seed {permutation.seed}" if permutation.seed is not None else ""
    return f"{permutation.iterations} random permutations{seed}"


def regression_table(result: AnalysisResult) -> CoefficientTable | None:
    """The coefficient table of ``result``'s meta-regression (None without one)."""
    reg = result.regression
    if reg is None:
        return None
    method = methods.method(result.spec.method)
    title = f"Meta-regression on {reg.coding}"
    if reg.fit is None:
        return CoefficientTable(title, (), (), (f"Not fitted: {reg.problem}",))
    fit = reg.fit
    title += f" ({method.model}; k = {int(fit.k)}{_scale(result)})"
    level = f"{fit.level:.0%} CI"
    columns = ["Coefficient", "Estimate", "SE", _statistic(fit), "p", level]
    perm = reg.permutation
    if perm is not None:
        columns.append("Permutation p")
    rows = []
    for j, name in enumerate(fit.names):
        cells = [
            name,
            fmt_num(fit.beta[j], 4),
            fmt_num(fit.se[j], 4),
            fmt_num(fit.zval[j], 2),
            fmt_p(fit.pval[j]).removeprefix("p ").removeprefix("= "),
            f"[{fmt_num(fit.ci_lb[j], 4)}, {fmt_num(fit.ci_ub[j], 4)}]",
        ]
        if perm is not None:
            cells.append(fmt_p(np.atleast_1d(perm.pval)[j]).removeprefix("p ").removeprefix("= "))
        rows.append(tuple(cells))
    if fit.test == "knha":
        qm = f"F({fit.QM_df}, {int(fit.df)}) = {fit.QM:.2f}"
    else:
        qm = f"QM = {fit.QM:.2f}, df = {fit.QM_df}"
    notes = [f"Test of moderators: {qm}, {fmt_p(fit.QM_pval)}"]
    if perm is not None:
        notes[0] += f"; permutation {fmt_p(perm.QM_pval)} ({_permutation_words(perm)})"
    residual = (
        f"Residual heterogeneity: QE = {fit.QE:.2f}, df = {int(fit.QE_df)}, {fmt_p(fit.QE_pval)}"
    )
    if method.random_effects:
        residual += f"; tau² = {fit.tau2:.4f}; I² = {fit.I2:.1f}%; R² = {fit.R2:.1f}%"
    else:
        residual += f"; I² = {fit.I2:.1f}%; R² (adjusted, weighted) = {fit.R2:.1f}%"
    notes.append(residual)
    return CoefficientTable(title, tuple(columns), tuple(rows), tuple(notes))


def _clean(value):
    value = float(value)
    return value if np.isfinite(value) else None


def regression_record(result: AnalysisResult) -> dict | None:
    """The meta-regression as a JSON-ready record (every number at full precision)."""
    reg = result.regression
    if reg is None:
        return None
    record = {
        "moderators": [
            {
                "name": m.name,
                "type": "numeric" if m.numeric else "categorical",
                "levels": list(m.levels),
                "reference": m.reference or None,
                "columns": list(m.columns),
            }
            for m in reg.moderators
        ],
        "studies": list(reg.studies),
        "fitted": reg.fit is not None,
        "problem": reg.problem or None,
    }
    fit = reg.fit
    if fit is None:
        return record
    perm = reg.permutation
    perm_p = None if perm is None else np.atleast_1d(perm.pval)
    record["coefficients"] = [
        {
            "name": name,
            "beta": _clean(fit.beta[j]),
            "se": _clean(fit.se[j]),
            "zval": _clean(fit.zval[j]),
            "pval": _clean(fit.pval[j]),
            "ci_lb": _clean(fit.ci_lb[j]),
            "ci_ub": _clean(fit.ci_ub[j]),
            "permutation_pval": None if perm_p is None else _clean(perm_p[j]),
        }
        for j, name in enumerate(fit.names)
    ]
    for name in ("QM", "QM_pval", "QE", "QE_pval", "tau2", "I2", "H2", "R2"):
        record[name] = _clean(getattr(fit, name))
    record |= {
        "QM_df": int(fit.QM_df),
        "QE_df": int(fit.QE_df),
        "k": int(fit.k),
        "method": fit.method,
        "test": fit.test,
        "level": fit.level,
        "scale": result.measure.scale,
    }
    record["permutation"] = (
        None
        if perm is None
        else {
            "QM_pval": _clean(perm.QM_pval),
            "iterations": int(perm.iterations),
            "exact": bool(perm.exact),
            "seed": perm.seed,
            "failed": int(perm.failed),
        }
    )
    return record
