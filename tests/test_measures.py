"""Effect sizes of proportions and continuous outcomes, back-transformation, generic
inverse variance and means from medians, against R: the shared reference
(fixtures/measures_reference.json, metafor 3.8) and fixtures/r/measures.json
(written by fixtures/r/measures.R: metafor and metaBLUE), plus the input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from reference import assert_close

import metaall
from metaall.effects import (
    back_transform,
    effect_sizes,
    generic_effects,
    hedges_correction,
    hr_from_ci,
    mean_sd_from_median,
)

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = json.loads((FIXTURES / "measures_reference.json").read_text())["cases"]
LOCAL = json.loads((FIXTURES / "r" / "measures.json").read_text())["cases"]
CONTINUOUS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


def _cases(source: list, *kinds: str) -> list:
    return [pytest.param(c, id=c["name"]) for c in source if c["kind"] in kinds]


def _numbers(value) -> np.ndarray:
    """A JSON number or list (R's NA as null) as a float array."""
    return np.array(value, dtype=float)


def _effects(case: dict):
    inp, s = case["input"], case["settings"]
    if case["kind"].startswith("proportion"):
        kwargs = {key: s[key] for key in ("add", "to") if key in s}
        return effect_sizes(measure=s["measure"], xi=inp["xi"], ni=inp["ni"], **kwargs)
    return effect_sizes(measure=s["measure"], **{key: inp[key] for key in CONTINUOUS})


# -- against R ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    _cases(SHARED, "proportion", "continuous")
    + _cases(LOCAL, "proportion", "continuous", "proportion_escalc"),
)
def test_effect_sizes_and_their_pooled_estimate(case):
    es = _effects(case)
    exp = case["expected"]
    assert_close(es.yi, _numbers(exp["yi"]), "yi")
    assert_close(es.vi, _numbers(exp["vi"]), "vi")
    if "estimate" not in exp:
        return
    res = metaall.fit(es.yi, es.vi, method=case["settings"]["method"])
    for field in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "I2", "H2", "Q"):
        if field in exp:
            assert_close(getattr(res, field), exp[field], field)
    ni = case["input"].get("ni")
    measure = case["settings"]["measure"]
    for field, value in (("", res.estimate), ("_ci_lb", res.ci_lb), ("_ci_ub", res.ci_ub)):
        key = "back_transformed" if not field else f"back{field}"
        if key in exp:
            assert_close(back_transform(measure, value, ni=ni), exp[key], key)


@pytest.mark.parametrize("case", _cases(LOCAL, "back_transform"))
def test_back_transformation_clips_as_metafor(case):
    inp = case["input"]
    value = back_transform(case["settings"]["measure"], inp["x"], ni=inp.get("ni"))
    assert_close(value, case["expected"]["value"], "value")


@pytest.mark.parametrize("case", _cases(LOCAL, "medians"))
def test_means_and_sds_from_medians(case):
    inp, exp = case["input"], case["expected"]
    n, median = inp["n"], inp["median"]
    nan = np.full(len(n), np.nan)
    variants = {
        "range": dict(minimum=inp["minimum"], maximum=inp["maximum"]),
        "iqr": dict(q1=inp["q1"], q3=inp["q3"]),
        "five": dict(q1=inp["q1"], q3=inp["q3"], minimum=inp["minimum"], maximum=inp["maximum"]),
    }
    for name, given in variants.items():
        res = mean_sd_from_median(median, n=n, **given)
        assert_close(res.mean, exp[f"{name}_mean"], f"{name} mean")
        assert_close(res.sd, exp[f"{name}_sd"], f"{name} sd")
    # per study, whichever summary is reported (NaN: not reported)
    q1 = np.where([True, False, True, False, True], inp["q1"], nan)
    q3 = np.where([True, False, True, False, True], inp["q3"], nan)
    lo = np.where([False, True, True, True, False], inp["minimum"], nan)
    hi = np.where([False, True, True, True, False], inp["maximum"], nan)
    res = mean_sd_from_median(median, q1, q3, lo, hi, n=n)
    pick = ["iqr", "range", "five", "range", "iqr"]
    assert_close(res.mean, [exp[f"{p}_mean"][j] for j, p in enumerate(pick)], "mixed mean")
    assert_close(res.sd, [exp[f"{p}_sd"][j] for j, p in enumerate(pick)], "mixed sd")
    assert "Shi et al. (2020)" in res.method[2] and "quartiles" in res.method[0]


