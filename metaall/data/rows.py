"""Typed cells and the rules every effect row obeys, shared by all loaders.

:class:`RowReader` turns one CSV record's cells into typed values, recording each
problem as a :class:`DataError` located at file, row and field (a cell that failed is
not reported again by the cross-field rules); :func:`check_numbers` applies the rules
an effect's numbers must satisfy (events within totals, lower < HR < upper, p-values
and rates in range). ``extractions/effects.csv`` and ad-hoc ``--data`` files both use
them, so a row is valid or not whichever way it comes in.
"""

from __future__ import annotations

import math
import re

from metaall.data import timepoints
from metaall.data.csvfile import Record
from metaall.data.errors import DataError
from metaall.data.model import COUNT_FIELDS, Effect, Vocabulary

INTEGER = re.compile(r"[+-]?[0-9]+")
MAX_DIGITS = 15  # whole numbers up to 15 digits are exact in the float64 engine
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class RowReader:
    """Typed access to one record's cells; problems go to ``errors``, and a cell that
    failed is remembered so that cross-field rules do not report it twice."""

    def __init__(self, path: str, record: Record, errors: list[DataError]) -> None:
        self.path = path
        self.record = record
        self.errors = errors
        self.failed: set[str] = set()

    def fail(self, name: str, message: str) -> None:
        if name not in self.failed:
            self.failed.add(name)
            self.errors.append(DataError(self.path, self.record.line, name, message))

    def ok(self, *names: str) -> bool:
        return not self.failed.intersection(names)

    def text(self, name: str, required: bool = False) -> str:
        value = self.record.cells[name]
        if required and not value:
            self.fail(name, "required, but empty")
        return value

    def tag(self, name: str, vocabulary: Vocabulary) -> str:
        value = self.text(name, required=True)
        if value and not vocabulary.has(name, value):
            self.fail(name, unknown_tag(name, value, vocabulary))
        return value

    def choice(self, name: str, allowed: tuple[str, ...], required: bool = False) -> str:
        """A cell that must be one of ``allowed`` (blank allowed unless ``required``)."""
        value = self.text(name, required)
        if value and value not in allowed:
            self.fail(name, f"'{value}' is not one of: {', '.join(allowed)}")
        return value

    def pattern(self, name: str, rule: re.Pattern[str], expected: str) -> str:
        """A cell that is blank or matches ``rule`` (``expected`` says what it wants)."""
        value = self.text(name)
        if value and not rule.fullmatch(value):
            self.fail(name, f"expected {expected}, got '{value}'")
        return value

    def timepoint(self, name: str) -> str:
        """A time point in its canonical spelling (see :mod:`metaall.data.timepoints`);
        blank when the source gives none."""
        value = self.text(name)
        if not value:
            return ""
        try:
            return timepoints.normalise(value)
        except ValueError as exc:
            self.fail(name, str(exc))
            return value

    def integer(self, name: str) -> int | None:
        value = self.record.cells[name]
        if not value:
            return None
        if not INTEGER.fullmatch(value):
            self.fail(name, f"expected a whole number, got '{value}'")
            return None
        if len(value.lstrip("+-").lstrip("0")) > MAX_DIGITS:
            shown = value if len(value) <= 24 else f"{value[:20]}... ({len(value)} characters)"
            wanted = f"a whole number of at most {MAX_DIGITS} digits"
            self.fail(name, f"expected {wanted}, got '{shown}'")
            return None
        return int(value)

    def number(self, name: str) -> float | None:
        value = self.record.cells[name]
        if not value:
            return None
        if not DECIMAL.fullmatch(value):
            self.fail(name, _not_a_number(value))
            return None
        number = float(value)
        if not math.isfinite(number):
            self.fail(name, f"expected a finite number, got '{value}'")
            return None
        return number


