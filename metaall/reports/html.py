"""Tables as HTML, escaped: the result and summary-of-findings tables of the report."""

from __future__ import annotations

from html import escape

from metaall.reports.regression import CoefficientTable
from metaall.reports.table import ResultTable


def table_html(table: ResultTable, caption: str = "") -> str:
    """``table`` as an HTML ``<table>`` (headings and notes span the row); every text
    escaped, so labels from the extractions cannot inject markup."""
    width = len(table.columns)
    head = "".join(
        f"<th>{escape(name)}{'<br>' + escape(unit) if unit else ''}</th>"
        for name, unit in zip(table.columns, table.units, strict=True)
    )
    body = []
    for line in table.lines:
        if line.kind in ("heading", "note"):
            tag = "th" if line.kind == "heading" else "td"
            body.append(
                f'<tr class="{line.kind}"><{tag} colspan="{width}">'
                f"{escape(line.cells[0])}</{tag}></tr>"
            )
        else:
            cells = "".join(f"<td>{escape(cell)}</td>" for cell in line.cells)
            body.append(f'<tr class="{line.kind}">{cells}</tr>')
    notes = "".join(f"<li>{escape(note)}</li>" for note in table.footnotes)
    caption_html = f"<caption>{escape(caption)}</caption>" if caption else ""
    regression = "" if table.regression is None else coefficients_html(table.regression)
    return (
        f"<table>{caption_html}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"</table>" + (f'<ul class="footnotes">{notes}</ul>' if notes else "") + regression
    )


def coefficients_html(table: CoefficientTable) -> str:
    """A meta-regression's coefficient table and its tests, escaped."""
    head = "".join(f"<th>{escape(name)}</th>" for name in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"
        for cells in table.rows
    )
    grid = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>" if table.rows else ""
    notes = "".join(f"<li>{escape(note)}</li>" for note in table.notes)
    return (
        f'<table class="regression"><caption>{escape(table.title)}</caption>{grid}</table>'
        f'<ul class="footnotes">{notes}</ul>'
    )
