"""Single-arm proportions: raw, log, logit, arcsine and Freeman-Tukey transformed.

As metafor's ``escalc`` (measures ``PR``, ``PLN``, ``PLO``, ``PAS``, ``PFT``, default
``vtype = "LS"``; Viechtbauer 2010, J Stat Softw 36(3)). With xᵢ events out of nᵢ,
mᵢ = nᵢ - xᵢ, after the continuity correction (xᵢ, mᵢ → xᵢ + add, mᵢ + add for the
studies ``to`` selects, a zero cell being xᵢ = 0 or mᵢ = 0; see
:mod:`metaall.effects.base`) and pᵢ = xᵢ/nᵢ:

* ``PR``: pᵢ, variance pᵢ(1-pᵢ)/nᵢ;
* ``PLN``: log pᵢ, variance 1/xᵢ - 1/nᵢ;
* ``PLO``: log(pᵢ/(1-pᵢ)), variance 1/xᵢ + 1/mᵢ;
* ``PAS``: arcsin √pᵢ, variance 1/(4nᵢ) (Anscombe 1948);
* ``PFT``: ½(arcsin √(xᵢ/(nᵢ+1)) + arcsin √((xᵢ+1)/(nᵢ+1))), variance 1/(4nᵢ+2)
  (Freeman & Tukey 1950, Ann Math Stat 21:607).

metafor's default ``add`` is ½ for ``PR``, ``PLN``, ``PLO`` and 0 for ``PAS``, ``PFT``
(which need no correction); ``add=None`` picks it. A zero cell left uncorrected gives
a non-estimable study (NaN) for ``PLN``/``PLO`` and a zero variance for ``PR``.
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

PROPORTION_MEASURES = ("PR", "PLN", "PLO", "PAS", "PFT")
NO_DEFAULT_CORRECTION = ("PAS", "PFT")


def default_add(measure: str) -> float:
    """metafor's default ``add`` for a measure (0 for PAS and PFT, else ½)."""
    return 0.0 if measure in NO_DEFAULT_CORRECTION else 0.5


def freeman_tukey(x, n) -> np.ndarray:
    """½(arcsin √(x/(n+1)) + arcsin √((x+1)/(n+1))) for x events out of n."""
    return (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))) / 2


def proportion_effects(
    xi,
    ni,
    measure: str = "PR",
    add: float | None = None,
    to: str = "only0",
    studies: Sequence[str] | None = None,
) -> EffectSizes:
    """Effect sizes of single-arm proportions; see module docstring.

    Arrays may be 1-D (studies) or 2-D (data sets × studies, NaN for absent studies).
    Raises ``ValueError`` naming the study for negative events, events above the
    group size and non-positive group sizes.
    """
    measure = measure.upper()
    if measure not in PROPORTION_MEASURES:
        raise ValueError(
            f"unknown measure {measure!r}; use one of {', '.join(PROPORTION_MEASURES)}"
        )
    add = default_add(measure) if add is None else add
    check_correction(add, to)
    arr = as_arrays({"xi": xi, "ni": ni}, studies, "xi, ni")
    x, n = arr["xi"], arr["ni"]
    checks = (
        (x < 0, "event counts must not be negative"),
        (n <= 0, "group sizes must be positive"),
        (x > n, "events exceed the group size"),
    )
    check_studies(arr, checks, studies)
    m = n - x
    corrected = corrected_studies((x == 0) | (m == 0), np.isfinite(x), add, to)
    shift = np.where(corrected, add, 0.0)
    x, m = x + shift, m + shift
    n = x + m
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        if measure == "PR":
            yi, vi = p, p * (1 - p) / n
        elif measure == "PLN":
            yi, vi = np.log(p), 1 / x - 1 / n
        elif measure == "PLO":
            yi, vi = np.log(p / (1 - p)), 1 / x + 1 / m
        elif measure == "PAS":
            yi, vi = np.arcsin(np.sqrt(p)), 1 / (4 * n)
        else:
            yi, vi = freeman_tukey(x, n), 1 / (4 * n + 2)
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi, vi = np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
    return EffectSizes(yi, vi, measure, corrected, np.zeros(x.shape, dtype=bool))