def test_one_study_from_medians_gives_floats_and_the_method():
    res = mean_sd_from_median(6.0, q1=4.0, q3=9.0, n=12)
    assert isinstance(res.mean, float) and isinstance(res.sd, float)
    assert res.method.startswith("mean by Luo et al. (2018), SD by Wan et al. (2014)")


# -- properties of the formulas ---------------------------------------------------------
def test_hedges_correction_is_exact():
    # c(2) = Γ(1)/(√1·Γ(½)) = 1/√π; for large m, c(m) ≈ 1 - 3/(4m - 1)
    assert hedges_correction(2.0) == pytest.approx(1 / np.sqrt(np.pi), rel=1e-14)
    assert hedges_correction(400.0) == pytest.approx(1 - 3 / 1599, rel=1e-6)


def test_batches_of_data_sets_match_one_at_a_time():
    inp = SHARED[0]["input"]
    xi = np.array([inp["xi"], inp["xi"][::-1]], dtype=float)
    ni = np.array([inp["ni"], inp["ni"][::-1]], dtype=float)
    xi[1, 0] = ni[1, 0] = np.nan  # absent study in the second data set
    for measure in ("PR", "PLN", "PLO", "PAS", "PFT"):
        batch = effect_sizes(measure=measure, xi=xi, ni=ni)
        for row in range(2):
            one = effect_sizes(measure=measure, xi=xi[row], ni=ni[row])
            assert_close(batch.yi[row], one.yi, measure)
            assert_close(batch.vi[row], one.vi, measure)
    cont = next(c for c in SHARED if c["kind"] == "continuous")["input"]
    arrays = {key: np.array([cont[key], cont[key][::-1]], dtype=float) for key in CONTINUOUS}
    for measure in ("MD", "SMD", "ROM"):
        batch = effect_sizes(measure=measure, **arrays)
        one = effect_sizes(measure=measure, **{key: a[1] for key, a in arrays.items()})
        assert_close(batch.yi[1], one.yi, measure)


def test_if0all_corrects_every_study_of_a_data_set_with_a_zero():
    es = effect_sizes(measure="PLO", xi=[[0, 5], [3, 5]], ni=[[10, 10], [10, 10]], to="if0all")
    assert es.corrected.tolist() == [[True, True], [False, False]]
    assert es.yi[0, 1] == pytest.approx(np.log(5.5 / 5.5))


def test_uncorrected_zero_events_are_not_estimable_on_the_log_scale():
    es = effect_sizes(measure="PLN", xi=[0, 4], ni=[10, 10], to="none")
    assert np.isnan(es.yi[0]) and not es.estimable[0] and es.estimable[1]


def test_generic_inverse_variance_from_se_and_from_ci():
    es = generic_effects(yi=[0.2, -0.1], se=[0.1, 0.3], studies=["A", "B"])
    assert_close(es.vi, [0.01, 0.09], "vi")
    assert es.measure == "GEN"
    z = 1.959963984540054
    ci = generic_effects(lower=[0.1 - z * 0.2], upper=[0.1 + z * 0.2])
    assert_close(ci.yi, [0.1], "midpoint")
    assert_close(ci.vi, [0.04], "vi from CI")
    ratio = generic_effects(yi=0.7, lower=0.5, upper=0.98, log=True, measure="OR")
    hr = hr_from_ci(0.7, 0.5, 0.98)
    assert_close(ratio.yi, hr.yi, "log ratio")
    assert_close(ratio.vi, hr.vi, "variance on the log scale")
    assert back_transform(ratio.measure, ratio.yi[0]) == pytest.approx(0.7)
    logged = generic_effects(yi=2.0, se=0.25, log=True)
    assert_close(logged.yi, [np.log(2.0)], "log of a ratio with its log-scale SE")


def test_back_transformation_of_each_scale():
    assert back_transform("RR", 0.0) == 1.0
    assert back_transform("SMD", -0.3) == -0.3
    assert back_transform("PLO", np.array([-800.0, 0.0, 800.0])).tolist() == [0.0, 0.5, 1.0]
    assert back_transform("PAS", np.pi / 4) == pytest.approx(0.5)


# -- errors -------------------------------------------------------------------------------
CONT = dict(m1i=[5, 6], sd1i=[1, 2], n1i=[10, 12], m2i=[4, 5], sd2i=[1, 2], n2i=[11, 9])


