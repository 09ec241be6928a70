"""The reference distributions the models need: normal, chi-square, t and F.

``metaall pool`` must answer in well under half a second, and importing
``scipy.special`` alone costs about 0.25 s (its array-API layer loads numpy's
f2py, testing and masked-array modules). The default path (Wald z tests and CIs,
Cochran's Q) therefore uses only the standard library and numpy:

* the normal distribution from :mod:`math` (``erfc``, exact in the tails) and
  :class:`statistics.NormalDist` (``inv_cdf``: Wichura's AS241, full double precision);
* the chi-square survival function for integer degrees of freedom from the exact
  finite sums of Abramowitz & Stegun (1964) 26.4.4-26.4.5 (Poisson sums for even df,
  ``erfc`` plus a sum for odd df), evaluated in log space.

For arrays of more than :data:`SCIPY_FROM` values (batches of meta-analyses), erfc
comes from ``scipy.special`` instead (cephes, vectorised): there its one-time import
is cheaper than calling :func:`math.erfc` once per value.

Chi-square quantiles for integer df (the Q-profile intervals every report shows)
invert that exact survival function by bisection. The t and F distributions (Hartung-
Knapp, subgroup F tests) come from ``scipy.special``'s cephes routines, imported on
first use. ``tests/test_distributions.py`` checks every function here against
``scipy.special`` to 1e-13.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

SCIPY_FROM = 1024  # values: from this many on, scipy.special's vectorised routines
_erfc = np.frompyfunc(math.erfc, 1, 1)
_inv_cdf = np.frompyfunc(NormalDist().inv_cdf, 1, 1)
_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _floats(values) -> np.ndarray:
    """frompyfunc results (object arrays or Python floats) as a float array."""
    return np.asarray(values, dtype=float)


def _out(value: np.ndarray):
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value


def norm_quantile(p):
    """Φ⁻¹(p)."""
    p = np.asarray(p, dtype=float)
    inner = (p > 0) & (p < 1)
    safe = np.where(inner, p, 0.5)
    q = np.where(inner, _floats(_inv_cdf(safe)), np.where(p <= 0, -np.inf, np.inf))
    return _out(np.where(np.isnan(p), np.nan, q))


@functools.lru_cache(maxsize=32)
def z_critical(level: float) -> float:
    """z_{(1+level)/2}, the half-width in SEs of a two-sided normal ``level`` interval;
    cached, since reports ask it once per study (e.g. 1.959964 for 0.95)."""
    return float(norm_quantile(0.5 + level / 2))


def norm_two_sided_p(z):
    """2·(1 - Φ(|z|)) = erfc(|z|/√2)."""
    z = np.asarray(z, dtype=float)
    erfc = _special().erfc if z.size >= SCIPY_FROM else _erfc
    ok = np.isfinite(z)
    if ok.all():
        return _out(_floats(erfc(np.abs(z) * (1 / math.sqrt(2)))))
    p = _floats(erfc(np.abs(np.where(ok, z, 0.0)) * (1 / math.sqrt(2))))
    return _out(np.where(ok, p, np.where(np.isnan(z), np.nan, 0.0)))


def _logsumexp(terms: np.ndarray) -> np.ndarray:
    top = np.max(terms, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (top + np.log(np.sum(np.exp(terms - top), axis=-1, keepdims=True)))[..., 0]


RECURRENCE_TERMS = 100  # the direct recurrence below serves df ≤ 201 with x/2 ≤ 700
EXACT_DF = 2000  # beyond this df the sums (df/2 terms) give way to scipy's chdtrc


def _chi2_sf_recurrence(h: np.ndarray, df: int) -> np.ndarray:
    """Q(df/2, h) by the same sums with each term from the previous one: e⁻ʰhʲ/j! =
    previous·h/j (even df), e⁻ʰh^(j+½)/Γ(j+3/2) = previous·h/(j+½) (odd df); positive
    terms in increasing j, so the relative error stays below about df·ε. Needs
    e⁻ʰ to be normal (h ≤ 700)."""
    n, odd = df // 2, df % 2  # n terms, j = 0 … n-1
    if not odd:
        term = np.exp(-h)
        total = term.copy()
    else:
        erfc = _special().erfc if h.size >= SCIPY_FROM else _erfc
        total = _floats(erfc(np.sqrt(h)))
        term = np.exp(-h) * np.sqrt(h) * (2 / math.sqrt(math.pi))  # Γ(3/2) = √π/2
        if n:
            total += term
    for j in range(1, n):
        term = term * (h / (j + 0.5 * odd))
        total += term
    return total


def _chi2_sf_integer(x: np.ndarray, df: int) -> np.ndarray:
    """Q(df/2, x/2) for one integer df (A&S 26.4.4 for odd, 26.4.5 for even df)."""
    h = x / 2
    if df // 2 <= RECURRENCE_TERMS and h.size and h.max() <= 700:
        return _chi2_sf_recurrence(h, df)
    with np.errstate(divide="ignore"):
        log_h = np.log(h)[:, None]
    if df % 2 == 0:
        j = np.arange(df // 2)
        log_factorial = _floats(_lgamma(j + 1.0))
        terms = np.where(j == 0, 0.0, j * log_h) - log_factorial - h[:, None]
        return np.exp(_logsumexp(terms))
    base = _floats(_erfc(np.sqrt(h)))
    n = (df - 1) // 2
    if n == 0:
        return base
    j = np.arange(n)
    log_gamma = _floats(_lgamma(j + 1.5))
    terms = (j + 0.5) * log_h - log_gamma - h[:, None]
    return base + np.exp(_logsumexp(terms))


def chi2_sf(x, df):
    """P(χ²_df > x) for integer df ≥ 1 (NaN for other df); for df above
    :data:`EXACT_DF` (a meta-analysis of thousands of studies) scipy's ``chdtrc``."""
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    if x.size and df.min() == df.max() and 1 <= df.flat[0] <= EXACT_DF:
        d = df.flat[0]  # one integer df and positive finite x: a batch's Q statistics
        if d == round(d) and np.isfinite(x).all() and x.min() > 0:
            return _out(np.clip(_chi2_sf_integer(x.ravel(), int(d)), 0.0, 1.0).reshape(x.shape))
    out = np.full(x.shape, np.nan)
    valid = ~np.isnan(x) & (df >= 1) & (df == np.round(df))
    out[valid & (x <= 0)] = 1.0
    out[valid & np.isposinf(x)] = 0.0
    work = valid & (x > 0) & np.isfinite(x)
    large = work & (df > EXACT_DF)
    if large.any():
        out[large] = _special().chdtrc(df[large], x[large])
        work &= ~large
    for d in np.unique(df[work]):
        sel = work & (df == d)
        out[sel] = np.clip(_chi2_sf_integer(x[sel], int(d)), 0.0, 1.0)
    return _out(out)


