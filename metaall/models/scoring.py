"""The sums behind the ML/REML/EB tau² estimators, evaluated leanly for a batch.

Fisher scoring, the several-maxima screen and the root finder of
:mod:`metaall.models.tau2` need, at one tau² per data set, the quantities that
:class:`metaall.models.design.WLS` defines (Viechtbauer 2005, Stat Med 24:3-24 §2;
P = W - WX(X'WX)⁻¹X'W): Σwᵢ, Σwᵢ², tr(P), tr(PP), y'Py, y'PPy and the (restricted)
log-likelihood. ``WLS`` computes them with general array algebra for any use;
:class:`Scorer` computes the same numbers with as few passes over memory as it can,
because these estimators evaluate them many times:

* the data are stored study-major, (k, m), in C order, absent studies with vᵢ = ∞
  (weight exactly 0, so no mask is applied); a per-data-set sum is
  ``np.add.reduce`` over axis 0: k vectorised additions in the studies' order, so a
  data set's sums are bitwise the same alone or in any batch (a single data set is
  padded to two columns and subsets are copied in C order, since numpy sums a lone
  column, or an axis contiguous in memory, pairwise);
* data sets are processed in blocks of about :data:`BLOCK` numbers, so that the
  temporaries of one evaluation stay in cache; intercept-only blocks take one fused
  pass (weights, weighted mean, residual sums); a data set with more studies than a
  block (one meta-analysis of 10⁶ studies) is processed in blocks of studies, the
  weighted mean first, then the residuals, products summed by ``einsum`` without
  temporaries;
* w², w³ are products, never the general power;
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

from metaall.models.design import Batch, spd_inverse

BLOCK = 1 << 14  # numbers per block: the buffers of one evaluation stay in L2 cache
LONG_BLOCK = 1 << 16  # studies per block of a single long data set (three buffers)


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
    mean: np.ndarray | None = None  # μ̂ (intercept-only designs)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.einsum("i,i", a, b))


def _finite(V: np.ndarray) -> np.ndarray:
    """vᵢ for present studies, 0 for absent ones (vᵢ = ∞)."""
    return np.where(np.isfinite(V), V, 0.0)


def _log_present(W: np.ndarray) -> np.ndarray:
    """log(vᵢ + tau²) for present studies, 0 for absent ones (vᵢ = ∞)."""
    return np.log(W, out=np.zeros_like(W), where=np.isfinite(W))


class Scorer:
    """Lean evaluation of :class:`Sums` for an intercept-only or moderator design
    (see module doc). ``Y``, ``V`` are (k, m); ``Q`` an orthonormal basis of the
    design's columns (None: intercept only)."""

    def __init__(
        self, Y: np.ndarray, V: np.ndarray, Q: np.ndarray | None, k, p, complete=False
    ) -> None:
        self.Y, self.V, self.Q = Y, V, Q
        self.complete = complete  # no absent study (vᵢ = ∞) anywhere
        self.k, self.p = k, p  # (m,) studies and coefficients per data set
        self.m = Y.shape[1]
        if Q is not None:
            q = Q.shape[1]
            self._outer = (Q[:, :, None] * Q[:, None, :]).reshape(-1, q * q).T.copy()
        studies = Y.shape[0]
        self._whole = 2 * studies <= BLOCK  # tiles hold whole data sets
        self._pad = self._whole and self.m == 1  # numpy sums a lone column pairwise
        n = 2 if self._pad else self.m
        if self._whole:
            width = max(2, BLOCK // studies)
            starts = list(range(0, n, width)) or [0]
            if len(starts) > 1 and n - starts[-1] < 2:
                starts.pop()  # no block of one column either
            spans = zip(starts, [*starts[1:], n], strict=True)
            self._tiles = [(slice(0, studies), slice(a, b)) for a, b in spans]
        else:
            rows = max(1, BLOCK // n)
            self._tiles = [
                (slice(a, min(studies, a + rows)), slice(0, n)) for a in range(0, studies, rows)
            ]

    @classmethod
    def for_batch(cls, batch: Batch) -> Scorer | WLSScorer:
        """The scorer for ``batch``'s design."""
        X = batch.X
        intercept = X.shape[1] == 1 and bool(np.all(X == 1))
        if not intercept and batch.indicator:
            return WLSScorer(batch)
        Y, V = batch.y.T, batch.v.T
        if not batch.complete:
            Y, V = np.where(batch.mask, batch.y, 0.0).T, np.where(batch.mask, batch.v, np.inf).T
        Q = None if intercept else np.linalg.qr(X)[0]
        Y, V = np.ascontiguousarray(Y), np.ascontiguousarray(V)
        return cls(Y, V, Q, batch.k, batch.p, batch.complete)

    def take(self, idx: np.ndarray) -> Scorer:
        """The scorer of data sets ``idx``."""
        # C order: a (k, m) array indexed on axis 1 comes out in Fortran order, and numpy
        # sums along a contiguous axis pairwise, not in the studies' order
        Y, V = np.ascontiguousarray(self.Y[:, idx]), np.ascontiguousarray(self.V[:, idx])
        return Scorer(Y, V, self.Q, self.k[idx], self.p[idx], self.complete)

    @property
    def v_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest sampling variance of each data set."""
        finite = np.isfinite(self.V)
        return (
            np.where(finite, self.V, np.inf).min(axis=0),
            np.where(finite, self.V, -np.inf).max(axis=0),
        )

    # -- evaluation ---------------------------------------------------------------
    def sums(
        self,
        tau2,
        reml: bool = True,
        info: bool = True,
        rss: bool = False,
        loglik: bool = False,
        ypp: bool = True,
    ) -> Sums:
        """The sums at ``tau2`` (one value per data set, or a scalar): always Σw (and
        μ̂ for intercept-only designs); y'PPy with ``ypp``; tr(P) (REML); with
        ``info`` Σw² and, for REML, tr(PP); y'Py with ``rss``; and what
        :meth:`loglik` needs with ``loglik``."""
        t = np.broadcast_to(np.asarray(tau2, dtype=float), (self.m,))
        Y, V = self.Y, self.V
        if self._pad:
            Y, V, t = np.repeat(Y, 2, 1), np.repeat(V, 2, 1), np.repeat(t, 2)
        flags = (reml, info, rss or loglik, loglik, ypp)
        if self.Q is None and self._whole:
            parts = [self._fused(Y[r, c], V[r, c], t[c], *flags) for r, c in self._tiles]
            out = parts[0] if len(parts) == 1 else _concatenate(parts)
        elif self.Q is None and self.m == 1:
            out = self._long(float(t[0]), *flags)
        else:
            out = self._two_pass(Y, V, t, *flags)
        if self._pad:
            out = [None if x is None else x[:1] for x in out]
        return self._finish(out, reml)

    def _fused(self, Y, V, t, reml, info, want_rss, loglik, want_ypp) -> list:
        """Intercept-only sums over a tile of whole data sets in one pass:
        [Σw, Σw², Σw³, y'PPy, y'Py, Σlog(v+τ²), log Σw, μ̂] (None where not needed)."""
        add = np.add.reduce
        W = V + t
        log_v = add(_log_present(W), 0) if loglik else None
        np.divide(1.0, W, out=W)
        sw = add(W, 0)
        WY = W * Y
        mu = add(WY, 0) / sw
        rss = ypp = None
        if want_rss or want_ypp:
            R = Y - mu
            np.multiply(W, R, out=WY)  # WY now holds wᵢrᵢ
            rss = add(WY * R, 0) if want_rss else None
            ypp = add(np.multiply(WY, WY, out=WY), 0) if want_ypp else None
        sw2 = sw3 = None
        if reml or info:
            W2 = np.multiply(W, W, out=WY)
            sw2 = add(W2, 0)
            if reml and info:
                sw3 = add(np.multiply(W2, W, out=W2), 0)
        return [sw, sw2, sw3, ypp, rss, log_v, np.log(sw) if loglik else None, mu]

    def _long(self, t: float, reml, info, want_rss, loglik, want_ypp) -> list:
        """Intercept-only sums for one data set with more studies than a block, in
        blocks of studies: the weighted mean first, then the residuals; products are
        summed by ``einsum`` without a temporary (single-threaded: a BLAS ``dot`` per
        block stalls when the machine's cores are shared)."""
        y, v = self.Y[:, 0], self.V[:, 0]
        spans = [(a, a + LONG_BLOCK) for a in range(0, y.size, LONG_BLOCK)]
        w2, w3 = reml or info, reml and info
        sw = swy = sw2 = sw3 = log_v = ypp = rss = 0.0
        for a, b in spans:
            W = v[a:b] + t
            if loglik:
                log_v += _log_present(W).sum()
            np.divide(1.0, W, out=W)
            sw += W.sum()
            swy += _dot(W, y[a:b])
            if w2:
                sw2 += _dot(W, W)
            if w3:
                sw3 += np.einsum("i,i,i", W, W, W)
        mu = swy / sw
        for a, b in spans if want_rss or want_ypp else ():
            W = v[a:b] + t
            np.divide(1.0, W, out=W)
            R = y[a:b] - mu
            WR = np.multiply(W, R, out=W)
            rss += _dot(WR, R) if want_rss else 0.0
            ypp += _dot(WR, WR)

        def one(x, wanted=True):
            return np.array([x]) if wanted else None

        return [
            one(sw),
            one(sw2, w2),
            one(sw3, w3),
            one(ypp, want_ypp),
            one(rss, want_rss),
            one(log_v, loglik),
            np.log(one(sw)),
            one(mu),
        ]

    def _two_pass(self, Y, V, t, reml, info, want_rss, loglik, want_ypp) -> list:
        """The sums of any design over the tiles in two passes: the weighted sums,
        X'WX, X'Wy (and X'W²X, X'W³X for tr(P), tr(PP)) first, then, at β̂, the
        residual sums; the p×p algebra runs once, on all data sets together."""
        add = np.add.reduce
        n = Y.shape[1]
        dense, w2, w3 = self.Q is not None, reml or info, reml and info
        q = self.Q.shape[1] if dense else 1
        zero = np.zeros
        sw, sw2, sw3, log_v = zero(n), zero(n), zero(n), zero(n)
        A, c, M2, M3 = zero((q * q, n)), zero((q, n)), zero((q * q, n)), zero((q * q, n))
        second = want_rss or want_ypp
        kept = []  # the weights, for the second pass (no second division)
        for r, col in self._tiles:
            W = V[r, col] + t[col]
            if loglik:
                log_v[col] += add(_log_present(W), 0)
            np.divide(1.0, W, out=W)
            if second:
                kept.append(W.copy())
            sw[col] += add(W, 0)
            WY = W * Y[r, col]
            if dense:
                A[:, col] += self._outer[:, r] @ W
                c[:, col] += self.Q[r].T @ WY
            else:
                c[0, col] += add(WY, 0)
            if w2:
                W2 = np.multiply(W, W, out=WY)
                sw2[col] += add(W2, 0)
                if dense and reml:
                    M2[:, col] += self._outer[:, r] @ W2
                if w3:
                    W3 = np.multiply(W2, W, out=W2)
                    sw3[col] += add(W3, 0)
                    if dense:
                        M3[:, col] += self._outer[:, r] @ W3
        a2 = a3 = aa = None
        if dense:
            inv, log_det = spd_inverse(A.reshape(q, q, n))
            beta = sum(inv[:, j] * c[j] for j in range(q))
            if reml:
                a2, aa = _traces(inv, M2.reshape(q, q, n), w3)
            if w3:
                a3 = _traces(inv, M3.reshape(q, q, n), False)[0]
        else:
            beta = c / sw
            log_det = np.log(sw)
        ypp, rss = zero(n), zero(n)
        for (r, col), W in zip(self._tiles, kept, strict=True) if second else ():
            R = Y[r, col] - (self.Q[r] @ beta[:, col] if dense else beta[0, col])
            WR = np.multiply(W, R, out=W)
            if want_rss:
                rss[col] += add(WR * R, 0)
            if want_ypp:
                ypp[col] += add(np.multiply(WR, WR, out=WR), 0)
        return [
            sw,
            sw2 if w2 else None,
            sw3 if w3 else None,
            ypp if want_ypp else None,
            rss if want_rss else None,
            log_v if loglik else None,
            log_det,
            None if dense else beta[0],
            a2,
            a3,
            aa,
        ]

    def _finish(self, out: list, reml: bool) -> Sums:
        sw, sw2, sw3, ypp, rss, log_v, log_det, mean, *traces = out
        s = Sums(sw=sw, ypp=ypp, rss=rss, sw2=sw2, log_det=log_det, log_v=log_v, mean=mean)
        if not reml:
            return s
        if self.Q is None:
            ratio = sw2 / sw
            s.tr_p = sw - ratio
            if sw3 is not None:
                s.tr_pp = sw2 - 2 * sw3 / sw + ratio * ratio
        else:
            a2, a3, aa = traces
            s.tr_p = sw - a2
            if a3 is not None:
                s.tr_pp = sw2 - 2 * a3 + aa
        return s

    def hedges(self) -> np.ndarray | None:
        """Hedges' estimator (RSS - tr(P V))/(k - p) of unweighted least squares
        (:func:`metaall.models.tau2._hedges`): for intercept-only designs, with ȳ the
        plain mean, (Σ(yᵢ - ȳ)² - (1 - 1/k)Σvᵢ)/(k - 1); for a design with moderators
        and every study present, residuals (I - H)y and leverages hᵢ of the one hat
        matrix H = QQ' shared by all data sets. None otherwise (absent studies with
        moderators: the general algebra)."""
        if self.Q is not None:
            if not self.complete:
                return None
            R = self.Y - self.Q @ (self.Q.T @ self.Y)
            leverage = np.einsum("kp,kp->k", self.Q, self.Q)
            rss = np.add.reduce(R * R, 0)
            return (rss - (1 - leverage) @ self.V) / np.maximum(self.k - self.p, 1)
        add = np.add.reduce
        Y, V, k = self.Y, self.V, self.k
        if self._pad:
            Y, V, k = np.repeat(Y, 2, 1), np.repeat(V, 2, 1), np.repeat(k, 2)
        n = Y.shape[1]
        sy, sv, rss = np.zeros(n), np.zeros(n), np.zeros(n)
        for r, col in self._tiles:
            sy[col] += add(Y[r, col], 0)
            sv[col] += add(V[r, col] if self.complete else _finite(V[r, col]), 0)
        mean = sy / k
        for r, col in self._tiles:
            R = Y[r, col] - mean[col]
            if not self.complete:
                R[~np.isfinite(V[r, col])] = 0.0
            rss[col] += add(np.multiply(R, R, out=R), 0)
        he = (rss - sv * (1 - 1 / k)) / np.maximum(k - 1, 1)
        return he[:1] if self._pad else he

    # -- derived quantities ------------------------------------------------------------
    def loglik(self, tau2, reml: bool) -> np.ndarray:
        """(Restricted) log-likelihood at ``tau2`` up to a constant per data set (the
        REML term ½ log det(X'X) is left out), for comparisons within a data set."""
        return _loglik(self.sums(tau2, reml, info=False, loglik=True), reml)

    def at_zero(self, reml: bool) -> tuple[np.ndarray, np.ndarray]:
        """Q₀ = y'Py and the (restricted) log-likelihood (as :meth:`loglik`) at tau² = 0."""
        s = self.sums(0.0, reml, info=False, loglik=True)
        return s.rss, _loglik(s, reml)

    def score(self, tau2, reml: bool) -> np.ndarray:
        """Twice the derivative of the (restricted) log-likelihood in tau²:
        y'PPy - tr(P) (REML) or y'PPy - Σwᵢ (ML)."""
        s = self.sums(tau2, reml, info=False)
        return s.ypp - (s.tr_p if reml else s.sw)


def _loglik(s: Sums, reml: bool) -> np.ndarray:
    ll = -0.5 * (s.log_v + s.rss)
    return ll - 0.5 * s.log_det if reml else ll


def _traces(inv: np.ndarray, M: np.ndarray, square: bool):
    """tr(A M) and (if ``square``) tr((A M)²) for (q, q, n) stacks A = ``inv`` and M."""
    q = inv.shape[0]
    tr = np.add.reduce((inv * M).reshape(q * q, -1), 0)
    if not square:
        return tr, None
    AM = [[sum(inv[a, c] * M[c, b] for c in range(q)) for b in range(q)] for a in range(q)]
    return tr, sum(AM[a][b] * AM[b][a] for a in range(q) for b in range(q))


def _concatenate(parts: list[list]) -> list:
    return [None if col[0] is None else np.concatenate(col) for col in zip(*parts, strict=True)]


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

    def sums(self, tau2, reml: bool = True, info: bool = True, rss=False, loglik=False, ypp=True):
        fit = self.batch.wls(tau2)
        s = Sums(sw=fit.sum_w, ypp=fit.ypp_y, rss=fit.rss, sw2=fit.sum_w2)
        if reml:
            s.tr_p, s.tr_pp = fit.tr_p, fit.tr_pp
        return s

    def loglik(self, tau2, reml: bool) -> np.ndarray:
        tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), (self.m,))
        return self.batch.wls(tau2).loglik(tau2, reml)

    def hedges(self) -> None:
        return None

    def at_zero(self, reml: bool) -> tuple[np.ndarray, np.ndarray]:
        fit = self.batch.wls(0.0)
        return fit.rss, fit.loglik(np.zeros(self.m), reml)

    score = Scorer.score
