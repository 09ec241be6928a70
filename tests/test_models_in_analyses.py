"""The exact-likelihood and Bayesian models wherever a model is chosen: specs, the
command line, reports, the model comparison and the posterior figure. Each number is
the engine's own (tests/test_glmm.py and tests/test_bayes.py hold those against R)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import metaall
from metaall.analysis.sensitivity import model_comparison
from metaall.cli import cli
from metaall.data import load_spec
from metaall.data.adhoc import load_adhoc
from metaall.data.errors import DataError
from metaall.figures.export import figure_bytes
from metaall.figures.posterior import posterior_plot
from metaall.models.bayes import fit_bayes
from metaall.models.glmm import fit_glmm
from metaall.models.priors import parse_mu_prior, parse_tau_prior

ROOT = Path(__file__).resolve().parents[1]
PROJECT = metaall.Project(ROOT)
RUNNER = CliRunner()


def invoke(*args):
    return RUNNER.invoke(cli, ["-C", str(ROOT), *args])


def pooled(result):
    rows = [r for r in result.overall.rows if r.estimable]
    return np.array([r.yi for r in rows]), np.array([r.vi for r in rows])


def test_bayes_in_an_analysis_is_fit_bayes_of_its_rows_with_the_spec_priors():
    res = PROJECT.analysis("relapse", "mrd_neg", method="bayes", mu_prior="normal:0:4")
    yi, vi = pooled(res)
    direct = fit_bayes(yi, vi, "halfnormal", 0.5, mu_mean=0.0, mu_sd=4.0)
    fit = res.overall.fit
    assert fit.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert (fit.ci_lb, fit.ci_ub) == pytest.approx((direct.ci_lb, direct.ci_ub), rel=1e-12)
    assert res.overall.prediction == pytest.approx((direct.pi_lb, direct.pi_ub), rel=1e-12)
    ci = res.overall.heterogeneity
    assert ci.kind == "posterior"
    assert ci.tau2 == pytest.approx(
        (direct.tau_quantile(0.025) ** 2, direct.tau_quantile(0.975) ** 2)
    )


def test_glmm_in_an_analysis_is_fit_glmm_of_its_tables():
    res = PROJECT.analysis("relapse", "mrd_neg", measure="OR", method="cm.el")
    counts = [
        [getattr(r.effect, f) for r in res.overall.rows]
        for f in ("events_t", "n_t", "events_c", "n_c")
    ]
    direct = fit_glmm(*counts, model="CM.EL")
    fit = res.overall.fit
    assert fit.method == "CM.EL"
    assert fit.estimate == pytest.approx(direct.estimate, rel=1e-12)
    # tau² = 0 at the boundary; metafor 3.8-1 stops with "Cannot fit ML model" here, and
    # its common-effect CM.EL fit gives log OR -2.01358188, se 0.26256872, ll -9.95502019
    assert fit.tau2 == 0 and fit.estimate == pytest.approx(-2.01358188, abs=1e-6)
    assert fit.se == pytest.approx(0.26256872, rel=1e-4) and fit.loglik == pytest.approx(
        -9.95502019
    )


def test_a_glmm_of_a_risk_ratio_says_what_to_do_instead():
    out = invoke("pool", "relapse", "--method", "CM.EL")
    assert out.exit_code == 2
    assert "pools OR only, not risk ratio (RR); use --measure OR, or --method bayes" in out.output


def test_reports_name_the_model_and_its_intervals():
    text = invoke("pool", "relapse", "--subgroup", "mrd_neg", "--method", "bayes").output
    assert "RR [95% CrI]" in text and "Posterior predictive interval" in text
    assert "Posterior probabilities: P(RR < 1) = " in text
    assert "priors: half-normal prior for τ with scale 0.5; flat prior for μ" in text
    assert "Test for overall effect" not in text
    doc = json.loads(
        invoke(
            "pool", "relapse", "--subgroup", "mrd_neg", "--method", "bayes", "--format", "json"
        ).output
    )
    assert doc["pooled"]["zval"] is None and doc["pooled"]["pval"] is None
    assert doc["pooled"]["prob_mu_positive"] == pytest.approx(0.0, abs=1e-3)
    glmm = json.loads(
        invoke(
            "pool",
            "relapse",
            "--subgroup",
            "mrd_neg",
            "--measure",
            "OR",
            "--method",
            "UM.FS",
            "--format",
            "json",
        ).output
    )
    assert glmm["pooled"]["loglik"] < 0 and glmm["pooled"]["converged"] is True
    assert glmm["method_details"]["weights"].startswith("display only")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("tau_prior: halfnormal:x\n", "tau_prior", "tau_scale of the halfnormal prior must be"),
        ("tau_prior: wide\n", "tau_prior", "unknown tau prior 'wide'"),
        ("mu_prior: normal:0\n", "mu_prior", "unknown mu prior 'normal:0'"),
    ],
)
def test_priors_in_a_spec_are_checked(tmp_path, text, key, message):
    path = tmp_path / "s.yaml"
    path.write_text(
        "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\nmeasure: RR\nmethod: bayes\n"
        + text,
        encoding="utf-8",
    )
    vocabulary = metaall.data.load_extractions(ROOT / "extractions").vocabulary
    with pytest.raises(DataError) as err:
        load_spec(path, vocabulary)
    assert err.value.field == key and message in err.value.message


def test_prior_text_forms():
    assert parse_tau_prior("halft:0.5:3").description == (
        "half-Student-t prior for τ with scale 0.5 and 3 df"
    )
    assert parse_mu_prior("normal:-1:2") == (-1.0, 2.0) and parse_mu_prior("flat") == (0.0, None)
    bad = invoke("pool", "relapse", "--method", "bayes", "--mu-prior", "normal:0:-4")
    assert bad.exit_code == 2 and "positive SD" in bad.output


def test_priors_without_the_bayesian_model_are_refused_not_ignored():
    out = invoke("pool", "relapse", "--tau-prior", "halfcauchy:1", "--mu-prior", "normal:0:4")
    assert out.exit_code == 2
    assert (
        "--tau-prior and --mu-prior only with --method bayes; this analysis uses REML" in out.output
    )
    # ... except where a Bayesian row uses them: sensitivity --models
    rows = json.loads(
        invoke(
            "sensitivity", "relapse", "--models", "--tau-prior", "halfcauchy:1", "--format", "json"
        ).output
    )
    bayes = next(row for row in rows if row["method"] == "bayes")
    direct = PROJECT.analysis("relapse", method="bayes", tau_prior="halfcauchy:1")
    assert bayes["tau2"] == pytest.approx(direct.overall.fit.tau2, rel=1e-12)


def test_model_comparison_runs_every_model_on_the_same_studies():
    out = invoke("sensitivity", "relapse", "--subgroup", "mrd_neg", "--models", "--format", "json")
    rows = {row["method"]: row for row in json.loads(out.output)}
    assert set(rows) == set(metaall.methods.names("method")) - {
        "FE",
        "HE",
        "HS",
        "HSk",
        "SJ",
        "ML",
        "EB",
        "PM",
        "GLMM",  # the GLMM of single-arm proportions: test_proportion_models_include_the_glmm
    }
    for method, row in rows.items():
        measure = row["measure"]
        single = PROJECT.analysis("relapse", "mrd_neg", method=method, measure=measure)
        if method == "REML":
            continue  # three rows share REML (as specified, z and Hartung-Knapp)
        assert row["effect"] == pytest.approx(
            single.display(single.overall.fit.estimate), rel=1e-12
        )
        assert row["k"] == 7
    assert rows["Peto"]["measure"] == "OR" and rows["CM.EL"]["measure"] == "OR"
    assert rows["bayes"]["interval"] == "CrI" and rows["bayes"]["pval"] is None
    # 155 of 404 patients relapsed: CM.AL's binomial approximation does not hold
    assert rows["CM.AL"]["note"] == (
        "CM.AL assumes rare events (Stijnen et al. 2010); here 38% of patients had the "
        "event, so it estimates nearer the risk ratio than the odds ratio"
    )
    assert all(row["note"] == "" for method, row in rows.items() if method != "CM.AL")
    text = invoke("sensitivity", "relapse", "--subgroup", "mrd_neg", "--models").output
    assert "\nCaution: CM.AL assumes rare events" in text


def test_proportion_models_include_the_glmm():
    out = invoke("sensitivity", "cart_cr_cri", "--models", "--format", "json")
    rows = {row["method"]: row for row in json.loads(out.output)}
    assert set(rows) == {"REML", "DL", "GLMM", "bayes"}
    glmm = rows["GLMM"]
    direct = PROJECT.analysis("cart_cr_cri", method="GLMM", mods=())
    assert glmm["measure"] == "PLO" and glmm["k"] == 10 and glmm["note"] == ""
    assert glmm["effect"] == pytest.approx(direct.display(direct.overall.fit.estimate), rel=1e-12)
    # a rate has no null value: no p-value, no P(effect < null), a dash in the table
    assert all(r["pval"] is None and r["prob_below_null"] is None for r in rows.values())
    text = invoke("sensitivity", "cart_cr_cri", "--models").output
    assert "the GLMM pools the logit of the proportion" in text and "odds ratio" not in text
    glmm_line = next(line for line in text.splitlines() if line.startswith("GLMM "))
    assert "86.40 [82.38, 89.62]    —" in glmm_line and "P(<null)" not in text


def test_cm_al_is_not_cautioned_for_rare_events(tmp_path):
    rare = tmp_path / "rare.csv"
    rare.write_text("study,events_t,n_t,events_c,n_c\nA,1,100,4,100\nB,2,150,5,140\n")
    data, spec = load_adhoc(rare)
    runs = {r.spec.method: r for r in model_comparison(spec, data)}
    assert runs["CM.AL"].result is not None and runs["CM.AL"].caution == ""


def test_posterior_figure_shows_both_posteriors_their_priors_and_is_deterministic():
    res = PROJECT.analysis("relapse", "mrd_neg", method="bayes", mu_prior="normal:0:4")
    fig = posterior_plot(res)
    texts = " ".join(
        "".join(t.itertext())
        for t in ET.fromstring(figure_bytes(fig, "svg")).iter("{http://www.w3.org/2000/svg}text")
    )
    for phrase in (
        "Effect μ",
        "Heterogeneity τ",
        "posterior",
        "predictive",
        "prior",
        "half-normal prior for τ with scale 0.5",
        "normal prior for μ with mean 0, sd 4",
    ):
        assert phrase in texts
    assert figure_bytes(posterior_plot(res), "png") == figure_bytes(fig, "png")
    with pytest.raises(ValueError, match="needs the Bayesian model"):
        posterior_plot(PROJECT.analysis("relapse", "mrd_neg"))
    out = invoke("posterior", "relapse", "--subgroup", "mrd_neg", "-o", "/dev/null/x.png")
    assert out.exit_code != 0


def test_bayesian_results_carry_each_studys_shrunken_estimate():
    res = PROJECT.analysis("relapse", "mrd_neg", method="bayes")
    fit = res.overall.fit
    doc = json.loads(
        invoke(
            "pool", "relapse", "--subgroup", "mrd_neg", "--method", "bayes", "--format", "json"
        ).output
    )
    for study, m, lo, hi in zip(
        doc["studies"], fit.theta_median, fit.theta_lb, fit.theta_ub, strict=True
    ):
        assert (study["shrunken_median"], study["shrunken_lb"], study["shrunken_ub"]) == (
            pytest.approx(m, rel=1e-12),
            pytest.approx(lo, rel=1e-12),
            pytest.approx(hi, rel=1e-12),
        )
        assert lo < m < hi  # and pulled towards the pooled effect
        assert abs(m - fit.estimate) < abs(study["yi"] - fit.estimate)
    reml = json.loads(invoke("pool", "relapse", "--subgroup", "mrd_neg", "--format", "json").output)
    assert not any(k.startswith("shrunken") for k in reml["studies"][0])


def test_forest_draws_shrunken_estimates_under_the_studies():
    from metaall.figures.forest import forest_plot

    res = PROJECT.analysis("relapse", "mrd_neg", method="bayes")
    fig = forest_plot(res, shrinkage=True)
    circles = [
        line
        for ax in fig.axes
        for line in ax.lines
        if line.get_marker() == "o" and line.get_markerfacecolor() == "white"
    ]
    medians = sorted(float(line.get_xdata()[0]) for line in circles)
    assert medians == pytest.approx(sorted(np.exp(res.overall.fit.theta_median)), rel=1e-12)
    notes = " ".join(t.get_text() for t in fig.texts)
    assert "Grey, open circles: each study's shrunken estimate" in notes.replace("\n", " ")
    with pytest.raises(ValueError, match="shrunken estimates need the Bayesian model"):
        forest_plot(PROJECT.analysis("relapse", "mrd_neg"), shrinkage=True)
    out = invoke("forest", "relapse", "--shrinkage", "-o", "x.pdf")
    assert out.exit_code == 2 and "need the Bayesian model (--method bayes)" in out.output
