"""Maximum likelihood for the GLMMs of :mod:`metaall.models.glmm`: Newton-Raphson on
the approximate marginal log-likelihood of :mod:`metaall.models.glmm_quadrature`.

Parameters come in three kinds: study-specific ("local", e.g. the fixed study
intercepts of metafor's UM.FS model), shared ("global", e.g. the pooled log odds
ratio) and the random-effect standard deviations λ. Study i's log-likelihood depends
only on its own local parameters and the shared ones, so the Hessian is block-arrow
shaped. It is the integrator's own (exact integration) or central differences of the
exact gradient, perturbing one local coordinate of all studies at once:
2·(L + G + q) gradient evaluations per Hessian whatever the number of studies.

Each step is the Newton direction of the (eigenvalue-modified, when not negative
definite) Hessian with Armijo backtracking (Nocedal & Wright 2006, *Numerical
Optimization*, §3.1, §3.4). The iteration stops when the Newton decrement
gᵀ(-H)⁻¹g, twice the predicted gain in log-likelihood, is below 1e-12; the final
Newton step is then taken. The likelihood is even in each λ (z and -z have the same
distribution), so λ is unconstrained and |λ| is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from metaall.models.glmm_quadrature import Design, Integral, agq, exact, gauss_hermite, laplace

DECREMENT_TOL = 1e-12
MAX_ITER = 100
BOUND = 50.0  # |log odds|, |log odds ratio| or tau beyond this: no finite maximum


@dataclass
class Problem:
    """A GLMM likelihood: ``design`` with P = L + G fixed-effect columns (L local, then G
    global), ``active`` (k, L) marking the local parameters that exist, ``lam_fixed``
    (fixed λ, e.g. zeros for a common-effect fit) or None (λ estimated), and
    ``integration``: ``"laplace"`` (any q), ``"exact"`` or a number of adaptive
    Gauss-Hermite nodes (q = 1)."""

    design: Design
    n_local: int
    active: np.ndarray
    lam_fixed: np.ndarray | None
    integration: str | int
    _modes: np.ndarray | None = field(default=None, repr=False)
    _rule: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        if isinstance(self.integration, int):
            self._rule = gauss_hermite(self.integration)

    @property
    def k(self) -> int:
        return self.design.X.shape[0]

    @property
    def n_global(self) -> int:
        return self.design.X.shape[2] - self.n_local

    @property
    def q(self) -> int:
        return self.design.C.shape[2]

    @property
    def size(self) -> int:
        free_lam = 0 if self.lam_fixed is not None else self.q
        return int(self.active.sum()) + self.n_global + free_lam

    def unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-study fixed effects (k, P) and λ (q,) from the parameter vector."""
        n_act = int(self.active.sum())
        local = np.zeros((self.k, self.n_local))
        local[self.active] = x[:n_act]
        shared = x[n_act : n_act + self.n_global]
        beta = np.concatenate([local, np.broadcast_to(shared, (self.k, self.n_global))], axis=1)
        lam = self.lam_fixed if self.lam_fixed is not None else x[n_act + self.n_global :]
        return beta, np.asarray(lam, dtype=float)

    def integral(self, x: np.ndarray, update: bool = False) -> Integral:
        """Per-study approximations at ``x``; the mode search starts from the last
        accepted point's modes (``update`` records this point's)."""
        beta, lam = self.unpack(x)
        if self.integration == "laplace":
            out = laplace(self.design, beta, lam, self._modes)
        elif self.integration == "exact":
            out = exact(self.design, beta, float(lam[0]), self._modes)
        else:
            out = agq(self.design, beta, float(lam[0]), self._rule, self._modes)
        if update:
            self._modes = out.mode
        return out

    def gradient(self, per_study: np.ndarray) -> np.ndarray:
        """Full gradient from the per-study gradients (k, P + q)."""
        L, G = self.n_local, self.n_global
        parts = [per_study[:, :L][self.active], per_study[:, L : L + G].sum(axis=0)]
        if self.lam_fixed is None:
            parts.append(per_study[:, L + G :].sum(axis=0))
        return np.concatenate(parts)

    def hessian(self, x: np.ndarray, at: Integral) -> np.ndarray:
        """Full Hessian (block-arrow): the integrator's, or central differences of the
        exact gradient."""
        L, G = self.n_local, self.n_global
        n_act = int(self.active.sum())
        shared = list(range(n_act, self.size))  # positions of shared parameters in x
        width = L + G + (self.q if self.lam_fixed is None else 0)
        index = np.full((self.k, L), -1)
        index[self.active] = np.arange(n_act)
        if at.hess is not None:
            D = at.hess[:, :width, :width]
        else:
            D = self._differences(x, width, index, shared)
        n = self.size
        out = np.zeros((n, n))
        for i in range(self.k):
            idx = [index[i, r] for r in range(L) if self.active[i, r]] + shared
            sel = [r for r in range(L) if self.active[i, r]] + list(range(L, width))
            out[np.ix_(idx, idx)] += D[i][np.ix_(sel, sel)]
        return out

    def _differences(self, x, width, index, shared) -> np.ndarray:
        """Per-study Hessians D[i, a, b] = d grad_i[b] / d param_a by central differences."""
        L = self.n_local
        D = np.zeros((self.k, width, width))
        for a in range(width):
            step = np.zeros_like(x)
            if a < L:
                pos = index[:, a][self.active[:, a]]
                step[pos] = 1e-5 * np.maximum(1.0, np.abs(x[pos]))
                h = np.ones(self.k)
                h[self.active[:, a]] = step[pos]
            else:
                j = shared[a - L]
                step[j] = 1e-5 * max(1.0, abs(x[j]))
                h = np.full(self.k, step[j])
            up = self.integral(x + step).grad[:, :width]
            down = self.integral(x - step).grad[:, :width]
            D[:, a, :] = (up - down) / (2 * h[:, None])
        return (D + np.swapaxes(D, 1, 2)) / 2

    def value(self, x: np.ndarray) -> float:
        return float(self.integral(x).value.sum())


