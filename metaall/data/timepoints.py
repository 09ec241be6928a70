"""Time points of effects: when the events of a row were counted.

A time point is a duration from the start of follow-up (``2 years``, ``6 months``,
``100 days``), ``last follow-up`` (events to the end of each patient's follow-up, as
crude counts and Cox hazard ratios are), ``after induction`` (a response assessed
after induction therapy) or ``best response`` (the best response to a treatment such
as CAR-T, as the source counts it). A blank cell means the source does not say.

:func:`normalise` checks the spelling (one space, a unit in days, weeks, months or
years, singular or plural) and returns the canonical text, so that ``1 year`` and
``1 years`` are the same time point; :func:`order_key` sorts time points for the
default choice of an analysis (last follow-up first, then the longest duration).
"""

from __future__ import annotations

import re

LAST_FOLLOW_UP = "last follow-up"
AFTER_INDUCTION = "after induction"
BEST_RESPONSE = "best response"
NAMED = (LAST_FOLLOW_UP, AFTER_INDUCTION, BEST_RESPONSE)
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?) (day|week|month|year)s?")
EXPECTED = (
    "a time point like '2 years', '6 months', '100 days', 'last follow-up', 'after induction' "
    "or 'best response'"
)


def normalise(text: str) -> str:
    """The canonical spelling of time point ``text`` (``ValueError`` if it is none)."""
    value = " ".join(text.split()).lower()
    if value in NAMED:
        return value
    match = _DURATION.fullmatch(value)
    if match is None:
        raise ValueError(f"expected {EXPECTED}, got '{text}'")
    number, unit = match.groups()
    return f"{number} {unit}" + ("" if float(number) == 1 else "s")


def days(timepoint: str) -> float | None:
    """The duration of a canonical time point in days (None for a named one)."""
    match = _DURATION.fullmatch(timepoint)
    if match is None:
        return None
    return float(match.group(1)) * UNIT_DAYS[match.group(2)]


def order_key(timepoint: str) -> tuple[int, float]:
    """Sort key of the default preference: last follow-up, then durations from the
    longest to the shortest, then other named time points, then a blank one."""
    if timepoint == LAST_FOLLOW_UP:
        return (0, 0.0)
    length = days(timepoint)
    if length is not None:
        return (1, -length)
    return (2, 0.0) if timepoint else (3, 0.0)
