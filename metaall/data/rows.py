"""Typed cells and the rules every effect row obeys, shared by all loaders.

:class:`RowReader` turns one CSV record's cells into typed values, recording each
problem as a :class:`DataError` located at file, row and field (a cell that failed is
not reported again by the cross-field rules); :func:`check_numbers` applies the rules
an effect's numbers must satisfy (one kind of evidence per row; events within totals;
lower < HR < upper; SDs not negative and groups of at least 2 for an SD; medians
between their quartiles and range; p-values and rates in range).
``extractions/effects.csv`` and ad-hoc ``--data`` files both use them, so a row is
valid or not whichever way it comes in.
"""

from __future__ import annotations

import math
import re

from metaall.data import timepoints
from metaall.data.csvfile import Record
from metaall.data.errors import DataError
from metaall.data.model import (
    COUNT_FIELDS,
    EFFECT_SCALES,
    GENERIC_FIELDS,
    KIND_FIELDS,
    MEAN_FIELDS,
    MEDIAN_FIELDS,
    PROPORTION_FIELDS,
    Effect,
    Vocabulary,
)
from metaall.methods import GENERIC, KIND_WORDS, MEANS

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


def kind_cells(row: RowReader) -> dict:
    """The typed cells of the newer kinds of evidence (proportions, means, medians,
    generic effects), as :class:`Effect` keyword arguments."""
    cells: dict = {name: row.integer(name) for name in PROPORTION_FIELDS}
    cells |= {name: row.number(name) for name in (*MEAN_FIELDS, *MEDIAN_FIELDS)}
    cells |= {name: row.number(name) for name in GENERIC_FIELDS[:-1]}
    cells["effect_scale"] = row.choice("effect_scale", EFFECT_SCALES)
    return cells


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


def _one_kind(row: RowReader, effect: Effect) -> None:
    """A row holds one kind of evidence (and its p-value or rates)."""
    kinds = effect.kinds
    if len(kinds) < 2:
        return
    first, second = kinds[0], kinds[1]
    field = next(name for name in KIND_FIELDS[second] if effect.filled(name))
    row.fail(
        field,
        f"a row holds one kind of evidence: this one has {KIND_WORDS[first]} and "
        f"{KIND_WORDS[second]}; put each in its own row",
    )


def _counts(row: RowReader, effect: Effect) -> None:
    values = {name: getattr(effect, name) for name in COUNT_FIELDS}
    if not row.ok(*COUNT_FIELDS) or all(value is None for value in values.values()):
        return
    if effect.kind == MEANS:
        return  # n_t and n_c are the arm sizes of the means (see _means)
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


def _proportion(row: RowReader, effect: Effect) -> None:
    events, n = effect.events, effect.n
    if not row.ok(*PROPORTION_FIELDS) or (events is None and n is None):
        return
    if events is None or n is None:
        missing = "events" if events is None else "n"
        row.fail(missing, "a proportion needs events and n: fill both")
    elif n <= 0:
        row.fail("n", f"group size must be positive, got {n}")
    elif events < 0:
        row.fail("events", f"events must not be negative, got {events}")
    elif events > n:
        row.fail("events", f"{events} events exceed n = {n}")


def _arm_means(row: RowReader, effect: Effect, arm: str) -> None:
    """One arm of a means row: its size, and a mean with its SD or a median with its
    quartiles and/or range (in order)."""
    size = f"n_{arm}"
    mean, sd = f"mean_{arm}", f"sd_{arm}"
    median, q1, q3, low, high = (f"{name}_{arm}" for name in ("median", "q1", "q3", "min", "max"))
    value = {name: getattr(effect, name) for name in (size, mean, sd, median, q1, q3, low, high)}
    if not row.ok(*value):
        return
    n = value[size]
    if n is None:
        row.fail(size, "required for means: the patients the arm's mean and SD describe")
    elif n < 2:
        row.fail(size, f"an SD needs at least 2 patients, got {n}")
    if value[sd] is not None and value[sd] < 0:
        row.fail(sd, f"a standard deviation must not be negative, got {value[sd]:g}")
    summaries = (median, q1, q3, low, high)
    if value[mean] is not None or value[sd] is not None:
        if value[mean] is None or value[sd] is None:
            row.fail(mean if value[mean] is None else sd, "give the mean and its SD together")
        elif any(value[name] is not None for name in summaries):
            extra = next(name for name in summaries if value[name] is not None)
            row.fail(extra, f"give {mean} and {sd}, or the median with its quartiles or range")
        return
    if value[median] is None:
        given = next((name for name in summaries if value[name] is not None), None)
        row.fail(
            given or mean,
            f"{arm} arm: give {mean} and {sd}, or {median} with {q1}/{q3} and/or {low}/{high}",
        )
        return
    _median_order(row, value, arm)


def _median_order(row: RowReader, value: dict, arm: str) -> None:
    """The quartiles and the range of a median: each pair complete, in order."""
    median, q1, q3, low, high = (f"{name}_{arm}" for name in ("median", "q1", "q3", "min", "max"))
    m = value[median]
    for a, b, words in ((q1, q3, "quartiles"), (low, high, "minimum and maximum")):
        if (value[a] is None) != (value[b] is None):
            row.fail(b if value[b] is None else a, f"give both {words} ({a}, {b}) or neither")
            return
    if value[q1] is None and value[low] is None:
        row.fail(q1, f"a median needs its quartiles ({q1}, {q3}) and/or its range ({low}, {high})")
        return
    if value[q1] is not None and not (value[q1] <= m <= value[q3] and value[q1] < value[q3]):
        row.fail(median, f"expected {q1} <= {median} <= {q3} and {q1} < {q3}")
    elif value[low] is not None and not (
        value[low] <= m <= value[high] and value[low] < value[high]
    ):
        row.fail(median, f"expected {low} <= {median} <= {high} and {low} < {high}")
    elif (
        value[q1] is not None
        and value[low] is not None
        and not (value[low] <= value[q1] and value[q3] <= value[high])
    ):
        row.fail(q1, f"expected {low} <= {q1} and {q3} <= {high}")


