"""Every metafor reference case for effect sizes, pooling, Q-profile intervals,
leave-one-out, cumulative and subgroup analysis, to relative 1e-6."""

from __future__ import annotations

import numpy as np
import pytest
from reference import analysis, assert_close, cases, effects

import metaall


def _is_fit(c: dict) -> bool:
    s = c["settings"]
    return (
        analysis(c) is None and s.get("method") not in (None, "MH", "Peto") and "tau2_ci" not in s
    )


@pytest.mark.parametrize("case", cases(lambda c: c["name"].endswith("_escalc")))
def test_effect_sizes(case):
    inp, s = case["input"], case["settings"]
    es = metaall.effect_sizes(
        inp["ai"], inp["n1i"], inp["ci"], inp["n2i"], s["measure"], s["add"], s["to"], s["drop00"]
    )
    assert_close(es.yi, case["expected"]["yi"], "yi")
    assert_close(es.vi, case["expected"]["vi"], "vi")


@pytest.mark.parametrize("case", cases(_is_fit))
def test_fit(case):
    yi, vi = effects(case)
    s = case["settings"]
    res = metaall.fit(yi, vi, method=s["method"], test=s.get("test", "z"))
    for key, value in case["expected"].items():
        assert_close(getattr(res, key), value, key)
    if s["method"] == "FE":
        assert np.isnan(res.pi_lb) and np.isnan(res.pi_ub)


@pytest.mark.parametrize("case", cases(lambda c: c["settings"].get("method") in ("MH", "Peto")))
def test_mantel_haenszel_and_peto(case):
    inp, s = case["input"], case["settings"]
    tables = (inp["ai"], inp["n1i"], inp["ci"], inp["n2i"])
    if s["method"] == "MH":
        res = metaall.fit_mh(*tables, measure=s["measure"])
    else:
        res = metaall.fit_peto(*tables)
    for key, value in case["expected"].items():
        assert_close(getattr(res, key), value, key)


@pytest.mark.parametrize("case", cases(lambda c: c["settings"].get("tau2_ci") == "Q-profile"))
def test_q_profile(case):
    yi, vi = effects(case)
    res = metaall.fit(yi, vi, method=case["settings"]["method"])
    ci = res.confint()
    exp = case["expected"]
    assert_close(res.tau2, exp["tau2"][0], "tau2")
    for key in ("tau2", "I2", "H2"):
        assert_close(getattr(ci, key), exp[key][1:], key)


@pytest.mark.parametrize("case", cases(lambda c: analysis(c) == "leave1out"))
def test_leave_one_out(case):
    yi, vi = effects(case)
    loo = metaall.fit(yi, vi, method=case["settings"]["method"]).leave_one_out()
    for key, value in case["expected"].items():
        assert_close(getattr(loo, key), value, key)


@pytest.mark.parametrize("case", cases(lambda c: analysis(c) == "cumulative"))
def test_cumulative(case):
    yi, vi = effects(case)
    # metafor's cumul() takes ``order`` as a sort key (study j is added at rank
    # order[j]); metaall takes the indices in the order they are added.
    order = np.argsort(np.array(case["settings"]["order"]))
    cum = metaall.fit(yi, vi, method=case["settings"]["method"]).cumulative(order)
    for key, value in case["expected"].items():
        assert_close(getattr(cum, key), value, key)


@pytest.mark.parametrize("case", cases(lambda c: analysis(c) == "subgroups"))
def test_subgroups(case):
    yi, vi = effects(case)
    res = metaall.subgroups(yi, vi, case["input"]["group"], method=case["settings"]["method"])
    exp = case["expected"]
    assert set(res.subgroups) == set(exp["subgroups"])
    for name, values in exp["subgroups"].items():
        for key, value in values.items():
            assert_close(getattr(res.subgroups[name], key), value, f"{name}.{key}")
    for key in (
        "Q_between",
        "Q_between_df",
        "Q_between_pval",
        "QM_common_tau2",
        "QM_common_tau2_pval",
    ):
        assert_close(getattr(res, key), exp[key], key)
