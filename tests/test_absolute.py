"""Absolute effects per 1000 and the NNT (Altman 1998), from the pooled result."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import metaall
from metaall.analysis.absolute import AbsoluteEffect, absolute_effects
from metaall.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PROJECT = metaall.Project(ROOT)


def test_risk_ratio_at_the_pooled_control_risk_and_an_assumed_one():
    res = PROJECT.analysis("relapse", "mrd_neg", control_risks=(0.3,))
    fit = res.overall.fit
    pooled, assumed = res.overall.absolute
    assert pooled.source == "pooled control arms" and assumed.source == "assumed"
    assert pooled.control_risk == pytest.approx(126 / 221)  # No HSCT arms of the 7 studies
    for a in (pooled, assumed):
        p0 = a.control_risk
        expected = [p0 * math.exp(x) for x in (fit.estimate, fit.ci_lb, fit.ci_ub)]
        assert a.risk == pytest.approx(expected, rel=1e-12)
        assert a.difference == pytest.approx([r - p0 for r in expected], rel=1e-12)
    assert (pooled.per_thousand(pooled.risk[0]), pooled.nnt) == (177, "NNTB 3 (3 to 4)")


def test_odds_ratio_and_hazard_ratio_formulas():
    spec = PROJECT.load_analysis("os")[1]
    res = PROJECT.analysis("os", control_risks=(0.4,), risk_timepoint="2 years")
    (a,) = res.overall.absolute  # hazard ratios: no arm counts, only the assumed risk
    hr = math.exp(res.overall.fit.estimate)
    assert a.risk[0] == pytest.approx(1 - (1 - 0.4) ** hr, rel=1e-12)
    assert a.timepoint == "2 years" and spec.measure == "HR"
    odds = PROJECT.analysis("relapse", "mrd_neg", measure="OR")
    fit, p0 = odds.overall.fit, 126 / 221
    ratio = math.exp(fit.estimate)
    assert odds.overall.absolute[0].risk[0] == pytest.approx(ratio * p0 / (1 - p0 + ratio * p0))


def test_nnt_interval_through_infinity_when_the_difference_may_be_zero():
    a = AbsoluteEffect(0.3, "assumed", (0.2, 0.1, 0.35), (-0.1, -0.2, 0.05))
    assert a.nnt == "NNTB 10 (NNTB 5 to ∞ to NNTH 20)"
    harm = AbsoluteEffect(0.3, "assumed", (0.5, 0.4, 0.6), (0.2, 0.1, 0.3))
    assert harm.nnt == "NNTH 5 (4 to 10)"


def test_risk_difference_and_measures_without_absolute_effects():
    rd = PROJECT.analysis("relapse", "mrd_neg", measure="RD")
    fit, p0 = rd.overall.fit, 126 / 221
    assert rd.overall.absolute[0].risk[0] == pytest.approx(p0 + fit.estimate)
    spec = PROJECT.load_analysis("relapse")[1]
    assert (
        absolute_effects(spec, fit.__class__(**{**fit.__dict__, "estimate": math.nan}), None) == ()
    )


def test_pool_reports_them_in_text_and_json():
    runner = CliRunner()
    args = ["-C", str(ROOT), "pool", "relapse", "--subgroup", "mrd_neg"]
    text = runner.invoke(cli, [*args, "--control-risk", "0.3"]).output
    assert "No HSCT 570 per 1000 (pooled control arms) -> HSCT 177 (121 to 259)" in text
    assert "No HSCT 300 per 1000 (assumed) -> HSCT 93 (64 to 136)" in text
    doc = runner.invoke(cli, [*args, "--format", "json"]).output
    assert '"nnt": "NNTB 3 (3 to 4)"' in doc
    bad = runner.invoke(cli, [*args, "--control-risk", "0,3"])
    assert bad.exit_code == 2 and "proportions in (0, 1)" in bad.output
