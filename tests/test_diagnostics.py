"""metaall.diagnostics against R (tests/fixtures/r/diagnostics.json, written by
tests/fixtures/r/diagnostics.R), plus the small-k warning and the input errors."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from reference import assert_close

import metaall
from metaall.diagnostics import (
    BaujatData,
    FewStudiesWarning,
    InfluenceResult,
    baujat,
    begg_test,
    egger_test,
    harbord_test,
    influence,
    peters_test,
    trim_and_fill,
)
from metaall.models.metareg import meta_regression

FIXTURE = Path(__file__).parent / "fixtures" / "r" / "diagnostics.json"
CASES = json.loads(FIXTURE.read_text())["cases"]


def _cases(kind: str) -> list:
    return [pytest.param(c, id=c["name"]) for c in CASES if c["settings"]["analysis"] == kind]


def _generic(case: dict) -> tuple[np.ndarray, np.ndarray]:
    return np.array(case["input"]["yi"]), np.array(case["input"]["vi"])


def _tables(case: dict) -> tuple[np.ndarray, ...]:
    inp = case["input"]
    return tuple(np.array(inp[key]) for key in ("ai", "n1i", "ci", "n2i"))


def _numbers(value) -> np.ndarray:
    """A JSON number or list (R's NA as null) as a float array."""
    if isinstance(value, list):
        return np.array([np.nan if x is None else x for x in value], dtype=float)
    return np.atleast_1d(np.nan if value is None else float(value))


def _check(result, expected: dict, skip: tuple = ()) -> None:
    for key, value in expected.items():
        if key in skip:
            continue
        name = "tval" if key == "zval" and hasattr(result, "tval") else key  # a t statistic
        actual = np.atleast_1d(np.asarray(getattr(result, name), dtype=float))
        exp = _numbers(value)
        assert actual.shape == exp.shape, key
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(exp), err_msg=key)
        ok = ~np.isnan(exp)
        assert_close(actual[ok], exp[ok], key)


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewStudiesWarning)
        return func(*args, **kwargs)


# -- influence and Baujat ------------------------------------------------------------
@pytest.mark.parametrize("case", _cases("influence"))
def test_influence(case):
    s = case["settings"]
    res = metaall.fit(*_generic(case), method=s["method"], test=s["test"]).influence()
    assert isinstance(res, InfluenceResult)
    _check(res, case["expected"], skip=("influential",))
    np.testing.assert_array_equal(res.influential, case["expected"]["influential"])


@pytest.mark.parametrize("case", _cases("baujat"))
def test_baujat(case):
    s = case["settings"]
    res = metaall.fit(*_generic(case), method=s["method"], test=s["test"]).baujat()
    assert isinstance(res, BaujatData)
    _check(res, case["expected"])
    assert ("Heterogeneity" in res.x_label) == (s["method"] == "FE")


def test_influence_flags_an_outlier_and_uses_one_batch_of_refits(monkeypatch):
    yi = np.array([0.10, 0.12, 0.08, 0.11, 0.09, 1.50])
    vi = np.full(6, 0.01)
    fit = metaall.fit(yi, vi, method="DL")
    calls = []
    real = type(fit).leave_one_out
    monkeypatch.setattr(type(fit), "leave_one_out", lambda self: calls.append(1) or real(self))
    res = influence(fit)
    assert calls == [1]
    assert res.influential.tolist() == [False] * 5 + [True]
    assert res.leave_one_out.estimate.shape == (6,)
    assert np.argmax(np.abs(res.rstudent)) == 5


def test_influence_refuses_batches_counts_results_and_single_studies():
    batch = metaall.fit(np.array([[0.1, 0.2, 0.3]] * 2), np.full((2, 3), 0.1))
    with pytest.raises(ValueError, match="single meta-analysis"):
        influence(batch)
    with pytest.raises(ValueError, match="single meta-analysis"):
        baujat(batch)
    mh = metaall.fit_mh([1, 2, 3], [10, 10, 10], [2, 3, 4], [10, 10, 10], measure="OR")
    with pytest.raises(TypeError, match="inverse-variance"):
        influence(mh)
    with pytest.raises(ValueError, match="at least 2 studies"):
        influence(metaall.fit([0.1], [0.1]))


# -- Peters and Harbord --------------------------------------------------------------
@pytest.mark.parametrize("case", _cases("peters"))
def test_peters(case):
    res = peters_test(*_tables(case))
    assert res.test == "Peters"
    _check(res, case["expected"])


@pytest.mark.parametrize("case", _cases("harbord"))
def test_harbord(case):
    res = harbord_test(*_tables(case))
    assert res.test == "Harbord"
    _check(res, case["expected"])


def test_peters_and_harbord_leave_out_tables_without_events():
    ai, n1i, ci, n2i = [1, 0, 3, 2, 5], [50, 40, 60, 55, 70], [2, 0, 1, 4, 3], [50, 42, 58, 52, 71]
    for test in (peters_test, harbord_test):
        with_empty = _quiet(test, ai, n1i, ci, n2i)
        without = _quiet(test, *(np.delete(x, 1) for x in (ai, n1i, ci, n2i)))
        assert with_empty.k == 4
        assert_close(with_empty.bias, without.bias, test.__name__)


