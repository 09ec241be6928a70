"""Property-based tests of the engine (hypothesis): invariances and bounds every fit
must satisfy, the defining equations of the tau² estimators, and the effect-size and
common-effect pooling symmetries.

The likelihoods, scores and Q statistics used as oracles are written out here with
numpy, independently of ``metaall.models``. ``HYPOTHESIS_PROFILE=thorough`` runs 20
times the examples (see ``tests/conftest.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import ndtr, ndtri

import metaall
from metaall import methods as registry

STATS = ("estimate", "se", "ci_lb", "ci_ub", "zval", "pval", "tau2", "I2", "H2", "Q", "Q_pval")
ITERATIVE = ("ML", "REML", "EB", "PM")


def examples(n: int) -> int:
    """``n`` examples under the ci profile, scaled with the loaded profile."""
    return max(1, n * settings.default.max_examples // 100)


# ------------------------------------------------------------------ strategies

effects_ = st.floats(-4, 4, allow_nan=False, allow_infinity=False)
variances = st.floats(0.01, 4.0, allow_nan=False, allow_infinity=False)


@st.composite
def drawn_data(draw, min_k: int = 1, max_k: int = 30):
    """yi, vi drawn value by value: hypothesis favours ties, zeros and extremes."""
    k = draw(st.integers(min_k, max_k))
    yi = draw(st.lists(effects_, min_size=k, max_size=k))
    vi = draw(st.lists(variances, min_size=k, max_size=k))
    return np.array(yi), np.array(vi)


@st.composite
def simulated_data(draw, min_k: int = 1, max_k: int = 30):
    """yi ~ N(mu, vi + tau²) from a seed: typical data sets with real heterogeneity."""
    k = draw(st.integers(min_k, max_k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tau2 = draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]))
    vi = np.exp(rng.uniform(np.log(0.01), np.log(4.0), k))
    yi = rng.normal(draw(st.floats(-2, 2)), np.sqrt(vi + tau2))
    return yi, vi


def data(min_k: int = 1, max_k: int = 30):
    return st.one_of(drawn_data(min_k, max_k), simulated_data(min_k, max_k))


TAU2_METHODS = registry.names("method", registry.RANDOM)
methods = st.sampled_from(("FE", *TAU2_METHODS))
re_methods = st.sampled_from(TAU2_METHODS)
tests_ = st.sampled_from(("z", "knha"))


@st.composite
def tables(draw, min_k: int = 1, max_k: int = 12):
    """2×2 tables (ai, n1i, ci, n2i) with many zero cells, full arms and double zeros."""
    k = draw(st.integers(min_k, max_k))
    cols: list[list[int]] = [[], [], [], []]
    for _ in range(k):
        n1, n2 = draw(st.integers(1, 300)), draw(st.integers(1, 300))
        kind = draw(st.sampled_from(["any", "any", "zero", "full", "double0", "double_full"]))
        if kind == "double0":
            a, c = 0, 0
        elif kind == "double_full":
            a, c = n1, n2
        else:
            a = draw(st.sampled_from([0, n1]) if kind != "any" else st.integers(0, n1))
            c = draw(st.integers(0, n2))
        for col, value in zip(cols, (a, n1, c, n2), strict=True):
            col.append(value)
    return tuple(np.array(col, dtype=float) for col in cols)


# ------------------------------------------------------------------ oracles


def loglik(yi, vi, tau2, reml: bool):
    """(Restricted) log-likelihood of the intercept-only model, up to a constant.

    Vectorised: yi, vi (..., k) and tau2 broadcasting against (...)."""
    tau2 = np.asarray(tau2, dtype=float)[..., None]
    w = 1 / (vi + tau2)
    mu = (w * yi).sum(-1, keepdims=True) / w.sum(-1, keepdims=True)
    out = -0.5 * (np.log(vi + tau2).sum(-1) + (w * (yi - mu) ** 2).sum(-1))
    return out - 0.5 * np.log(w.sum(-1)) if reml else out


def information(vi, tau2, reml: bool):
    """Fisher information for tau² (the scale of a Newton step)."""
    w = 1 / (vi + np.asarray(tau2, dtype=float)[..., None])
    s1, s2, s3 = w.sum(-1), (w**2).sum(-1), (w**3).sum(-1)
    return 0.5 * (s2 - 2 * s3 / s1 + (s2 / s1) ** 2) if reml else 0.5 * s2


def q_stat(yi, vi, tau2):
    """Generalised Cochran's Q at tau²."""
    w = 1 / (vi + np.asarray(tau2, dtype=float)[..., None])
    mu = (w * yi).sum(-1, keepdims=True) / w.sum(-1, keepdims=True)
    return (w * (yi - mu) ** 2).sum(-1)


