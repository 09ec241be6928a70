"""Rows of one kind of evidence that certainly pass :func:`metaall.data.rows.check_numbers`,
found for a whole column table at once.

The screen is deliberately narrower than the rules: each kind's usual complete rows
(all four counts; events and n; an HR with its CI, or with a p-value; means and SDs of
both arms; a generic effect with its SE or CI), in range. Every other row goes to the
row validator, which accepts it or words the error, so there is one rule set and its
messages; a row the screen clears is one the rules accept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from metaall import methods
from metaall.data.model import (
    COUNT_FIELDS,
    EFFECT_SCALES,
    GENERIC_FIELDS,
    HR_FIELDS,
    KIND_FIELDS,
    MEAN_FIELDS,
    MEDIAN_FIELDS,
    PROPORTION_FIELDS,
)

Column = Callable[[str], np.ndarray]
"""A numeric column by name: float64, NaN where the cell is blank."""

_NUMBERS = (*COUNT_FIELDS, *HR_FIELDS, *PROPORTION_FIELDS, *MEAN_FIELDS, *MEDIAN_FIELDS)
_NUMBERS += GENERIC_FIELDS[:-1]


def _given(column: Column, *names: str) -> np.ndarray:
    return np.logical_and.reduce([~np.isnan(column(name)) for name in names])


def _blank(column: Column, *names: str) -> np.ndarray:
    return np.logical_and.reduce([np.isnan(column(name)) for name in names])


def _events(events: np.ndarray, n: np.ndarray) -> np.ndarray:
    return (n > 0) & (events >= 0) & (events <= n)


def _counts(column: Column) -> np.ndarray:
    c = {name: column(name) for name in COUNT_FIELDS}
    both = _events(c["events_t"], c["n_t"]) & _events(c["events_c"], c["n_c"])
    return _given(column, *COUNT_FIELDS) & both


def _proportions(column: Column) -> np.ndarray:
    return _given(column, *PROPORTION_FIELDS) & _events(column("events"), column("n"))


def _hazard_ratios(column: Column) -> np.ndarray:
    hr, lower, upper = column("hr"), column("hr_lower"), column("hr_upper")
    with_ci = (lower > 0) & (lower < hr) & (hr < upper)
    with_p = (
        (hr > 0) & _blank(column, "hr_lower", "hr_upper", "ci_level") & _given(column, "p_value")
    )
    return with_ci | with_p


def _means(column: Column) -> np.ndarray:
    arms = [
        (column(f"n_{arm}") >= 2) & (column(f"sd_{arm}") >= 0) & _given(column, f"mean_{arm}")
        for arm in ("t", "c")
    ]
    return arms[0] & arms[1] & _blank(column, *MEDIAN_FIELDS)


def _generic(column: Column, scale: np.ndarray) -> np.ndarray:
    est, se, lower, upper = (column(name) for name in GENERIC_FIELDS[:-1])
    with_se = (se > 0) & _given(column, "effect") & _blank(column, "effect_lower", "effect_upper")
    with_se &= _blank(column, "ci_level")
    inside = np.isnan(est) | ((lower < est) & (est < upper))
    with_ci = (lower < upper) & inside & _blank(column, "se")
    positive = (scale != "ratio") | (
        ((est > 0) | np.isnan(est))
        & ((lower > 0) | np.isnan(lower))
        & ((upper > 0) | np.isnan(upper))
    )
    return (with_se | with_ci) & positive & np.isin(scale, EFFECT_SCALES)


def certainly_valid(kind: str, column: Column, scale: np.ndarray) -> np.ndarray:
    """Rows of a ``kind`` file (a key of :data:`~metaall.data.model.KIND_FIELDS`) that
    :func:`~metaall.data.rows.check_numbers` accepts: complete evidence of that kind,
    no cell of any other kind's columns, a p-value in (0, 1] and a CI level in (0, 1)
    where given, an ``effect_scale`` only on generic effects (``scale``: its cells)."""
    own = set(KIND_FIELDS[kind]) | ({"n_t", "n_c"} if kind == methods.MEANS else set())
    own |= {"p_value", "ci_level"}
    others = [name for name in _NUMBERS if name not in own]
    p, level = column("p_value"), column("ci_level")
    ranges = (np.isnan(p) | ((p > 0) & (p <= 1))) & (np.isnan(level) | ((level > 0) & (level < 1)))
    interval = kind == methods.HAZARD_RATIOS or kind == methods.GENERIC
    if not interval:
        ranges &= np.isnan(level)  # a CI level belongs to an interval
    if kind == methods.GENERIC:
        own_rows = _generic(column, scale)
    else:
        own_rows = {
            methods.COUNTS: _counts,
            methods.PROPORTIONS: _proportions,
            methods.HAZARD_RATIOS: _hazard_ratios,
            methods.MEANS: _means,
        }[kind](column) & (scale == "")
    return own_rows & ranges & _blank(column, *others)
