"""Serialise records for pipelines and manuscripts: JSON, CSV and Markdown tables."""

from __future__ import annotations

import csv
import io
import json
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


def to_csv(rows: Sequence[dict], columns: Iterable[str] | None = None) -> str:
    """RFC 4180 CSV with a header; full precision for numbers; blanks for missing."""
    columns = list(columns or _columns(rows))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in columns])
    return out.getvalue()


def to_markdown(rows: Sequence[dict], columns: Iterable[str] | None = None, digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table; numbers rounded to ``digits`` significant digits."""
    columns = list(columns or _columns(rows))

    def show(value) -> str:
        if isinstance(value, float):
            return f"{value:.{digits}g}"
        return _cell(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(show(row.get(col)) for col in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"