# -- trim-and-fill -------------------------------------------------------------------
@pytest.mark.parametrize("case", _cases("trimfill"))
def test_trimfill(case):
    s, exp = case["settings"], case["expected"]
    res = trim_and_fill(
        *_generic(case), method=s["method"], side=s.get("side"), estimator=s["estimator"]
    )
    assert res.side == exp["side"]
    assert res.k0 == exp["k0"]
    assert res.filled_yi.shape == (res.k0,)
    assert res.fit.k == len(case["input"]["yi"]) + res.k0
    _check(res, exp, skip=("side",))
    if s["estimator"] != "R0":
        assert np.isnan(res.p_k0)


@pytest.mark.parametrize("case", _cases("sei_regression"))
def test_side_regression(case):
    """The meta-regression on the standard error that picks the trim-and-fill side."""
    yi, vi = _generic(case)
    res = meta_regression(yi, vi, np.sqrt(vi), case["settings"]["method"])
    exp = case["expected"]
    assert_close(res.beta, [exp["intercept"], exp["slope"]], "beta")
    assert_close(res.tau2, exp["tau2"], "tau2")


def test_trimfill_mirrors_the_trimmed_studies_about_the_trimmed_estimate():
    yi = np.array([0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0])
    vi = np.array([0.002, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15])
    res = trim_and_fill(yi, vi, side="left")
    assert res.k0 > 0
    # the filled studies are the k0 largest effects (in ascending order) reflected
    # about one centre
    centre = (res.filled_yi + np.sort(yi)[-res.k0 :]) / 2
    assert_close(centre, np.full(res.k0, centre[0]), "centre")
    assert res.estimate < metaall.fit(yi, vi, method="FE").estimate


# -- Egger and Begg, including k < 10 ------------------------------------------------
@pytest.mark.parametrize("case", _cases("egger") + _cases("begg"))
def test_egger_and_begg(case):
    yi, vi = _generic(case)
    begg = case["settings"]["analysis"] == "begg"
    few = len(yi) < 10
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = (begg_test if begg else egger_test)(yi, vi)
    assert [w.category for w in caught] == ([FewStudiesWarning] if few else [])
    assert (res.warning is not None) == few
    if begg:  # R's exact p-value unless there are ties
        assert res.exact == (len(np.unique(vi)) == len(vi))
    _check(res, case["expected"])


def test_small_k_warning_cites_the_handbook_and_still_computes():
    yi, vi = [0.1, 0.4, -0.2, 0.3, 0.5], [0.02, 0.1, 0.05, 0.2, 0.3]
    for test in (egger_test, begg_test):
        with pytest.warns(FewStudiesWarning, match=r"13\.3\.5\.4"):
            res = test(yi, vi)
        assert "5 studies" in res.warning
        assert np.isfinite(res.pval)
    ai, n1i, ci, n2i = [1, 2, 3, 4], [50, 60, 70, 80], [2, 3, 5, 4], [50, 60, 70, 80]
    for test in (peters_test, harbord_test):
        with pytest.warns(FewStudiesWarning):
            assert test(ai, n1i, ci, n2i).k == 4


def test_absent_studies_are_dropped():
    yi = np.array([0.1, np.nan, 0.4, -0.2, 0.3, 0.5])
    vi = np.array([0.02, np.nan, 0.1, 0.05, 0.2, 0.3])
    present = ~np.isnan(yi)
    full = _quiet(egger_test, yi, vi)
    assert full.k == 5
    assert_close(full.bias, _quiet(egger_test, yi[present], vi[present]).bias, "bias")


# -- errors --------------------------------------------------------------------------
def test_errors():
    with pytest.raises(ValueError, match="at least 3 studies"):
        egger_test([0.1, 0.2], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        egger_test([0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        begg_test([0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        trim_and_fill([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="same length"):
        peters_test([1, 2, 3], [10, 10, 10], [1, 2], [10, 10, 10])
    with pytest.raises(ValueError, match="same length"):
        harbord_test([1, 2, 3], [10, 10], [1, 2, 3], [10, 10, 10])
    with pytest.raises(ValueError, match="same precision"):
        _quiet(egger_test, [0.1, 0.2, 0.3, 0.5], [0.1, 0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="1-D"):
        egger_test(np.zeros((2, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="positive"):
        begg_test([0.1, 0.2, 0.3], [0.1, 0.0, 0.2])
    with pytest.raises(ValueError, match="estimator"):
        trim_and_fill([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], estimator="L1")
    with pytest.raises(ValueError, match="side"):
        trim_and_fill([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], side="up")
    with pytest.raises(ValueError, match="method"):
        trim_and_fill([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], method="MH")


def test_import_adds_no_heavy_modules():
    """statsmodels and scipy.stats load only when a test that needs them runs."""
    code = (
        "import sys, metaall; heavy = ('statsmodels', 'scipy.stats'); "
        "before = {m for m in heavy if m in sys.modules}; "
        "import metaall.diagnostics; "
        "print(sorted(m for m in heavy if m in sys.modules and m not in before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
