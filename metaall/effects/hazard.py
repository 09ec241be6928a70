"""log hazard ratios from a reported HR with its confidence interval or p-value.

Parmar, Torri & Stewart (1998, Stat Med 17:2815); Tierney et al. (2007, Trials 8:16);
Cochrane Handbook v6.4 §6.8.1: log HR with variance ((log U - log L)/(2 z_{1-α/2}))²
from a CI, or (log HR / z_{1-p/2})² from a two-sided p-value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metaall import distributions as dist
from metaall.effects.base import EffectSizes, as_arrays, check_studies, study_name
from metaall.effects.generic import interval_effects


def hr_from_ci(
    hr, lower, upper, level: float = 0.95, studies: Sequence[str] | None = None
) -> EffectSizes:
    """log HR and its variance from a hazard ratio and its confidence interval.

    se = (log upper - log lower) / (2·z_{(1+level)/2}) (Cochrane Handbook §6.8.1;
    Tierney et al. 2007, Trials 8:16). Requires 0 < lower < hr < upper.
    """
    return interval_effects(hr, lower, upper, level, True, "HR", studies, "hr", "hazard ratio")


def hr_from_p(hr, p, studies: Sequence[str] | None = None) -> EffectSizes:
    """log HR and its variance from a hazard ratio and its two-sided p-value.

    se = |log HR| / z_{1-p/2} (Tierney et al. 2007, Trials 8:16; Altman & Bland 2011,
    BMJ 343:d2090). Undefined for HR = 1 or p = 1.
    """
    arr = as_arrays({"hr": hr, "p": p}, studies, "hr, p")
    hr, p = arr["hr"], arr["p"]
    checks = (
        (~(hr > 0), "hr must be a positive number"),
        (~((p > 0) & (p < 1)), "p-value must be in (0, 1)"),
    )
    check_studies(arr, checks, studies, allow_absent=False)
    tiny = p < np.finfo(float).tiny
    if tiny.any():
        j = int(np.argmax(tiny))
        raise ValueError(
            f"{study_name(studies, j)}: p-value {p[j]:g} is below 2.2e-308, too small to "
            "derive a standard error from; give the hazard ratio's CI instead"
        )
    unity = hr == 1
    if unity.any():
        j = int(np.argmax(unity))
        raise ValueError(
            f"{study_name(studies, j)}: a standard error cannot be derived from p when HR = 1"
        )
    se = np.abs(np.log(hr)) / -dist.norm_quantile(p / 2)
    none = np.zeros(hr.shape, dtype=bool)
    return EffectSizes(np.log(hr), se**2, "HR", none, none)
