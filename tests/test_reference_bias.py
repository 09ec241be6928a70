"""The metafor reference cases for Egger's test, Begg's test and trim-and-fill."""

from __future__ import annotations

import warnings

import pytest
from reference import analysis, assert_close, cases, effects

from metaall.diagnostics import begg_test, egger_test, trim_and_fill


@pytest.mark.parametrize("case", cases(lambda c: analysis(c) == "egger"))
def test_egger(case):
    assert case["settings"] == {"analysis": "egger", "model": "lm", "predictor": "sei"}
    yi, vi = effects(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every reference case has k >= 10: no warning
        res = egger_test(yi, vi)
    assert res.warning is None and res.k == len(yi)
    for key, value in case["expected"].items():  # metafor's "zval" is a t statistic
        assert_close(getattr(res, "tval" if key == "zval" else key), value, key)


@pytest.mark.parametrize("case", cases(lambda c: analysis(c) == "begg"))
def test_begg(case):
    yi, vi = effects(case)
    res = begg_test(yi, vi)
    for key, value in case["expected"].items():
        assert_close(getattr(res, key), value, key)


@pytest.mark.parametrize("case", cases(lambda c: analysis(c) == "trimfill"))
def test_trimfill(case):
    yi, vi = effects(case)
    s = case["settings"]
    res = trim_and_fill(yi, vi, method=s["method"], estimator=s["estimator"])
    exp = case["expected"]
    assert res.k0 == exp["k0"]
    assert res.side == exp["side"]
    assert res.fit.k == len(yi) + exp["k0"]
    for key in ("estimate", "se", "tau2"):
        if key in exp:
            assert_close(getattr(res, key), exp[key], key)
