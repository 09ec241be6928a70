"""The exact posterior of the normal-normal hierarchical model, by quadrature over τ.

Model (Röver 2020, J Stat Softw 93(6), §2): yᵢ | θᵢ ~ N(θᵢ, vᵢ), θᵢ | μ, τ ~ N(μ, τ²),
so yᵢ | μ, τ ~ N(μ, vᵢ + τ²); prior p(τ) (see :mod:`metaall.models.priors`) and μ
either flat or N(μ₀, σ₀²), independent of τ.

Given τ everything is conjugate (Röver 2020 §2.3; Gelman et al. 2014, *Bayesian Data
Analysis* 3rd ed. §5.4). With wᵢ = 1/(vᵢ + τ²), and the prior as a pseudo-study
(μ₀, σ₀²) when it is normal:

* μ | τ, y ~ N(m(τ), s²(τ)), s² = 1/(Σwᵢ + σ₀⁻²), m = s²(Σwᵢyᵢ + μ₀/σ₀²);
* the marginal likelihood of τ (μ integrated out), up to a constant,
  log L(τ) = -½[Σ log(vᵢ + τ²) + Σwᵢ(yᵢ - m)² + (m - μ₀)²/σ₀² + log(Σwᵢ + σ₀⁻²)],
  the ``likelihood(tau=...)`` of R bayesmeta; p(τ | y) ∝ p(τ) L(τ);
* a new study's effect: θ_new | τ, y ~ N(m, s² + τ²);
* a study's own effect (shrinkage): θᵢ | τ, y ~ N((τ²yᵢ + vᵢm)/(vᵢ + τ²),
  vᵢτ²/(vᵢ + τ²) + s²(vᵢ/(vᵢ + τ²))²).

The marginal posterior of μ (and of θ_new, θᵢ) is therefore the continuous mixture
∫ N(m(τ), s²(τ)) p(τ | y) dτ. R bayesmeta replaces it by a finite mixture on a grid
chosen so that neighbouring components differ by a bounded divergence (Röver & Friede
2017, J Comput Graph Stat 26:217) and is accurate to about 1e-4. Here the integral over
τ is computed to near machine precision instead:

1. in z = log τ, g(z) = p(τ | y)·τ is smooth and decays exponentially at both ends
   (like τ at 0 for every prior offered, like τ^(1-a) at ∞ when the posterior density
   falls as τ^-a); a coarse scan finds its mode(s) and the range outside which it is
   below e^-50 of its peak (weighted by τʳ for the r-th moments that exist);
2. ``scipy.integrate.quad_vec`` (adaptive Gauss-Kronrod 21) integrates g and its
   products with τ, τ², m and s² to relative 1e-11, with breakpoints around the mode;
3. its subintervals, each split in two, carry 10-point Gauss-Legendre rules: these
   nodes τⱼ and normalised weights ωⱼ integrate every smooth functional of the
   posterior, so that e.g. P(μ ≤ x | y) = Σⱼ ωⱼ Φ((x - m(τⱼ))/s(τⱼ)) is exact to
   quadrature accuracy; quantiles are roots of these sums (``scipy.optimize.brentq``),
   τ quantiles roots of the cumulative integral of g (the same rules, the last panel
   integrated up to the point).

Posterior moments exist only when the tail allows: with a posterior density falling as
τ^-a (a = prior tail exponent + k - 1 with a flat μ prior, + k with a normal one), E[τ]
needs a > 2 and E[τ²] (hence the posterior sd of μ under a flat prior and the
predictive sd) a > 3. Moments that do not exist are reported as ``inf`` (sd, E[τ]) or
NaN (the mean of μ), with a note saying why; so is a moment that exists but whose
integrand falls more slowly than τ^-1.25 (integrating it would need τ beyond e^300).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from metaall.models.priors import TauPrior

_GL_NODES = 10  # per half of a quad_vec subinterval: 20 per subinterval
_SCAN_STEP = 0.1
_SCAN_HALF_WIDTH = 40.0
_NEGLIGIBLE = 50.0  # log of the dynamic range kept: e^-50 ≈ 2e-22
_Z_REACH = 300.0  # farthest the upper limit may lie above the mode (in log τ)
_QUAD_RTOL = 1e-11


def _special():
    from scipy import special

    return special


@dataclass(frozen=True)
class NormalMixture:
    """The distribution Σⱼ ωⱼ N(meanⱼ, sdⱼ²): a marginal posterior on the τ nodes."""

    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray

    def _z(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=float)[..., None] - self.means) / self.sds

    def cdf(self, x):
        """P(X ≤ x)."""
        return _special().ndtr(self._z(x)) @ self.weights

    def sf(self, x):
        """P(X > x), computed from the upper tails (accurate when small)."""
        return _special().ndtr(-self._z(x)) @ self.weights

    def pdf(self, x):
        """The density at x."""
        z = self._z(x)
        return (np.exp(-0.5 * z**2) / (math.sqrt(2 * math.pi) * self.sds)) @ self.weights

    @cached_property
    def _center_scale(self) -> tuple[float, float]:
        """Mean of the component means and the median component sd: finite and
        representative even when the mixture has no variance (heavy τ tails)."""
        center = float(self.weights @ self.means)
        order = np.argsort(self.sds)
        cum = np.cumsum(self.weights[order])
        return center, float(self.sds[order][np.searchsorted(cum, 0.5)])

    def quantile(self, p: float) -> float:
        """The p-quantile: root of P(X ≤ x) = p (of P(X > x) = 1 - p above the median)."""
        from scipy.optimize import brentq

        p = float(p)
        if not 0 <= p <= 1:
            raise ValueError(f"a probability must be in [0, 1], got {p}")
        if p in (0.0, 1.0):
            return -math.inf if p == 0 else math.inf
        if p <= 0.5:

            def f(x):
                return float(self.cdf(x)) - p
        else:

            def f(x):
                return (1 - p) - float(self.sf(x))

        center, scale = self._center_scale
        lo, hi = center - 3 * scale, center + 3 * scale
        while f(lo) > 0:
            lo = center - 2 * (center - lo)
        while f(hi) < 0:
            hi = center + 2 * (hi - center)
        return brentq(f, lo, hi, xtol=1e-14 * scale, rtol=4 * np.finfo(float).eps)

    def interval(self, level: float, kind: str = "central") -> tuple[float, float]:
        """Central (equal tails) or shortest interval holding probability ``level``.

        The shortest interval [Q(α), Q(α + level)] of a unimodal density has equal
        density at both ends; α is the root of f(Q(α)) - f(Q(α + level)) in
        (0, 1 - level) (Box & Tiao 1973, *Bayesian Inference in Statistical
        Analysis* §2.8), as bayesmeta's ``post.interval(method="shortest")``, which
        minimises the width instead.
        """
        alpha = 1 - level
        if kind == "central":
            return self.quantile(alpha / 2), self.quantile(1 - alpha / 2)
        from scipy.optimize import brentq, minimize_scalar

        def gap(a):
            return float(self.pdf(self.quantile(a)) - self.pdf(self.quantile(a + level)))

        lo, hi = alpha * 1e-9, alpha * (1 - 1e-9)
        if gap(lo) < 0 < gap(hi):
            a = brentq(gap, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)
        else:  # not unimodal: the narrowest interval by direct search
            a = minimize_scalar(
                lambda a: self.quantile(a + level) - self.quantile(a),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-12},
            ).x
        return self.quantile(a), self.quantile(a + level)

    def mean(self) -> float:
        return float(self.weights @ self.means)

    def sd(self) -> float:
        center = self.mean()
        return math.sqrt(float(self.weights @ ((self.means - center) ** 2 + self.sds**2)))


@dataclass(frozen=True)
class _Rule:
    """Gauss-Legendre nodes on the panels of log τ and the panels' cumulative masses."""

    z: np.ndarray  # nodes in log τ
    weights: np.ndarray  # normalised posterior weights ωⱼ (sum to 1)
    log_w: np.ndarray  # their logs (for moments of large τ)
    panels: np.ndarray  # (P, 2) panel ends in log τ, sorted
    cum_mass: np.ndarray  # (P + 1,) posterior mass below each panel start, then total
    log_norm: float  # log ∫ p(τ)L(τ)dτ minus the shift used


