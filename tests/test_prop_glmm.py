"""The binomial-normal GLMM for single-arm proportions (``fit_glmm(measure="PLO")``)
against metafor's ``rma.glmm(measure = "PLO")`` (fixtures/r/prop_glmm.R): the shipped
CD19 CAR-T rates and their subgroups, zero and full arms, a homogeneous set, k = 2,
test = "t", each also against lme4 run to convergence ("_tight")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from metaall import back_transform
from metaall.models.glmm import GLMMResult, fit_glmm
from metaall.models.glmm_families import Binomial

CASES = json.loads((Path(__file__).parent / "fixtures" / "r" / "prop_glmm.json").read_text())[
    "cases"
]
FITTED = [c for c in CASES if "error" not in c["expected"]]
FAILED = [c for c in CASES if "error" in c["expected"]]


def _fit(case: dict) -> GLMMResult:
    inp = case["input"]
    return fit_glmm(measure="PLO", xi=inp["xi"], ni=inp["ni"], test=case["settings"]["test"])


def _close(actual, expected, rtol, what):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-5, err_msg=what)


@pytest.mark.parametrize("case", FITTED, ids=[c["name"] for c in FITTED])
def test_against_metafor(case):
    """The GLMM issue's tolerances: estimate and tau² to 1e-4 (absolute 1e-5), se, CI
    and prediction interval to 1e-3; lme4's criterion not above metaall's maximum."""
    res, e = _fit(case), case["expected"]
    for key in ("estimate", "tau2"):
        _close(getattr(res, key), e[key], 1e-4, key)
    for key in ("se", "ci_lb", "ci_ub", "zval", "pi_lb", "pi_ub", "I2", "H2"):
        _close(getattr(res, key), e[key], 1e-3, key)
    for key, ours in (("Q", res.Q), ("Q_pval", res.Q_pval), ("QE_lrt", res.QE_lrt)):
        _close(ours, e[key], 1e-5, key)  # glm's saturated fit of an edge study: ~1e-6
    _close(res.QE_lrt_pval, e["QE_lrt_pval"], 1e-5, "QE_lrt_pval")
    assert res.Q_df == e["Q_df"] and res.k == e["k"]
    inp = case["input"]
    fam = Binomial.from_counts(np.atleast_1d(inp["xi"])[:, None], np.atleast_1d(inp["ni"])[:, None])
    assert res.loglik_marginal - fam.saturated_loglik().sum() >= e["criterion"] - 1e-6
    assert res.loglik >= e["loglik"] - 1e-4  # ll.QE - deviance/2 at lme4's modes
    p = e["proportion"]
    shown = back_transform("PLO", [res.estimate, res.ci_lb, res.ci_ub, res.pi_lb, res.pi_ub])
    _close(shown, [p[key] for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub")], 1e-3, "%")
    assert res.method == "GLMM" and res.converged and "GLMM" in res.algorithm


@pytest.mark.parametrize("case", [c for c in FITTED if c["settings"]["tight"]])
def test_against_lme4_run_to_convergence(case):
    res, e = _fit(case), case["expected"]
    for key in ("estimate", "tau2", "se", "ci_lb", "ci_ub"):
        _close(getattr(res, key), e[key], 1e-6, key)


@pytest.mark.parametrize("case", FAILED, ids=[c["name"] for c in FAILED])
def test_where_metafor_stops(case):
    """One study (metafor: more parameters than observations) and equal rates (lme4:
    "Response is constant"): tau² = 0 at the maximum, the common-effect logistic fit."""
    res = _fit(case)
    xi, ni = (np.atleast_1d(case["input"][key]) for key in ("xi", "ni"))
    assert res.tau2 == 0.0
    assert res.estimate == pytest.approx(np.log(xi.sum() / (ni - xi).sum()), abs=1e-9)
    assert res.se == pytest.approx(np.sqrt(ni.sum() / (xi.sum() * (ni - xi).sum())), rel=1e-5)
    if len(xi) == 1:
        assert "one study" in res.algorithm


def test_zero_and_full_arms_are_kept():
    """0/10 and 10/10 enter the model (no continuity correction); the display effects
    carry escalc's correction."""
    res = fit_glmm(measure="plogit", xi=[0, 10, 3, 1], ni=[10, 10, 12, 5], studies=list("abcd"))
    assert res.k == 4 and res.dropped == () and res.used.all()
    rows = res.study_table()
    assert rows[0]["xi"] == 0 and rows[1]["ni"] == 10 and "ai" not in rows[0]
    assert rows[0]["yi"] == pytest.approx(np.log(0.5 / 10.5))


def test_leave_one_out_refits_proportions():
    xi, ni = [44, 40, 61, 14, 27], [53, 43, 75, 20, 30]
    loo = fit_glmm(measure="PLO", xi=xi, ni=ni).leave_one_out()
    direct = fit_glmm(measure="PLO", xi=xi[1:], ni=ni[1:])
    assert loo.estimate[0] == pytest.approx(direct.estimate, rel=1e-10)
    assert loo.settings.measure == "PLO" and loo.method == "GLMM"


COUNTS = dict(xi=[2, 3, 1], ni=[20, 25, 30])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(measure="PFT"), "the GLMM for proportions is the logistic model"),
        (dict(model="CM.EL"), "CM.EL is a model of 2×2 tables (measure='OR'); for single-arm"),
        (dict(ai=[1, 2, 3]), "measure PLO takes xi, ni, not ai"),
        (dict(ni=None), "measure PLO takes xi, ni (ni missing)"),
        (dict(xi=[0, 0, 0]), "every study has no events: the maximum-likelihood proportion is 0"),
        (dict(xi=[20, 25, 30]), "every study has only events"),
        (dict(xi=[2, float("nan"), 1]), "a value is missing"),
        (dict(xi=[2, 1.5, 1]), "whole-number counts"),
        (dict(xi=[2, 30, 1]), "events exceed the group size"),
        (dict(xi=[0, 25, 0]), "no finite maximum"),
    ],
)
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fit_glmm(**{"measure": "PLO", **COUNTS, **kwargs})


def test_two_arm_data_with_the_proportion_model():
    with pytest.raises(ValueError, match=re.escape("GLMM is the model of single-arm")):
        fit_glmm([1, 2], [10, 10], [2, 3], [10, 10], model="GLMM")
