"""The effect axis of forest-type plots: limits, ticks and positions.

Ratios are drawn on a log axis labelled in ratio units, with limits symmetric about the
line of no effect (1) as RevMan draws them (0.5-2, 0.2-5, 0.1-10, 0.01-100,
0.001-1000; 0.05-20 and 0.02-50 in between), so that both "favours" sides get the same
room; differences on a linear
axis symmetric about 0; proportions on a linear axis from 0 to 100% without a line of
no effect (:func:`percent_scale`). Sensitivity plots use limits that just cover their intervals
(:func:`covering_scale`). Whiskers beyond the limits end in an arrow
(:mod:`metaall.figures.panel`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# RevMan's symmetric ratio scales: upper limit -> ticks
RATIO_SCALES = {
    2.0: (0.5, 0.7, 1.0, 1.5, 2.0),
    5.0: (0.2, 0.5, 1.0, 2.0, 5.0),
    10.0: (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0),
    20.0: (0.05, 0.2, 1.0, 5.0, 20.0),
    50.0: (0.02, 0.1, 1.0, 10.0, 50.0),
    100.0: (0.01, 0.1, 1.0, 10.0, 100.0),
    1000.0: (0.001, 0.1, 1.0, 10.0, 1000.0),
}
NICE = (1.0, 2.0, 5.0)
SPARE = 1.05
MAX_TICKS = 7


@dataclass(frozen=True)
class Scale:
    """An axis from ``lo`` to ``hi`` (display units: ratios, not logs) with ``ticks`` and
    the value of no effect ``null``."""

    log: bool
    lo: float
    hi: float
    ticks: tuple[float, ...]
    null_line: bool = True
    """Draw the vertical line of no effect (not for proportions, which have none)."""

    @property
    def null(self) -> float:
        return 1.0 if self.log else 0.0

    def _t(self, x: float) -> float:
        return math.log(x) if self.log else x

    def fraction(self, x: float) -> float:
        """Position of ``x`` along the axis (0 at ``lo``, 1 at ``hi``)."""
        return (self._t(x) - self._t(self.lo)) / (self._t(self.hi) - self._t(self.lo))


def tick_label(x: float) -> str:
    """A tick value as printed: shortest form, a true minus sign."""
    return f"{x:g}".replace("-", "\u2212")


def _finite(values: Iterable[float], log: bool) -> list[float]:
    return [v for v in values if math.isfinite(v) and (v > 0 or not log)]


def _nice_up(x: float) -> float:
    """The smallest 1, 2 or 5 × 10^k that is ≥ x (x > 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    return next((m * power for m in (*NICE, 10.0) if m * power >= x * (1 - 1e-9)), 10 * power)


def _nice_down(x: float) -> float:
    """The largest 1, 2 or 5 × 10^k that is ≤ x (x > 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (5.0, 2.0, 1.0) if m * power <= x * (1 + 1e-9))


PERCENT_TICKS = (0.0, 25.0, 50.0, 75.0, 100.0)


def percent_scale() -> Scale:
    """The linear 0-100% axis of proportions, without a line of no effect."""
    return Scale(False, 0.0, 100.0, PERCENT_TICKS, null_line=False)


def symmetric_scale(values: Iterable[float], log: bool) -> Scale:
    """Limits symmetric about no effect that hold every value with 5% to spare (so a
    square is not cut by the axis end); the largest RevMan scale at most."""
    vals = _finite(values, log)
    if log:
        reach = max((abs(math.log(v)) for v in vals), default=0.0) * SPARE
        fits = (u for u in RATIO_SCALES if math.log(u) >= reach)
        upper = next(fits, max(RATIO_SCALES))
        return Scale(True, 1 / upper, upper, RATIO_SCALES[upper])
    upper = _nice_up(max((abs(v) * SPARE for v in vals), default=0.0) or 1.0)
    return Scale(False, -upper, upper, (-upper, -upper / 2, 0.0, upper / 2, upper))


def range_scale(values: Iterable[float], log: bool) -> Scale:
    """The narrowest 1-2-5 limits holding every value (not necessarily no effect), for
    axes such as a moderator's years or a bubble plot's effects."""
    vals = _finite(values, log)
    if not vals:
        return covering_scale([], log)
    if not log and max(vals) == min(vals):
        vals = [vals[0] - 0.5, vals[0] + 0.5]
    return covering_scale(vals, log, with_null=False)


def covering_scale(
    values: Iterable[float], log: bool, beyond_null: bool = False, with_null: bool = True
) -> Scale:
    """The narrowest 1-2-5 limits holding every value and (``with_null``) the line of
    no effect; ``beyond_null``: one step more where the line would be at an end (room
    for the "favours" label on that side)."""
    null = 1.0 if log else 0.0
    vals = [*_finite(values, log), *([null] if with_null else [])]
    if log:
        lo, hi = _nice_down(min(vals)), _nice_up(max(vals))
        if beyond_null and hi == null:
            hi = _nice_up(null * 1.01)
        if beyond_null and lo == null:
            lo = _nice_down(null * 0.99)
        candidates = [
            m * 10.0**p
            for p in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
            for m in NICE
        ]
        ticks = [t for t in candidates if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) > MAX_TICKS:
            ticks = [t for t in ticks if t in (lo, hi) or math.log10(t).is_integer()]
        return Scale(True, lo, hi, tuple(ticks))
    span = max(vals) - min(vals) or 1.0
    step = _nice_up(span / (MAX_TICKS - 2))
    lo, hi = math.floor(min(vals) / step) * step, math.ceil(max(vals) / step) * step
    if beyond_null:
        hi, lo = hi + step * (hi == null), lo - step * (lo == null)
    count = round((hi - lo) / step)
    return Scale(False, lo, hi, tuple(lo + i * step for i in range(count + 1)))
