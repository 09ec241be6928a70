"""Group-sequential monitoring boundaries by Lan-DeMets α spending, with optional
β-spending futility boundaries (the "inner wedge"), as R's RTSA ``boundaries()``.

α boundaries (Lan & DeMets 1983, Biometrika 70:659; Reboussin et al. 2000, Control
Clin Trials 21:190, R ``ldbounds``): at look k with information fraction tₖ the upper
boundary bₖ solves, under θ = 0,

    P(|Zⱼ| < bⱼ for j < k, Zₖ > bₖ) = a(tₖ) - a(tₖ₋₁),     a = spending at level α/side,

by the recursive integration of :mod:`metaall.sequential.recursion` and Brent's root
finder (``scipy.optimize.brentq``); two-sided boundaries are symmetric (lower = -upper),
one-sided ones have no lower boundary (NaN). When the largest fraction exceeds 1
(information beyond the required size) the spending is evaluated at tₖ/max t, so the
whole α is spent at the last look (RTSA's ``alpha_boundary``); when it is below 1 a final
look at t = 1 is appended (RTSA: the design ends at the required information size).

Cap: where the α spent at a look is below 1e-9 no finite boundary is meaningful (for
O'Brien-Fleming spending this happens when t < ~0.07 two-sided); the boundary is then
set to ``CAP`` = 20 and flagged in ``capped``, as RTSA does (its ``zninf = -20``). RTSA's
plots, like the TSA program's, show z between -8 and 8, so a figure should clip there.

Futility (RTSA's non-binding β spending, Jennison & Turnbull 2000 §5.2 and §7.2): the
drift is θ = z_{1-α/side} + z_{1-β} per unit of the fixed-design information, look k has
information Iₖ = R·tₖ, and the futility boundary lₖ solves

    P_θ(lⱼ < Zⱼ < bⱼ for j < k, Zₖ < lₖ) = β(tₖ) - β(tₖ₋₁).

For a two-sided test the wedge is (-lₖ, lₖ) and, as in RTSA and J&T §5.2, only the side
of the anticipated effect is integrated (the chance under θ of Z below -bⱼ is
neglected); looks where the first pass gives lₖ < 0 (or no boundary) spend no β and
their share moves to the next look (RTSA's ``rm_bs``), repeated until that set no longer
changes. ``inflation=None`` solves R so that the futility and α boundaries meet at the
last look (RTSA's design; R·RIS is then the information a sequential design needs); a
given R (1 for the TSA program: no power adjustment) keeps it, and a last futility
boundary above the α boundary is lowered to it (RTSA with ``design_R``). The α
boundaries do not depend on the futility boundaries (non-binding). Without futility,
``beta`` gives the R at which the sequential design has power 1 - β (RTSA's ``root``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall import distributions as dist
from metaall.sequential.recursion import Recursion
from metaall.sequential.spending import check_spending, incremental_spending

CAP = 20.0  # boundary where (almost) no error is spent: RTSA's zninf
ALPHA_TOL = 1e-9  # RTSA alpha_boundary(tol): incremental α below this gets the cap
BETA_TOL = 1e-15  # RTSA beta_boundary(tol): incremental β below this gets no boundary
GRID = 8  # J&T grid parameter r, Gauss-Legendre per interval (RTSA: Simpson, r = 18)


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """An error rate strictly between 0 and 1."""
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise ValueError(f"{name} must be between 0 and 1 (e.g. 0.05), got {alpha}")
    return alpha


def check_side(side: int) -> int:
    """1 (one-sided) or 2 (two-sided)."""
    if side not in (1, 2):
        raise ValueError(f"side must be 1 (one-sided) or 2 (two-sided), got {side!r}")
    return int(side)


def check_timing(timing) -> np.ndarray:
    """Information fractions: a non-empty, finite, positive, strictly increasing 1-D array."""
    t = np.atleast_1d(np.asarray(timing, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"timing must be a non-empty 1-D array, got shape {t.shape}")
    if not np.isfinite(t).all() or (t <= 0).any():
        raise ValueError(f"timing must hold positive finite information fractions, got {t}")
    step = np.diff(t)
    if (step <= 0).any():
        k = int(np.argmax(step <= 0))
        raise ValueError(
            f"timing must be strictly increasing: look {k + 2} ({t[k + 1]:g}) "
            f"does not follow look {k + 1} ({t[k]:g})"
        )
    return t


@dataclass(frozen=True)
class Boundaries:
    """z boundaries per look (see module docstring).

    ``upper``/``lower``: α boundaries (``lower`` NaN when one-sided); ``alpha_spent``:
    cumulative α per side; ``capped``: looks whose boundary is the cap (no α to spend);
    ``futility_upper``/``futility_lower``: the inner wedge (two-sided) or the lower
    futility boundary (one-sided, in ``futility_lower``), NaN where there is none;
    ``inflation``: information at the last look relative to the fixed-design required
    information size (R; None without ``beta``); ``power``: power at that information.
    """

    timing: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    alpha_spent: np.ndarray
    capped: np.ndarray
    futility_upper: np.ndarray
    futility_lower: np.ndarray
    beta_spent: np.ndarray | None
    inflation: float | None
    power: float | None
    alpha: float
    side: int
    spending: str
    beta: float | None
    futility: str | None
    grid: int
    notes: tuple[str, ...] = ()
    cap: float = CAP

    def rows(self) -> list[dict]:
        """One record per look."""
        out = []
        for k, t in enumerate(self.timing):
            row = {
                "look": k + 1,
                "timing": float(t),
                "upper": float(self.upper[k]),
                "lower": float(self.lower[k]),
                "alpha_spent": float(self.alpha_spent[k]),
                "capped": bool(self.capped[k]),
                "futility_upper": float(self.futility_upper[k]),
                "futility_lower": float(self.futility_lower[k]),
            }
            if self.beta_spent is not None:
                row["beta_spent"] = float(self.beta_spent[k])
            out.append(row)
        return out


def _brentq(f, lo: float, hi: float) -> float:
    from scipy.optimize import brentq

    return float(brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200))


def alpha_boundaries(
    timing: np.ndarray, alpha: float, side: int, spending: str, r: int = GRID
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper α boundaries, cumulative α per side and the capped looks (module docstring)."""
    frac = timing / timing.max() if timing.max() > 1 else timing
    level = alpha / side
    cum, incr = incremental_spending(spending, level, frac)
    upper = np.empty_like(frac)
    capped = incr < ALPHA_TOL
    rec = Recursion(0.0, r)
    floor = 0.0 if side == 2 else -CAP
    for k, t in enumerate(frac):
        if capped[k]:
            upper[k] = CAP
        else:
            target = incr[k]
            if rec.upper_tail(floor, t) < target:
                raise ValueError(
                    f"look {k + 1}: the {spending} function spends more α than is left"
                )
            upper[k] = _brentq(lambda b, t=t, a=target: rec.upper_tail(b, t) - a, floor, CAP)
        nxt = frac[k + 1] if k + 1 < frac.size else None
        rec.advance(-upper[k] if side == 2 else -CAP, upper[k], t, nxt)
    return upper, cum, capped


