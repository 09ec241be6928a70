"""metaall.distributions against scipy.special (the routines scipy.stats uses)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from metaall import distributions as dist


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 9, 10, 11, 36, 99, 100, 1001, 99_999])
def test_chi2_sf_matches_scipy(df):
    x = np.concatenate([[0.0, 1e-12, 1e-3], np.geomspace(0.01, 20 * df + 2000, 400)])
    expected = special.chdtrc(df, x)
    got = dist.chi2_sf(x, df)
    tiny = expected < 1e-300  # both underflow to (near) zero
    rtol = 1e-12 if df < 1000 else 1e-9  # sums of ~df/2 terms of size ~x
    np.testing.assert_allclose(got[~tiny], expected[~tiny], rtol=rtol, atol=0)
    assert np.all(got[tiny] < 1e-290)


def test_chi2_sf_vectorised_over_df_and_edge_values():
    x = np.array([152.233008082373, 3.0, 0.0, np.inf, 5.0, np.nan])
    df = np.array([12, 1, 4, 3, 0, 2])
    got = dist.chi2_sf(x, df)
    np.testing.assert_allclose(got[:2], special.chdtrc(df[:2], x[:2]), rtol=1e-13)
    assert got[2] == 1.0 and got[3] == 0.0 and np.isnan(got[4]) and np.isnan(got[5])
    assert isinstance(dist.chi2_sf(3.0, 2), float)


def test_normal_matches_scipy_in_the_tails():
    z = np.concatenate([-np.geomspace(1e-8, 38, 300), [0.0], np.geomspace(1e-8, 38, 300)])
    two_sided = 2 * special.ndtr(-np.abs(z))
    np.testing.assert_allclose(dist.norm_two_sided_p(z), two_sided, rtol=1e-12, atol=1e-300)
    p = np.concatenate([np.geomspace(1e-300, 0.5, 300), 1 - np.geomspace(1e-16, 0.5, 300)])
    np.testing.assert_allclose(dist.norm_quantile(p), special.ndtri(p), rtol=1e-13, atol=1e-15)
    assert dist.norm_quantile(0.975) == pytest.approx(1.959963984540054, rel=1e-15)
    assert dist.norm_quantile(0.0) == -np.inf and np.isnan(dist.norm_quantile(np.nan))


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 17, 100, 999])
def test_chi2_quantile_matches_scipy_without_importing_it(df):
    p = np.array([1e-4, 0.001, 0.025, 0.05, 0.5, 0.95, 0.975, 0.999, 1 - 1e-10])
    got = dist.chi2_quantile(p, df)
    np.testing.assert_allclose(got, special.chdtri(df, 1 - p), rtol=1e-11)
    np.testing.assert_allclose(dist.chi2_sf(got, df), 1 - p, rtol=1e-11)
    tiny = dist.chi2_quantile(1e-10, df)  # below 1e-4: scipy's routine
    assert tiny == pytest.approx(special.chdtri(df, 1 - 1e-10), rel=1e-14)


def test_chi2_quantile_vectorised_over_df():
    df = np.array([1, 4, 40])
    np.testing.assert_allclose(dist.chi2_quantile(0.975, df), special.chdtri(df, 0.025), rtol=1e-12)


def test_large_arrays_take_scipy_and_agree_with_the_exact_sums():
    """Beyond SCIPY_FROM values the tail probabilities come from scipy.special; they
    agree with the standard-library path used for smaller arrays."""
    rng = np.random.default_rng(4)
    n = dist.SCIPY_FROM + 10
    z = rng.normal(0, 4, n)
    x, df = rng.gamma(2.0, 5.0, n), rng.integers(1, 60, n)
    big_p, big_q = dist.norm_two_sided_p(z), dist.chi2_sf(x, df)
    small_p = np.concatenate([dist.norm_two_sided_p(part) for part in np.array_split(z, 4)])
    parts = zip(np.array_split(x, 4), np.array_split(df, 4), strict=True)
    small_q = np.concatenate([dist.chi2_sf(a, b) for a, b in parts])
    np.testing.assert_allclose(big_p, small_p, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(big_q, small_q, rtol=1e-12, atol=1e-300)
