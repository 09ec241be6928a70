"""Brent's root finder, vectorised over a batch of independent problems.

metafor finds the Paule-Mandel tau² and the Q-profile confidence limits with R's
``uniroot``, which is Brent's (1973) zero-finding algorithm (Brent, *Algorithms for
Minimization without Derivatives*, ch. 4) run to R's default absolute tolerance
``.Machine$double.eps^0.25`` (about 1.2e-4 on the tau² scale). To reproduce
metafor's numbers to machine precision we run the same algorithm with the same
tolerance; callers that want the exact root pass a smaller tolerance.

``scipy.optimize.brentq`` implements a different Brent variant whose iterates differ,
so at metafor's loose tolerance it lands on different (equally valid) points; that
is why this module exists. Elsewhere metaall uses scipy's root finders.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

R_UNIROOT_TOL = float(np.finfo(float).eps ** 0.25)
_EPS = float(np.finfo(float).eps)


def brent_root(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Find a root of ``f`` in ``[lower, upper]`` for every problem of a batch.

    ``f(x, rows)`` evaluates problem ``rows[j]`` at ``x[j]``; ``f(lower)`` and
    ``f(upper)`` must have opposite signs (or one be zero). Returns the roots and a
    boolean array telling which problems converged within ``maxiter`` steps.
    """
    a = np.array(lower, dtype=float)
    b = np.array(upper, dtype=float)
    n = a.size
    rows = np.arange(n)
    fa = f(a, rows)
    fb = f(b, rows)
    c, fc = a.copy(), fa.copy()
    root = np.full(n, np.nan)
    converged = np.zeros(n, dtype=bool)

    at_a, at_b = fa == 0, (fb == 0) & (fa != 0)
    root[at_a], root[at_b] = a[at_a], b[at_b]
    converged[at_a | at_b] = True
    act = ~(at_a | at_b)

    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(maxiter + 1):
            if not act.any():
                break
            prev_step = b - a
            # make b the best approximation so far
            swap = act & (np.abs(fc) < np.abs(fb))
            a[swap], b[swap], c[swap] = b[swap], c[swap], b[swap]
            fa[swap], fb[swap], fc[swap] = fb[swap], fc[swap], fb[swap]

            tol_act = 2 * _EPS * np.abs(b) + tol / 2
            new_step = (c - b) / 2
            done = act & ((np.abs(new_step) <= tol_act) | (fb == 0))
            root[done] = b[done]
            converged[done] = True
            act &= ~done

            # try secant (two points) or inverse quadratic interpolation
            interp = act & (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
            cb = c - b
            t1_lin = fb / fa
            p_lin, q_lin = cb * t1_lin, 1.0 - t1_lin
            q0, t1, t2 = fa / fc, fb / fc, fb / fa
            p_quad = t2 * (cb * q0 * (q0 - t1) - (b - a) * (t1 - 1.0))
            q_quad = (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            linear = a == c
            p = np.where(linear, p_lin, p_quad)
            q = np.where(linear, q_lin, q_quad)
            q = np.where(p > 0, -q, q)
            p = np.abs(p)
            accept = (
                interp
                & (p < 0.75 * cb * q - np.abs(tol_act * q) / 2)
                & (p < np.abs(prev_step * q / 2))
            )
            new_step = np.where(accept, p / q, new_step)
            small = np.abs(new_step) < tol_act
            new_step = np.where(small, np.where(new_step > 0, tol_act, -tol_act), new_step)

            idx = rows[act]
            if idx.size == 0:
                break
            a[idx], fa[idx] = b[idx], fb[idx]
            b[idx] = b[idx] + new_step[idx]
            fb[idx] = f(b[idx], idx)
            same_sign = ((fb[idx] > 0) & (fc[idx] > 0)) | ((fb[idx] < 0) & (fc[idx] < 0))
            moved = idx[same_sign]
            c[moved], fc[moved] = a[moved], fa[moved]

    root[act] = b[act]
    return root, converged
