"""The result table as a Word document (python-docx, imported only here).

A real Word table, as a journal's production office expects: one row per study and
pooled line, subgroup headings and statistics lines spanning the columns, pooled rows
in bold, the footnotes below, in the document's own Normal style; a meta-regression's
coefficient table follows as a second table. Byte-identical on
every run.
"""

from __future__ import annotations

import io
import zipfile

from metaall.reports.regression import CoefficientTable
from metaall.reports.table import ResultTable


def table_docx(table: ResultTable) -> bytes:
    """``table`` as the bytes of a .docx file (deterministic: fixed core properties)."""
    import datetime

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document()
    props = document.core_properties
    epoch = datetime.datetime(2000, 1, 1)
    props.author = props.last_modified_by = "metaall"
    props.created = props.modified = epoch
    props.revision = 1
    document.add_heading(table.title, level=2)
    document.add_paragraph(table.scope)
    width = len(table.columns)
    grid = document.add_table(rows=1, cols=width)
    grid.style = "Table Grid"
    for cell, name, unit in zip(grid.rows[0].cells, table.columns, table.units, strict=True):
        cell.text = f"{name}\n{unit}" if unit else name
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for line in table.lines:
        cells = grid.add_row().cells
        if line.kind in ("heading", "note"):
            merged = cells[0].merge(cells[-1])
            merged.text = line.cells[0]
            run = merged.paragraphs[0].runs[0]
            run.bold = line.kind == "heading"
            run.font.size = Pt(9) if line.kind == "note" else None
            continue
        for j, (cell, text) in enumerate(zip(cells, line.cells, strict=True)):
            cell.text = text
            paragraph = cell.paragraphs[0]
            if j > 0:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if line.kind == "pooled" and paragraph.runs:
                paragraph.runs[0].bold = True
    for note in table.footnotes:
        document.add_paragraph(note).runs[0].font.size = Pt(9)
    if table.regression is not None:
        _coefficients(document, table.regression)
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_dates(buffer.getvalue())


def _coefficients(document, table: CoefficientTable) -> None:
    """A meta-regression's coefficient table after the result table, then its tests."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document.add_paragraph(table.title).runs[0].bold = True
    if table.rows:
        grid = document.add_table(rows=1, cols=len(table.columns))
        grid.style = "Table Grid"
        for cell, name in zip(grid.rows[0].cells, table.columns, strict=True):
            cell.text = name
            cell.paragraphs[0].runs[0].bold = True
        for cells in table.rows:
            for j, (cell, text) in enumerate(zip(grid.add_row().cells, cells, strict=True)):
                cell.text = text
                if j > 0:
                    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for note in table.notes:
        document.add_paragraph(note).runs[0].font.size = Pt(9)


def _fixed_dates(data: bytes) -> bytes:
    """The zip archive ``data`` with every member dated 1980-01-01 (Word ignores the
    dates; without this each save differs), members and compression unchanged."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
