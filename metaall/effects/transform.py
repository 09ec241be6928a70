"""Back-transformation of pooled effects (and their limits) to the scale of display.

As metafor's ``transf`` functions: ``exp`` for log ratios (``RR``, ``OR``, ``PETO``,
``HR``, ``ROM``, ``PLN``), ``transf.ilogit`` for ``PLO``, ``transf.iarcsin``
(sin²x, clipped to [0, 1] outside [0, π/2]) for ``PAS``, the identity for ``PR``,
``MD``, ``SMD``, ``RD`` and ``GEN``, and for ``PFT`` the inverse of the Freeman-Tukey
transformation by Miller (1978, Am Stat 32:138) at the harmonic mean ñ of the study
sizes, metafor's ``transf.ipft.hm``:

    p = ½(1 - sgn(cos 2x)·√(1 - (sin 2x + (sin 2x - 1/sin 2x)/ñ)²)),

set to 0 below the transform of p = 0 and to 1 above that of p = 1 (at ñ).
"""

from __future__ import annotations

import numpy as np

from metaall.effects.proportions import freeman_tukey

IDENTITY = ("PR", "MD", "SMD", "RD", "GEN")
EXPONENTIAL = ("RR", "OR", "PETO", "HR", "ROM", "PLN")
BACK_TRANSFORMED = (*IDENTITY, *EXPONENTIAL, "PLO", "PAS", "PFT")


def _float_or_array(x: np.ndarray):
    return float(x) if x.ndim == 0 else x


def _inverse_freeman_tukey(x: np.ndarray, ni) -> np.ndarray:
    if ni is None:
        raise ValueError("the PFT back-transformation needs the study sizes ni")
    ni = np.asarray(ni, dtype=float).ravel()
    ni = ni[~np.isnan(ni)]
    if ni.size == 0 or not (ni > 0).all() or not np.isfinite(ni).all():
        raise ValueError(f"study sizes ni must be positive numbers, got {ni}")
    nhm = 1 / np.mean(1 / ni)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sin(2 * x)
        p = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(1 - (s + (s - 1 / s) / nhm) ** 2))
    p = np.where(x > freeman_tukey(nhm, nhm), 1.0, p)
    p = np.where(x < freeman_tukey(0.0, nhm), 0.0, p)
    bad = np.isnan(p) & ~np.isnan(x)
    if bad.any():
        raise ValueError(
            f"the Freeman-Tukey value {x[bad].ravel()[0]:g} has no inverse at the harmonic "
            f"mean size {nhm:g}"
        )
    return p


def back_transform(measure: str, x, ni=None):
    """``x`` (estimate, limits; scalar or array) on the display scale of ``measure``.

    ``ni`` (the study sizes) is needed for ``PFT`` only; see module docstring.
    """
    measure = measure.upper()
    x = np.asarray(x, dtype=float)
    if measure in IDENTITY:
        out = x.copy()
    elif measure in EXPONENTIAL:
        with np.errstate(over="ignore"):
            out = np.exp(x)
    elif measure == "PLO":
        e = np.exp(-np.abs(x))  # expit without overflow
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    elif measure == "PAS":
        out = np.where(x < 0, 0.0, np.where(x > np.pi / 2, 1.0, np.sin(x) ** 2))
    elif measure == "PFT":
        out = _inverse_freeman_tukey(x, ni)
    else:
        raise ValueError(
            f"no back-transformation for measure {measure!r}; use one of "
            f"{', '.join(BACK_TRANSFORMED)}"
        )
    return _float_or_array(np.asarray(out, dtype=float))
