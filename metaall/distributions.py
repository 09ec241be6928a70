"""The reference distributions the models need: normal, t, chi-square and F.

Thin, vectorised wrappers over scipy.special's cephes/Boost ufuncs, which are the
very routines ``scipy.stats`` evaluates (so the numbers are identical), without the
half-second import cost of ``scipy.stats`` on the command line's fast path.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def norm_quantile(p):
    """Φ⁻¹(p)."""
    return special.ndtri(p)


def norm_two_sided_p(z):
    """2·(1 - Φ(|z|))."""
    return 2 * special.ndtr(-np.abs(z))


def t_quantile(p, df):
    """Quantile of Student's t with ``df`` degrees of freedom."""
    return special.stdtrit(df, p)


def t_two_sided_p(t, df):
    """Two-sided p-value of a t statistic."""
    return 2 * special.stdtr(df, -np.abs(t))


def chi2_sf(x, df):
    """P(χ²_df > x)."""
    return special.chdtrc(df, x)


def chi2_quantile(p, df):
    """The p-quantile of χ²_df."""
    return special.chdtri(df, 1 - np.asarray(p))


def f_sf(x, df1, df2):
    """P(F_{df1, df2} > x)."""
    return special.fdtrc(df1, df2, x)