def _means(row: RowReader, effect: Effect) -> None:
    if effect.kind != MEANS or len(effect.kinds) > 1:
        return
    for arm in ("t", "c"):
        _arm_means(row, effect, arm)


def _generic(row: RowReader, effect: Effect) -> None:
    if not effect.filled(*GENERIC_FIELDS) or not row.ok(*GENERIC_FIELDS):
        return
    est, se, lower, upper = effect.effect, effect.se, effect.effect_lower, effect.effect_upper
    scale = effect.effect_scale
    if scale not in EFFECT_SCALES:
        row.fail("effect_scale", f"required for a generic effect: {' or '.join(EFFECT_SCALES)}")
        return
    limits = ("effect", "effect_lower", "effect_upper")
    if scale == "ratio" and not _positive(row, effect, limits, "ratio"):
        return
    if se is not None and se <= 0:
        row.fail("se", f"a standard error must be positive, got {se:g}")
    elif (lower is None) != (upper is None):
        row.fail(
            "effect_upper" if upper is None else "effect_lower", "give both CI limits or neither"
        )
    elif se is not None and lower is not None:
        row.fail("se", "give the SE or the CI (effect_lower, effect_upper), not both")
    elif se is None and lower is None:
        row.fail("se", "a generic effect needs its se, or effect_lower and effect_upper")
    elif se is not None and est is None:
        row.fail("effect", "an SE needs its effect")
    elif lower is not None and not lower < upper:
        row.fail("effect_lower", f"expected effect_lower < effect_upper, got {lower:g}, {upper:g}")
    elif lower is not None and est is not None and not lower < est < upper:
        row.fail(
            "effect",
            f"expected effect_lower < effect < effect_upper, got {lower:g}, {est:g}, {upper:g}",
        )


def _positive(row: RowReader, effect: Effect, names: tuple[str, ...], what: str) -> bool:
    """Fail each of ``names`` that holds a value ≤ 0 (a ratio or its CI limit); whether
    all of them are fine."""
    for name in names:
        value = getattr(effect, name)
        if value is not None and value <= 0:
            row.fail(name, f"a {what} must be positive, got {value:g}")
    return row.ok(*names)


def _hazard_ratio(row: RowReader, effect: Effect) -> None:
    hr, lower, upper = effect.hr, effect.hr_lower, effect.hr_upper
    if not _positive(row, effect, ("hr", "hr_lower", "hr_upper"), "hazard ratio"):
        return
    if (lower is None) != (upper is None):
        row.fail("hr_upper" if upper is None else "hr_lower", "give both CI limits or neither")
    elif lower is not None and hr is None:
        row.fail("hr", "a CI needs its hazard ratio")
    elif lower is not None and upper is not None and hr is not None and not lower < hr < upper:
        row.fail("hr", f"expected hr_lower < hr < hr_upper, got {lower:g}, {hr:g}, {upper:g}")
    elif hr is not None and lower is None and effect.p_value is None and row.ok("p_value"):
        row.fail("hr", "a hazard ratio needs hr_lower and hr_upper, or a p_value")
    interval = lower is not None or effect.effect_lower is not None
    if row.record.cells["ci_level"] and not interval and row.ok("ci_level"):
        limits = "hr_lower and hr_upper"
        if effect.kind == GENERIC:
            limits = "effect_lower and effect_upper"
        row.fail("ci_level", f"ci_level given without {limits}")


def _ranges(row: RowReader, effect: Effect) -> None:
    if effect.p_value is not None and not 0 < effect.p_value <= 1:
        row.fail("p_value", f"a p-value must be in (0, 1], got {effect.p_value:g}")
    if not 0 < effect.ci_level < 1:
        row.fail("ci_level", f"ci_level must be in (0, 1), e.g. 0.95, got {effect.ci_level:g}")
    for name in ("rate_t", "rate_c"):
        value = getattr(effect, name)
        if value is not None and not 0 <= value <= 100:
            row.fail(name, f"a rate is a percentage in [0, 100], got {value:g}")
    numbers = (*COUNT_FIELDS, "hr", "p_value", "rate_t", "rate_c", *PROPORTION_FIELDS)
    numbers += (*MEAN_FIELDS, *MEDIAN_FIELDS, *GENERIC_FIELDS)
    if row.ok(*numbers) and not effect.filled(*numbers):
        row.fail(
            "events_t",
            "no numbers: fill counts, an hr, a proportion (events, n), means, a generic "
            "effect, a p_value or rate_t/rate_c",
        )


def check_numbers(row: RowReader, effect: Effect) -> None:
    """Every rule on an effect's numbers: one kind of evidence; complete, consistent
    2×2 counts or single-arm proportions; means with non-negative SDs of groups of at
    least 2, or medians inside their quartiles and range; a hazard ratio or generic
    effect inside its CI (or with a p-value, or an SE); p-values, CI levels and rates
    in range."""
    _one_kind(row, effect)
    _counts(row, effect)
    _proportion(row, effect)
    _means(row, effect)
    _generic(row, effect)
    _hazard_ratio(row, effect)
    _ranges(row, effect)