def _power(info: np.ndarray, upper: np.ndarray, lower: np.ndarray, theta: float, r: int):
    """P_θ(cross an upper boundary) with continuation (lowerₖ, upperₖ)."""
    rec = Recursion(theta, r)
    total = 0.0
    for k, i in enumerate(info):
        total += rec.upper_tail(upper[k], i)
        if k + 1 < info.size:
            rec.advance(lower[k], upper[k], i, info[k + 1])
    return total


def _futility_pass(
    timing, upper, theta, beta, spending, inflation, deferred, r
) -> tuple[np.ndarray, np.ndarray]:
    """Futility boundaries (NaN where none) and cumulative β, one pass.

    A boundary may exceed bₖ (then no path continues); +inf when even that cannot
    spend the β due, so the last boundary is a continuous function of the inflation.
    """
    beta_t = np.where(np.arange(timing.size) < deferred, 0.0, timing)
    cum, incr = incremental_spending(spending, beta, beta_t)
    info = timing * inflation
    rec = Recursion(theta, r)
    fut = np.full(timing.size, np.nan)
    for k, i in enumerate(info):
        if incr[k] >= BETA_TOL:
            if rec.lower_tail(2 * CAP, i) < incr[k]:
                fut[k] = np.inf
            else:
                fut[k] = _brentq(lambda a, i=i, b=incr[k]: rec.lower_tail(a, i) - b, -CAP, 2 * CAP)
        if k + 1 < info.size:
            lo = -CAP if np.isnan(fut[k]) else min(fut[k], upper[k])
            rec.advance(lo, upper[k], i, info[k + 1])
    return fut, cum


def _deferred(fut: np.ndarray) -> int:
    """Looks without a positive futility boundary (RTSA's rm_bs = sum(za < 0))."""
    return int(np.sum(~(fut >= 0)))


def _futility(timing, upper, theta, beta, spending, side, inflation, r):
    """Futility boundaries, cumulative β and the inflation R (module docstring)."""
    R = inflation
    deferred = 0
    for _ in range(timing.size + 1):
        if inflation is None:

            def gap(x: float, d: int = deferred) -> float:
                last = _futility_pass(timing, upper, theta, beta, spending, x, d, r)[0][-1]
                return float(upper[-1] - min(last, 4 * CAP))

            R = _solve_decreasing(gap, 1.0 if R is None else R)
        fut, cum = _futility_pass(timing, upper, theta, beta, spending, R, deferred, r)
        if side == 1 or _deferred(fut) == deferred:
            break
        deferred = _deferred(fut)
    if inflation is not None and fut[-1] > upper[-1]:
        fut[-1] = upper[-1]
    return fut, cum, R


