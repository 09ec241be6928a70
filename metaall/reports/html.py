"""Tables as HTML, escaped: the result and summary-of-findings tables of the report."""

from __future__ import annotations

from html import escape

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
    return (
        f"<table>{caption_html}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"</table>" + (f'<ul class="footnotes">{notes}</ul>' if notes else "")
    )