def plain_fisher_scoring(yi, vi, reml: bool, maxiter: int = 100, threshold: float = 1e-5):
    """metafor's Fisher scoring for (m, k) data without any safeguard beyond step
    halving at zero: from max(0, Hedges), stop when a step is below ``threshold``.
    Returns tau² and whether it converged within ``maxiter`` steps."""
    k = yi.shape[-1]
    ss = ((yi - yi.mean(-1, keepdims=True)) ** 2).sum(-1)
    tau2 = np.maximum(0.0, (ss - vi.sum(-1) * (k - 1) / k) / (k - 1))
    converged = np.zeros(tau2.shape, bool)
    for _ in range(maxiter):
        w = 1 / (vi + tau2[..., None])
        s1, s2 = w.sum(-1), (w**2).sum(-1)
        r = yi - (w * yi).sum(-1, keepdims=True) / s1[..., None]
        ypp_y = (w**2 * r**2).sum(-1)
        if reml:
            step = (ypp_y - (s1 - s2 / s1)) / (2 * information(vi, tau2, True))
        else:
            step = (ypp_y - s1) / s2
        step = np.where(converged, 0.0, step)
        while (tau2 + step < 0).any():
            step = np.where(tau2 + step < 0, step / 2, step)
        tau2 = tau2 + step
        converged |= np.abs(step) <= threshold
    return tau2, converged


def assert_stationary(yi, vi, tau2, reml: bool, tol: float | None) -> None:
    """tau² maximises the likelihood locally: at tau² > 0 the finite-difference
    derivative is zero (the Newton step it implies is below the solver tolerance);
    at the boundary (tau² within the tolerance of 0) the likelihood does not increase."""
    yi, vi, tau2 = np.atleast_2d(yi), np.atleast_2d(vi), np.atleast_1d(tau2)
    step_tol = 2e-5 if tol is None else 1e-8  # metafor's threshold is 1e-5
    band = 2e-5 if tol is None else 1e-10  # step halving stops this close to 0
    info = information(vi, tau2, reml)
    h = 1e-5 * np.maximum(tau2, 1e-2)
    interior = tau2 > band
    lower = np.where(interior, tau2 - h, tau2)
    slope = (loglik(yi, vi, tau2 + h, reml) - loglik(yi, vi, lower, reml)) / (tau2 + h - lower)
    newton = slope / info
    bad = np.where(interior, np.abs(newton) > step_tol * (1 + tau2), newton > step_tol)
    assert not bad.any(), (
        f"not stationary: tau2={tau2[bad][:3]}, Newton step {newton[bad][:3]}, "
        f"yi={yi[bad][0].tolist()}, vi={vi[bad][0].tolist()}"
    )
    # away from the boundary, never less likely than tau² = 0 (metafor's ll0check)
    ll, ll0 = loglik(yi, vi, tau2, reml), loglik(yi, vi, np.zeros_like(tau2), reml)
    assert (ll[interior] >= ll0[interior] - 1.3e-4).all()


