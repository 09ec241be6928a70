"""The lean tau² engine (issue 17): its sums equal the general WLS algebra, a data set's
tau² is bitwise the same alone or in any batch, the proved bounds on the stationary
points hold, and metafor's verdicts and values are kept where Fisher scoring
oscillates, fails or creeps (tests/fixtures/r/engine_speed.json, from engine_speed.R)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from reference import FIXTURES

import metaall
from metaall.models import maxima, scoring
from metaall.models import tau2 as engine
from metaall.models.design import Batch
from metaall.models.fit import make_batch

SPEED = json.loads((FIXTURES / "r" / "engine_speed.json").read_text())["cases"]


def _batch(yi, vi, X=None) -> Batch:
    batch, _, _ = make_batch(yi, vi)
    return batch if X is None else Batch(batch.y, batch.v, batch.mask, X)


def _random(m: int, k: int, seed: int, absent: bool = True):
    rng = np.random.default_rng(seed)
    vi = np.exp(rng.uniform(-6, 1, (m, k)))
    yi = rng.normal(0, np.sqrt(vi + rng.uniform(0, 0.5, (m, 1))))
    if absent:
        drop = rng.random((m, k)) < 0.2
        drop[:, :3] = False
        yi[drop] = vi[drop] = np.nan
    return yi, vi


def _two_populations(m: int, k: int, seed: int):
    """Precise studies that agree and imprecise ones that scatter: several maxima."""
    rng = np.random.default_rng(seed)
    precise = rng.random((m, k)) < 0.5
    vi = np.where(precise, rng.uniform(0.001, 0.01, (m, k)), rng.uniform(1, 5, (m, k)))
    yi = np.where(precise, rng.normal(0, 0.05, (m, k)), rng.normal(0, 3, (m, k)))
    return yi, vi


DESIGNS = {
    "intercept": None,
    "moderators": np.column_stack([np.ones(12), np.linspace(-1, 2, 12), np.arange(12) % 2]),
}


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("m", [1, 7, 3000])
def test_lean_sums_equal_the_wls_algebra(design, m):
    yi, vi = _random(m, 12, seed=m)
    batch = _batch(yi, vi, DESIGNS[design])
    tau2 = np.random.default_rng(0).uniform(0, 1, m)
    wls = batch.wls(tau2)
    reml = batch.scorer.sums(tau2, reml=True, info=True, rss=True)
    ml = batch.scorer.sums(tau2, reml=False, info=True)
    for got, want in (
        (reml.sw, wls.sum_w),
        (reml.sw2, wls.sum_w2),
        (reml.ypp, wls.ypp_y),
        (reml.rss, wls.rss),
        (reml.tr_p, wls.tr_p),
        (reml.tr_pp, wls.tr_pp),
        (ml.ypp, wls.ypp_y),
    ):
        np.testing.assert_allclose(got, want, rtol=1e-11)
    for reml_ in (True, False):  # log-likelihoods agree up to a constant per data set
        diff = batch.scorer.loglik(tau2, reml_) - wls.loglik(tau2, reml_)
        zero = batch.scorer.loglik(0.0, reml_) - batch.wls(0.0).loglik(np.zeros(m), reml_)
        np.testing.assert_allclose(diff, zero, rtol=1e-11, atol=1e-9)


def test_one_long_data_set_is_summed_in_blocks_of_studies():
    k = 3 * scoring.BLOCK + 17  # more studies than a block: the blockwise paths
    yi, vi = _random(1, k, seed=5, absent=False)
    batch = _batch(yi, vi)
    wls, lean = batch.wls(np.array([0.3])), batch.scorer.sums(0.3, reml=True, rss=True)
    for got, want in ((lean.sw, wls.sum_w), (lean.ypp, wls.ypp_y), (lean.rss, wls.rss)):
        np.testing.assert_allclose(got, want, rtol=1e-11)
    np.testing.assert_allclose(lean.tr_pp, wls.tr_pp, rtol=1e-11)
    np.testing.assert_allclose(batch.scorer.hedges(), engine._hedges(batch), rtol=1e-11)
    X = np.column_stack([np.ones(k), np.linspace(0, 1, k)])
    dense = _batch(yi, vi, X)
    got = dense.scorer.sums(0.3, reml=True, rss=True)
    want = dense.wls(np.array([0.3]))
    np.testing.assert_allclose([got.ypp, got.tr_p, got.tr_pp], [want.ypp_y, want.tr_p, want.tr_pp])


def test_a_data_set_gets_the_same_tau2_alone_as_in_any_batch():
    """Sums run in the studies' order whatever the batch (k-major layout, single data
    sets padded to two columns, subsets copied in C order): tau², its route and the
    number of steps are bitwise those of a single fit, even for oscillating data."""
    rng = np.random.default_rng(8)
    vi = rng.uniform(0.01, 1, (600, 10))
    yi = rng.normal(0, 0.3, (600, 10))  # Fisher scoring oscillates on about 10%
    yi[::7, 4] = vi[::7, 4] = np.nan
    whole = metaall.fit(yi, vi)
    assert (np.char.find(np.asarray(whole.algorithm, dtype=str), "did not converge") >= 0).any()
    for start in range(0, 600, 128):  # blocks, as a Dask array's chunks
        part = metaall.fit(yi[start : start + 128], vi[start : start + 128])
        assert np.array_equal(part.tau2, whole.tau2[start : start + 128])
        assert list(part.algorithm) == list(whole.algorithm[start : start + 128])
    for i in range(0, 600, 11):
        keep = ~np.isnan(yi[i])
        one = metaall.fit(yi[i, keep], vi[i, keep])
        assert one.tau2 == whole.tau2[i] and one.algorithm == whole.algorithm[i]


def _score_oracle(yi, vi, tau2, reml: bool):
    """S(τ²) for an intercept-only data set from the general WLS algebra, on a grid."""
    batch = _batch(np.repeat(yi[None], tau2.size, 0), np.repeat(vi[None], tau2.size, 0))
    fit = batch.wls(tau2)
    return fit.ypp_y - (fit.tr_p if reml else fit.sum_w)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("data", [_random, _two_populations])
def test_stationary_points_lie_within_the_proved_bounds(reml, data):
    """Module doc of metaall.models.maxima: S < 0 above T⁺, S > 0 below T₋, and beyond
    t_c = v₊ - 2v₋ the score changes sign at most once, from + to -."""
    yi, vi = data(60, 8, seed=11)
    keep = ~np.isnan(yi).any(axis=1)
    yi, vi = yi[keep], vi[keep]
    batch = _batch(yi, vi)
    q0, _ = batch.scorer.at_zero(reml)
    b = maxima.bounds(batch.scorer, reml, q0)
    rises = 0
    for i in range(yi.shape[0]):
        grid = np.concatenate([[0.0], np.geomspace(1e-6, 1e4, 3000)])
        s = _score_oracle(yi[i], vi[i], grid, reml)
        assert (s[grid > b.upper[i]] < 0).all()
        assert (s[grid < b.lower[i]] > 0).all()
        beyond = s[grid >= max(b.unimodal[i], 0.0)]
        changes = np.flatnonzero(np.sign(beyond[1:]) != np.sign(beyond[:-1]))
        assert changes.size <= 1 and (changes.size == 0 or beyond[changes[0]] > 0)
        rises += int(((s[:-1] <= 0) & (s[1:] > 0)).any())
    if data is _two_populations:
        assert rises >= 5  # the generator really produces several maxima


def test_the_screen_skips_data_sets_proved_unimodal():
    yi, vi = _random(400, 6, seed=3, absent=False)
    vi = vi / vi.max(axis=1, keepdims=True) * 0.5 + 0.5  # variances within a factor 2
    batch = _batch(yi, vi)
    q0, _ = batch.scorer.at_zero(True)
    b = maxima.bounds(batch.scorer, True, q0)
    a, end = b.risky
    assert (end <= a).all()  # t_c = v₊ - 2v₋ ≤ 0: one maximum, no evaluation needed
    assert not maxima.screen(batch.scorer, True, b, np.ones(400, bool)).any()


def test_oscillating_fisher_scoring_keeps_metafors_verdict_and_value():
    """Fisher scoring runs metafor's own iteration to its verdict: data sets that settle
    after more than 10 steps get metafor's tau² (1e-8); those on which metafor stops with
    an error are the ones metaall reports as not converged."""
    cases = [c for c in SPEED if c["name"].startswith("oscillating")]
    yi = np.array([c["input"]["yi"] for c in cases])
    vi = np.array([c["input"]["vi"] for c in cases])
    res = metaall.fit(yi, vi)
    for i, case in enumerate(cases):
        exp = case["expected"]
        if exp["converged"]:
            assert res.algorithm[i] == "Fisher scoring", case["name"]
            for field in ("estimate", "se", "tau2"):
                assert getattr(res, field)[i] == pytest.approx(exp[field], rel=1e-8, abs=1e-12)
        else:
            assert "did not converge" in res.algorithm[i], case["name"]


def test_creeping_fisher_scoring_keeps_metafors_value():
    """Fisher scoring creeps for 35 steps and stops, by metafor's rule, short of the
    maximum; the maximum is in the same basin, so metafor's value is returned (the
    global search only replaces a value by a different, more likely maximum)."""
    case = next(c for c in SPEED if c["name"] == "metareg_creeping_fisher")
    inp, exp = case["input"], case["expected"]
    mods = np.array(inp["mods"])
    res = metaall.fit(inp["yi"], inp["vi"], mods=mods)
    assert res.algorithm == "Fisher scoring"
    assert res.tau2 == pytest.approx(exp["tau2"], rel=1e-8)
    np.testing.assert_allclose(res.beta, exp["beta"], rtol=1e-8)
    assert abs(res.tau2 - exp["tau2_exact"]) > 1e-4 * exp["tau2"]  # it did stop short
    exact = metaall.fit(inp["yi"], inp["vi"], mods=mods, tol=1e-13)
    assert exact.tau2 == pytest.approx(exp["tau2_exact"], rel=1e-8)
    X = np.column_stack([np.ones(20), mods])
    batch = _batch(np.array([inp["yi"]]), np.array([inp["vi"]]), X)
    fs = engine.fisher_scoring(batch.scorer, "REML", 1e-5, 100, engine._hedges(batch))
    assert fs.iterations[0] == 35


def test_closed_form_estimators_from_the_row_sums_equal_the_wls_algebra():
    yi, vi = _random(500, 9, seed=4)
    batch = _batch(yi, vi)
    fe = batch.wls(0.0)
    for method, want in (
        ("DL", (fe.rss - (batch.k - 1)) / fe.tr_p),
        ("HS", (fe.rss - batch.k) / fe.sum_w),
    ):
        got = engine.estimate_tau2(batch, method).tau2
        np.testing.assert_allclose(got, np.maximum(want, 0.0), rtol=1e-12, atol=1e-15)
    pooled = batch.pooled(np.full(500, 0.2), rss=True, trace=True)
    wls = batch.wls(np.full(500, 0.2))
    np.testing.assert_allclose(pooled.mean, wls.beta[:, 0], rtol=1e-12)
    np.testing.assert_allclose([pooled.sw, pooled.rss, pooled.tr_p], [wls.sum_w, wls.rss, wls.tr_p])