def _cont(**changes):
    return lambda: effect_sizes(measure="MD", **{**CONT, **changes}, studies=["A", "B"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: effect_sizes(measure="PLO", xi=[3, 12], ni=[10, 10]), "study 2: events exceed"),
        (lambda: effect_sizes(measure="PR", xi=[-1], ni=[10]), "must not be negative"),
        (lambda: effect_sizes(measure="PR", xi=[1], ni=[0]), "group sizes must be positive"),
        (lambda: effect_sizes(measure="PR", xi=[1, 2], ni=[10]), "same shape"),
        (lambda: effect_sizes(measure="PR", xi=[np.inf], ni=[10]), "must be finite"),
        (lambda: effect_sizes(measure="PR", xi=[1, np.nan], ni=[10, 5]), "study 2: a value is"),
        (lambda: effect_sizes(measure="PR", xi=[1], ni=[10], add=-1), "'add' must be"),
        (lambda: effect_sizes(measure="PR", xi=[1], ni=[10], to="some"), "unknown 'to'"),
        (lambda: effect_sizes(measure="PR", xi=[1], ni=[10], drop00=True), "drop00 applies"),
        (lambda: effect_sizes(measure="PR", xi=[1]), "takes xi, ni (missing ni)"),
        (lambda: effect_sizes([1], [10], [2], [10], "PR", xi=[1], ni=[10]), "(not ai, n1i, ci"),
        (lambda: effect_sizes(measure="XYZ"), "unknown measure 'XYZ'"),
        (_cont(sd1i=[1, -2]), "B: standard deviations must not be negative"),
        (_cont(n2i=[1, 9]), "A: each group needs at least 2 participants"),
        (lambda: effect_sizes(measure="ROM", **{**CONT, "m2i": [4, 0]}), "positive means"),
        (lambda: effect_sizes(measure="SMD", **{**CONT, "sd1i": [0, 2], "sd2i": [0, 1]}), "SMD"),
        (lambda: effect_sizes(measure="MD", add=0.5, **CONT), "do not apply to measure MD"),
        (lambda: back_transform("PFT", 1.0), "needs the study sizes ni"),
        (lambda: back_transform("PFT", 1.0, ni=[10, -1]), "must be positive"),
        (lambda: back_transform("COR", 0.1), "no back-transformation for measure 'COR'"),
        (lambda: generic_effects(yi=[0.1], se=[0.0]), "se must be a positive number"),
        (lambda: generic_effects(yi=[0.1], se=[0.1], lower=[0]), "not both"),
        (lambda: generic_effects(yi=[0.1], lower=[0.0]), "give both confidence limits"),
        (lambda: generic_effects(yi=[0.1]), "give yi with se"),
        (lambda: generic_effects(yi=0.5, lower=0.6, upper=0.9), "effect 0.5 is not inside"),
        (lambda: generic_effects(lower=0.9, upper=0.6), "lower limit must be below"),
        (lambda: generic_effects(lower=-0.1, upper=0.6, log=True), "lower must be a positive"),
        (lambda: generic_effects(yi=-2, se=0.1, log=True), "positive ratio"),
        (lambda: generic_effects(lower=0.1, upper=0.6, level=1.0), "level must be between"),
        (lambda: mean_sd_from_median(5, q1=3, q3=8), "sample size n is needed"),
        (lambda: mean_sd_from_median(5, n=10), "the quartiles or the range is needed"),
        (lambda: mean_sd_from_median(5, q1=3, n=10), "give both quartiles"),
        (lambda: mean_sd_from_median(5, minimum=1, n=10), "give both the minimum"),
        (lambda: mean_sd_from_median(5, q1=6, q3=8, n=10), "need q1 <= median <= q3"),
        (lambda: mean_sd_from_median(5, minimum=6, maximum=8, n=10), "need min <= median"),
        (lambda: mean_sd_from_median(5, 3, 8, 4, 9, n=10), "need minimum <= q1"),
        (lambda: mean_sd_from_median(5, q1=3, q3=8, n=1), "n must be at least 2"),
        (
            lambda: mean_sd_from_median([5, 6], [3, 4], [8, 9], n=[10, 20], studies=["A"]),
            "1 study names given for 2 studies",
        ),
    ],
)
def test_invalid_input_raises_clear_value_error(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)