def _special():
    from scipy import special  # 0.25 s to import: only for t, F and chi-square quantiles

    return special


def chi2_quantile(p, df):
    """The p-quantile of χ²_df: for integer df and 10⁻⁴ ≤ p < 1 by bisection on the
    exact survival function above (relative error below 10⁻¹¹, so the Q-profile
    intervals every report shows need no scipy); otherwise scipy's ``chdtri`` (the
    bisection on 1 - p loses digits as p → 0)."""
    p, df = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(df, dtype=float))
    exact = np.all(df == np.round(df)) and np.all(df >= 1) and np.all((p >= 1e-4) & (p < 1))
    if not exact:
        return _special().chdtri(df, 1 - p)
    target = 1 - p
    lo = np.zeros(p.shape)
    hi = df + 10 * np.sqrt(2 * df) + 50
    while np.any(small := chi2_sf(hi, df) > target):
        hi = np.where(small, 2 * hi, hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        above = chi2_sf(mid, df) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        if np.all(hi - lo <= 4 * np.finfo(float).eps * hi):
            break
    return _out((lo + hi) / 2)


def t_quantile(p, df):
    """Quantile of Student's t with ``df`` degrees of freedom."""
    return _special().stdtrit(df, p)


def t_two_sided_p(t, df):
    """Two-sided p-value of a t statistic."""
    return 2 * _special().stdtr(df, -np.abs(t))


def f_sf(x, df1, df2):
    """P(F_{df1, df2} > x)."""
    return _special().fdtrc(df1, df2, x)
