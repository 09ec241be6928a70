"""The GRADE summary-of-findings table: one outcome per row.

Columns as GRADEpro and the Cochrane Handbook (v6.4 §14.1.5) lay them out:
participants (studies), relative effect (95% CI), the assumed risk with the comparator
and the corresponding risk with the intervention per 1000 (with its CI), the risk
difference per 1000, and the certainty of the evidence (⊕⊕◯◯ Low) with footnotes giving
each domain rated down and why. The numbers come from the analysis results
(:mod:`metaall.analysis.absolute`), the certainty from :mod:`metaall.analysis.certainty`.
The table is a :class:`~metaall.reports.table.ResultTable`, so it renders as text,
Markdown, CSV, Word and HTML like the result tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from metaall import methods
from metaall.analysis import AnalysisResult, GroupResult
from metaall.analysis.certainty import DOMAINS
from metaall.analysis.summary import Finding
from metaall.formatting import fmt_num
from metaall.reports.table import Line, ResultTable

DOMAIN_NAMES = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}
COLUMNS = (
    "Outcome",
    "Participants (studies)",
    "Relative effect (95% CI)",
    "Risk with comparator",
    "Risk with intervention (95% CI)",
    "Risk difference (95% CI)",
    "Certainty of the evidence (GRADE)",
)


def _participants(group: GroupResult) -> str:
    rows = [r for r in group.rows if r.estimable]
    studies = f"{len(rows)} {'study' if len(rows) == 1 else 'studies'}"
    if not rows or any(r.effect.size is None for r in rows):
        return f"({studies})"
    total = sum(r.effect.size for r in rows)
    return f"{total} ({studies})"


def _relative(result: AnalysisResult, group: GroupResult) -> str:
    fit = group.fit
    d = result.display
    interval = methods.method(fit.method).interval
    text = f"{result.spec.measure} {fmt_num(d(fit.estimate))} ({fmt_num(d(fit.ci_lb))} to "
    text += f"{fmt_num(d(fit.ci_ub))})"
    return text if interval == "CI" else f"{text} ({interval})"


def _risks(group: GroupResult) -> tuple[str, str, str]:
    if not group.absolute:
        return "not estimable", "not estimable", "not estimable"
    a = group.absolute[0]
    k = a.per_thousand
    when = f" by {a.timepoint}" if a.timepoint else ""
    comparator = f"{k(a.control_risk)} per 1000{when}"
    risk = f"{k(a.risk[0])} per 1000 ({k(a.risk[1])} to {k(a.risk[2])})"
    lo, hi = sorted((k(a.difference[1]), k(a.difference[2])))
    difference = f"{_more(k(a.difference[0]))} per 1000 (from {_more(lo)} to {_more(hi)})"
    return comparator, risk, difference


def _more(count: int) -> str:
    """A difference per 1000 in GRADEpro's words: "393 fewer", "20 more"."""
    return f"{-count} fewer" if count < 0 else f"{count} more"


def sof_table(findings: Sequence[Finding], title: str = "Summary of findings") -> ResultTable:
    """The summary-of-findings table of ``findings`` (footnotes number the reasons)."""
    lines, footnotes = [], []
    for finding in findings:
        marks = []
        for rating in finding.certainty.ratings:
            if rating.level == "not serious" and rating.domain not in ("imprecision",):
                continue
            footnotes.append(
                f"{len(footnotes) + 1}. {finding.outcome}, {DOMAIN_NAMES[rating.domain]}: "
                f"{rating.level}"
                + (" (reviewer)" if rating.by_reviewer else " (suggested from the data)")
                + f": {rating.reason}."
            )
            marks.append(str(len(footnotes)))
        level = finding.certainty.level
        certainty = f"{finding.certainty.symbols} {level.capitalize()}"
        if marks:
            certainty += f" ({', '.join(marks)})"
        comparator, risk, difference = _risks(finding.group)
        cells = (
            finding.outcome,
            _participants(finding.group),
            _relative(finding.result, finding.group),
            comparator,
            risk,
            difference,
            certainty,
        )
        lines.append(Line("study", cells))
    footnotes.append(
        "Certainty starts high and is rated down one level per serious and two per very "
        "serious concern in: " + ", ".join(DOMAIN_NAMES[d] for d in DOMAINS) + " (GRADE; "
        "ROBINS-I for non-randomised studies, Schünemann et al. 2019, J Clin Epidemiol 111:105)."
    )
    return ResultTable(
        title=title,
        scope="",
        columns=COLUMNS,
        units=("",) * len(COLUMNS),
        lines=tuple(lines),
        footnotes=tuple(footnotes),
    )
