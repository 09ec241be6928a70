"""Serialise records for pipelines and manuscripts: JSON, CSV and Markdown tables.

* JSON is exact: every string as it is in the data.
* CSV is opened in spreadsheets, which run a cell starting with ``=``, ``+``, ``-`` or
  ``@`` (or a tab or carriage return before one) as a formula (CSV injection,
  CWE-1236): such *text* cells get a leading ``'``, as OWASP's "CSV Injection" page
  advises, so ``=HYPERLINK(...)`` shows as text; numbers are written as numbers.
* Markdown tables escape the characters Markdown or HTML would interpret (``<``,
  ``>``, ``&`` as entities; backslash, backtick, ``*``, ``_``, ``[``, ``]``, ``|``,
  ``~`` with a backslash), so a ``<script>`` label renders as the text it is.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence

FORMATS = ("text", "json", "csv", "markdown")


def to_json(document) -> str:
    """Strict JSON (NaN is never written: records already use null)."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _columns(rows: Sequence[dict]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value) -> str:
    """A CSV cell a spreadsheet shows as text: a text cell that a spreadsheet would run
    as a formula gets a leading ``'``; numbers and other text are unchanged."""
    if isinstance(value, str):  # the common case first: a table has 10⁶ cells
        return "'" + value if value.startswith(FORMULA_START) else value
    return _cell(value)


def to_csv(rows: Sequence[dict], columns: Iterable[str] | None = None) -> str:
    """RFC 4180 CSV with a header; full precision for numbers; blanks for missing;
    text that a spreadsheet would run as a formula neutralised (module docstring)."""
    columns = list(columns or _columns(rows))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # csv quotes a cell holding the line terminator "\n" but not a lone "\r"
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for cells in ([spreadsheet_text(c) for c in columns], *_table(rows, columns)):
        (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
    return out.getvalue()


def _table(rows: Sequence[dict], columns: list[str]):
    for row in rows:
        yield [spreadsheet_text(row.get(col)) for col in columns]


_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MARKDOWN = re.compile(r"[<>&\\`*_\[\]|~]")


def markdown_text(value) -> str:
    """Text that Markdown and HTML show literally, on one line."""
    text = " ".join(_cell(value).splitlines())
    return _MARKDOWN.sub(lambda m: _ENTITIES.get(m.group(), "\\" + m.group()), text)


def to_markdown(rows: Sequence[dict], columns: Iterable[str] | None = None, digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table; numbers rounded to ``digits`` significant digits."""
    columns = list(columns or _columns(rows))

    def show(value) -> str:
        if isinstance(value, float):
            return f"{value:.{digits}g}"
        return markdown_text(value)

    head = " | ".join(markdown_text(col) for col in columns)
    lines = [f"| {head} |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(show(row.get(col)) for col in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def report_files(stem: str, text: str, record, rows: Sequence[dict]) -> dict[str, bytes]:
    """One report as the files ``run`` writes: ``stem``.txt (``text``), .json
    (``record``), .csv and .md (``rows``)."""
    return {
        f"{stem}.txt": text.encode(),
        f"{stem}.json": to_json(record).encode(),
        f"{stem}.csv": to_csv(rows).encode(),
        f"{stem}.md": to_markdown(rows).encode(),
    }