def _solve_decreasing(f, start: float) -> float:
    """Root of a decreasing function of R > 0, bracketing outward from ``start``."""
    lo = hi = start
    f_lo = f_hi = f(start)
    while f_lo < 0:
        hi, f_hi, lo = lo, f_lo, lo / 1.25
        if lo < 1e-3:
            raise ValueError("no information size makes the boundaries meet")
        f_lo = f(lo)
    while f_hi > 0:
        lo, f_lo, hi = hi, f_hi, hi * 1.25
        if hi > 1e3:
            raise ValueError("no information size makes the boundaries meet")
        f_hi = f(hi)
    if f_lo == 0 or lo == hi:
        return lo
    from scipy.optimize import brentq

    return float(brentq(f, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps))


def sequential_boundaries(
    timing,
    alpha: float = 0.05,
    side: int = 2,
    spending: str = "obrien-fleming",
    beta: float | None = None,
    futility: str | None = None,
    *,
    inflation: float | None = None,
    grid: int = GRID,
) -> Boundaries:
    """Lan-DeMets α-spending boundaries at information fractions ``timing``, optionally
    with β-spending futility boundaries (``futility`` = its spending function).

    ``spending``/``futility``: ``'obrien-fleming'`` or ``'pocock'``. ``beta`` (type II
    error) is needed for futility boundaries and for ``inflation``; ``inflation`` fixes
    the information at t = 1 relative to the fixed-design information (1 = the TSA
    program's analysis) instead of solving it. ``grid`` is the r of Jennison & Turnbull's
    grid. See the module docstring for the formulas, the cap and timings beyond 1.
    """
    alpha = check_alpha(alpha)
    side = check_side(side)
    spending = check_spending(spending)
    t = check_timing(timing)
    if int(grid) < 4:
        raise ValueError(f"grid must be an integer of at least 4, got {grid}")
    grid = int(grid)
    if beta is not None:
        beta = check_alpha(beta, "beta")
    if futility is not None:
        futility = check_spending(futility, "futility spending")
        if beta is None:
            raise ValueError("futility boundaries need beta (the type II error)")
    if inflation is not None:
        if not (np.isfinite(inflation) and inflation > 0):
            raise ValueError(f"inflation must be a positive number, got {inflation}")
        if beta is None:
            raise ValueError("inflation needs beta (the type II error)")
    notes = []
    if t[-1] < 1:
        t = np.append(t, 1.0)
        notes.append("a final look at the required information size (t = 1) was added")
    elif t[-1] > 1:
        if futility is not None:
            raise ValueError(
                f"futility boundaries need information fractions up to 1, got {t[-1]:g}"
            )
        notes.append(
            f"information exceeds the required size (t = {t[-1]:g}): α is spent on t/{t[-1]:g}"
        )
    upper, spent, capped = alpha_boundaries(t, alpha, side, spending, grid)
    if capped.any():
        notes.append(
            f"{int(capped.sum())} look(s) spend less than {ALPHA_TOL:g} α: "
            f"boundary set to the cap {CAP:g} (no crossing possible)"
        )
    lower = -upper if side == 2 else np.full(t.size, np.nan)
    fut_u, fut_l = np.full(t.size, np.nan), np.full(t.size, np.nan)
    beta_spent = power = None
    R = inflation
    if beta is not None:
        theta = dist.norm_quantile(1 - alpha / side) + dist.norm_quantile(1 - beta)
        frac = t / t[-1]
        if futility is None:
            cont_lo = lower if side == 2 else np.full(t.size, -CAP)

            def power_at(x: float) -> float:
                return _power(frac * x, upper, cont_lo, theta, grid)

            if R is None:
                R = _solve_decreasing(lambda x: (1 - beta) - power_at(x), 1.0)
            power = power_at(R)
        else:
            fut, beta_spent, R = _futility(t, upper, theta, beta, futility, side, inflation, grid)
            cont_lo = np.where(np.isnan(fut), -CAP, np.minimum(fut, upper))
            power = _power(t * R, upper, cont_lo, theta, grid)
            if side == 2:
                fut_u, fut_l = fut, -fut
            else:
                fut_l = fut
    return Boundaries(
        timing=t,
        upper=upper,
        lower=lower,
        alpha_spent=spent,
        capped=capped,
        futility_upper=fut_u,
        futility_lower=fut_l,
        beta_spent=beta_spent,
        inflation=R,
        power=power,
        alpha=alpha,
        side=side,
        spending=spending,
        beta=beta,
        futility=futility,
        grid=grid,
        notes=tuple(notes),
    )
