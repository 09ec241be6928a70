"""Generic inverse-variance data: an effect with its standard error or its confidence
interval, as RevMan's "generic inverse variance" outcome (Cochrane Handbook v6.4
§6.3.1-6.3.2, §10.3.3).

From an interval [L, U] at confidence ``level`` (z = Φ⁻¹((1 + level)/2)):
se = (U - L)/(2z), and the effect, when not reported, is the midpoint (L + U)/2.
Ratio measures (``log=True``: the effect and its limits are ratios, e.g. a hazard or
odds ratio) are taken to the log scale first, where their intervals are symmetric:
se = (log U - log L)/(2z) (Handbook §6.3.2; Altman & Bland 2011, BMJ 343:d2090).
A standard error given directly is on the analysis (log) scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metaall import distributions as dist
from metaall.effects.base import EffectSizes, as_arrays, check_studies, study_name


def _z(level: float) -> float:
    z = dist.z_critical(level) if 0 < level < 1 else 0.0
    if not z > 0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    return z


def interval_effects(
    estimate,
    lower,
    upper,
    level: float,
    log: bool,
    measure: str,
    studies: Sequence[str] | None,
    name: str = "yi",
    label: str = "effect",
) -> EffectSizes:
    """Effects and variances from an interval (``estimate`` None: its midpoint).

    ``name`` and ``label`` call the estimate in error messages (e.g. "hr", "hazard
    ratio"). Requires lower < estimate < upper, and positive values when ``log``.
    """
    z = _z(level)
    names = (name, "lower", "upper") if estimate is not None else ("lower", "upper")
    given = (estimate, lower, upper) if estimate is not None else (lower, upper)
    arr = as_arrays(dict(zip(names, given, strict=True)), studies, ", ".join(names))
    lo, up = arr["lower"], arr["upper"]
    est = arr.get(name, lo)
    checks = []
    if log:
        checks += [(~(a > 0), f"{key} must be a positive number") for key, a in arr.items()]
    checks.append((~(lo < up), "the lower limit must be below the upper limit"))
    check_studies(arr, checks, studies, allow_absent=False)
    if name in arr:
        outside = ~((lo < est) & (est < up))
        if outside.any():
            j = int(np.argmax(outside))
            raise ValueError(
                f"{study_name(studies, j)}: {label} {est[j]:g} is not inside its interval "
                f"[{lo[j]:g}, {up[j]:g}] (need lower < {name} < upper)"
            )
    scale = np.log if log else np.asarray
    lo, up = scale(lo), scale(up)
    yi = scale(est) if name in arr else (lo + up) / 2
    se = (up - lo) / (2 * z)
    none = np.zeros(yi.shape, dtype=bool)
    return EffectSizes(yi, se**2, measure, none, none)


def generic_effects(
    yi=None,
    se=None,
    lower=None,
    upper=None,
    level: float = 0.95,
    log: bool = False,
    measure: str = "GEN",
    studies: Sequence[str] | None = None,
) -> EffectSizes:
    """Effect sizes from reported effects with their SE, or their confidence interval.

    Give ``yi`` and ``se``, or ``lower`` and ``upper`` (with ``yi`` if reported); see
    the module docstring. ``measure`` labels the result (e.g. ``"HR"`` so that
    :func:`back_transform` exponentiates). Raises ``ValueError`` naming the study for
    a non-positive SE, an effect outside its interval, reversed limits, or non-positive
    ratios when ``log``.
    """
    has_ci = lower is not None or upper is not None
    if has_ci and se is not None:
        raise ValueError("give either se or the confidence limits, not both")
    if has_ci:
        if lower is None or upper is None:
            raise ValueError("give both confidence limits (lower and upper)")
        return interval_effects(yi, lower, upper, level, log, measure, studies)
    if yi is None or se is None:
        raise ValueError("give yi with se, or the confidence limits lower and upper")
    arr = as_arrays({"yi": yi, "se": se}, studies, "yi, se")
    checks = [(~(arr["se"] > 0), "se must be a positive number")]
    if log:
        checks.append((~(arr["yi"] > 0), "yi must be a positive ratio when log=True"))
    check_studies(arr, checks, studies, allow_absent=False)
    est = np.log(arr["yi"]) if log else arr["yi"]
    none = np.zeros(est.shape, dtype=bool)
    return EffectSizes(est, arr["se"] ** 2, measure, none, none)
