"""Meta-regression and permutation tests against R metafor 3.8: the shared reference
(fixtures/measures_reference.json) and fixtures/r/measures.json (written by
fixtures/r/measures.R), plus the input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from reference import assert_close

import metaall
from metaall.models.fit import FitResult
from metaall.models.metareg import MetaRegressionResult, dummy_columns, meta_regression
from metaall.models.permutation import (
    distinct_permutations,
    multiset_permutations,
    permutation_test,
)

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = json.loads((FIXTURES / "measures_reference.json").read_text())["cases"]
LOCAL = json.loads((FIXTURES / "r" / "measures.json").read_text())["cases"]
REGRESSION_FIELDS = (
    "beta",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "QM",
    "QM_pval",
    "QE",
    "QE_pval",
    "tau2",
    "I2",
    "H2",
    "R2",
)


def _cases(source: list, *kinds: str) -> list:
    return [pytest.param(c, id=c["name"]) for c in source if c["kind"] in kinds]


def _mods(inp: dict):
    """The moderators of a case: a matrix, or ablat and/or a factor as named columns."""
    if "mods" in inp:
        return np.array(inp["mods"], dtype=float)
    mods = {"ablat": inp["ablat"]} if "ablat" in inp else {}
    return {**mods, **dummy_columns(inp["labels"], "factor(alloc)")}


def _check(res, exp: dict) -> None:
    for field in REGRESSION_FIELDS:
        if field in exp:
            assert_close(getattr(res, field), np.array(exp[field], dtype=float), field)


# -- against R ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case", _cases(SHARED, "metareg") + _cases(LOCAL, "metareg", "metareg_factor")
)
def test_meta_regression(case):
    inp, s = case["input"], case["settings"]
    res = metaall.fit(inp["yi"], inp["vi"], method=s["method"], test=s["test"], mods=_mods(inp))
    assert isinstance(res, MetaRegressionResult)
    _check(res, case["expected"])
    assert res.QM_df == len(res.beta) - 1
    assert res.QE_df == res.df == len(inp["yi"]) - len(res.beta)
    if "names" in case["expected"]:  # R's coefficient names for a factor
        assert list(res.names) == case["expected"]["names"]


@pytest.mark.parametrize("case", _cases(LOCAL, "metareg_batch"))
def test_a_batch_of_meta_regressions_with_one_design(case):
    inp, s = case["input"], case["settings"]
    res = metaall.fit(inp["yi"], inp["vi"], method=s["method"], test=s["test"], mods=inp["mods"])
    assert res.batched and res.beta.shape == (len(inp["yi"]), 2)
    _check(res, case["expected"])


def test_a_batch_with_absent_studies_matches_single_fits():
    case = next(c for c in SHARED if c["name"] == "bcg_ablat_year_mods_knha")
    yi, vi = np.array(case["input"]["yi"]), np.array(case["input"]["vi"])
    X = np.array(case["input"]["mods"], dtype=float)
    Y = np.tile(yi, (3, 1))
    Y[1, [0, 5]] = np.nan
    Y[2, 12] = np.nan
    V = np.where(np.isnan(Y), np.nan, vi)
    batch = metaall.fit(Y, V, test="knha", mods=X)
    for row in range(3):
        keep = ~np.isnan(Y[row])
        one = metaall.fit(yi[keep], vi[keep], test="knha", mods=X[keep])
        for field in REGRESSION_FIELDS:
            assert_close(getattr(batch, field)[row], getattr(one, field), field)


@pytest.mark.parametrize("case", _cases(LOCAL, "metareg_predict"))
def test_predictions_for_a_bubble_plot(case):
    inp, s = case["input"], case["settings"]
    res = metaall.fit(inp["yi"], inp["vi"], method=s["method"], test=s["test"], mods=inp["mods"])
    pred = res.predict(inp["newmods"])
    for field, value in case["expected"].items():
        assert_close(getattr(pred, field), value, field)
    own = res.predict()  # at the studies' own moderator values
    assert_close(own.pred, res.beta[0] + res.beta[1] * np.array(inp["mods"]), "fitted")


@pytest.mark.parametrize("case", _cases(SHARED, "permutation") + _cases(LOCAL, "permutation"))
def test_exact_permutation_test_of_an_intercept_only_model(case):
    inp, s = case["input"], case["settings"]
    res = metaall.fit(inp["yi"], inp["vi"], method=s["method"], test=s.get("test", "z"))
    perm = permutation_test(res, exact=True)
    assert perm.exact and perm.iterations == 2 ** len(inp["yi"])
    assert_close(perm.pval, case["expected"]["pval"], "pval")
    if "QM_pval" in case["expected"]:
        assert_close(perm.QM_pval, case["expected"]["QM_pval"], "QM_pval")


@pytest.mark.parametrize("case", _cases(LOCAL, "permutation_mods"))
def test_exact_permutation_test_of_a_meta_regression(case):
    inp, s = case["input"], case["settings"]
    res = metaall.fit(inp["yi"], inp["vi"], method=s["method"], test=s["test"], mods=_mods(inp))
    exp = case["expected"]
    assert_close(res.zval, exp["zval"], "zval")
    assert_close(res.QM, exp["QM"], "QM")
    perm = permutation_test(res)  # k! ≤ 1000 or not: exact=True is asked in R
    if not perm.exact:
        perm = permutation_test(res, exact=True)
    assert perm.iterations == np.prod(np.arange(1, len(inp["yi"]) + 1))
    # metafor's Fisher scoring fails on one permuted data set of the 7-study case;
    # permutest leaves it out, and so does metaall
    assert perm.failed == (1 if len(inp["yi"]) == 7 else 0)
    assert_close(perm.pval, exp["pval"], "pval")
    assert_close(perm.QM_pval, exp["QM_pval"], "QM_pval")


# -- behaviour ------------------------------------------------------------------------------
def _bcg() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    case = next(c for c in SHARED if c["name"] == "bcg_ablat_year_mods_z")
    inp = case["input"]
    return np.array(inp["yi"]), np.array(inp["vi"]), np.array(inp["mods"], dtype=float)


def test_fit_without_mods_is_the_intercept_only_model():
    yi, vi, X = _bcg()
    plain = metaall.fit(yi, vi)
    assert isinstance(plain, FitResult)
    reg = metaall.fit(yi, vi, mods=X[:, 0])
    assert reg.names == ("intrcpt", "mod1")
    named = metaall.fit(yi, vi, method="reml", test="hk", mods={"ablat": X[:, 0]})
    assert named.names == ("intrcpt", "ablat")
    assert (named.method, named.test) == ("REML", "knha")  # names as metaall.methods has them
    assert_close(named.beta, reg.beta, "beta")
    assert_close(named.tau2, reg.tau2, "tau2")
    # the intercept-only model's tau² is R²'s baseline: R² = 100(τ₀² - τ²)/τ₀²
    assert_close(reg.R2, 100 * (plain.tau2 - reg.tau2) / plain.tau2, "R2")


def test_fixed_effect_meta_regression_is_weighted_least_squares():
    yi, vi, X = _bcg()
    res = metaall.fit(yi, vi, method="FE", mods=X)  # R² against metafor: bcg_ablat_year_FE_*
    design, root_w = np.column_stack([np.ones_like(yi), X]), 1 / np.sqrt(vi)
    beta = np.linalg.lstsq(design * root_w[:, None], yi * root_w, rcond=None)[0]
    assert_close(res.beta, beta, "beta")
    assert res.tau2 == 0


def test_dummy_columns_use_the_first_sorted_level_as_reference():
    cols = dummy_columns(["b", "a", "c", "a"], "arm")
    assert list(cols) == ["armb", "armc"]
    assert cols["armb"].tolist() == [1.0, 0.0, 0.0, 0.0]
    chosen = dummy_columns(["b", "a", "c", "a"], levels=["c", "b", "a"])
    assert list(chosen) == ["b", "a"]


def test_random_permutation_test_is_reproducible_and_starts_with_the_data():
    yi, vi, X = _bcg()
    res = metaall.fit(yi, vi, mods=X[:, 0])
    a = permutation_test(res, iterations=300, seed=7)
    b = permutation_test(res, iterations=300, seed=7)
    assert not a.exact and a.iterations == 300
    assert_close(a.pval, b.pval, "same seed")
    assert_close(a.zval_perm[0], res.zval, "observed first")
    assert 1 / 300 <= a.pval[1] <= 0.05  # metafor (5000 draws) gives p ≈ 0.005


def test_enumerating_distinct_permutations():
    labels = np.array([0, 1, 1, 2, 2, 2])
    perms = multiset_permutations(labels)
    assert perms.shape == (60, 6)  # 6!/(1!·2!·3!)
    assert len({tuple(p) for p in perms}) == 60
    assert (np.sort(perms, axis=1) == labels).all()
    X = np.column_stack([np.ones(6), labels])
    assert distinct_permutations(X, 6) == 60
    assert distinct_permutations(None, 6) == 64


# -- errors -------------------------------------------------------------------------------
def _errors():
    yi, vi, X = _bcg()
    reg = metaall.fit(yi, vi, mods=X)
    batch = metaall.fit(np.tile(yi, (2, 1)), np.tile(vi, (2, 1)), mods=X)
    mh = metaall.fit_mh([1, 2, 3], [10, 10, 10], [2, 3, 1], [10, 10, 10])
    return [
        (lambda: meta_regression(yi[:3], vi[:3], X[:3]), "needs more than 3 studies, got 3"),
        (lambda: meta_regression(yi, vi, np.column_stack([X, X[:, 0]])), "collinear"),
        (lambda: meta_regression(yi, vi, X[:5]), "one row per study (13)"),
        (lambda: meta_regression(yi, vi, {"a": X[:5, 0]}), "one value per study"),
        (lambda: meta_regression(yi, vi, np.where(X == 13, np.nan, X)), "must be finite"),
        (lambda: meta_regression(yi, vi, X, method="XYZ"), "unknown method 'XYZ'"),
        (lambda: meta_regression(yi, vi, X, method="MH"), "does not pool effect sizes by"),
        (lambda: meta_regression(yi, vi, X, test="t"), "unknown test 't'"),
        (lambda: meta_regression(yi, -vi, X), "vi must be positive"),
        (lambda: batch.predict([10]), "single meta-regression"),
        (lambda: dummy_columns(["a", "a"]), "at least 2 levels"),
        (lambda: dummy_columns(["a", "b"], levels=["a"]), "not among the levels"),
        (lambda: permutation_test(batch), "single meta-regression, not a batch"),
        (lambda: permutation_test(mh), "not a CountsResult"),
        (lambda: permutation_test(reg, iterations=1), "at least 2"),
        (lambda: permutation_test(reg, exact=True), "an exact test needs 6.23e+09"),
        (
            lambda: metaall.trim_and_fill([0.1, 0.3, 0.2, 0.5], [0.04] * 4),
            "all studies have the same variance",
        ),
    ]


@pytest.mark.parametrize("index", range(len(_errors())))
def test_invalid_input_raises_clear_value_error(index):
    call, message = _errors()[index]
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)