def assert_fits_equal(a, b, rtol=1e-9, atol=1e-12, names=STATS, index=None) -> None:
    for name in names:
        x = getattr(a, name) if index is None else getattr(a, name)[index]
        y = getattr(b, name)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=name)


# ------------------------------------------------------------------ invariances


@settings(max_examples=examples(100))
@given(data(), methods, tests_, st.data())
def test_study_order_does_not_matter(yv, method, test, draw):
    yi, vi = yv
    perm = np.array(draw.draw(st.permutations(range(len(yi)))))
    a = metaall.fit(yi, vi, method, test)
    b = metaall.fit(yi[perm], vi[perm], method, test)
    assert_fits_equal(a, b, rtol=1e-8, atol=1e-10, names=(*STATS, "pi_lb", "pi_ub"))
    np.testing.assert_allclose(a.weights[perm], b.weights, rtol=1e-8, atol=1e-10)


@settings(max_examples=examples(100))
@given(data(), methods, tests_, st.floats(-10, 10))
def test_shift_moves_estimate_and_intervals_only(yv, method, test, c):
    yi, vi = yv
    a, b = metaall.fit(yi, vi, method, test), metaall.fit(yi + c, vi, method, test)
    atol = 1e-9 * (1 + abs(c))
    for name in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name) + c, atol=atol, err_msg=name)
    for name in ("se", "tau2", "I2", "H2", "Q", "Q_pval"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=atol, err_msg=name)


@settings(max_examples=examples(100))
@given(
    data(),
    methods,
    tests_,
    st.floats(0.1, 10),
    st.sampled_from([1.0, -1.0]),
)
def test_scaling_scales_estimate_se_and_tau2(yv, method, test, s, sign):
    """yi·s, vi·s²: estimate·s, se·|s|, tau²·s²; I², H², Q and p unchanged (exact
    solvers: metafor's default stopping rules use absolute thresholds on tau²)."""
    yi, vi = yv
    s *= sign
    a = metaall.fit(yi, vi, method, test, tol=1e-12)
    b = metaall.fit(yi * s, vi * s**2, method, test, tol=1e-12)
    np.testing.assert_allclose(b.estimate, a.estimate * s, rtol=1e-6, atol=1e-9 * abs(s))
    np.testing.assert_allclose(b.se, a.se * abs(s), rtol=1e-6)
    np.testing.assert_allclose(b.tau2, a.tau2 * s**2, rtol=1e-6, atol=1e-9 * s**2)
    lo, hi = (b.ci_lb, b.ci_ub) if s > 0 else (b.ci_ub, b.ci_lb)
    np.testing.assert_allclose([lo, hi], [a.ci_lb * s, a.ci_ub * s], rtol=1e-6, atol=1e-9 * abs(s))
    for name in ("H2", "Q", "pval", "Q_pval"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-6, atol=1e-9)
    # I² (percent) magnifies the ~1e-12 residue of tau² at the boundary by 100/ṽ
    np.testing.assert_allclose(b.I2, a.I2, rtol=1e-6, atol=1e-6)


@settings(max_examples=examples(150))
@given(data(), methods, tests_, st.floats(0.5, 0.999))
def test_statistics_stay_in_range(yv, method, test, level):
    yi, vi = yv
    r = metaall.fit(yi, vi, method, test, level)
    if test == "knha" and len(yi) > 1 and np.ptp(yi) == 0:
        # identical effects: the Hartung-Knapp scale is 0, so se = 0 and z = ±inf or
        # NaN (0/0), exactly as metafor 3.8.1 reports it
        assert r.se == 0 and r.tau2 == 0 and r.Q < 1e-20
        return
    assert r.tau2 >= 0 and (method != "FE" or r.tau2 == 0)
    assert 0 <= r.I2 < 100
    if method == "FE" and len(yi) > 1:  # metafor: H² = Q/(k-1) for FE, may be below 1
        assert pytest.approx(r.Q / (len(yi) - 1)) == r.H2
    else:
        assert r.H2 >= 1
    assert r.Q >= 0 and r.Q_df == len(yi) - 1
    assert 0 <= r.pval <= 1 and 0 <= r.Q_pval <= 1
    assert r.se > 0
    assert r.ci_lb <= r.estimate <= r.ci_ub
    if method == "FE":
        assert np.isnan(r.pi_lb) and np.isnan(r.pi_ub)
    else:
        assert r.pi_lb <= r.ci_lb and r.ci_ub <= r.pi_ub
    assert r.weights.sum() == pytest.approx(100, abs=1e-9)
    assert (r.weights > 0).all()


