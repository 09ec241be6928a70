"""Recursive numerical integration for group-sequential tests (Armitage, McPherson &
Rowe 1969, J R Stat Soc A 132:235), on the grid of Jennison & Turnbull (2000, *Group
Sequential Methods with Applications to Clinical Trials*, ch. 19).

Model: at look k the information is Iₖ and the score statistic Sₖ = Zₖ√Iₖ has
independent increments Sₖ - Sₖ₋₁ ~ N(θΔₖ, Δₖ), Δₖ = Iₖ - Iₖ₋₁ (canonical joint
distribution, J&T §3.1). With information measured in units of the fixed-design
information (I = 1 at the required information size), θ is the drift: E[Z] = θ at I = 1.

The sub-density of Zₖ over paths that continued at every earlier look is

    f₁(z) = φ(z - θ√I₁),
    fₖ(z) = ∫ fₖ₋₁(u) · √(Iₖ/Δₖ) · φ((z√Iₖ - u√Iₖ₋₁ - θΔₖ)/√Δₖ) du   over (aₖ₋₁, bₖ₋₁),

and the probability of leaving above b (below a) at look k is the same integral with
φ replaced by the upper (lower) normal tail (J&T §19.2, eqs. 19.3-19.5).

Quadrature: J&T's grid (§19.2) of 6r - 1 points centred at θ√Iₖ, spaced 3/(2r) within
±3 SD and logarithmically out to ±(3 + 4 ln r) SD, cut at the continuation limits.
J&T integrate with Simpson's rule on it (RTSA does, with r = 18); here each interval
gets a 4-point Gauss-Legendre rule (``numpy.polynomial.legendre.leggauss``), whose
error falls as h⁸ instead of h⁴: with r = 8 (184 nodes) crossing probabilities are
accurate to about 1e-13, against about 1e-9 for Simpson with r = 32 (381 nodes; see
``tests/test_sequential.py``). When the next increment is small the next integrand
varies on the scale √(Δₖ₊₁/Iₖ) in z, so r is divided by that scale when it is below 1
(at most 4-fold; the TSA's 1% rule keeps the scale above √0.01 = 0.1). Boundaries are
then accurate to about 1e-9 in z (``test_grid_convergence``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _special():
    from scipy import special  # imported on first use: ``import metaall`` stays scipy-free

    return special


def grid(
    mean: float, lo: float, hi: float, r: int, points: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on Jennison & Turnbull's intervals within (lo, hi)."""
    i = np.arange(1, 6 * r, dtype=float)
    x = mean + np.where(
        i < r,
        -3 - 4 * np.log(r / i),
        np.where(i <= 5 * r, -3 + 3 * (i - r) / (2 * r), 3 + 4 * np.log(r / (6 * r - i))),
    )
    if lo > x[0]:
        x = np.concatenate(([lo], x[x > lo]))
    if hi < x[-1]:
        x = np.concatenate((x[x < hi], [hi]))
    if x.size < 2 or not x[-1] > x[0]:
        return np.empty(0), np.empty(0)
    nodes, weights = np.polynomial.legendre.leggauss(points)
    half = np.diff(x)[:, None] / 2
    z = (x[:-1, None] + half * (nodes + 1)).ravel()
    return z, (half * weights).ravel()


MIN_SCALE = 0.25  # refine the grid at most 4-fold


@dataclass(frozen=True)
class Stage:
    """The weighted sub-density (Simpson weight × fₖ) of Zₖ on its grid after look k."""

    info: float  # Iₖ
    z: np.ndarray
    mass: np.ndarray


class Recursion:
    """Crossing probabilities look by look for drift ``theta``.

    Call :meth:`upper_tail`/:meth:`lower_tail` for candidate boundaries at the next
    look, then :meth:`advance` with the chosen continuation interval.
    """

    def __init__(self, theta: float = 0.0, r: int = 32):
        self.theta = float(theta)
        self.r = int(r)
        self.stage: Stage | None = None

    def _shift(self, info: float) -> tuple[np.ndarray, float, float]:
        """Mean of Sₖ given each previous grid point, and the increment's SD."""
        prev = self.stage
        if prev is None:
            return np.zeros(1), self.theta * info, np.sqrt(info)
        delta = info - prev.info
        if not delta > 0:
            raise ValueError("information must increase from look to look")
        return prev.z * np.sqrt(prev.info), self.theta * delta, np.sqrt(delta)

    def _weights(self) -> np.ndarray:
        return np.ones(1) if self.stage is None else self.stage.mass

    def upper_tail(self, b: float, info: float) -> float:
        """P(continue until now, Zₖ > b) at the next look with information ``info``."""
        start, drift, sd = self._shift(info)
        x = (start + drift - b * np.sqrt(info)) / sd
        return float(self._weights() @ _special().ndtr(x))

    def lower_tail(self, a: float, info: float) -> float:
        """P(continue until now, Zₖ < a) at the next look with information ``info``."""
        start, drift, sd = self._shift(info)
        x = (a * np.sqrt(info) - start - drift) / sd
        return float(self._weights() @ _special().ndtr(x))

    def advance(self, lo: float, hi: float, info: float, next_info: float | None = None) -> None:
        """Move to the next look, keeping the paths with lo < Zₖ < hi.

        ``next_info`` (the information at the look after) refines the grid when the
        coming increment is small: the next integrand varies on the scale
        √((Iₖ₊₁ - Iₖ)/Iₖ) in z, so r is divided by that when it is below 1 (by 4 at most).
        """
        start, drift, sd = self._shift(info)
        r = self.r
        if next_info is not None:
            scale = max(np.sqrt((next_info - info) / info), MIN_SCALE)
            if scale < 1:
                r = int(np.ceil(self.r / scale))
        z, w = grid(self.theta * np.sqrt(info), lo, hi, r)
        if z.size:
            dens = np.exp(
                -0.5 * ((z[:, None] * np.sqrt(info) - start[None, :] - drift) / sd) ** 2
            ) * (np.sqrt(info) / (sd * np.sqrt(2 * np.pi)))
            mass = w * (dens @ self._weights())
        else:
            mass = w
        self.stage = Stage(float(info), z, mass)

    def remaining(self) -> float:
        """P(continued at every look so far)."""
        return float(self._weights().sum()) if self.stage is not None else 1.0
