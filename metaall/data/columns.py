"""A CSV column's cells as one float array, checked all at once.

The fast path of the typed cells :class:`~metaall.data.rows.RowReader` reads one by
one: a cell that is blank (NaN) or plainly a number is converted here; any other cell
is marked *suspect*, and the row reader decides it (and words the error), so the rules
for what a number is live in one place (:mod:`metaall.data.rows`).
"""

from __future__ import annotations

import math
import re

import numpy as np

from metaall.data.rows import DECIMAL, MAX_DIGITS

_PLAIN_INTEGER = re.compile(f"[0-9]{{1,{MAX_DIGITS}}}")
_INTEGER_BYTES = b"0123456789,"
_DECIMAL_BYTES = b"0123456789,.eE+-"


def parse_numbers(cells: list[str], integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """``cells`` as float64 (NaN where blank or suspect), and the mask of suspect cells.

    Whole numbers are plain when they are unsigned digits below 10**MAX_DIGITS
    (:data:`~metaall.data.rows.MAX_DIGITS` significant digits, exact in float64); decimals when
    they match :data:`~metaall.data.rows.DECIMAL` and are finite. Within the
    characters ``0-9 . e E + -``, Python's ``float`` accepts exactly the strings
    DECIMAL matches, so the common case costs one byte scan and one conversion.
    """
    allowed = _INTEGER_BYTES if integer else _DECIMAL_BYTES
    joined = ",".join(cells).encode("utf-8", "replace")
    if not joined.translate(None, allowed):
        try:
            values = _floats(cells)
        except ValueError:
            pass  # e.g. '1.2.3': decided cell by cell below
        else:  # unsigned digits below 10**15 have at most MAX_DIGITS significant digits
            return values, np.isinf(values) | (integer & (values >= 10.0**MAX_DIGITS))
    plain = _PLAIN_INTEGER if integer else DECIMAL
    ok = [not cell or plain.fullmatch(cell) is not None for cell in cells]
    values = np.array(
        [float(c) if c and good else math.nan for c, good in zip(cells, ok, strict=True)]
    )
    return values, ~np.array(ok, dtype=bool) | np.isinf(values)


def _floats(cells: list[str]) -> np.ndarray:
    if "" in cells:
        return np.array([float(c) if c else math.nan for c in cells])
    return np.fromiter(map(float, cells), float, len(cells))