@settings(max_examples=examples(100))
@given(data(), st.floats(0.5, 0.98), st.floats(0.001, 0.019))
def test_higher_level_widens_the_interval(yv, level, more):
    yi, vi = yv
    a, b = metaall.fit(yi, vi, level=level), metaall.fit(yi, vi, level=level + more)
    assert b.ci_lb < a.ci_lb < a.estimate < a.ci_ub < b.ci_ub
    assert a.estimate == b.estimate and a.pval == b.pval


@st.composite
def ragged_batches(draw):
    """m data sets of different sizes in one (m, K) array, NaN anywhere for absent."""
    m = draw(st.integers(1, 5))
    sets = [draw(data(1, 10)) for _ in range(m)]
    width = max(len(y) for y, _ in sets) + draw(st.integers(0, 3))
    Y, V = np.full((m, width), np.nan), np.full((m, width), np.nan)
    for row, (y, v) in enumerate(sets):
        cols = np.sort(draw(st.permutations(range(width)))[: len(y)])
        Y[row, cols], V[row, cols] = y, v
    return Y, V, sets


@settings(max_examples=examples(100))
@given(ragged_batches(), methods, tests_)
def test_batch_fit_equals_single_fits(batch, method, test):
    Y, V, sets = batch
    together = metaall.fit(Y, V, method, test)
    for row, (y, v) in enumerate(sets):
        alone = metaall.fit(y, v, method, test)
        assert_fits_equal(together, alone, rtol=1e-8, atol=1e-10, index=row)
        present = ~np.isnan(Y[row])
        np.testing.assert_allclose(together.weights[row][present], alone.weights, rtol=1e-8)
        assert np.isnan(together.weights[row][~present]).all()
        assert together.algorithm[row] == alone.algorithm
        assert together.k[row] == len(y)


# ------------------------------------------------------------------ estimator equations


@settings(max_examples=examples(100))
@given(data(2, 30), st.sampled_from(("ML", "REML")))
def test_ml_reml_return_a_stationary_point_of_the_likelihood(yv, method):
    yi, vi = yv
    r = metaall.fit(yi, vi, method)
    assert_stationary(yi, vi, r.tau2, method == "REML", None)


def _fisher_scoring_trouble(seed: int, n: int, generator: str):
    rng = np.random.default_rng(seed)
    if generator == "metafor_fails":  # metafor stops with an error on ~1 in 200
        vi = rng.uniform(0.01, 1, (n, 10))
        yi = rng.normal(0, np.sqrt(vi + 0.5))
    else:  # precise studies agree, imprecise ones scatter: several local maxima
        precise = rng.random((n, 10)) < 0.5
        vi = np.where(precise, rng.uniform(0.001, 0.01, (n, 10)), rng.uniform(1, 5, (n, 10)))
        yi = np.where(precise, rng.normal(0, 0.05, (n, 10)), rng.normal(0, 3, (n, 10)))
    return yi, vi


