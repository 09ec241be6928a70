"""Read a plain CSV file as a reviewer's spreadsheet saves it, or say exactly why not.

Accepted: UTF-8 with or without a byte-order mark, LF or CRLF line ends, blank lines
(skipped), cells padded with spaces (trimmed), columns in any order, trailing empty
cells. Rejected with a :class:`DataError` naming the row and the column: bytes that are
not UTF-8, a file saved with ``;`` or tab as the delimiter, missing, unknown, duplicate
or unnamed columns, text beyond the last column, broken quoting.

Row numbers are the ones a spreadsheet shows: the header is row 1 and a blank line
still counts as a row.

Text must be printable: a control character (C0 or C1, DEL; e.g. ESC, BEL, NUL, a
line break inside a cell) is refused with ``file:row: column: control character``,
since it would reach terminals (escape sequences) and SVG/XML figures (invalid
documents); a tab is allowed inside the free-text columns (:data:`FREE_TEXT`).

Input is bounded: only regular files are read (not a device such as /dev/zero, a
FIFO or a directory), of at most :data:`MAX_BYTES` bytes and :data:`MAX_ROWS` data
rows (:data:`MAX_DATA_ROWS` for the column-wise reading of ``metaall pool --data``),
and the file is decoded and parsed as a stream (never held in memory whole), a chunk
of rows at a time (:func:`read_chunks`).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import os
import re
import stat
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, zip_longest
from os import PathLike

from metaall.data.errors import DataError

_OTHER_DELIMITERS = {";": "';'", "\t": "tab"}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
MAX_BYTES = 64 * 2**20
"""Largest CSV file read (64 MiB)."""
MAX_ROWS = 50_000
"""Most data rows read from one CSV file as one object per row: the files of
``extractions/``, and ``--data`` files of the commands that draw or list every study
(a larger file is refused with a clear error)."""
MAX_DATA_ROWS = 2_000_000
"""Most data rows of a ``metaall pool --data`` file, which is read column by column
(10⁶ rows pool in a few seconds and a few hundred MB)."""
FREE_TEXT = frozenset({"note", "derivation", "reference", "description"})
"""Columns of free text, where a tab may stand inside a cell."""
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_OR_TAB = re.compile("[\x00-\x1f\x7f-\x9f]")
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")
"""A control character or an undecodable byte: the chunk is checked row by row."""
_SPACE = re.compile(r"\s")
CHUNK_ROWS = 2**14
"""Data rows handed on at a time by :func:`read_chunks`."""


@dataclass(frozen=True)
class Chunk:
    """Consecutive data rows column by column: their spreadsheet row numbers and, per
    column, the trimmed cells."""

    lines: list[int]
    cells: dict[str, list[str]]


@dataclass(frozen=True)
class Record:
    """One data row: its spreadsheet row number and its trimmed cells by column."""

    line: int
    cells: Mapping[str, str]


def control_character(cell: str, tab_allowed: bool = False) -> str | None:
    """Why ``cell`` holds a control character (C0, DEL, C1), or None."""
    found = (_CONTROL if tab_allowed else _CONTROL_OR_TAB).search(cell)
    if found is None:
        return None
    char = found.group()
    name = unicodedata.name(char, "") or _C0_NAMES.get(ord(char), "")
    shown = f"U+{ord(char):04X}" + (f" {name}" if name else "")
    return f"control character {shown} in text; remove it (only printable text is allowed)"


_C0_NAMES = {0x00: "NUL", 0x07: "BEL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC"}


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def open_regular(path: str) -> io.BufferedReader:
    """``path`` opened for reading in binary, if it is a regular file: a device such as
    /dev/zero, a FIFO (whose opening would block: it is opened non-blocking) or a
    folder raises a :class:`DataError`, before anything is read."""
    try:
        fd = os.open(path, _READ_FLAGS | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise DataError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise DataError(path, 0, "file", "not a regular file (a device, FIFO or folder)")
    return handle


def _open_text(path: str, max_rows: int) -> io.TextIOWrapper:
    """``path`` opened for streaming as UTF-8 text (undecodable bytes kept as lone
    surrogates, to be located later), after checking it is a regular file of at most
    :data:`MAX_BYTES` bytes and not UTF-16."""
    handle = open_regular(path)
    try:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_BYTES:
            raise DataError(path, 0, "file", _too_big(f"{size / 2**20:.0f} MiB", max_rows))
        head = handle.read(len(codecs.BOM_UTF8))
        if head.startswith(_UTF16_BOMS):
            raise DataError(path, 1, "encoding", "file is UTF-16; save it as CSV UTF-8")
        handle.seek(len(head) if head == codecs.BOM_UTF8 else 0)
        return io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
    except BaseException:
        handle.close()
        raise


def _too_big(size: str, max_rows: int) -> str:
    limits = f"{MAX_BYTES // 2**20} MiB and {max_rows:,} data rows"
    return f"file is too large ({size}); metaall reads CSV files of up to {limits}"


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
    if header[0].startswith(("[", "{")):
        raise DataError(path, line, "header", "the file holds JSON, not CSV; save it as CSV")
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if problem := _bad_byte(name) or control_character(name):
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


def read_chunks(
    path: str | PathLike[str],
    columns: Sequence[str],
    optional: Sequence[str] = (),
    free_text: Collection[str] = FREE_TEXT,
    max_rows: int | None = None,
) -> Iterator[Chunk]:
    """Read ``path`` as :func:`read_csv` does, yielding its non-blank data rows column by
    column, up to :data:`CHUNK_ROWS` rows at a time (parsed by the csv module in one
    call per chunk), so a large file is never held as one object per row.
    ``max_rows`` (default :data:`MAX_ROWS`) caps the data rows.

    Raises :class:`DataError` on the first problem of the text (encoding, control
    characters, quoting, columns, size) as soon as it is read.
    """
    where = str(path)
    limit = MAX_ROWS if max_rows is None else max_rows
    header: list[str] | None = None
    rows: list[list[str]] = []
    count = line = 0  # data rows and rows (blank ones too) read so far
    with _open_text(where, limit) as text:
        reader = csv.reader(text, strict=True)
        try:
            for row in reader:
                line += 1
                if "".join(row).strip():
                    header = [cell.strip() for cell in row]
                    _check_header(where, line, header, columns, optional)
                    break
            while header is not None:
                rows = []
                rows.extend(islice(reader, min(CHUNK_ROWS, limit - count + 1)))
                if not rows:
                    break
                room = (limit - count, limit)
                chunk = _chunk(where, header, line + 1, rows, optional, free_text, room)
                line += len(rows)
                count += len(chunk.lines)
                yield chunk
                rows = []
        except csv.Error as exc:
            if header is not None and rows:  # the rows parsed before the error come first
                _chunk(where, header, line + 1, rows, optional, free_text, (limit - count, limit))
            raise DataError(where, line + len(rows) + 1, "csv", f"malformed CSV: {exc}") from None
    if header is None:
        raise DataError(where, 1, "header", "file is empty; expected a header row")


def read_csv(
    path: str | PathLike[str],
    columns: Sequence[str],
    optional: Sequence[str] = (),
    free_text: Collection[str] = FREE_TEXT,
) -> list[Record]:
    """Read ``path``, whose header must hold ``columns`` and may hold ``optional`` ones
    (in any order); an optional column that is absent reads as empty cells; a tab is
    allowed inside cells of the ``free_text`` columns.

    Returns the non-blank data rows; raises :class:`DataError` on the first problem.
    """
    records: list[Record] = []
    for chunk in read_chunks(path, columns, optional, free_text):
        names = list(chunk.cells)
        for i, line in enumerate(chunk.lines):
            records.append(Record(line, {name: chunk.cells[name][i] for name in names}))
    return records


def _chunk(
    path: str,
    header: list[str],
    first: int,
    rows: list[list[str]],
    optional: Sequence[str],
    free_text: Collection[str],
    room: tuple[int, int],
) -> Chunk:
    """``rows`` (the first is spreadsheet row ``first``) as trimmed columns, blank rows
    left out, after the checks of :func:`_record`: done on the whole chunk at once, and
    row by row (for the exact error) only where a cell is suspect. ``room`` is (data
    rows still allowed, the file's limit): a row beyond it is an error."""
    text = ",".join(map(",".join, rows))
    spaced = _SPACE.search(text) is not None
    if spaced or not all(map(any, rows)):  # maybe blank rows: find them
        kept = [i for i, row in enumerate(rows) if "".join(row).strip()]
        lines, rows = [first + i for i in kept], [rows[i] for i in kept]
    else:
        lines = list(range(first, first + len(rows)))
    left, limit = room
    if len(rows) > left:
        _check(path, header, lines[:left], rows[:left], optional, free_text, text)
        raise DataError(path, lines[left], "file", _too_big(f"over {limit:,} rows", limit))
    by_position = _check(path, header, lines, rows, optional, free_text, text)
    trim = (lambda column: list(map(str.strip, column))) if spaced else list
    blank = [""] * len(rows)
    cells = {
        name: trim(by_position[position]) if position < len(by_position) else blank
        for position, name in enumerate(header)
        if name
    }
    for name in optional:
        cells.setdefault(name, blank)
    return Chunk(lines, cells)


def _check(
    path: str,
    header: list[str],
    lines: list[int],
    rows: list[list[str]],
    optional: Sequence[str],
    free_text: Collection[str],
    text: str,
) -> list[tuple[str, ...]]:
    """The cells of ``rows`` by column position, once :func:`_record` finds no problem
    in them: asked row by row only when the chunk's ``text`` holds a suspect character
    or a row has text beyond the last column."""
    by_position = list(zip_longest(*rows, fillvalue=""))
    extra = any(cell.strip() for column in by_position[len(header) :] for cell in column)
    if extra or _SUSPECT.search(text):
        for line, row in zip(lines, rows, strict=True):
            _record(path, line, header, [cell.strip() for cell in row], optional, free_text)
    return by_position


def _record(
    path: str,
    line: int,
    header: list[str],
    cells: list[str],
    optional: Sequence[str] = (),
    free_text: Collection[str] = FREE_TEXT,
) -> Record:
    for position, cell in enumerate(cells[len(header) :], start=len(header) + 1):
        if cell:
            problem = (
                _bad_byte(cell)
                or control_character(cell)
                or f"text beyond the last column: '{cell}'"
            )
            raise DataError(path, line, f"column {position}", problem)
    values: dict[str, str] = {}
    for position, (name, cell) in enumerate(zip(header, cells, strict=False), start=1):
        if problem := _bad_byte(cell) or control_character(cell, name in free_text):
            raise DataError(path, line, name or f"column {position}", problem)
        if name:
            values[name] = cell
    for name in [*header[len(cells) :], *optional]:
        if name:
            values.setdefault(name, "")
    return Record(line, values)
