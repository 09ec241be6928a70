"""Sample mean and SD derived from a reported median with its quartiles and/or range.

For a study of n participants reporting the median m with the range [a, b] and/or the
quartiles q₁, q₃ (normal data assumed), following the Cochrane Handbook v6.4 §6.5.2.5:

* means by Luo et al. (2018, Stat Methods Med Res 27:1785), eqs. 7, 11, 15 (w = n^0.75):
  range: 4/(4 + w)·(a+b)/2 + w/(4 + w)·m;
  quartiles: (0.7 + 0.39/n)·(q₁+q₃)/2 + (0.3 - 0.39/n)·m;
  both: 2.2/(2.2 + w)·(a+b)/2 + (0.7 - 0.72/n^0.55)·(q₁+q₃)/2
  + (0.3 + 0.72/n^0.55 - 2.2/(2.2 + w))·m;
* SDs by Wan et al. (2014, BMC Med Res Methodol 14:135), eqs. 7 and 16:
  range: (b-a)/ξ(n), ξ(n) = 2Φ⁻¹((n - 0.375)/(n + 0.25));
  quartiles: (q₃-q₁)/η(n), η(n) = 2Φ⁻¹((0.75n - 0.125)/(n + 0.25));
* with both, the SD by Shi et al. (2020, Res Synth Methods 11:641), eq. 11, which
  improves on Wan's average of the two: (b-a)/θ₁(n) + (q₃-q₁)/θ₂(n) with
  θ₁(n) = (2 + 0.14n^0.6)·Φ⁻¹((n - 0.375)/(n + 0.25)) and
  θ₂(n) = (2 + 2/(0.07n^0.6))·Φ⁻¹((0.75n - 0.125)/(n + 0.25)).

These are the closed forms of the papers (as R's ``metaBLUE`` computes them); R's
``meta`` uses Wan's tables of exact expected order statistics instead for n ≤ 50
(range) and n ≤ 201 (quartiles), which differ slightly. The results are estimates,
not reported data: the returned ``method`` says which formulas were used per study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metaall import distributions as dist
from metaall.effects.base import as_arrays, check_studies

RANGE = "mean by Luo et al. (2018), SD by Wan et al. (2014) from the median and range"
QUARTILES = "mean by Luo et al. (2018), SD by Wan et al. (2014) from the median and quartiles"
FIVE_NUMBERS = (
    "mean by Luo et al. (2018), SD by Shi et al. (2020) from the median, quartiles and range"
)


@dataclass(frozen=True)
class DerivedMeanSD:
    """Estimated means and SDs (derived, not reported) and how each was obtained."""

    mean: np.ndarray | float
    sd: np.ndarray | float
    method: tuple[str, ...] | str


def _missing(value, shape) -> np.ndarray:
    return np.full(shape, np.nan) if value is None else value


def mean_sd_from_median(
    median,
    q1=None,
    q3=None,
    minimum=None,
    maximum=None,
    n=None,
    studies: Sequence[str] | None = None,
) -> DerivedMeanSD:
    """Mean and SD from the median with the quartiles, the range, or both (see
    module docstring); per study, whichever of them is given (NaN: not reported).

    Raises ``ValueError`` naming the study when neither the quartiles nor the range
    is given, only one limit of a pair is, the values are out of order, or n < 2.
    """
    if n is None:
        raise ValueError("the sample size n is needed to derive a mean and SD from a median")
    single = np.ndim(median) == 0
    shape = np.shape(np.atleast_1d(median))
    arr = as_arrays(
        {
            "median": median,
            "q1": _missing(q1, shape),
            "q3": _missing(q3, shape),
            "minimum": _missing(minimum, shape),
            "maximum": _missing(maximum, shape),
            "n": n,
        },
        studies,
        "median, quartile, range and size",
    )
    m, lo, hi, a, b, size = arr.values()
    iqr = ~np.isnan(lo) & ~np.isnan(hi)
    rng = ~np.isnan(a) & ~np.isnan(b)
    with np.errstate(invalid="ignore"):
        checks = (
            (np.isnan(lo) != np.isnan(hi), "give both quartiles or neither"),
            (np.isnan(a) != np.isnan(b), "give both the minimum and the maximum or neither"),
            (~iqr & ~rng, "the quartiles or the range is needed"),
            (size < 2, "n must be at least 2"),
            (iqr & ~((lo <= m) & (m <= hi) & (lo < hi)), "need q1 <= median <= q3, q1 < q3"),
            (rng & ~((a <= m) & (m <= b) & (a < b)), "need min <= median <= max, min < max"),
            (iqr & rng & ~((a <= lo) & (hi <= b)), "need minimum <= q1 and q3 <= maximum"),
        )
    optional = ("q1", "q3", "minimum", "maximum")
    check_studies(arr, checks, studies, allow_absent=False, optional=optional)

    w = size**0.75
    phi_range = dist.norm_quantile((size - 0.375) / (size + 0.25))
    phi_iqr = dist.norm_quantile((0.75 * size - 0.125) / (size + 0.25))
    with np.errstate(invalid="ignore"):
        mean_range = 4 / (4 + w) * (a + b) / 2 + w / (4 + w) * m
        mean_iqr = (0.7 + 0.39 / size) * (lo + hi) / 2 + (0.3 - 0.39 / size) * m
        mean_five = (
            2.2 / (2.2 + w) * (a + b) / 2
            + (0.7 - 0.72 / size**0.55) * (lo + hi) / 2
            + (0.3 + 0.72 / size**0.55 - 2.2 / (2.2 + w)) * m
        )
        sd_range = (b - a) / (2 * phi_range)
        sd_iqr = (hi - lo) / (2 * phi_iqr)
        sd_five = (b - a) / ((2 + 0.14 * size**0.6) * phi_range) + (hi - lo) / (
            (2 + 2 / (0.07 * size**0.6)) * phi_iqr
        )
    both = iqr & rng
    mean = np.where(both, mean_five, np.where(iqr, mean_iqr, mean_range))
    sd = np.where(both, sd_five, np.where(iqr, sd_iqr, sd_range))
    method = np.where(both, FIVE_NUMBERS, np.where(iqr, QUARTILES, RANGE))
    if single:
        return DerivedMeanSD(float(mean[0]), float(sd[0]), str(method[0]))
    return DerivedMeanSD(mean, sd, tuple(str(t) for t in method))
