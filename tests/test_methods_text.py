"""The methods and results text: every number is the result's, every method cited."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import metaall
from metaall.cli import cli
from metaall.reports.methods_text import methods_text

ROOT = Path(__file__).resolve().parents[1]
PROJECT = metaall.Project(ROOT)


def test_methods_name_each_choice_with_its_reference():
    text = methods_text(PROJECT.analysis("relapse"))
    assert "restricted maximum likelihood [1]" in text
    assert "1. Viechtbauer 2005, Stat Med 24:3-24" in text
    assert "Q-profile confidence intervals for tau² and I² [4]" in text
    assert "4. Viechtbauer 2007, Stat Med 26:37" in text
    assert "0.5 was added to every cell of tables with a zero cell" in text
    hk = methods_text(PROJECT.analysis("relapse", "mrd_neg", test="knha"))
    assert "Hartung-Knapp-Sidik-Jonkman method [2]" in hk and "IntHout et al. 2014" in hk


def test_results_sentences_carry_the_pooled_numbers():
    res = PROJECT.analysis("relapse", "mrd_neg")
    fit = res.overall.fit
    text = methods_text(res)
    lo, hi = (f"{res.display(x):.2f}" for x in (fit.ci_lb, fit.ci_ub))
    assert f"RR {res.display(fit.estimate):.2f} (95% CI {lo} to {hi}; p < 0.0001)" in text
    assert "7 studies (29/183 vs 126/221 with the outcome), HSCT vs No HSCT" in text


def test_bayesian_and_common_effect_wording():
    bayes = methods_text(PROJECT.analysis("relapse", "mrd_neg", method="bayes"))
    assert "half-normal prior for τ with scale 0.5 and a flat prior for μ" in bayes
    assert "95% CrI" in bayes and "predictive interval" in bayes
    mh = methods_text(PROJECT.analysis("relapse", "mrd_neg", method="MH"))
    assert "Mantel-Haenszel weights [1]" in mh and "Mantel & Haenszel 1959" in mh
    assert "the Mantel-Haenszel model used the raw counts" in mh


def test_command():
    out = CliRunner().invoke(cli, ["-C", str(ROOT), "methods", "relapse", "--subgroup", "mrd_neg"])
    assert out.exit_code == 0 and out.output.startswith("Methods (Relapse")
