"""Edge cases of the engine against metafor (tests/fixtures/r/engine.json, made by
tests/fixtures/r/engine.R), and the errors bad input must raise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from reference import FIXTURES, assert_close

import metaall

ENGINE = json.loads((FIXTURES / "r" / "engine.json").read_text())["cases"]


def engine_cases(prefix: str) -> list:
    return [pytest.param(c, id=c["name"]) for c in ENGINE if c["name"].startswith(prefix)]


def _nan(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("case", engine_cases("bcg_") + engine_cases("homogeneous_"))
def test_fit_matches_metafor(case):
    s = case["settings"]
    res = metaall.fit(
        case["input"]["yi"], case["input"]["vi"], s["method"], s.get("test", "z"), tol=s.get("tol")
    )
    exp = case["expected"]
    for key in ("estimate", "se", "ci_lb", "ci_ub", "zval", "pval", "tau2", "I2", "H2", "Q"):
        assert_close(getattr(res, key), exp[key], key)
    if "pi_lb" in exp:
        assert_close([res.pi_lb, res.pi_ub], [exp["pi_lb"], exp["pi_ub"]], "prediction interval")
    if "tau2_ci" in exp:
        ci = res.confint()
        for key in ("tau2", "I2", "H2"):
            assert_close(getattr(ci, key), exp[f"{key}_ci"], f"{key} interval")


def test_tight_solver_finds_exact_pm_root_unlike_metafors_default():
    case = next(c for c in ENGINE if c["name"] == "bcg_PM_tight")
    yi, vi = np.array(case["input"]["yi"]), np.array(case["input"]["vi"])
    default, tight = metaall.fit(yi, vi, "PM"), metaall.fit(yi, vi, "PM", tol=1e-13)
    w = 1 / (vi + tight.tau2)
    q = np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2)
    assert q == pytest.approx(len(yi) - 1, abs=1e-10)  # Paule-Mandel equation holds
    assert abs(default.tau2 - tight.tau2) > 1e-6  # metafor's uniroot tolerance is loose


def test_k1_knha_falls_back_to_z_like_metafor():
    case = next(c for c in ENGINE if c["name"] == "bcg_k1_REML_knha")
    res = metaall.fit(case["input"]["yi"], case["input"]["vi"], "REML", "knha")
    assert res.tau2 == 0 and res.Q == 0 and res.Q_pval == 1 and res.I2 == 0 and res.H2 == 1
    assert_close(res.pval, case["expected"]["pval"], "pval")


@pytest.mark.parametrize("case", engine_cases("zero_"))
def test_zero_cells(case):
    inp, s = case["input"], case["settings"]
    tables = (inp["ai"], inp["n1i"], inp["ci"], inp["n2i"])
    exp = case["expected"]
    if "yi" in exp:
        es = metaall.effect_sizes(*tables, s["measure"], s["add"], s["to"], s["drop00"])
        np.testing.assert_allclose(es.yi, _nan(exp["yi"]), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(es.vi, _nan(exp["vi"]), rtol=1e-6, atol=1e-8)
        return
    if s["method"] == "MH":
        res = metaall.fit_mh(*tables, measure=s["measure"])
    elif s["method"] == "Peto":
        res = metaall.fit_peto(*tables)
    else:
        es = metaall.effect_sizes(*tables, s["measure"], drop00=True)
        res = metaall.fit(es.yi, es.vi, s["method"])  # double zeros are NaN: absent
    for key, value in exp.items():
        if key.startswith("pi_") and value is None:
            continue
        assert_close(getattr(res, key), value, key)


def test_double_zero_study_does_not_abort_analysis():
    es = metaall.effect_sizes([0, 3, 4], [10, 20, 30], [0, 6, 9], [10, 20, 30], "OR", drop00=True)
    assert es.dropped.tolist() == [True, False, False]
    res = metaall.fit(es.yi, es.vi)
    assert res.k == 2 and np.isfinite(res.estimate)


def test_correction_leaves_tables_without_zero_cells_alone():
    es = metaall.effect_sizes([0, 3], [10, 20], [2, 6], [10, 20], "RR")
    assert es.corrected.tolist() == [True, False]
    assert es.yi[1] == pytest.approx(np.log(3 / 20) - np.log(6 / 20), rel=1e-15)


@pytest.mark.parametrize("case", engine_cases("fisher_fails_"))
def test_global_maximum_where_fisher_scoring_fails(case):
    yi, vi = np.array(case["input"]["yi"]), np.array(case["input"]["vi"])
    method = case["settings"]["method"]
    res = metaall.fit(yi, vi, method)
    assert "Fisher scoring did not converge" in res.algorithm
    assert res.tau2 == pytest.approx(case["expected"]["tau2"], rel=1e-6, abs=1e-9)

    def loglik(t: float) -> float:
        w = 1 / (vi + t)
        mu = np.sum(w * yi) / np.sum(w)
        ll = -0.5 * np.sum(np.log(vi + t)) - 0.5 * np.sum(w * (yi - mu) ** 2)
        return ll - 0.5 * np.log(np.sum(w)) if method == "REML" else ll

    assert loglik(res.tau2) >= case["expected"]["loglik"] - 1e-12
    grid = np.concatenate([[0.0], np.geomspace(1e-6, 1e3, 4000)])
    assert loglik(res.tau2) >= max(loglik(t) for t in grid) - 1e-12


def test_batch_equals_single_fits_including_failures():
    failing = [c for c in ENGINE if c["name"].startswith("fisher_fails_REML")]
    rng = np.random.default_rng(3)
    yi = [c["input"]["yi"] for c in failing] + [rng.normal(size=10) for _ in range(20)]
    vi = [c["input"]["vi"] for c in failing] + [rng.uniform(0.01, 1, 10) for _ in range(20)]
    batch = metaall.fit(np.array(yi), np.array(vi))
    for i in range(len(yi)):
        one = metaall.fit(yi[i], vi[i])
        for key in ("estimate", "se", "tau2", "I2", "pi_lb"):
            assert getattr(batch, key)[i] == pytest.approx(getattr(one, key), rel=1e-12)


def test_batch_with_absent_studies_equals_subset_fit():
    rng = np.random.default_rng(7)
    yi, vi = rng.normal(size=(3, 8)), rng.uniform(0.05, 0.5, (3, 8))
    yi[1, [2, 5]] = vi[1, [2, 5]] = np.nan
    batch = metaall.fit(yi, vi, "DL", "knha")
    one = metaall.fit(yi[1][~np.isnan(yi[1])], vi[1][~np.isnan(vi[1])], "DL", "knha")
    assert batch.k.tolist() == [8, 6, 8]
    assert batch.estimate[1] == pytest.approx(one.estimate, rel=1e-13)
    assert batch.ci_ub[1] == pytest.approx(one.ci_ub, rel=1e-13)


def test_no_cap_on_number_of_studies():
    rng = np.random.default_rng(0)
    vi = rng.uniform(0.01, 0.1, 200_000)
    res = metaall.fit(rng.normal(0.3, np.sqrt(vi + 0.04)), vi)
    assert res.k == 200_000
    assert res.tau2 == pytest.approx(0.04, rel=0.05)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metaall.fit([0.1, 0.2], [0.1, -0.2], studies=["A", "B"]),
            "B: vi must be positive",
        ),
        (lambda: metaall.fit([0.1, 0.2], [0.1]), "same shape"),
        (lambda: metaall.fit([0.1, np.nan], [0.1, 0.2]), "study 2: yi and vi must both"),
        (lambda: metaall.fit([0.1], [0.1], method="XX"), "unknown method 'XX'"),
        (lambda: metaall.fit([0.1], [0.1], test="t"), "unknown test 't'"),
        (lambda: metaall.fit([0.1], [0.1], level=1.5), "level must be between 0 and 1"),
        (
            lambda: metaall.effect_sizes([-1, 2], [10, 10], [1, 1], [10, 10], studies=["A", "B"]),
            "A: event counts must not be negative",
        ),
        (
            lambda: metaall.effect_sizes([3, 12], [10, 10], [1, 1], [10, 10]),
            "study 2: events exceed",
        ),
        (lambda: metaall.effect_sizes([3, 2], [10, 10], [1], [10, 10]), "same shape"),
        (lambda: metaall.effect_sizes([3], [0], [1], [10]), "group sizes must be positive"),
        (lambda: metaall.hr_from_ci([0.5, 2.0], [0.3, 2.5], [0.9, 3.0]), "study 2: hazard ratio 2"),
        (lambda: metaall.hr_from_ci(0.5, 0.0, 0.9), "lower must be a positive number"),
        (lambda: metaall.hr_from_p(1.0, 0.5), "cannot be derived from p when HR = 1"),
        (lambda: metaall.hr_from_p(0.7, 1.2), "p-value must be in (0, 1)"),
        (lambda: metaall.fit_mh([1], [10], [2], [10], measure="PETO"), "pools OR, RR or RD"),
    ],
)
def test_invalid_input_raises_clear_value_error(call, message):
    with pytest.raises(ValueError, match=None) as err:
        call()
    assert message in str(err.value)


def test_hazard_ratio_from_ci_and_p():
    es = metaall.hr_from_ci(0.163, 0.081, 0.329)
    assert es.yi[0] == pytest.approx(np.log(0.163))
    assert np.sqrt(es.vi[0]) == pytest.approx(
        (np.log(0.329) - np.log(0.081)) / (2 * 1.959963984540054)
    )
    es_p = metaall.hr_from_p(0.5, 0.05)
    assert np.sqrt(es_p.vi[0]) == pytest.approx(np.log(2) / 1.959963984540054)
