"""Effect sizes from 2×2 counts: log risk ratio, log odds ratio, risk difference and
the Peto log odds ratio.

Formulas as metafor's ``escalc`` (Viechtbauer 2010, J Stat Softw 36(3)) and the
Cochrane Handbook v6.4 §6.4.1, with aᵢ/bᵢ events/non-events in the treatment arm
(n1ᵢ = aᵢ+bᵢ) and cᵢ/dᵢ in the control arm (n2ᵢ = cᵢ+dᵢ):

* ``RR``: log(aᵢ/n1ᵢ) - log(cᵢ/n2ᵢ), variance 1/aᵢ - 1/n1ᵢ + 1/cᵢ - 1/n2ᵢ;
* ``OR``: log(aᵢdᵢ/(bᵢcᵢ)), variance 1/aᵢ + 1/bᵢ + 1/cᵢ + 1/dᵢ (Woolf 1955);
* ``RD``: aᵢ/n1ᵢ - cᵢ/n2ᵢ, variance p₁(1-p₁)/n1ᵢ + p₂(1-p₂)/n2ᵢ (large sample);
* ``PETO``: (aᵢ - Eᵢ)/Vᵢ with Eᵢ = (aᵢ+cᵢ)n1ᵢ/Nᵢ, Vᵢ = (aᵢ+cᵢ)(bᵢ+dᵢ)n1ᵢn2ᵢ/(Nᵢ²(Nᵢ-1)),
  variance 1/Vᵢ (Yusuf et al. 1985).

The continuity correction ``add``/``to`` (see :mod:`metaall.effects.base`) adds to all
four cells of the selected tables, a zero cell being any of aᵢ, bᵢ, cᵢ, dᵢ. ``drop00``
makes tables with no events (or only events) in both arms non-estimable (NaN), as the
Cochrane Handbook §10.4.4.2 advises for ratio measures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metaall.effects.base import (
    EffectSizes,
    as_arrays,
    check_correction,
    check_studies,
    corrected_studies,
)

COUNT_MEASURES = ("RR", "OR", "RD", "PETO")
MAX_COUNT = 1e15
"""Largest count: whole numbers up to 1e15 are exact in float64 (and in the CSV
loader's 15 digits)."""


def validate_counts(
    arrays: dict[str, object], studies: Sequence[str] | None
) -> dict[str, np.ndarray]:
    """The 2×2 counts ``ai``, ``n1i``, ``ci``, ``n2i`` as float arrays, checked.

    Raises ``ValueError`` naming the study for missing or infinite counts, counts that
    are not whole numbers or beyond 1e15, negative events, non-positive group sizes and
    events above the group size.
    """
    out = as_arrays(arrays, studies, "count")
    ai, n1i, ci, n2i = out["ai"], out["n1i"], out["ci"], out["n2i"]
    every = np.stack([ai, n1i, ci, n2i])
    with np.errstate(invalid="ignore"):
        checks = (
            (
                (np.abs(every) > MAX_COUNT).any(axis=0),
                f"counts above {MAX_COUNT:.0e} are not exact in floating point",
            ),
            ((np.floor(every) != every).any(axis=0), "counts must be whole numbers"),
            ((ai < 0) | (ci < 0), "event counts must not be negative"),
            ((n1i <= 0) | (n2i <= 0), "group sizes must be positive"),
            ((ai > n1i) | (ci > n2i), "events exceed the group size"),
        )
    check_studies(out, checks, studies)
    return out


def count_effects(
    ai,
    n1i,
    ci,
    n2i,
    measure: str = "RR",
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    studies: Sequence[str] | None = None,
) -> EffectSizes:
    """Effect sizes from 2×2 counts (events and totals per arm); see module docstring.

    Arrays may be 1-D (studies) or 2-D (data sets × studies, NaN for absent studies).
    """
    measure = measure.upper()
    if measure not in COUNT_MEASURES:
        raise ValueError(f"unknown measure {measure!r}; use one of {', '.join(COUNT_MEASURES)}")
    check_correction(add, to)
    c = validate_counts({"ai": ai, "n1i": n1i, "ci": ci, "n2i": n2i}, studies)
    a, cc = c["ai"], c["ci"]
    b, d = c["n1i"] - a, c["n2i"] - cc

    double = ((a == 0) & (cc == 0)) | ((b == 0) & (d == 0))
    dropped = double if drop00 else np.zeros_like(double)
    zero = (a == 0) | (b == 0) | (cc == 0) | (d == 0)
    corrected = corrected_studies(zero, np.isfinite(a) & ~dropped, add, to)
    shift = np.where(corrected, add, 0.0)
    a, b, cc, d = a + shift, b + shift, cc + shift, d + shift
    n1, n2 = a + b, cc + d

    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(a / n1) - np.log(cc / n2)
            vi = 1 / a - 1 / n1 + 1 / cc - 1 / n2
        elif measure == "OR":
            yi = np.log(a * d / (b * cc))
            vi = 1 / a + 1 / b + 1 / cc + 1 / d
        elif measure == "RD":
            p1, p2 = a / n1, cc / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:
            o_minus_e, var = peto_terms(a, n1, cc, n2)
            yi = o_minus_e / var
            vi = 1 / var
    bad = dropped | ~np.isfinite(yi) | ~np.isfinite(vi)
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad, np.nan, vi)
    return EffectSizes(yi, vi, measure, corrected, dropped)


def peto_terms(ai, n1i, ci, n2i) -> tuple[np.ndarray, np.ndarray]:
    """Observed minus expected events in the treatment arm, and its hypergeometric variance."""
    n = n1i + n2i
    events = ai + ci
    expected = events * n1i / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = events * (n - events) * (n1i / n) * (n2i / n) / (n - 1)
    return ai - expected, var
