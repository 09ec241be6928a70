"""Lan-DeMets error-spending functions: how much of an error rate is used by
information fraction t (Lan & DeMets 1983, Biometrika 70:659).

For a one-sided level a (the level of one side of the test):

* O'Brien-Fleming type: a(t) = 2·(1 - Φ(z_{1-a/2}/√t)) (Lan & DeMets 1983, eq. 4.3);
* Pocock type: a(t) = a·ln(1 + (e - 1)·t) (Lan & DeMets 1983, eq. 4.4).

A two-sided test spends a = α/2 on each side with the same function, as R's
``ldbounds`` (Reboussin et al. 2000, Control Clin Trials 21:190), ``gsDesign`` and
RTSA (``esOF(alpha/side, t)``, ``esPoc(alpha/side, t)``) do; this gives the classic
O'Brien-Fleming-type z boundaries 4.333, 2.963, 2.359, 2.014 at t = ¼, ½, ¾, 1.
Beta (futility) spending uses the same functions at level β. Fractions are clipped to
[0, 1]: everything is spent once the information reaches its maximum.
"""

from __future__ import annotations

import math

import numpy as np

from metaall import distributions as dist

SPENDING = ("obrien-fleming", "pocock")


def check_spending(name: str, what: str = "spending") -> str:
    """The spending function's canonical name (case-insensitive, '_' or ' ' for '-')."""
    key = str(name).lower().replace("_", "-").replace(" ", "-").replace("'", "")
    key = {"of": "obrien-fleming", "obf": "obrien-fleming", "obrienfleming": "obrien-fleming"}.get(
        key, key
    )
    if key not in SPENDING:
        raise ValueError(f"unknown {what} function {name!r}; use 'obrien-fleming' or 'pocock'")
    return key


def cumulative_spending(name: str, level: float, t) -> np.ndarray:
    """Error spent by fractions ``t`` for a one-sided ``level`` (see module docstring)."""
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if check_spending(name) == "pocock":
        return level * np.log1p((math.e - 1) * t)
    z = dist.norm_quantile(1 - level / 2)
    with np.errstate(divide="ignore"):
        x = np.where(t > 0, z / np.sqrt(np.where(t > 0, t, 1.0)), np.inf)
    # 2(1 - Φ(x)) = erfc(x/√2), exact in the far tail
    return np.where(t >= 1, level, np.asarray(dist.norm_two_sided_p(x), dtype=float))


def incremental_spending(name: str, level: float, t) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative and per-look error spent at increasing fractions ``t``."""
    cum = np.atleast_1d(cumulative_spending(name, level, t))
    return cum, np.diff(cum, prepend=0.0)
