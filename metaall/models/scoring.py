"""The sums behind the ML/REML/EB tau² estimators, evaluated leanly for a batch.

Fisher scoring, the several-maxima screen and the root finder of
:mod:`metaall.models.tau2` need, at one tau² per data set, the quantities that
:class:`metaall.models.design.WLS` defines (Viechtbauer 2005, Stat Med 24:3-24 §2;
P = W - WX(X'WX)⁻¹X'W): Σwᵢ, Σwᵢ², tr(P), tr(PP), y'Py, y'PPy and the (restricted)
log-likelihood. ``WLS`` computes them with general array algebra for any use;
:class:`Scorer` computes the same numbers with as few passes over memory as it can,
because these estimators evaluate them many times:

* the data are stored study-major, (k, m), absent studies with vᵢ = ∞ (weight
  exactly 0, so no mask is applied); a per-data-set sum is ``np.add.reduce`` over
  axis 0: k vectorised additions in the studies' order, so a data set's sums are
  bitwise the same alone or in any batch (single data sets are padded to two
  columns, since numpy sums a lone column pairwise);
* data sets are processed in blocks of about :data:`BLOCK` numbers, so that the
  temporaries of one evaluation stay in cache; a data set with more studies than a
  block (one meta-analysis of 10⁶ studies) is processed in blocks of studies, in two
  passes (the weighted mean, then the residuals);
* w², w³ are products, row sums are reductions of the buffers already in cache;
* designs with moderators: X'WX = Σ wᵢ xᵢxᵢ' is one matrix product with the shared
  outer products xᵢxᵢ', on an orthonormal basis of the design's columns (the same
  projection P, better conditioned), inverted by a Cholesky factorisation
  vectorised over the data sets (numpy's batched ``linalg`` calls LAPACK once per
  2×2 matrix, 30 times slower here).

Indicator designs with several groups (subgroup models, where groups may be empty
in some data sets) are evaluated with :class:`~metaall.models.design.WLS` itself
(:class:`WLSScorer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaall.models.design import Batch

BLOCK = 1 << 15  # numbers per block: a dozen (k, columns) buffers of it fit in L2 cache


@dataclass
class Sums:
    """Per-data-set sums at given tau² (those not asked for are None)."""

    sw: np.ndarray  # Σwᵢ
    ypp: np.ndarray  # y'PPy = Σ(wᵢrᵢ)²
    rss: np.ndarray | None = None  # y'Py = Σwᵢrᵢ²
    sw2: np.ndarray | None = None  # Σwᵢ²
    tr_p: np.ndarray | None = None
    tr_pp: np.ndarray | None = None
    log_det: np.ndarray | None = None  # log det(X'WX)
    log_v: np.ndarray | None = None  # Σ log(vᵢ + tau²)


def _log_present(W: np.ndarray) -> np.ndarray:
    """log(vᵢ + tau²) for present studies, 0 for absent ones (vᵢ = ∞)."""
    return np.log(W, out=np.zeros_like(W), where=np.isfinite(W))


def _spd_inverse(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of symmetric positive definite matrices stacked on
    the last axis, (p, p, n): Cholesky A = LL' (Golub & Van Loan 2013, Alg. 4.2.1),
    L⁻¹ by forward substitution, A⁻¹ = L⁻ᵀL⁻¹, each step vectorised over n."""
    p = A.shape[0]
    L = np.zeros_like(A)
    for j in range(p):
        s = A[j, j] - sum(L[j, i] ** 2 for i in range(j))
        L[j, j] = np.sqrt(s)
        for r in range(j + 1, p):
            L[r, j] = (A[r, j] - sum(L[r, i] * L[j, i] for i in range(j))) / L[j, j]
    inv_l = np.zeros_like(A)
    for j in range(p):
        inv_l[j, j] = 1.0 / L[j, j]
        for r in range(j + 1, p):
            inv_l[r, j] = -sum(L[r, i] * inv_l[i, j] for i in range(j, r)) / L[r, r]
    inv = np.empty_like(A)
    for a in range(p):
        for b in range(a, p):
            inv[a, b] = inv[b, a] = sum(inv_l[i, a] * inv_l[i, b] for i in range(b, p))
    log_det = 2 * sum(np.log(L[j, j]) for j in range(p))
    return inv, log_det