class Posterior:
    """The posterior of (μ, τ) for one data set; see the module docstring."""

    def __init__(self, yi, vi, prior: TauPrior, mu_mean: float, mu_sd: float | None):
        self.yi = np.asarray(yi, dtype=float)
        self.vi = np.asarray(vi, dtype=float)
        self.k = self.yi.size
        self.prior = prior
        self.mu_mean = float(mu_mean)
        self.mu_sd = None if mu_sd is None else float(mu_sd)
        self.flat = self.mu_sd is None
        self.tail = prior.tail_exponent + self.k - (1 if self.flat else 0)
        # highest moment of τ whose tail can be integrated within reach (see _limits)
        self.order = max((r for r in (0, 1, 2) if self.tail - 1 - r >= 0.25), default=-1)
        if self.order < 0:
            raise ValueError(
                "the posterior of τ is too heavy-tailed to integrate (its density falls "
                f"only as τ^-{self.tail:g}); use a prior with lighter tails"
            )
        self.rule = self._build_rule()
        self.t = np.exp(self.rule.z)
        self.m, self.s2, _ = self.conditional(self.t)

    # -- the model given τ ------------------------------------------------------------
    def conditional(self, tau: np.ndarray):
        """m(τ), s²(τ) and log L(τ) (up to a constant) for an array of τ."""
        tau = np.asarray(tau, dtype=float)
        log_tv = np.logaddexp(np.log(self.vi), 2 * np.log(tau)[..., None])
        w = np.exp(-log_tv)
        prec = w.sum(-1)
        num = w @ self.yi
        if not self.flat:
            prec = prec + self.mu_sd**-2
            num = num + self.mu_mean / self.mu_sd**2
        m = num / prec
        loglik = log_tv.sum(-1) + (w * (self.yi - m[..., None]) ** 2).sum(-1) + np.log(prec)
        if not self.flat:
            loglik = loglik + (m - self.mu_mean) ** 2 / self.mu_sd**2
        return m, 1 / prec, -0.5 * loglik

    def evaluate(self, z: np.ndarray):
        """m, s² and the log of p(τ)L(τ)·τ (the unnormalised density of log τ) at z = log τ."""
        z = np.asarray(z, dtype=float)
        tau = np.exp(z)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            m, s2, loglik = self.conditional(tau)
            value = self.prior.log_density(tau, self.vi) + loglik + z
        return m, s2, np.where(np.isnan(value), -np.inf, value)

    def log_post(self, z: np.ndarray) -> np.ndarray:
        """log of p(τ)L(τ)·τ at z = log τ: the unnormalised posterior density of log τ."""
        return self.evaluate(z)[2]

    # -- the quadrature rule ------------------------------------------------------------
    def _limits(self) -> tuple[np.ndarray, np.ndarray]:
        """Scan log τ coarsely; return the scan clipped to where g·τʳ is not negligible."""
        center = 0.5 * math.log(float(np.median(self.vi)))
        z_top = math.log(self.prior.upper) if math.isfinite(self.prior.upper) else math.inf
        lo, hi = center - _SCAN_HALF_WIDTH, center + _SCAN_HALF_WIDTH
        lo = min(lo, z_top - _SCAN_HALF_WIDTH)
        while True:
            z = np.arange(lo, min(hi, z_top), _SCAN_STEP)
            if z_top <= hi:
                z = np.append(z[z < z_top - 1e-9], z_top)
            lp = self.log_post(z)
            top = int(np.argmax(lp))
            peak = lp[top]
            if not np.isfinite(peak):
                raise ValueError("the posterior density of τ vanishes everywhere")
            weighted = lp + self.order * (z - z[top])
            grow_lo = lp[0] > peak - _NEGLIGIBLE
            grow_hi = z_top > hi and weighted[-1] > weighted.max() - _NEGLIGIBLE
            if not (grow_lo or grow_hi):
                break
            if hi - z[top] > _Z_REACH:
                raise ValueError("the posterior of τ is too heavy-tailed to integrate")
            lo -= _SCAN_HALF_WIDTH if grow_lo else 0.0
            hi += _SCAN_HALF_WIDTH if grow_hi else 0.0
        keep = (lp > peak - _NEGLIGIBLE) | (weighted > weighted.max() - _NEGLIGIBLE)
        idx = np.flatnonzero(keep)
        first, last = max(idx[0] - 1, 0), min(idx[-1] + 1, z.size - 1)
        return z[first : last + 1], lp[first : last + 1]

    def _breakpoints(self, z: np.ndarray, lp: np.ndarray) -> list[float]:
        """Points around every local maximum of the scan, spaced by the local spread."""
        from scipy.optimize import minimize_scalar

        points = []
        inner = np.flatnonzero((lp[1:-1] >= lp[:-2]) & (lp[1:-1] >= lp[2:])) + 1
        for i in inner:
            mode = minimize_scalar(
                lambda x: -float(self.log_post(x)),
                bounds=(z[i - 1], z[i + 1]),
                method="bounded",
                options={"xatol": 1e-8},
            ).x
            h = 1e-3
            curv = (
                self.log_post(mode + h) - 2 * self.log_post(mode) + self.log_post(mode - h)
            ) / h**2
            spread = 1 / math.sqrt(-curv) if curv < 0 else _SCAN_STEP
            points += [mode + c * spread for c in (-8, -4, -2, -1, 0, 1, 2, 4, 8)]
        return sorted(p for p in points if z[0] < p < z[-1])

    def _build_rule(self) -> _Rule:
        from scipy.integrate import quad_vec

        z, lp = self._limits()
        shift = float(lp.max())
        z_peak = float(z[np.argmax(lp)])
        m_scan, s2_scan, _ = self.evaluate(z)
        g_scan = np.exp(lp - shift)
        center = float(m_scan[np.argmax(lp)])
        scale = math.sqrt(float(s2_scan[np.argmax(lp)]))
        has_s2 = not self.flat or self.order >= 2

        def parts(zz, g, m, s2):
            out = [g * np.exp(r * (zz - z_peak)) for r in range(1, self.order + 1)]
            out += [g * (m - center) / scale, g * ((m - center) / scale) ** 2]
            if has_s2:
                out.append(g * s2 / scale**2)
            return [g, *out]

        # the τʳ-weighted parts scaled to a peak of 1 (g peaks at 1, the μ parts are
        # already in units of the conditional sd at the mode)
        norms = np.ones(len(parts(z, g_scan, m_scan, s2_scan)))
        for r in range(1, self.order + 1):
            norms[r] = np.max(g_scan * np.exp(r * (z - z_peak)))

        def integrand(x):
            m, s2, lp = self.evaluate(x)
            g = np.exp(lp - shift)
            return np.array(parts(x, g, m, s2)) / norms

        result = quad_vec(
            integrand,
            float(z[0]),
            float(z[-1]),
            epsabs=0.0,
            epsrel=_QUAD_RTOL,
            norm="max",
            points=self._breakpoints(z, lp) or None,
            full_output=True,
        )
        info = result[2]
        ends = np.asarray(info.intervals)
        ends = ends[np.argsort(ends[:, 0])]
        mids = ends.mean(axis=1)
        panels = np.column_stack(
            [np.column_stack([ends[:, 0], mids]), np.column_stack([mids, ends[:, 1]])]
        ).reshape(-1, 2)
        nodes, gl_w = np.polynomial.legendre.leggauss(_GL_NODES)
        half = (panels[:, 1] - panels[:, 0]) / 2
        zn = (panels[:, 0] + half)[:, None] + half[:, None] * nodes
        log_w = np.log(half[:, None] * gl_w) + self.log_post(zn) - shift
        panel_mass = np.exp(log_w).sum(axis=1)
        total = panel_mass.sum()
        cum = np.concatenate([[0.0], np.cumsum(panel_mass)]) / total
        log_w = (log_w - math.log(total)).ravel()
        return _Rule(zn.ravel(), np.exp(log_w), log_w, panels, cum, shift + math.log(total))

    # -- τ -------------------------------------------------------------------------------
    def density_tau(self, tau) -> np.ndarray:
        """The normalised marginal posterior density of τ (0 outside the support)."""
        tau = np.asarray(tau, dtype=float)
        safe = np.where(tau >= 0, tau, 1.0)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_dens = self.prior.log_density(safe, self.vi) + self.conditional(safe)[2]
            dens = np.exp(log_dens - self.rule.log_norm)
        return np.where((tau >= 0) & ~np.isnan(dens), dens, 0.0)

    def _partial(self, z: float, upper: bool) -> float:
        """Posterior mass of log τ below z (above z when ``upper``)."""
        panels, cum = self.rule.panels, self.rule.cum_mass
        if z <= panels[0, 0]:
            return 1.0 if upper else 0.0
        if z >= panels[-1, 1]:
            return 0.0 if upper else 1.0
        p = int(np.searchsorted(panels[:, 1], z))
        a, b = (z, panels[p, 1]) if upper else (panels[p, 0], z)
        nodes, gl_w = np.polynomial.legendre.leggauss(_GL_NODES)
        half = (b - a) / 2
        piece = np.sum(
            half * gl_w * np.exp(self.log_post(a + half + half * nodes) - self.rule.log_norm)
        )
        return float((cum[-1] - cum[p + 1] if upper else cum[p]) + piece)

    def tau_cdf(self, tau: float) -> float:
        """P(τ ≤ t | y)."""
        return 0.0 if tau <= 0 else self._partial(math.log(tau), upper=False)

    def tau_quantile(self, p: float) -> float:
        """The p-quantile of τ: root of P(τ ≤ t) = p (upper tail above the median)."""
        from scipy.optimize import brentq

        p = float(p)
        if not 0 <= p <= 1:
            raise ValueError(f"a probability must be in [0, 1], got {p}")
        if p == 0 or p == 1:
            return 0.0 if p == 0 else self.prior.upper
        lo, hi = float(self.rule.panels[0, 0]), float(self.rule.panels[-1, 1])
        if p <= 0.5:

            def f(z):
                return self._partial(z, upper=False) - p
        else:

            def f(z):
                return (1 - p) - self._partial(z, upper=True)

        if f(lo) >= 0:  # below the lowest node: mass < e^-50 there
            return 0.0
        if f(hi) <= 0:
            raise ValueError(f"quantile {p} lies beyond the integrated range of τ")
        return math.exp(brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))

    def tau_moment(self, r: int) -> float:
        """E[τʳ] (``inf`` when it does not exist)."""
        if self.tail <= r + 1:
            return math.inf
        if r > self.order:
            return math.nan
        return float(np.exp(self.rule.log_w + r * self.rule.z).sum())

    # -- μ, a new study's θ, the studies' θᵢ ------------------------------------------
    @property
    def mu(self) -> NormalMixture:
        return NormalMixture(self.rule.weights, self.m, np.sqrt(self.s2))

    @property
    def predictive(self) -> NormalMixture:
        return NormalMixture(self.rule.weights, self.m, np.sqrt(self.s2 + self.t**2))

    def theta(self, i: int) -> NormalMixture:
        """Posterior of study i's own effect θᵢ (the shrinkage estimate)."""
        v, t2 = self.vi[i], self.t**2
        mean = (t2 * self.yi[i] + v * self.m) / (v + t2)
        var = v * t2 / (v + t2) + self.s2 * (v / (v + t2)) ** 2
        return NormalMixture(self.rule.weights, mean, np.sqrt(var))

    def mu_moments(self) -> tuple[float, float]:
        """Posterior mean and sd of μ (NaN / inf where they do not exist; see
        :meth:`note_moments`). m(τ) is bounded, so the mean needs no τ moment, but
        with a flat prior s²(τ) grows like τ²/k and the sd needs E[τ²]."""
        if self.flat and self.tail <= 2:
            return math.nan, math.inf
        if not self.flat:
            return self.mu.mean(), self.mu.sd()
        sd = math.inf if self.tail <= 3 else self.mu.sd() if self.order >= 2 else math.nan
        return self.mu.mean(), sd

    def note_moments(self) -> list[str]:
        """Plain-words notes on posterior moments that do not exist or are not given."""
        notes = []
        if self.tail <= 2:
            notes.append("the posterior mean of τ is infinite (heavy-tailed posterior)")
        if self.flat and self.tail <= 2:
            notes.append("the posterior mean of μ does not exist (flat prior, heavy tails)")
        if self.tail <= 3:
            notes.append("the posterior sd of τ and the predictive sd are infinite")
        for r, what in ((1, "mean"), (2, "sd")):
            if self.tail > r + 1 and r > self.order:
                notes.append(
                    f"the posterior {what} of τ exists but its tail is too heavy to "
                    "integrate accurately: reported as NaN"
                )
        return notes