@pytest.mark.parametrize("method", ["ML", "REML"])
@pytest.mark.parametrize(
    ("generator", "n", "least"),
    [("metafor_fails", 4000, 10), ("two_populations", 1500, 100)],
)
def test_ml_reml_are_stationary_where_fisher_scoring_diverges(method, generator, n, least):
    """Data sets generated so that plain Fisher scoring fails (checked independently):
    every fit is still a maximum, and ``algorithm`` names the fallback there."""
    reml = method == "REML"
    yi, vi = _fisher_scoring_trouble(12345, n, generator)
    res = metaall.fit(yi, vi, method)
    algorithm = np.asarray(res.algorithm, dtype=str)
    assert_stationary(yi, vi, res.tau2, reml, None)

    fisher, converged = plain_fisher_scoring(yi, vi, reml)
    worse_than_zero = loglik(yi, vi, fisher, reml) < loglik(yi, vi, np.zeros(n), reml) - 1.3e-4
    trouble = ~converged | (converged & worse_than_zero & (fisher > 1e-5))
    assert trouble.sum() >= least  # the generator really produces hard cases
    fallback = np.char.find(algorithm, "grid + Brent") >= 0
    assert (fallback | (algorithm == "Fisher scoring")).all()
    assert fallback[trouble].all()
    assert (np.char.find(algorithm[~converged], "did not converge") >= 0).all()

    # where the fallback ran, its answer is the global maximum over a fine grid
    fb = np.flatnonzero(fallback)
    grid = np.concatenate([[0.0], np.geomspace(1e-8, 1e4, 2000)])
    profile = loglik(yi[fb, None, :], vi[fb, None, :], grid[None, :], reml)
    assert (loglik(yi[fb], vi[fb], res.tau2[fb], reml) >= profile.max(1) - 1e-9).all()


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_ml_reml_with_exact_solvers_are_stationary_on_hard_data(method):
    sets = [_fisher_scoring_trouble(54321, 500, g) for g in ("metafor_fails", "two_populations")]
    yi, vi = np.concatenate([y for y, _ in sets]), np.concatenate([v for _, v in sets])
    res = metaall.fit(yi, vi, method, tol=1e-12)
    assert_stationary(yi, vi, res.tau2, method == "REML", 1e-12)


def test_reml_returns_the_global_maximum_when_fisher_scoring_stops_at_a_local_one():
    yi = np.array([0.04, -1.166, -5.074, -0.048, 0.162, 2.556, -0.064, 0.007, -3.401, -0.107])
    vi = np.array([0.0023, 2.9563, 1.1615, 0.0039, 1.1873, 1.8496, 0.0092, 0.0061, 1.078, 0.0013])
    res = metaall.fit(yi, vi, "REML", tol=1e-12)  # 2.5907, "Fisher scoring"
    grid = np.geomspace(1e-6, 1e3, 4000)
    best = grid[np.argmax(loglik(yi, vi, grid, True))]  # about 0.00254
    assert loglik(yi, vi, res.tau2, True) >= loglik(yi, vi, best, True) - 1e-9


@settings(max_examples=examples(100))
@given(data(2, 30))
def test_paule_mandel_solves_the_q_equation(yv):
    yi, vi = yv
    k = len(yi)
    r = metaall.fit(yi, vi, "PM", tol=1e-12)
    if r.tau2 > 0:
        assert q_stat(yi, vi, r.tau2) == pytest.approx(k - 1, abs=1e-8 * k)
    else:
        assert q_stat(yi, vi, 0.0) <= k - 1 + 1e-9


@settings(max_examples=examples(50))
@given(data(2, 30))
def test_empirical_bayes_equals_paule_mandel_without_moderators(yv):
    """The EB fixed point k/(k-1)·Q(tau²) = k is the PM equation Q(tau²) = k - 1."""
    yi, vi = yv
    eb, pm = metaall.fit(yi, vi, "EB", tol=1e-12), metaall.fit(yi, vi, "PM", tol=1e-12)
    assert eb.tau2 == pytest.approx(pm.tau2, rel=1e-6, abs=1e-9)