@dataclass(frozen=True)
class Optimum:
    """The maximiser, the log-likelihood there, its Hessian and the iteration count."""

    x: np.ndarray
    loglik: float
    hessian: np.ndarray
    integral: Integral
    iterations: int
    decrement: float


def _newton_step(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """Ascent direction (-H)⁻¹g, with -H's eigenvalues floored when not positive."""
    A = -H
    vals, vecs = np.linalg.eigh(A)
    floor = 1e-10 * max(1.0, float(np.max(np.abs(vals))))
    vals = np.where(vals > floor, vals, np.maximum(np.abs(vals), floor))
    step = vecs @ ((vecs.T @ g) / vals)
    return step, float(g @ step)


def _check_bounded(x: np.ndarray, what: str) -> None:
    if np.max(np.abs(x)) > BOUND:
        raise ValueError(
            f"{what}: the likelihood has no finite maximum (a parameter passed {BOUND:g} in "
            "absolute value on the log-odds scale, or tau did): the tables are too sparse "
            "for this model (e.g. every study has an arm with no events or only events)"
        )


def maximise(problem: Problem, x0: np.ndarray, what: str) -> Optimum:
    """Newton-Raphson with backtracking from ``x0``; ``what`` names the model in errors."""
    x = np.asarray(x0, dtype=float).copy()
    current = problem.integral(x, update=True)
    f = float(current.value.sum())
    for it in range(1, MAX_ITER + 1):
        g = problem.gradient(current.grad)
        H = problem.hessian(x, current)
        step, dec = _newton_step(H, g)
        if dec < DECREMENT_TOL:
            trial = x + step
            new = problem.integral(trial, update=True)
            if float(new.value.sum()) >= f - 1e-12 * (1 + abs(f)):
                x, current = trial, new
            _check_bounded(x, what)
            final = problem.hessian(x, current)
            return Optimum(x, float(current.value.sum()), final, current, it, dec)
        noise = 1e-13 * (1 + abs(f))
        t = 1.0
        for _ in range(60):
            trial = x + t * step
            f_new = float(problem.integral(trial).value.sum())
            if np.isfinite(f_new) and (
                f_new >= f + 1e-4 * t * dec or (dec < 1e-8 and f_new >= f - noise)
            ):
                break
            t /= 2
        else:
            raise ValueError(f"{what}: no ascent along the Newton direction (decrement {dec:.3g})")
        x = trial
        current = problem.integral(x, update=True)
        f = float(current.value.sum())
        _check_bounded(x, what)
    raise ValueError(
        f"{what}: Newton-Raphson did not converge in {MAX_ITER} iterations "
        f"(last decrement {dec:.3g}, tolerance {DECREMENT_TOL:g})"
    )
