"""Read a plain CSV file as a reviewer's spreadsheet saves it, or say exactly why not.

Accepted: UTF-8 with or without a byte-order mark, LF or CRLF line ends, blank lines
(skipped), cells padded with spaces (trimmed), columns in any order, trailing empty
cells. Rejected with a :class:`DataError` naming the row and the column: bytes that are
not UTF-8, a file saved with ``;`` or tab as the delimiter, missing, unknown, duplicate
or unnamed columns, text beyond the last column, broken quoting.

Row numbers are the ones a spreadsheet shows: the header is row 1 and a blank line
still counts as a row.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from metaall.data.errors import DataError

_OTHER_DELIMITERS = {";": "';'", "\t": "tab"}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Record:
    """One data row: its spreadsheet row number and its trimmed cells by column."""

    line: int
    cells: Mapping[str, str]


def _decode(path: str, raw: bytes) -> str:
    """UTF-8 text with undecodable bytes kept as lone surrogates, to be located later."""
    if raw.startswith(_UTF16_BOMS):
        raise DataError(path, 1, "encoding", "file is UTF-16; save it as CSV UTF-8")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    return raw.decode("utf-8", errors="surrogateescape")


def _bad_byte(cell: str) -> str | None:
    for char in cell:
        if 0xDC80 <= ord(char) <= 0xDCFF:
            return f"byte 0x{ord(char) - 0xDC00:02x} is not UTF-8; save the file as CSV UTF-8"
    return None


def _check_header(
    path: str, line: int, header: list[str], columns: Sequence[str], optional: Sequence[str]
) -> None:
    if len(header) == 1:
        for delimiter, name in _OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raise DataError(
                    path,
                    line,
                    "header",
                    f"cells are separated by {name}; save the file as comma-separated CSV",
                )
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if problem := _bad_byte(name):
            raise DataError(path, line, "header", problem)
        if not name:
            if any(header[position:]):
                raise DataError(path, line, f"column {position}", "column has no name")
            continue  # trailing empty header cells, as spreadsheets sometimes save
        # a name with ':' would make the field of 'path:row: field: message' ambiguous
        field, quoted = (name, "") if ":" not in name else (f"column {position}", f" '{name}'")
        if name in seen:
            raise DataError(path, line, field, f"duplicate column{quoted}")
        seen.add(name)
        if name not in columns and name not in optional:
            close = difflib.get_close_matches(name, [*columns, *optional], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DataError(path, line, field, f"unknown column{quoted}{hint}")
    for name in columns:
        if name not in seen:
            raise DataError(path, line, name, "missing column")


def read_csv(
    path: str | PathLike[str], columns: Sequence[str], optional: Sequence[str] = ()
) -> list[Record]:
    """Read ``path``, whose header must hold ``columns`` and may hold ``optional`` ones
    (in any order); an optional column that is absent reads as empty cells.

    Returns the non-blank data rows; raises :class:`DataError` on the first problem.
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(where, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    reader = csv.reader(io.StringIO(_decode(where, raw), newline=""), strict=True)
    header: list[str] | None = None
    records: list[Record] = []
    line = 0
    try:
        for line, row in enumerate(reader, start=1):
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if header is None:
                _check_header(where, line, cells, columns, optional)
                header = cells
                continue
            records.append(_record(where, line, header, cells, optional))
    except csv.Error as exc:
        raise DataError(where, line + 1, "csv", f"malformed CSV: {exc}") from None
    if header is None:
        raise DataError(where, 1, "header", "file is empty; expected a header row")
    return records


def _record(
    path: str, line: int, header: list[str], cells: list[str], optional: Sequence[str] = ()
) -> Record:
    for position, cell in enumerate(cells[len(header) :], start=len(header) + 1):
        if cell:
            problem = _bad_byte(cell) or f"text beyond the last column: '{cell}'"
            raise DataError(path, line, f"column {position}", problem)
    values: dict[str, str] = {}
    for name, cell in zip(header, cells, strict=False):
        if problem := _bad_byte(cell):
            raise DataError(path, line, name, problem)
        if name:
            values[name] = cell
    for name in [*header[len(cells) :], *optional]:
        if name:
            values.setdefault(name, "")
    return Record(line, values)
