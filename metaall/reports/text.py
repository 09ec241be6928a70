"""The human-readable report of ``metaall pool``, laid out as RevMan's analysis output.

The result table (:mod:`metaall.reports.table`) in fixed-width columns, its
footnotes, the studies that are not estimable or not included (with the reason and
the source row) and a method block with everything needed to reproduce the numbers.
A label longer than the label column goes on a line of its own: nothing is cut.
"""

from __future__ import annotations

from metaall.analysis import AnalysisResult
from metaall.analysis.result import estimable_rows
from metaall.reports.records import method_details
from metaall.reports.regression import CoefficientTable
from metaall.reports.table import (
    MAX_STUDY_LINES,
    Line,
    ResultTable,
    absolute_lines,
    omitted_text,
    result_table,
)

MAX_LABEL_WIDTH = 60
MIN_ARM_WIDTH = 11


class _Layout:
    """Column widths of one table."""

    def __init__(self, table: ResultTable) -> None:
        rows = [line.cells for line in table.lines if line.kind in ("study", "pooled")]
        labels = [cells[0] for cells in rows]
        self.label = min(MAX_LABEL_WIDTH, max(len(text) for text in [*labels, "Study"]))
        arm_texts = [c for cells in rows for c in cells[1:3]] + list(table.columns[1:3])
        self.arm = max(MIN_ARM_WIDTH, *(len(text) for text in arm_texts))
        self.weight = 7

    def row(self, cells: tuple[str, ...]) -> list[str]:
        label, arm_t, arm_c, weight, effect = cells
        numbers = f"{arm_t:>{self.arm}} {arm_c:>{self.arm}} {weight:>{self.weight}}   {effect}"
        if len(label) > self.label:
            return [label, f"{'':<{self.label}} {numbers}".rstrip()]
        return [f"{label:<{self.label}} {numbers}".rstrip()]

    def header(self, table: ResultTable) -> list[str]:
        head = self.row(table.columns)[-1]
        lines = [head]
        if any(table.units):
            lines.append(self.row(table.units)[-1])
        return [*lines, "-" * len(head)]


def _line(layout: _Layout, line: Line) -> list[str]:
    if line.kind == "heading":
        return [line.cells[0]]
    if line.kind in ("note", "omitted"):
        return [f"  {line.cells[0]}"]
    return layout.row(line.cells)


def _body(table: ResultTable) -> list[str]:
    layout = _Layout(table)
    out = layout.header(table)
    previous = None
    for line in table.lines:
        # a blank line before each subgroup after the first, and before the total
        if previous is not None and line.kind != "note" and previous.kind in ("note", "pooled"):
            out.append("")
        out += _line(layout, line)
        previous = line
    return out + [f"  {note}" for note in table.footnotes]


def coefficient_lines(table: CoefficientTable) -> list[str]:
    """A meta-regression's coefficient table in aligned columns, then its tests."""
    out = ["", table.title]
    if table.rows:
        grid = [table.columns, *table.rows]
        widths = [max(len(cells[j]) for cells in grid) for j in range(len(table.columns))]
        for i, cells in enumerate(grid):
            first = f"{cells[0]:<{widths[0]}}"
            rest = [f"{cell:>{w}}" for cell, w in zip(cells[1:], widths[1:], strict=True)]
            out.append("  " + "  ".join([first, *rest]))
            if i == 0:
                out.append("  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    return out + [f"  {note}" for note in table.notes]


def left_out(result: AnalysisResult) -> list[str]:
    """The studies shown without an estimate (the first :data:`MAX_STUDY_LINES`), and
    those the analysis could not use."""
    out = []
    not_estimable = estimable_rows(result.overall.rows, estimable=False)
    if len(not_estimable):
        out += ["", "Not estimable (shown, weight 0):"]
        listed = not_estimable[:MAX_STUDY_LINES]
        out += [f"  {r.label} [{r.group}]: {r.note}" for r in listed]
        if len(not_estimable) > len(listed):
            out.append(f"  {omitted_text(len(not_estimable) - len(listed))}")
    if result.excluded:
        out += ["", "Not included in this analysis:"]
        for x in result.excluded:
            where = f"{x.effect.source}, {x.effect.location}, {x.effect.source_row}"
            out.append(f"  {x.study.label} [{x.effect.population}]: {x.reason} ({where})")
    return out


def render_text(result: AnalysisResult) -> str:
    """The full report of one analysis; a group of more than :data:`MAX_STUDY_LINES`
    studies lists only its first and last few (the other formats list every study)."""
    table = result_table(result, MAX_STUDY_LINES)
    out = [table.title, table.scope, "", *_body(table)]
    if table.regression is not None:
        out += coefficient_lines(table.regression)
    absolute = absolute_lines(result, result.overall)
    if absolute:
        out += ["", "Absolute effects (per 1000 patients; Altman 1998 for the NNT):"]
        out += [f"  {line}" for line in absolute]
    out += left_out(result)
    out += ["", "Method details:"]
    for key, value in method_details(result).items():
        if isinstance(value, dict):
            value = value["rule"]
        if value is not None:
            out.append(f"  {key.replace('_', ' ')}: {value}")
    return "\n".join(out) + "\n"
