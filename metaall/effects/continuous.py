"""Two-group continuous outcomes: mean difference, standardised mean difference
(Hedges' g) and log ratio of means.

As metafor's ``escalc`` with its default ``vtype = "LS"`` (Viechtbauer 2010, J Stat
Softw 36(3); Cochrane Handbook v6.4 §6.5.1), with means m1ᵢ, m2ᵢ, standard deviations
sd1ᵢ, sd2ᵢ and sizes n1ᵢ, n2ᵢ:

* ``MD``: m1ᵢ - m2ᵢ, variance sd1ᵢ²/n1ᵢ + sd2ᵢ²/n2ᵢ;
* ``SMD``: Hedges' g = c(mᵢ)·dᵢ with dᵢ = (m1ᵢ - m2ᵢ)/sᵢ, the pooled SD
  sᵢ = √(((n1ᵢ-1)sd1ᵢ² + (n2ᵢ-1)sd2ᵢ²)/mᵢ), mᵢ = n1ᵢ + n2ᵢ - 2, and the exact bias
  correction c(m) = Γ(m/2) / (√(m/2)·Γ((m-1)/2)) (Hedges 1981, J Educ Stat 6:107,
  metafor's ``.cmicalc``); variance 1/n1ᵢ + 1/n2ᵢ + gᵢ²/(2(n1ᵢ+n2ᵢ)) (Hedges & Olkin
  1985, large-sample);
* ``ROM``: log(m1ᵢ/m2ᵢ), variance sd1ᵢ²/(n1ᵢm1ᵢ²) + sd2ᵢ²/(n2ᵢm2ᵢ²) (Hedges, Gurevitch &
  Curtis 1999, Ecology 80:1150); both means must be positive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from metaall.effects.base import EffectSizes, as_arrays, check_studies

CONTINUOUS_MEASURES = ("MD", "SMD", "ROM")
_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def hedges_correction(m) -> np.ndarray:
    """c(m) = exp(lgamma(m/2) - log √(m/2) - lgamma((m-1)/2)) for m > 1 degrees of
    freedom, as metafor's ``.cmicalc`` (≈ 1 - 3/(4m - 1))."""
    m = np.asarray(m, dtype=float)
    if not (m > 1).all():
        raise ValueError(f"the bias correction needs more than 1 degree of freedom, got {m}")
    lg = np.asarray(_lgamma(m / 2), dtype=float) - np.asarray(_lgamma((m - 1) / 2), dtype=float)
    return np.exp(lg - np.log(np.sqrt(m / 2)))


def continuous_effects(
    m1i,
    sd1i,
    n1i,
    m2i,
    sd2i,
    n2i,
    measure: str = "MD",
    studies: Sequence[str] | None = None,
) -> EffectSizes:
    """Effect sizes from group means, SDs and sizes; see module docstring.

    Arrays may be 1-D (studies) or 2-D (data sets × studies, NaN for absent studies).
    Raises ``ValueError`` naming the study for negative SDs, groups of fewer than 2
    (no SD), non-positive means for ``ROM`` and zero pooled SDs for ``SMD``.
    """
    measure = measure.upper()
    if measure not in CONTINUOUS_MEASURES:
        raise ValueError(
            f"unknown measure {measure!r}; use one of {', '.join(CONTINUOUS_MEASURES)}"
        )
    arr = as_arrays(
        {"m1i": m1i, "sd1i": sd1i, "n1i": n1i, "m2i": m2i, "sd2i": sd2i, "n2i": n2i},
        studies,
        "mean, SD and size",
    )
    m1, s1, n1, m2, s2, n2 = arr.values()
    checks = [
        ((s1 < 0) | (s2 < 0), "standard deviations must not be negative"),
        ((n1 < 2) | (n2 < 2), "each group needs at least 2 participants for an SD"),
    ]
    if measure == "ROM":
        checks.append(((m1 <= 0) | (m2 <= 0), "the ratio of means needs positive means"))
    if measure == "SMD":
        checks.append(((s1 == 0) & (s2 == 0), "both SDs are zero: the SMD is undefined"))
    present = check_studies(arr, checks, studies)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "MD":
            yi, vi = m1 - m2, s1**2 / n1 + s2**2 / n2
        elif measure == "ROM":
            yi, vi = np.log(m1 / m2), s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
        else:
            df = n1 + n2 - 2
            pooled = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
            c = np.full(df.shape, np.nan)
            c[present] = hedges_correction(df[present])
            yi = c * (m1 - m2) / pooled
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    none = np.zeros(yi.shape, dtype=bool)
    return EffectSizes(yi, vi, measure, none, none)
