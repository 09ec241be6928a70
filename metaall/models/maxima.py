"""Where the (restricted) likelihood in tau² has its maxima, for a batch of data sets.

Write S(τ²) = y'PPy - tr(P) for REML and y'PPy - Σwᵢ for ML (twice the score;
P = W - WX(X'WX)⁻¹X'W, W = diag(1/(vᵢ + τ²)), Viechtbauer 2005, Stat Med 24:3-24).
The maxima are τ² = 0 where S(0) ≤ 0 and every point where S falls through zero.
Three bounds, proved below, confine them cheaply; with n = k - p (REML) or k (ML),
Q₀ = y'P(0)y (the residual Q statistic), v₋ and v₊ the smallest and largest vᵢ:

1. S(τ²) < 0 for τ² > T⁺ = Q₀v₊/n - v₋, and S(τ²) > 0 for τ² < T₋ = Q₀v₋/n - v₊:
   the nonzero eigenvalues of P (those of the compression of W to the residual
   space, Courant-Fischer) lie in [w₋, w₊], so w₋·y'Py ≤ y'PPy ≤ w₊·y'Py and
   n·w₋ ≤ tr(P) ≤ n·w₊ (tr(W) for ML); and y'P(τ²)y = min_β Σwᵢ(yᵢ - xᵢ'β)² lies
   between Q₀v₋/(v₋ + τ²) and Q₀v₊/(v₊ + τ²), since wᵢ(τ²)/wᵢ(0) = vᵢ/(vᵢ + τ²)
   increases in vᵢ.
2. On τ² ≥ t_c = v₊ - 2v₋, S changes sign at most once, from + to -: there
   w₊ < 2w₋, and with u = Py (dP/dτ² = -PP), the ratio ψ = y'PPy / tr(P) has
   ψ' ∝ -2u'Pu·tr(P) + u'u·tr(PP) ≤ u'u·tr(P)·(w₊ - 2w₋) < 0, so S = tr(P)(ψ - 1)
   crosses zero at most once (the same with tr(W), Σwᵢ² for ML).

(w₋, w₊ are the smallest and largest weight 1/(vᵢ + τ²) at τ².) So a second maximum
needs a rise of S (a local minimum of the likelihood) in [max(0, T₋), min(T⁺, t_c)]:
where that interval is empty the maximum is unique (a proof, no evaluation);
elsewhere :func:`screen` looks for a rise on a geometric grid over it, from
max(T₋, v₋/10), neighbouring points at most :data:`SCREEN_STEP` apart (a rise between
two grid points can be missed: the screen is a heuristic there, as any finite grid
is; on data built to have several maxima it misses fewer than the earlier 16 points
over [v₋/10, max(100, 10·mad²)], with fewer evaluations). :func:`global_search`
evaluates S on :data:`SEARCH_POINTS` such points, 2T⁺ and any points the caller knows
(Fisher scoring's iterates), refines every fall with Brent's method
(:mod:`metaall.models.brent`) and returns the candidate of highest likelihood, zero
included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall.models.brent import brent_root

SEARCH_POINTS = 16  # grid points of the global search over the risky interval
SCREEN_STEP = 2.0  # largest ratio of neighbouring screen points
SCREEN_POINTS = 16  # at most this many screen points
COMPACT = 0.75  # evaluate a subset on a copy when it is smaller than this share
ROOT_TOL = 2e-15  # absolute tolerance of the refined maxima (relative: 4·eps)


@dataclass(frozen=True)
class Bounds:
    """Per data set: the stationary points lie in [lower, upper]; beyond ``unimodal``
    the score changes sign at most once (see module doc)."""

    lower: np.ndarray
    upper: np.ndarray
    unimodal: np.ndarray
    v_min: np.ndarray

    @property
    def risky(self) -> tuple[np.ndarray, np.ndarray]:
        """[a, b]: where a rise of the score (a second maximum) can be (a ≥ b: none)."""
        return np.maximum(self.lower, 0.0), np.minimum(self.upper, self.unimodal)


def bounds(scorer, reml: bool, q0: np.ndarray) -> Bounds:
    """The bounds T₋, T⁺ and t_c of the module doc for every data set of ``scorer``
    (``q0``: y'Py at tau² = 0)."""
    v_min, v_max = scorer.v_range
    n = scorer.k - scorer.p if reml else scorer.k
    return Bounds(q0 * v_min / n - v_max, q0 * v_max / n - v_min, v_max - 2 * v_min, v_min)


def _grid(b: Bounds, points) -> np.ndarray:
    """(m, max(points)): 0 (or T₋), then ``points - 1`` points geometric from
    max(T₋, v₋/10) to the end of the risky interval (repeated to fill the row)."""
    a, end = b.risky
    start = np.maximum(a, b.v_min / 10)
    end = np.maximum(end, start)
    n = np.broadcast_to(points, a.shape)
    frac = np.minimum(np.arange(n.max() - 1)[None, :] / np.maximum(n - 2, 1)[:, None], 1.0)
    geo = start[:, None] * (end / start)[:, None] ** frac
    return np.concatenate([a[:, None], geo], axis=1)


def _scores(scorer, pts: np.ndarray, reml: bool) -> np.ndarray:
    """S at every column of ``pts`` (m, G): G lean evaluations, no (m, G, k) array."""
    return np.stack([scorer.score(pts[:, j], reml) for j in range(pts.shape[1])], axis=1)


def screen(scorer, reml: bool, b: Bounds, rows: np.ndarray) -> np.ndarray:
    """Which of the data sets ``rows`` (a boolean mask) may have a second maximum: a
    rise of the score on a grid over the risky interval, neighbouring points at most
    :data:`SCREEN_STEP` apart (none where the interval is empty)."""
    a, end = b.risky
    rows = rows & (end > a)
    start = np.maximum(a, b.v_min / 10)
    steps = np.ceil(np.log(np.maximum(end, start) / start) / np.log(SCREEN_STEP))
    n = np.where(rows, np.clip(steps.astype(int) + 2, 3, SCREEN_POINTS), 0)
    pts = _grid(b, np.maximum(n, 2))
    s = np.zeros(pts.shape)
    for j in range(n.max(initial=0)):  # column j where the data set has a j-th point
        more = np.flatnonzero(n > j)
        if j:
            s[:, j] = s[:, j - 1]
        sub = scorer if more.size > COMPACT * scorer.m else scorer.take(more)
        score = sub.score(pts[more, j] if sub is not scorer else pts[:, j], reml)
        s[more, j] = score if sub is not scorer else score[more]
    return ((s[:, :-1] <= 0) & (s[:, 1:] > 0)).any(axis=1) & rows


def take(b: Bounds, idx: np.ndarray) -> Bounds:
    return Bounds(b.lower[idx], b.upper[idx], b.unimodal[idx], b.v_min[idx])


@dataclass(frozen=True)
class Search:
    """Result of :func:`global_search`: the most likely tau² per data set, and whether
    it is the maximum whose basin holds the ``anchor`` point (Fisher's value)."""

    tau2: np.ndarray
    same_basin: np.ndarray


def global_search(scorer, reml: bool, b: Bounds, extra: np.ndarray, anchor=None) -> Search:
    """The global maximum of the (restricted) likelihood for every data set (module doc).

    ``extra`` (m, E) are further grid points (e.g. Fisher's iterates; NaN: none).
    ``anchor`` (m,) is a point whose basin of attraction is reported: the maximum
    reached by going uphill from it (the first fall to its right where S > 0 there,
    else the last fall to its left, else zero).
    """
    m = scorer.m
    upper = np.maximum(b.upper, 0.0)
    cols = [_grid(b, SEARCH_POINTS), 2 * upper[:, None], np.nan_to_num(extra, nan=0.0)]
    anchor = np.zeros(m) if anchor is None else anchor
    cols.append(anchor[:, None])
    pts = np.sort(np.minimum(np.concatenate(cols, axis=1), 2 * upper[:, None]), axis=1)
    s = _scores(scorer, pts, reml)
    fall = (s[:, :-1] > 0) & (s[:, 1:] <= 0)
    row, j = np.nonzero(fall)

    roots = np.zeros(0)
    if row.size:

        def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return scorer.take(row[rows]).score(x, reml)

        roots, _ = brent_root(f, pts[row, j], pts[row, j + 1], tol=ROOT_TOL)
    cand_row = np.concatenate([np.arange(m), row])
    cand = np.concatenate([np.zeros(m), roots])
    slot = np.concatenate([np.full(m, -1), j])  # the fall each candidate refines
    ll = scorer.take(cand_row).loglik(cand, reml)
    order = np.lexsort((-ll, cand_row))  # per data set, most likely first (zero on ties)
    first = order[np.unique(cand_row[order], return_index=True)[1]]

    # the anchor's basin: its position on the grid and the fall reached uphill from it
    pos = np.argmax(pts >= anchor[:, None], axis=1)
    s_anchor = s[np.arange(m), pos]
    j_all = np.arange(fall.shape[1])
    right = np.where(fall & (j_all >= pos[:, None]), j_all, fall.shape[1]).min(axis=1)
    left = np.where(fall & (j_all < pos[:, None]), j_all, -1).max(axis=1)
    basin = np.where(s_anchor > 0, right, left)
    same = slot[first] == basin
    # a different maximum counts only if it is more likely beyond rounding
    basin_ll = np.full(m, -np.inf)
    mine = slot == basin[cand_row]
    np.maximum.at(basin_ll, cand_row[mine], ll[mine])
    same |= ll[first] <= basin_ll + 1e-12 * np.maximum(1.0, np.abs(basin_ll))
    return Search(cand[first], same)