@settings(max_examples=examples(100))
@given(data(2, 30))
def test_closed_forms_fe_and_dersimonian_laird(yv):
    yi, vi = yv
    w = 1 / vi
    mu = np.sum(w * yi) / w.sum()
    fe = metaall.fit(yi, vi, "FE")
    assert fe.estimate == pytest.approx(mu, abs=1e-12)
    assert fe.se == pytest.approx(w.sum() ** -0.5, rel=1e-12)
    assert pytest.approx(q_stat(yi, vi, 0.0), rel=1e-9, abs=1e-12) == fe.Q
    dl = metaall.fit(yi, vi, "DL")
    expected = max(0.0, (fe.Q - (len(yi) - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
    assert dl.tau2 == pytest.approx(expected, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------ effect sizes


COUNT_MEASURES = ("RR", "OR", "RD", "PETO")


@settings(max_examples=examples(150))
@given(
    tables(),
    st.sampled_from(COUNT_MEASURES),
    st.sampled_from([0.0, 0.5, 1.0]),
    st.sampled_from(["only0", "all", "if0all", "none"]),
    st.booleans(),
)
def test_swapping_arms_negates_the_effect(t, measure, add, to, drop00):
    ai, n1i, ci, n2i = t
    a = metaall.effect_sizes(ai, n1i, ci, n2i, measure, add, to, drop00)
    b = metaall.effect_sizes(ci, n2i, ai, n1i, measure, add, to, drop00)
    np.testing.assert_array_equal(np.isnan(a.yi), np.isnan(b.yi))
    # 1/a - 1/n1 + 1/c - 1/n2 cancels: the order of the terms shows at 1e-12
    np.testing.assert_allclose(b.yi, -a.yi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.vi, a.vi, rtol=1e-9)
    np.testing.assert_array_equal(a.corrected, b.corrected)
    np.testing.assert_array_equal(a.dropped, b.dropped)


@settings(max_examples=examples(100))
@given(tables(), st.sampled_from(["OR", "RD"]), st.sampled_from(["only0", "all", "if0all"]))
def test_counting_non_events_negates_or_and_rd(t, measure, to):
    ai, n1i, ci, n2i = t
    a = metaall.effect_sizes(ai, n1i, ci, n2i, measure, 0.5, to)
    b = metaall.effect_sizes(n1i - ai, n1i, n2i - ci, n2i, measure, 0.5, to)
    np.testing.assert_allclose(b.yi, -a.yi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.vi, a.vi, rtol=1e-12)


@settings(max_examples=examples(100))
@given(tables(), st.sampled_from(["OR", "RR"]))
def test_effect_sizes_match_the_textbook_formulas_without_zero_cells(t, measure):
    ai, n1i, ci, n2i = t
    ok = (ai > 0) & (ci > 0) & (ai < n1i) & (ci < n2i)
    assume(ok.any())
    es = metaall.effect_sizes(ai[ok], n1i[ok], ci[ok], n2i[ok], measure)
    a, b, c, d = ai[ok], n1i[ok] - ai[ok], ci[ok], n2i[ok] - ci[ok]
    if measure == "OR":
        yi, vi = np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d
    else:
        yi, vi = np.log(a / n1i[ok] * n2i[ok] / c), 1 / a - 1 / n1i[ok] + 1 / c - 1 / n2i[ok]
    np.testing.assert_allclose(es.yi, yi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(es.vi, vi, rtol=1e-12)
    assert not es.corrected.any()


# ------------------------------------------------------------------ Mantel-Haenszel, Peto

COUNT_STATS = ("estimate", "se", "Q", "I2", "H2", "Q_df")


def _pool(method: str, t, measure: str):
    if method == "Peto":
        return metaall.fit_peto(*t)
    return metaall.fit_mh(*t, measure=measure)


def _peto_defined(t) -> bool:
    ai, n1i, ci, n2i = t
    events = ai + ci
    return bool(((events > 0) & (events < n1i + n2i)).any())


def _degenerate(t) -> bool:
    """Every table has 0 % or 100 % events in both arms: the MH variance is 0 in exact
    arithmetic and rounds to ±1e-17, so se comes out 0 or NaN (as in metafor 3.8.1)."""
    ai, n1i, ci, n2i = t
    return bool(np.all(((ai == 0) | (ai == n1i)) & ((ci == 0) | (ci == n2i))))


pooling = st.sampled_from([("MH", "OR"), ("MH", "RR"), ("MH", "RD"), ("Peto", "OR")])


@settings(max_examples=examples(100))
@given(tables(), pooling, st.data())
def test_mh_and_peto_do_not_depend_on_study_order(t, how, draw):
    method, measure = how
    assume(method != "Peto" or _peto_defined(t))
    assume(not _degenerate(t))
    perm = np.array(draw.draw(st.permutations(range(len(t[0])))))
    a, b = _pool(method, t, measure), _pool(method, tuple(x[perm] for x in t), measure)
    for name in COUNT_STATS:
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(b.weights, a.weights[perm], rtol=1e-9)


@settings(max_examples=examples(100))
@given(tables(), pooling)
def test_mh_and_peto_swapping_arms_negates_the_estimate(t, how):
    method, measure = how
    assume(method != "Peto" or _peto_defined(t))
    assume(not _degenerate(t))
    ai, n1i, ci, n2i = t
    a, b = _pool(method, t, measure), _pool(method, (ci, n2i, ai, n1i), measure)
    np.testing.assert_allclose(b.estimate, -a.estimate, rtol=1e-9, atol=1e-12)
    for name in ("se", "Q", "I2", "H2", "pval", "Q_df"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-9, err_msg=name)
    if np.isfinite(a.estimate):
        assert np.nansum(a.weights) == pytest.approx(100)
        assert a.ci_lb <= a.estimate <= a.ci_ub and a.Q >= 0
        if a.se > 0:  # se = 0 (RD of tables without events) leaves z = 0/0, as metafor
            assert 0 <= a.pval <= 1


@settings(max_examples=examples(50))
@given(tables(min_k=1, max_k=6), st.sampled_from(["OR", "RR", "RD"]))
def test_mh_of_a_single_table_is_its_crude_effect(t, measure):
    ai, n1i, ci, n2i = (x[:1] for x in t)
    assume(ai[0] > 0 and ci[0] > 0 and ai[0] < n1i[0] and ci[0] < n2i[0])
    res = metaall.fit_mh(ai, n1i, ci, n2i, measure=measure)
    es = metaall.effect_sizes(ai, n1i, ci, n2i, measure)
    assert res.estimate == pytest.approx(es.yi[0], rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------ hazard ratios


@settings(max_examples=examples(100))
@given(st.floats(-3, 3), st.floats(0.01, 2), st.floats(0.5, 0.999))
def test_hr_from_ci_round_trips(log_hr, se, level):
    z = ndtri(0.5 + level / 2)
    hr, lower, upper = np.exp([log_hr, log_hr - z * se, log_hr + z * se])
    es = metaall.hr_from_ci(hr, lower, upper, level)
    assert es.yi[0] == pytest.approx(log_hr, abs=1e-12)
    assert es.vi[0] == pytest.approx(se**2, rel=1e-9)


@settings(max_examples=examples(100))
@given(st.floats(0.01, 3), st.sampled_from([1.0, -1.0]), st.floats(0.05, 2))
def test_hr_from_p_round_trips(size, sign, se):
    log_hr = sign * size
    assume(size / se < 30)
    p = 2 * ndtr(-size / se)
    es = metaall.hr_from_p(np.exp(log_hr), p)
    assert es.yi[0] == pytest.approx(log_hr, abs=1e-12)
    assert es.vi[0] == pytest.approx(se**2, rel=1e-6)