class Scorer:
    """Lean evaluation of :class:`Sums` for an intercept-only or moderator design
    (see module doc). ``Y``, ``V`` are (k, m); ``Q`` an orthonormal basis of the
    design's columns (None: intercept only)."""

    def __init__(self, Y: np.ndarray, V: np.ndarray, Q: np.ndarray | None, k, p) -> None:
        self.Y, self.V, self.Q = Y, V, Q
        self.k, self.p = k, p  # (m,) studies and coefficients per data set
        self.m = Y.shape[1]
        if Q is not None:
            q = Q.shape[1]
            self._outer = (Q[:, :, None] * Q[:, None, :]).reshape(-1, q * q).T.copy()

    @classmethod
    def for_batch(cls, batch: Batch) -> Scorer | WLSScorer:
        """The scorer for ``batch``'s design."""
        X = batch.X
        intercept = X.shape[1] == 1 and bool(np.all(X == 1))
        if not intercept and batch.indicator:
            return WLSScorer(batch)
        Y = np.where(batch.mask, batch.y, 0.0).T
        V = np.where(batch.mask, batch.v, np.inf).T
        Q = None if intercept else np.linalg.qr(X)[0]
        return cls(np.ascontiguousarray(Y), np.ascontiguousarray(V), Q, batch.k, batch.p)

    def take(self, idx: np.ndarray) -> Scorer:
        """The scorer of data sets ``idx``."""
        return Scorer(self.Y[:, idx], self.V[:, idx], self.Q, self.k[idx], self.p[idx])

    @property
    def v_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest sampling variance of each data set."""
        finite = np.isfinite(self.V)
        return (
            np.where(finite, self.V, np.inf).min(axis=0),
            np.where(finite, self.V, -np.inf).max(axis=0),
        )

    # -- evaluation ---------------------------------------------------------------
    def sums(self, tau2, reml: bool = True, rss: bool = False, loglik: bool = False) -> Sums:
        """The sums at ``tau2`` (one value per data set, or a scalar): always Σw and
        y'PPy; Σw², tr(P), tr(PP) (REML) or Σw² (ML); y'Py with ``rss``; and what
        :meth:`loglik` needs with ``loglik``."""
        t = np.broadcast_to(np.asarray(tau2, dtype=float), (self.m,))
        k = self.Y.shape[0]
        if k * 2 > BLOCK:
            return self._by_studies(t, reml, rss, loglik)
        pad = self.m == 1
        Y, V, t = (
            (np.repeat(self.Y, 2, 1), np.repeat(self.V, 2, 1), np.repeat(t, 2))
            if pad
            else (self.Y, self.V, t)
        )
        width = max(2, BLOCK // k)
        starts = list(range(0, Y.shape[1], width))
        if len(starts) > 1 and Y.shape[1] - starts[-1] < 2:
            starts.pop()  # no block of one column: numpy would sum it pairwise
        ends = [*starts[1:], Y.shape[1]]
        parts = [
            self._block(Y[:, a:b], V[:, a:b], t[a:b], reml, rss, loglik)
            for a, b in zip(starts, ends, strict=True)
        ]
        out = {
            name: (None if parts[0][name] is None else np.concatenate([s[name] for s in parts]))
            for name in parts[0]
        }
        if pad:
            out = {n: (None if x is None else x[:1]) for n, x in out.items()}
        return self._finish(out, reml)

    def _block(self, Y, V, t, reml, want_rss, loglik) -> dict:
        """Sums over the studies of the data sets in one block (whole data sets)."""
        add = np.add.reduce
        W = V + t
        log_v = add(_log_present(W), 0) if loglik else None
        np.divide(1.0, W, out=W)
        sw = add(W, 0)
        WY = W * Y
        W2 = W * W
        sw2 = add(W2, 0)
        out = dict(sw=sw, sw2=sw2, log_v=log_v, sw3=None, a2=None, a3=None, aa=None)
        if self.Q is None:
            R = Y - add(WY, 0) / sw
            out["log_det"] = np.log(sw)
        else:
            inv, out["log_det"], beta = self._coefficients(W, WY)
            R = Y - self.Q @ beta
            if reml:
                out["a2"], out["aa"] = self._traces(inv, W2)
        np.multiply(W, R, out=WY)  # WY now holds wᵢrᵢ
        out["rss"] = add(WY * R, 0) if want_rss or loglik else None
        out["ypp"] = add(np.multiply(WY, WY, out=WY), 0)
        if reml:
            W3 = np.multiply(W2, W, out=W2)
            out["sw3"] = add(W3, 0)
            if self.Q is not None:
                out["a3"] = self._traces(inv, W3)[0]
        return out

    def _coefficients(self, W, WY):
        """(X'WX)⁻¹, log det(X'WX) and β̂ for a block, on the orthonormal basis."""
        q = self.Q.shape[1]
        A = (self._outer @ W).reshape(q, q, -1)
        inv, log_det = _spd_inverse(A)
        c = self.Q.T @ WY
        beta = sum(inv[:, j] * c[j] for j in range(q))
        return inv, log_det, beta

    def _traces(self, inv, Wj) -> tuple[np.ndarray, np.ndarray]:
        """tr(A Mⱼ) and tr((A Mⱼ)²) with A = (X'WX)⁻¹, Mⱼ = X'WʲX."""
        q = self.Q.shape[1]
        M = (self._outer @ Wj).reshape(q, q, -1)
        tr = np.add.reduce((inv * M).reshape(q * q, -1), 0)
        AM = [[sum(inv[a, c] * M[c, b] for c in range(q)) for b in range(q)] for a in range(q)]
        tr_sq = sum(AM[a][b] * AM[b][a] for a in range(q) for b in range(q))
        return tr, tr_sq

    def _by_studies(self, t, reml, want_rss, loglik) -> dict:
        """As :meth:`sums` for data sets with more studies than a block: blocks of
        studies, one pass for the weighted sums, a second for the residuals."""
        k, m = self.Y.shape
        rows = max(1, BLOCK // m)
        spans = [(a, min(k, a + rows)) for a in range(0, k, rows)]
        q = 1 if self.Q is None else self.Q.shape[1]
        acc = {n: 0.0 for n in ("sw", "sw2", "sw3", "swy", "log_v", "A", "c", "M2", "M3")}
        for a, b in spans:
            W = self.V[a:b] + t
            if loglik:
                acc["log_v"] = acc["log_v"] + _log_present(W).sum(0)
            np.divide(1.0, W, out=W)
            W2 = W * W
            acc["sw"] = acc["sw"] + W.sum(0)
            acc["sw2"] = acc["sw2"] + W2.sum(0)
            if self.Q is None:
                acc["swy"] = acc["swy"] + (W * self.Y[a:b]).sum(0)
            else:
                acc["A"] = acc["A"] + self._outer[:, a:b] @ W
                acc["c"] = acc["c"] + self.Q[a:b].T @ (W * self.Y[a:b])
                if reml:
                    acc["M2"] = acc["M2"] + self._outer[:, a:b] @ W2
                    acc["M3"] = acc["M3"] + self._outer[:, a:b] @ (W2 * W)
            if reml:
                acc["sw3"] = acc["sw3"] + (W2 * W).sum(0)
        out = dict(sw=acc["sw"], sw2=acc["sw2"], sw3=acc["sw3"] if reml else None)
        out["log_v"] = acc["log_v"] if loglik else None
        out["a2"] = out["a3"] = out["aa"] = None
        if self.Q is None:
            mu = acc["swy"] / acc["sw"]
            out["log_det"] = np.log(acc["sw"])
        else:
            inv, out["log_det"] = _spd_inverse(acc["A"].reshape(q, q, -1))
            beta = sum(inv[:, j] * acc["c"][j] for j in range(q))
            if reml:
                M2, M3 = acc["M2"].reshape(q, q, -1), acc["M3"].reshape(q, q, -1)
                out["a2"] = np.add.reduce((inv * M2).reshape(q * q, -1), 0)
                out["a3"] = np.add.reduce((inv * M3).reshape(q * q, -1), 0)
                AM = [
                    [sum(inv[i, c] * M2[c, j] for c in range(q)) for j in range(q)]
                    for i in range(q)
                ]
                out["aa"] = sum(AM[i][j] * AM[j][i] for i in range(q) for j in range(q))
        ypp = rss = 0.0
        for a, b in spans:
            W = 1.0 / (self.V[a:b] + t)
            fitted = mu if self.Q is None else self.Q[a:b] @ beta
            R = self.Y[a:b] - fitted
            WR = W * R
            ypp = ypp + (WR * WR).sum(0)
            if want_rss or loglik:
                rss = rss + (WR * R).sum(0)
        out["ypp"], out["rss"] = ypp, (rss if want_rss or loglik else None)
        return self._finish(out, reml)

    def _finish(self, out: dict, reml: bool) -> Sums:
        sw, sw2 = out["sw"], out["sw2"]
        s = Sums(sw=sw, ypp=out["ypp"], rss=out["rss"], sw2=sw2, log_det=out["log_det"])
        s.log_v = out["log_v"]
        if reml:
            if self.Q is None:
                ratio = sw2 / sw
                s.tr_p = sw - ratio
                s.tr_pp = sw2 - 2 * out["sw3"] / sw + ratio * ratio
            else:
                s.tr_p = sw - out["a2"]
                s.tr_pp = sw2 - 2 * out["a3"] + out["aa"]
        return s

    # -- derived quantities ------------------------------------------------------------
    def loglik(self, tau2, reml: bool) -> np.ndarray:
        """(Restricted) log-likelihood at ``tau2`` up to a constant per data set (the
        REML term ½ log det(X'X) is left out), for comparisons within a data set."""
        s = self.sums(tau2, reml, loglik=True)
        ll = -0.5 * (s.log_v + s.rss)
        return ll - 0.5 * s.log_det if reml else ll

    def score(self, tau2, reml: bool) -> np.ndarray:
        """Twice the derivative of the (restricted) log-likelihood in tau²:
        y'PPy - tr(P) (REML) or y'PPy - Σwᵢ (ML)."""
        s = self.sums(tau2, reml)
        return s.ypp - (s.tr_p if reml else s.sw)


class WLSScorer:
    """:class:`Scorer`'s interface on :class:`~metaall.models.design.WLS`, for
    indicator designs with several groups."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.k, self.p, self.m = batch.k, batch.p, batch.k.shape[0]

    def take(self, idx: np.ndarray) -> WLSScorer:
        return WLSScorer(self.batch.rows(idx))

    @property
    def v_range(self) -> tuple[np.ndarray, np.ndarray]:
        b = self.batch
        return np.where(b.mask, b.v, np.inf).min(1), np.where(b.mask, b.v, -np.inf).max(1)

    def sums(self, tau2, reml: bool = True, rss: bool = False, loglik: bool = False) -> Sums:
        fit = self.batch.wls(tau2)
        s = Sums(sw=fit.sum_w, ypp=fit.ypp_y, rss=fit.rss, sw2=fit.sum_w2)
        if reml:
            s.tr_p, s.tr_pp = fit.tr_p, fit.tr_pp
        return s

    def loglik(self, tau2, reml: bool) -> np.ndarray:
        tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), (self.m,))
        return self.batch.wls(tau2).loglik(tau2, reml)

    score = Scorer.score
