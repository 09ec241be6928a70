"""Trial sequential analysis of an analysis result (metaall.analysis.sequential): the
trials, their order and the settings, with every number equal to the numeric layer's
(metaall.sequential, itself tested against R RTSA in test_sequential.py)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from metaall.analysis import Project
from metaall.analysis.sequential import settings_of, tsa_of
from metaall.data.tsa import TSASettings
from metaall.sequential import required_information_size, trial_sequential_analysis

ROOT = Path(__file__).resolve().parents[1]
PROJECT = Project(ROOT)
# relapse, all trials, by year (2014, 2018, 2020), then the undated in spec order
CHRONOLOGICAL = (
    "NCT01626495_NCT01029366",
    "NCT02435849",
    "ChiCTR1900023957",
    "NCT01044069",
    "NCT02028455",
    "NCT01593696",
    "NCT01865617",
    "NCT02772198",
    "NCT03173417",
)
ARRAYS = (
    "participants",
    "accrued",
    "timing",
    "estimate",
    "se",
    "zval",
    "ci_lb",
    "ci_ub",
    "look",
    "upper",
    "lower",
    "futility_upper",
    "futility_lower",
    "alpha_spent",
    "adjusted_ci_lb",
    "adjusted_ci_ub",
)


@functools.cache
def result(name: str = "relapse", subgroup: str | None = None, **options):
    return PROJECT.analysis(name, subgroup, **options)


def counts(rows) -> list[list[int]]:
    return [[getattr(r.effect, f) for r in rows] for f in ("events_t", "n_t", "events_c", "n_c")]


def same(view, expected) -> None:
    """The view's TSA is the numeric layer's, array by array."""
    for name in ARRAYS:
        np.testing.assert_allclose(
            getattr(view.tsa, name), getattr(expected, name), rtol=1e-12, err_msg=name
        )
    assert (view.tsa.ris, view.tsa.verdict, view.tsa.decided_at) == (
        expected.ris,
        expected.verdict,
        expected.decided_at,
    )
    assert view.tsa.boundaries.timing.tolist() == expected.boundaries.timing.tolist()


def test_relapse_with_its_declared_parameters_is_the_numeric_tsa_of_its_counts():
    view = tsa_of(result())
    assert tuple(r.effect.study for r in view.rows) == CHRONOLOGICAL
    expected = trial_sequential_analysis(
        *counts(view.rows),
        measure="RR",
        method="REML",
        rrr=0.25,
        futility="obrien-fleming",
        studies=[r.label for r in view.rows],
    )
    same(view, expected)
    # GRADE's default: RRR 25% at the pooled control-arm risk 135/249, adjusted for the
    # diversity D² of the REML fit (τ² > 0 since the evidence base of issue 14)
    assert sum(r.effect.events_c for r in view.rows) == 135
    assert sum(r.effect.n_c for r in view.rows) == 249
    assert expected.information_size.control_risk == pytest.approx(135 / 249, rel=1e-15)
    d2 = view.tsa.diversity
    assert d2 == pytest.approx(0.07335, abs=1e-5)
    assert view.tsa.ris == required_information_size(135 / 249, rrr=0.25, d2=d2).participants
    assert required_information_size(135 / 249, rrr=0.25).participants == 427  # before D²
    assert view.tsa.ris == 461
    # crossed at the third look (Zhao et al. 2020): 206 participants, Z -4.36 < -3.16
    assert view.tsa.decided_at == 2 and view.tsa.accrued[2] == 206
    assert view.tsa.zval[2] < view.tsa.lower[2] and view.tsa.zval[1] > view.tsa.lower[1]
    assert view.settings == TSASettings(
        rrr=0.25,
        control_risk=135 / 249,
        alpha=0.05,
        beta=0.2,
        side=2,
        heterogeneity="d2",
        spending="obrien-fleming",
        futility="obrien-fleming",
        benefit="lower",
    )
    assert (view.source, view.control_risk_source) == ("spec", "pooled control arms")
    assert view.tsa.verdict == (
        "firm evidence of benefit (monitoring boundary crossed at Zhao et al. 2020 "
        "(haplo-HSCT after CAR-T))"
    )


def test_undated_trials_come_last_and_the_note_says_which():
    view = tsa_of(result())
    assert view.notes[0] == (
        "Trials in the order of publication (year; same year: report order); 6 without a "
        "stated year come last, in report order: Park et al. (NCT01044069), NCT02028455, "
        "NCT01593696, NCT01865617, NCT02772198, NCT03173417."
    )
    years = [r.study.year for r in view.rows]
    assert years[:3] == [2014, 2018, 2020] and set(years[3:]) == {None}
    # the undated keep the report (spec) order of the analysis
    undated = [r.effect.study for r in view.rows[3:]]
    report = [r.effect.study for r in result().overall.pooled_rows]
    assert undated == [s for s in report if s in undated]


@pytest.mark.parametrize(
    ("options", "model"),
    [
        ({}, "REML"),
        ({"method": "DL"}, "DL"),
        ({"method": "FE"}, "FE"),
        ({"method": "MH"}, "MH"),
        ({"measure": "OR", "method": "Peto"}, "Peto"),
        ({"measure": "OR", "method": "PM"}, "PM"),
        ({"measure": "RD", "method": "MH"}, "MH"),
    ],
)
def test_the_last_cumulative_estimate_is_the_pooled_estimate(options, model):
    res = result(**options)
    view = tsa_of(res, TSASettings(rr=0.8))
    last = np.flatnonzero(view.tsa.included)[-1]
    fit = res.overall.fit
    assert view.tsa.estimate[last] == pytest.approx(fit.estimate, rel=1e-10, abs=1e-12)
    assert view.tsa.se[last] == pytest.approx(fit.se, rel=1e-10)
    assert view.tsa.method == ("FE" if model == "Peto" else model)


def test_mantel_haenszel_monitors_the_tables_as_the_numeric_layer_does():
    res = result(method="MH")
    view = tsa_of(res, TSASettings(rr=0.8, control_risk=0.5))
    expected = trial_sequential_analysis(
        *counts(view.rows),
        measure="RR",
        method="MH",
        rr=0.8,
        control_risk=0.5,
        futility="obrien-fleming",  # the spec's
        adjust="D2",  # the spec's (D² from the DerSimonian-Laird τ² under MH)
        studies=[r.label for r in view.rows],
    )
    same(view, expected)
    assert view.settings.heterogeneity == "d2"


def test_subgroup_view_and_group_of_an_unrestricted_result_agree():
    restricted = tsa_of(result("relapse", "mrd_neg"))
    group = next(g for g in result().groups if g.name == "mrd_neg")
    within = tsa_of(result(), group=group)
    same(within, restricted.tsa)
    assert [r.effect.study for r in restricted.rows] == [
        s for s in CHRONOLOGICAL if s not in ("NCT01626495_NCT01029366", "NCT02772198")
    ]  # the two MRD-mixed (cr) trials are not in it
    assert sum(r.effect.events_c for r in restricted.rows) == 126
    assert sum(r.effect.n_c for r in restricted.rows) == 221
    assert restricted.tsa.diversity == pytest.approx(0.17866, abs=1e-5)
    assert (
        restricted.tsa.ris
        == required_information_size(126 / 221, rrr=0.25, d2=restricted.tsa.diversity).participants
        == 472
    )


def test_options_override_the_spec_and_an_effect_replaces_the_declared_one():
    view = tsa_of(
        result("relapse", "mrd_neg"),
        TSASettings(rr=0.8, control_risk=0.4, heterogeneity="i2", futility="none"),
    )
    s = view.settings
    assert (s.rr, s.rrr, s.control_risk, s.heterogeneity, s.futility) == (
        0.8,
        None,
        0.4,
        "i2",
        "none",
    )
    assert (s.alpha, s.beta, s.spending) == (0.05, 0.2, "obrien-fleming")  # the spec's
    assert (view.source, view.control_risk_source) == ("spec and options", "given")
    i2 = view.tsa.inconsistency
    assert view.tsa.ris == required_information_size(0.4, 0.8, i2=i2).participants
    assert np.isnan(view.tsa.futility_upper).all()


def test_defaults_without_a_declaration_and_benefit_follows_the_effect():
    res = result("relapse_preemptive")  # FE, no tsa: declared
    assert res.spec.tsa is None
    lower = settings_of(res, TSASettings(rr=0.8))
    assert lower == TSASettings(
        rr=0.8,
        alpha=0.05,
        beta=0.2,
        side=2,
        heterogeneity="none",
        spending="obrien-fleming",
        futility="none",
        benefit="lower",
    )
    assert settings_of(res, TSASettings(rr=1.25)).benefit == "higher"
    assert settings_of(res, TSASettings(odds_ratio=1.5)).benefit == "higher"
    assert settings_of(res, TSASettings(rrr=0.2)).benefit == "lower"
    assert settings_of(res, TSASettings(rr=1.25, benefit="lower")).benefit == "lower"
    assert settings_of(result(), TSASettings(beta=0.1)).heterogeneity == "d2"  # REML


def test_what_cannot_be_monitored_says_why():
    with pytest.raises(ValueError, match="give --rr, --rrr or --or \\(or declare tsa: in its"):
        tsa_of(result("relapse_preemptive"))
    with pytest.raises(ValueError, match="analysis 'os' pools hazard ratios, which carry none"):
        tsa_of(result("os"), TSASettings(rr=0.8))
    # one trial of 14 participants (Lu et al. 2021: 0/6 vs 4/8, common effect, no D²)
    ris = required_information_size(4 / 8, rr=0.99).participants
    assert ris == 313_948
    with pytest.raises(
        ValueError,
        match=r"no look: the pooled trials hold less than 1% of the required information "
        r"size \(14 of 313,948 participants\)",
    ):
        tsa_of(result("relapse_preemptive"), TSASettings(rr=0.99))


def test_the_public_api_exports_the_sequential_layer():
    import metaall
    import metaall.sequential as sequential

    for name in (
        "required_information_size",
        "sequential_boundaries",
        "trial_sequential_analysis",
        "diversity",
        "Boundaries",
        "InformationSize",
        "TSAResult",
    ):
        assert getattr(metaall, name) is getattr(sequential, name) and name in metaall.__all__
    assert metaall.required_information_size(0.2, rr=0.9, d2=0.3).participants == 17258


def test_a_hartung_knapp_analysis_is_monitored_with_wald_z_and_says_so():
    view = tsa_of(result(test="knha"))
    assert view.notes[1] == (
        "The Z-curve uses Wald z statistics, not the analysis's Hartung-Knapp (t, k-1 df) interval."
    )
    same(view, tsa_of(result()).tsa)  # the same Z-curve as the Wald analysis