def unknown_tag(name: str, value: str, vocabulary: Vocabulary) -> str:
    allowed = vocabulary.allowed(name)
    if not allowed:
        return f"unknown tag '{value}' (vocabulary.csv defines no {name} tags)"
    return f"unknown tag '{value}'; allowed: {', '.join(allowed)} (see vocabulary.csv)"


def _not_a_number(value: str) -> str:
    if value[:1] in "<>≤≥":
        return f"expected a number, got '{value}'; leave it blank and quote '{value}' in note"
    if re.fullmatch(r"[+-]?[0-9]+,[0-9]+", value):
        return f"expected a number, got '{value}'; use '.' as the decimal separator"
    return f"expected a number, got '{value}'"


def _counts(row: RowReader, effect: Effect) -> None:
    values = {name: getattr(effect, name) for name in COUNT_FIELDS}
    if not row.ok(*COUNT_FIELDS) or all(value is None for value in values.values()):
        return
    missing = [name for name, value in values.items() if value is None]
    if missing:
        row.fail(missing[0], "events_t, n_t, events_c and n_c go together: fill all four")
        return
    for events, total in (("events_t", "n_t"), ("events_c", "n_c")):
        if values[total] <= 0:
            row.fail(total, f"group size must be positive, got {values[total]}")
        elif values[events] < 0:
            row.fail(events, f"events must not be negative, got {values[events]}")
        elif values[events] > values[total]:
            row.fail(events, f"{values[events]} events exceed {total} = {values[total]}")


def _hazard_ratio(row: RowReader, effect: Effect) -> None:
    hr, lower, upper = effect.hr, effect.hr_lower, effect.hr_upper
    for name in ("hr", "hr_lower", "hr_upper"):
        value = getattr(effect, name)
        if value is not None and value <= 0:
            row.fail(name, f"a hazard ratio must be positive, got {value:g}")
    if not row.ok("hr", "hr_lower", "hr_upper"):
        return
    if (lower is None) != (upper is None):
        row.fail("hr_upper" if upper is None else "hr_lower", "give both CI limits or neither")
    elif lower is not None and hr is None:
        row.fail("hr", "a CI needs its hazard ratio")
    elif lower is not None and upper is not None and hr is not None and not lower < hr < upper:
        row.fail("hr", f"expected hr_lower < hr < hr_upper, got {lower:g}, {hr:g}, {upper:g}")
    elif hr is not None and lower is None and effect.p_value is None and row.ok("p_value"):
        row.fail("hr", "a hazard ratio needs hr_lower and hr_upper, or a p_value")
    if row.record.cells["ci_level"] and lower is None and row.ok("ci_level"):
        row.fail("ci_level", "ci_level given without hr_lower and hr_upper")


def _ranges(row: RowReader, effect: Effect) -> None:
    if effect.p_value is not None and not 0 < effect.p_value <= 1:
        row.fail("p_value", f"a p-value must be in (0, 1], got {effect.p_value:g}")
    if not 0 < effect.ci_level < 1:
        row.fail("ci_level", f"ci_level must be in (0, 1), e.g. 0.95, got {effect.ci_level:g}")
    for name in ("rate_t", "rate_c"):
        value = getattr(effect, name)
        if value is not None and not 0 <= value <= 100:
            row.fail(name, f"a rate is a percentage in [0, 100], got {value:g}")
    numbers = (*COUNT_FIELDS, "hr", "p_value", "rate_t", "rate_c")
    if row.ok(*numbers) and all(getattr(effect, name) is None for name in numbers):
        row.fail("events_t", "no numbers: fill counts, an hr, a p_value or rate_t/rate_c")


def check_numbers(row: RowReader, effect: Effect) -> None:
    """Every rule on an effect's numbers: complete, consistent 2×2 counts; a hazard
    ratio inside its CI (or with a p-value); p-values, CI levels and rates in range."""
    _counts(row, effect)
    _hazard_ratio(row, effect)
    _ranges(row, effect)
