"""Effect sizes per study: log risk ratio, log odds ratio, risk difference, Peto log
odds ratio from 2×2 counts, and log hazard ratios from a reported HR.

Formulas as metafor's ``escalc`` (Viechtbauer 2010, J Stat Softw 36(3)) and the
Cochrane Handbook v6.4 §6.4.1 (dichotomous) and §6.8.1 (time-to-event), with
aᵢ/bᵢ events/non-events in the treatment arm (n1ᵢ = aᵢ+bᵢ) and cᵢ/dᵢ in the control
arm (n2ᵢ = cᵢ+dᵢ):

* ``RR``: log(aᵢ/n1ᵢ) - log(cᵢ/n2ᵢ), variance 1/aᵢ - 1/n1ᵢ + 1/cᵢ - 1/n2ᵢ;
* ``OR``: log(aᵢdᵢ/(bᵢcᵢ)), variance 1/aᵢ + 1/bᵢ + 1/cᵢ + 1/dᵢ (Woolf 1955);
* ``RD``: aᵢ/n1ᵢ - cᵢ/n2ᵢ, variance p₁(1-p₁)/n1ᵢ + p₂(1-p₂)/n2ᵢ (large sample);
* ``PETO``: (aᵢ - Eᵢ)/Vᵢ with Eᵢ = (aᵢ+cᵢ)n1ᵢ/Nᵢ, Vᵢ = (aᵢ+cᵢ)(bᵢ+dᵢ)n1ᵢn2ᵢ/(Nᵢ²(Nᵢ-1)),
  variance 1/Vᵢ (Yusuf et al. 1985).

Continuity correction (metafor's ``add``/``to``/``drop00``): ``add`` is added to all
four cells of the tables that ``to`` selects: ``only0`` tables with a zero cell,
``all`` every table, ``if0all`` every table when any has a zero cell, ``none`` no
table. ``drop00`` makes tables with no events (or only events) in both arms
non-estimable (NaN), as the Cochrane Handbook §10.4.4.2 advises for ratio measures.

Hazard ratios (Parmar, Torri & Stewart 1998, Stat Med 17:2815; Tierney et al. 2007,
Trials 8:16): log HR with variance ((log U - log L)/(2 z_{1-α/2}))² from a CI, or
(log HR / z_{1-p/2})² from a two-sided p-value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metaall import distributions as dist

COUNT_MEASURES = ("RR", "OR", "RD", "PETO")
MAX_COUNT = 1e15
"""Largest count: whole numbers up to 1e15 are exact in float64 (and in the CSV
loader's 15 digits)."""
CORRECTION_TARGETS = ("only0", "all", "if0all", "none")


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effects ``yi`` (analysis scale) with sampling variances ``vi``.

    ``corrected`` flags tables that received the continuity correction and
    ``dropped`` the double-zero tables removed by ``drop00``; those and tables whose
    effect is infinite (a zero cell left uncorrected) have NaN ``yi``/``vi``. As in
    metafor, an uncorrected risk difference of two empty arms is 0 with variance 0.
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    corrected: np.ndarray
    dropped: np.ndarray

    @property
    def estimable(self) -> np.ndarray:
        """Studies with a finite effect and a positive variance (usable for pooling)."""
        return np.isfinite(self.yi) & np.isfinite(self.vi) & (self.vi > 0)


def _name(studies: Sequence[str] | None, j: int) -> str:
    return studies[j] if studies is not None else f"study {j + 1}"


def _counts(arrays: dict[str, object], studies: Sequence[str] | None) -> dict[str, np.ndarray]:
    out = {key: np.atleast_1d(np.asarray(val, dtype=float)) for key, val in arrays.items()}
    lengths = {key: a.shape for key, a in out.items()}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{key}={shape}" for key, shape in lengths.items())
        raise ValueError(f"count arrays must have the same shape, got {shown}")
    if studies is not None and len(studies) != out["ai"].shape[-1]:
        raise ValueError(f"{len(studies)} study names given for {out['ai'].shape[-1]} studies")
    ai, n1i, ci, n2i = out["ai"], out["n1i"], out["ci"], out["n2i"]
    present = ~(np.isnan(ai) & np.isnan(n1i) & np.isnan(ci) & np.isnan(n2i))
    every = np.stack([ai, n1i, ci, n2i])
    checks = (
        (np.isnan(ai) | np.isnan(n1i) | np.isnan(ci) | np.isnan(n2i), "a count is missing"),
        (~np.isfinite(np.where(np.isnan(ai), 0, ai + n1i + ci + n2i)), "counts must be finite"),
        (
            (np.abs(every) > MAX_COUNT).any(axis=0),
            f"counts above {MAX_COUNT:.0e} are not exact in floating point",
        ),
        ((np.floor(every) != every).any(axis=0), "counts must be whole numbers"),
        ((ai < 0) | (ci < 0), "event counts must not be negative"),
        ((n1i <= 0) | (n2i <= 0), "group sizes must be positive"),
        ((ai > n1i) | (ci > n2i), "events exceed the group size"),
    )
    for bad, why in checks:
        bad = bad & present
        if bad.any():
            j = int(np.argwhere(bad)[0][-1])
            idx = tuple(np.argwhere(bad)[0])
            raise ValueError(
                f"{_name(studies, j)}: {why} (ai={ai[idx]:g}, n1i={n1i[idx]:g}, "
                f"ci={ci[idx]:g}, n2i={n2i[idx]:g})"
            )
    return out


def effect_sizes(
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
    Raises ``ValueError`` naming the study for negative counts, events above the
    group size, non-positive totals and mismatched lengths.
    """
    measure = measure.upper()
    if measure not in COUNT_MEASURES:
        raise ValueError(f"unknown measure {measure!r}; use one of {', '.join(COUNT_MEASURES)}")
    if to not in CORRECTION_TARGETS:
        raise ValueError(f"unknown 'to' {to!r}; use one of {', '.join(CORRECTION_TARGETS)}")
    if not np.isfinite(add) or add < 0:
        raise ValueError(f"'add' must be a non-negative number, got {add}")
    c = _counts({"ai": ai, "n1i": n1i, "ci": ci, "n2i": n2i}, studies)
    a, cc = c["ai"], c["ci"]
    b, d = c["n1i"] - a, c["n2i"] - cc

    double = ((a == 0) & (cc == 0)) | ((b == 0) & (d == 0))
    dropped = double if drop00 else np.zeros_like(double)
    zero = ((a == 0) | (b == 0) | (cc == 0) | (d == 0)) & ~dropped
    if to == "all":
        corrected = np.isfinite(a) & ~dropped
    elif to == "only0":
        corrected = zero
    elif to == "if0all":
        corrected = np.isfinite(a) & ~dropped & zero.any(axis=-1, keepdims=True)
    else:
        corrected = np.zeros_like(zero)
    corrected = corrected & (add > 0)
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


def _positive(name: str, values: np.ndarray, studies: Sequence[str] | None) -> None:
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"{_name(studies, j)}: {name} must be a positive number, got {values[j]}")


def hr_from_ci(
    hr, lower, upper, level: float = 0.95, studies: Sequence[str] | None = None
) -> EffectSizes:
    """log HR and its variance from a hazard ratio and its confidence interval.

    se = (log upper - log lower) / (2·z_{(1+level)/2}) (Cochrane Handbook §6.8.1;
    Tierney et al. 2007, Trials 8:16). Requires 0 < lower < hr < upper.
    """
    hr, lo, up = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (hr, lower, upper))
    if not (hr.shape == lo.shape == up.shape):
        raise ValueError(
            f"hr, lower, upper must have the same length ({hr.shape}, {lo.shape}, {up.shape})"
        )
    for name, values in (("hr", hr), ("lower", lo), ("upper", up)):
        _positive(name, values, studies)
    outside = ~((lo < hr) & (hr < up))
    if outside.any():
        j = int(np.argmax(outside))
        raise ValueError(
            f"{_name(studies, j)}: hazard ratio {hr[j]:g} is not inside its interval "
            f"[{lo[j]:g}, {up[j]:g}] (need lower < hr < upper)"
        )
    z = dist.norm_quantile(0.5 + level / 2) if 0 < level < 1 else 0.0
    if not z > 0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    se = (np.log(up) - np.log(lo)) / (2 * z)
    none = np.zeros(hr.shape, dtype=bool)
    return EffectSizes(np.log(hr), se**2, "HR", none, none)


def hr_from_p(hr, p, studies: Sequence[str] | None = None) -> EffectSizes:
    """log HR and its variance from a hazard ratio and its two-sided p-value.

    se = |log HR| / z_{1-p/2} (Tierney et al. 2007, Trials 8:16; Altman & Bland 2011,
    BMJ 343:d2090). Undefined for HR = 1 or p = 1.
    """
    hr, p = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (hr, p))
    if hr.shape != p.shape:
        raise ValueError(f"hr and p must have the same length ({hr.shape}, {p.shape})")
    _positive("hr", hr, studies)
    bad = ~((p > 0) & (p < 1))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"{_name(studies, j)}: p-value must be in (0, 1), got {p[j]}")
    tiny = p < np.finfo(float).tiny
    if tiny.any():
        j = int(np.argmax(tiny))
        raise ValueError(
            f"{_name(studies, j)}: p-value {p[j]:g} is below 2.2e-308, too small to derive "
            "a standard error from; give the hazard ratio's CI instead"
        )
    unity = hr == 1
    if unity.any():
        j = int(np.argmax(unity))
        raise ValueError(
            f"{_name(studies, j)}: a standard error cannot be derived from p when HR = 1"
        )
    se = np.abs(np.log(hr)) / -dist.norm_quantile(p / 2)
    none = np.zeros(hr.shape, dtype=bool)
    return EffectSizes(np.log(hr), se**2, "HR", none, none)
