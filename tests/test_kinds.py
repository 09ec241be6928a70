"""The new kinds of evidence end to end (issue 15): single-arm proportions, means (with
medians converted), generic effects and meta-regression, from the files through the
command line to the reports. Every number is checked against the engine run on the same
data (``effect_sizes``, ``fit``, ``meta_regression``, ``permutation_test``,
``back_transform``) and, where R computed it, against metafor
(``tests/fixtures/r/kinds.json``, from ``tests/fixtures/r/kinds.R``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import metaall
from metaall.analysis import run_analysis, with_options
from metaall.cli import cli
from metaall.data import DataError
from metaall.data.adhoc import load_adhoc
from metaall.effects import back_transform, effect_sizes, generic_effects, mean_sd_from_median
from metaall.models.metareg import meta_regression
from metaall.models.permutation import permutation_test

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "fixtures" / "r" / "kinds.json").read_text(encoding="utf-8"))
ONE_LINE_ERROR = re.compile(r"^error: [^\n]+:\d+: [^:\n]+: [^\n]+\n$")
TOL = dict(rtol=1e-6, atol=1e-9)

PROPORTIONS = "study,events,n,year,group\n" + "".join(
    f"{r['study']},{r['xi']},{r['ni']},{r['year']},{g}\n"
    for r, g in zip(
        REF["year_metareg"]["data"],
        ["CD28", "4-1BB", "4-1BB", "CD28", "4-1BB", "4-1BB"],
        strict=True,
    )
)
MEANS = "study,mean_t,sd_t,n_t,mean_c,sd_c,n_c\n" + "".join(
    f"{r['study']},{r['m1i']},{r['sd1i']},{r['n1i']},{r['m2i']},{r['sd2i']},{r['n2i']}\n"
    for r in REF["means"]["data"]
)
GENERIC = "study,effect,effect_lower,effect_upper,effect_scale\n" + "".join(
    f"{r['study']},{r['ratio']},{r['lower']},{r['upper']},ratio\n" for r in REF["generic"]["data"]
)


def invoke(*args: str, project: Path = ROOT):
    result = CliRunner().invoke(cli, ["-C", str(project), *args])
    assert "Traceback" not in result.output, result.output
    return result


def pooled_json(*args: str, project: Path = ROOT) -> dict:
    result = invoke("pool", *args, "--format", "json", project=project)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def close(actual, expected, **tol) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float),
        np.asarray(expected, float),
        **{
            **TOL,
            **tol,
        },
    )


# ------------------------------------------------------------ single-arm proportions


def test_pool_proportions_file_equals_the_engine_and_back_transform(tmp_path):
    path = write(tmp_path, "rates.csv", PROPORTIONS)
    doc = pooled_json("--data", str(path))
    xi = [s["events"] for s in doc["studies"]]
    ni = [s["n"] for s in doc["studies"]]
    es = effect_sizes(measure="PLO", xi=xi, ni=ni)
    close([s["yi"] for s in doc["studies"]], es.yi, rtol=1e-12)
    close([s["vi"] for s in doc["studies"]], es.vi, rtol=1e-12)
    res = metaall.fit(es.yi, es.vi, method="REML")
    pooled = doc["pooled"]
    close(
        [pooled[k] for k in ("estimate", "ci_lb", "ci_ub", "tau2")],
        [
            res.estimate,
            res.ci_lb,
            res.ci_ub,
            res.tau2,
        ],
        rtol=1e-12,
    )
    shown = pooled["proportion"]
    close(
        [shown["estimate"], shown["ci_lb"], shown["ci_ub"]],
        back_transform("PLO", [res.estimate, res.ci_lb, res.ci_ub]),
        rtol=1e-12,
    )
    # the study with 9/9 is corrected (½ to events and non-events), and says so
    full = next(s for s in doc["studies"] if s["events"] == s["n"])
    assert full["note"] == "0.5 added to events and non-events"
    assert doc["method_details"]["zero_cells"]["rule"].startswith("0.5 added to the events")
    assert doc["method_details"]["scale"].startswith("logit; shown as proportions (%)")


@pytest.mark.parametrize("measure", ["PR", "PLN", "PLO", "PAS", "PFT"])
def test_every_proportion_measure_shows_back_transformed_percentages(tmp_path, measure):
    path = write(tmp_path, "rates.csv", PROPORTIONS)
    doc = pooled_json("--data", str(path), "--measure", measure)
    xi = [s["events"] for s in doc["studies"]]
    ni = [s["n"] for s in doc["studies"]]
    es = effect_sizes(measure=measure, xi=xi, ni=ni)
    ok = es.estimable
    res = metaall.fit(es.yi[ok], es.vi[ok], method="REML")
    bounds = [res.estimate, res.ci_lb, res.ci_ub]
    expected = back_transform(measure, bounds, ni=np.array(ni)[ok])
    shown = doc["pooled"]["proportion"]
    close([shown["estimate"], shown["ci_lb"], shown["ci_ub"]], expected, rtol=1e-12)
    text = invoke("pool", "--data", str(path), "--measure", measure).output
    total = next(line for line in text.splitlines() if line.startswith("Total"))
    assert total.endswith("{:.1f} [{:.1f}, {:.1f}]".format(*(100 * np.asarray(expected))))
    assert "Test for overall effect" not in text  # a rate has no null to test against


@pytest.mark.parametrize("name", ["cart_cr_cri", "cart_mrd_neg_cr"])
def test_shipped_rate_analyses_match_metafor(name):
    ref = REF[name]
    doc = pooled_json(name)
    studies = [s["study"] for s in doc["studies"]]
    assert sorted(studies) == sorted(r["study"] for r in ref["data"])
    order = [studies.index(r["study"]) for r in ref["data"]]
    close(np.array([s["yi"] for s in doc["studies"]])[order], ref["yi"])
    close(np.array([s["vi"] for s in doc["studies"]])[order], ref["vi"])
    pooled, expected = doc["pooled"], ref["overall"]
    for key in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "I2", "H2", "Q", "Q_pval"):
        close(pooled[key], expected[key])
    close(pooled["prediction_interval"], [expected["pi_lb"], expected["pi_ub"]])
    shown = pooled["proportion"]
    close([shown["estimate"], shown["ci_lb"], shown["ci_ub"]], expected["proportion"])
    close([shown["pi_lb"], shown["pi_ub"]], expected["pi_proportion"])
    for group in doc["subgroups"]:
        g = ref["groups"][group["name"]]
        close(
            [group["pooled"][k] for k in ("estimate", "ci_lb", "ci_ub", "tau2")],
            [
                g["estimate"],
                g["ci_lb"],
                g["ci_ub"],
                g["tau2"],
            ],
        )
        p = group["pooled"]["proportion"]
        close([p["estimate"], p["ci_lb"], p["ci_ub"]], g["proportion"])


@pytest.mark.parametrize("name", ["cart_cr_cri", "cart_mrd_neg_cr"])
def test_shipped_meta_regression_on_costim_domain_matches_metafor(name):
    ref = REF[name]["metareg"]
    reg = pooled_json(name)["meta_regression"]
    assert reg["moderators"] == [
        {
            "name": "costim_domain",
            "type": "categorical",
            "levels": ["4-1BB", "CD28"],
            "reference": "4-1BB",
            "columns": ["costim_domainCD28"],
        }
    ]
    coef = reg["coefficients"]
    assert [c["name"] for c in coef] == ["intrcpt", "costim_domainCD28"]
    for key in ("beta", "se", "zval", "pval", "ci_lb", "ci_ub"):
        close([c[key] for c in coef], ref[key])
    for key in ("QM", "QM_pval", "QE", "QE_pval", "tau2", "I2", "H2", "R2"):
        close(reg[key], ref[key])
    # 1000 permutations asked for, fewer distinct ones: exact, as metafor's permutest
    assert reg["permutation"]["exact"] is True
    close([c["permutation_pval"] for c in coef], ref["permutation_pval"], rtol=1e-12)
    close(reg["permutation"]["QM_pval"], ref["permutation_QM_pval"], rtol=1e-12)


def test_pft_pooled_rate_is_shown_at_the_harmonic_mean_of_the_sizes():
    ref = REF["cart_cr_cri"]
    doc = pooled_json("cart_cr_cri", "--measure", "PFT")
    pooled = doc["pooled"]
    close(
        [pooled["estimate"], pooled["ci_lb"], pooled["ci_ub"]],
        [
            ref["pft"]["estimate"],
            ref["pft"]["ci_lb"],
            ref["pft"]["ci_ub"],
        ],
    )
    shown = pooled["proportion"]
    close([shown["estimate"], shown["ci_lb"], shown["ci_ub"]], ref["pft"]["proportion"])
    assert "Miller" in doc["method_details"]["scale"]


def test_pas_and_pft_take_no_continuity_correction_by_default(tmp_path):
    """metafor's default add is 0 for PAS and PFT (½ for the others); a spec's explicit
    zero_cells is kept when --measure changes."""
    path = write(tmp_path, "rates.csv", PROPORTIONS)
    for measure in ("PAS", "PFT"):
        doc = pooled_json("--data", str(path), "--measure", measure)
        assert doc["method_details"]["zero_cells"]["rule"] == "no continuity correction"
        assert all(s["note"] == "" for s in doc["studies"])  # 9/9 left as it is
    spec = pooled_json("cart_cr_cri", "--measure", "PFT")["method_details"]["zero_cells"]
    assert spec["add"] == 0.5  # stated in analyses/cart_cr_cri.yaml


def test_rate_analysis_report_lists_every_study_left_out_with_its_source_row():
    text = invoke("pool", "cart_mrd_neg_cr").output
    assert "Proportion (%) [95% CI]" in text and "CD19 CAR-T" in text
    assert (
        "NCT02735291 [responders]: population responders is outside this analysis "
        "(include.population: all_treated) (002_946ab100fa682db4.txt, Table 2, "
        "NCT02735291[75]: MRD-CR rate '97.4% (37/38)')" in text
    )
    assert "NCT02315612 (CD22 CAR-T) [responders]: car_target CD22 is outside" in text


# ------------------------------------------------------------------------ means


@pytest.mark.parametrize("measure", ["MD", "SMD", "ROM"])
def test_pool_means_file_matches_metafor(tmp_path, measure):
    path = write(tmp_path, "means.csv", MEANS)
    doc = pooled_json("--data", str(path), "--measure", measure)
    ref = REF["means"][measure]
    close([s["yi"] for s in doc["studies"]], ref["yi"])
    close([s["vi"] for s in doc["studies"]], ref["vi"])
    for key in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "I2", "Q"):
        close(doc["pooled"][key], ref[key])
    first = doc["studies"][0]
    assert (first["mean_t"], first["sd_t"], first["n_t"], first["derived_t"]) == (
        12.1,
        3.4,
        20,
        False,
    )


def test_medians_become_means_flagged_as_derived(tmp_path):
    path = write(
        tmp_path,
        "medians.csv",
        "study,mean_t,sd_t,n_t,mean_c,sd_c,n_c,median_t,q1_t,q3_t,median_c,min_c,max_c\n"
        "A,12.1,3.4,20,14.5,4.1,22,,,,,,\n"
        "B,,,30,,,28,11,9,14,14,6,25\n",
    )
    doc = pooled_json("--data", str(path))
    b = doc["studies"][1]
    t = mean_sd_from_median(11, 9, 14, n=30)
    c = mean_sd_from_median(14, minimum=6, maximum=25, n=28)
    close([b["mean_t"], b["sd_t"], b["mean_c"], b["sd_c"]], [t.mean, t.sd, c.mean, c.sd])
    assert b["derived_t"] and b["derived_c"] and (b["median_t"], b["q1_t"]) == (11, 9)
    es = effect_sizes(
        measure="MD", m1i=[t.mean], sd1i=[t.sd], n1i=[30], m2i=[c.mean], sd2i=[c.sd], n2i=[28]
    )
    close(b["yi"], es.yi[0], rtol=1e-12)
    assert "Luo et al. (2018), SD by Wan et al. (2014) from the median and quartiles" in b["note"]
    assert "from the median and range" in b["derivation"]
    text = invoke("pool", "--data", str(path)).output
    assert "~" + f"{t.mean:.4g} ({t.sd:.4g}) 30" in text
    assert "~ mean and SD derived from the median, not reported" in text


# -------------------------------------------------------------- generic effects


def test_pool_generic_ratios_from_their_intervals_matches_metafor(tmp_path):
    path = write(tmp_path, "generic.csv", GENERIC)
    doc = pooled_json("--data", str(path))
    assert doc["measure"] == "GENR"
    ref = REF["generic"]
    close([s["yi"] for s in doc["studies"]], ref["yi"])
    close([s["vi"] for s in doc["studies"]], ref["vi"])
    for key in ("estimate", "se", "ci_lb", "ci_ub", "tau2"):
        close(doc["pooled"][key], ref[key])
    text = invoke("pool", "--data", str(path)).output
    total = next(line for line in text.splitlines() if line.startswith("Total"))
    assert total.endswith("{:.2f} [{:.2f}, {:.2f}]".format(*ref["ratio"]))


def test_generic_differences_with_their_se(tmp_path):
    path = write(
        tmp_path,
        "diff.csv",
        "study,effect,se,effect_scale\nA,1.2,0.5,difference\nB,0.4,0.3,difference\n"
        "C,0.9,0.4,difference\n",
    )
    doc = pooled_json("--data", str(path))
    es = generic_effects(yi=[1.2, 0.4, 0.9], se=[0.5, 0.3, 0.4])
    res = metaall.fit(es.yi, es.vi)
    assert doc["measure"] == "GEN"
    close(doc["pooled"]["estimate"], res.estimate, rtol=1e-12)


# ------------------------------------------------------------- meta-regression


def test_mods_year_matches_metafor_and_the_engine(tmp_path):
    path = write(tmp_path, "rates.csv", PROPORTIONS)
    ref = REF["year_metareg"]
    reg = pooled_json("--data", str(path), "--mods", "year")["meta_regression"]
    coef = reg["coefficients"]
    for key in ("beta", "se", "zval", "pval", "ci_lb", "ci_ub"):
        close([c[key] for c in coef], ref["metareg"][key])
    for key in ("QM", "QE", "tau2", "R2"):
        close(reg[key], ref["metareg"][key])
    mine = meta_regression(ref["yi"], ref["vi"], {"year": [r["year"] for r in ref["data"]]})
    close([c["beta"] for c in coef], mine.beta)


def test_permutations_are_exact_where_metafor_is_and_seeded_otherwise(tmp_path):
    path = write(tmp_path, "rates.csv", PROPORTIONS)
    exact = pooled_json("--data", str(path), "--mods", "year", "--permutations", "1000")
    perm = exact["meta_regression"]["permutation"]
    # 6!/2! = 360 distinct orderings (two studies share 2014): all of them, as metafor
    assert perm["exact"] is True and perm["iterations"] == 360
    close(
        [c["permutation_pval"] for c in exact["meta_regression"]["coefficients"]],
        REF["year_metareg"]["permutation"],
        rtol=1e-12,
    )
    args = ("--data", str(path), "--mods", "year", "--permutations", "100", "--seed", "7")
    first, second = pooled_json(*args), pooled_json(*args)
    assert first["meta_regression"] == second["meta_regression"]
    assert first["meta_regression"]["permutation"] == {
        **first["meta_regression"]["permutation"],
        "exact": False,
        "iterations": 100,
        "seed": 7,
    }
    ref = REF["year_metareg"]
    fit = meta_regression(ref["yi"], ref["vi"], {"year": [r["year"] for r in ref["data"]]})
    engine = permutation_test(fit, iterations=100, seed=7)
    close(first["meta_regression"]["permutation"]["QM_pval"], engine.QM_pval, rtol=0)


def test_regression_table_in_text_markdown_csv_and_word(tmp_path):
    path = write(tmp_path, "rates.csv", PROPORTIONS)
    args = ("--data", str(path), "--mods", "year,group")
    text = invoke("pool", *args).output
    assert "Meta-regression on year (numeric); group (categorical, reference 4-1BB)" in text
    assert re.search(r"groupCD28 +-0\.9235 +0\.7137 +-1\.29 +0\.20", text)
    assert "Test of moderators: QM = 1.85, df = 2, p = 0.40" in text
    assert "R² = 0.0%" in text
    markdown = invoke("pool", *args, "--format", "markdown").output
    assert "| Coefficient | Estimate | SE | z | p | 95% CI |" in markdown
    csv_text = invoke("pool", *args, "--format", "csv").output
    assert "groupCD28: Estimate -0.9235, SE 0.7137, z -1.29, p 0.20" in csv_text
    out = tmp_path / "table.docx"
    assert invoke("pool", *args, "--format", "docx", "-o", str(out)).exit_code == 0
    import zipfile

    xml = zipfile.ZipFile(out).read("word/document.xml").decode()
    assert "groupCD28" in xml and "Test of moderators" in xml


def test_a_moderator_with_one_value_is_reported_not_fitted():
    text = invoke("pool", "cart_cr_cri", "--subgroup", "CD28").output
    assert "Not fitted: costim_domain takes one value (CD28) among these studies" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--mods", "colour"), "unknown moderator colour"),
        (("--mods", "year", "--method", "bayes"), "a meta-regression needs an inverse-variance"),
        (("--permutations", "10"), "a permutation test needs moderators"),
    ],
)
def test_bad_regression_options_are_usage_errors(tmp_path, args, message):
    path = write(tmp_path, "rates.csv", PROPORTIONS)
    result = invoke("pool", "--data", str(path), *args)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "row", "field", "message"),
    [
        ("study,events,n\nA,12,20\nB,31,30\n", 3, "events", "31 events exceed n = 30"),
        ("study,events,n\nA,12,\n", 2, "n", "a proportion needs events and n: fill both"),
        (
            "study,mean_t,sd_t,n_t,mean_c,sd_c,n_c\nA,1,-0.5,10,2,1,10\n",
            2,
            "sd_t",
            "a standard deviation must not be negative, got -0.5",
        ),
        (
            "study,mean_t,sd_t,n_t,mean_c,sd_c,n_c\nA,1,0.5,10,2,1,1\n",
            2,
            "n_c",
            "an SD needs at least 2 patients, got 1",
        ),
        (
            "study,mean_t,sd_t,n_t,mean_c,sd_c,n_c\nA,1,,10,2,1,10\n",
            2,
            "sd_t",
            "give the mean and its SD together",
        ),
        (
            "study,n_t,n_c,median_t,q1_t,q3_t,mean_c,sd_c\nA,10,10,5,6,9,2,1\n",
            2,
            "median_t",
            "expected q1_t <= median_t <= q3_t and q1_t < q3_t",
        ),
        (
            "study,effect,se\nA,0.5,0.2\n",
            2,
            "effect_scale",
            "required for a generic effect: ratio or difference",
        ),
        (
            "study,effect,se,effect_lower,effect_upper,effect_scale\nA,0.5,0.2,0.1,0.9,ratio\n",
            2,
            "se",
            "give the SE or the CI (effect_lower, effect_upper), not both",
        ),
        (
            "study,effect,effect_lower,effect_upper,effect_scale\nA,1.5,0.5,1.2,ratio\n",
            2,
            "effect",
            "expected effect_lower < effect < effect_upper, got 0.5, 1.5, 1.2",
        ),
        (
            "study,events,n,events_t,n_t,events_c,n_c\nA,1,2,,,,\nB,,,1,2,1,2\n",
            1,
            "header",
            "mixes 2×2 counts and single-arm proportions; use one kind",
        ),
    ],
)
def test_bad_rows_are_one_line_exit_1_and_nothing_written(tmp_path, text, row, field, message):
    path = write(tmp_path, "bad.csv", text)
    out = tmp_path / "out.txt"
    result = invoke("pool", "--data", str(path), "-o", str(out))
    assert result.exit_code == 1
    assert result.output == f"error: {path}:{row}: {field}: {message}\n"
    assert ONE_LINE_ERROR.match(result.output) and not out.exists()


def test_a_study_without_its_moderator_is_one_line_naming_the_row(tmp_path):
    path = write(tmp_path, "rates.csv", "study,events,n,year\nA,5,10,2015\nB,6,10,\nC,7,9,2019\n")
    out = tmp_path / "forest.png"
    result = invoke("pool", "--data", str(path), "--mods", "year", "-o", str(out))
    assert result.exit_code == 1
    assert result.output == (
        f"error: {path}:3: year: blank, but analysis 'rates' uses year as a moderator (mods); "
        "fill it, or leave the study out of the analysis\n"
    )
    bubble = invoke("bubble", "--data", str(path), "--mod", "year", "-o", str(out))
    assert bubble.exit_code == 1 and ":3: year: blank" in bubble.output and not out.exists()


def test_extractions_rules_for_single_arm_rows(project):
    path = project / "extractions" / "effects.csv"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("NCT01593696,cart_single"))
    original = lines[index]
    lines[index] = original.replace(",14,20", ",24,20")  # events > n
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("validate", project=project)
    assert f"{path}:{index + 1}: events: 24 events exceed n = 20" in result.output
    lines[index] = original.replace("CD19 CAR-T (CD28 domain),", "CD19 CAR-T (CD28 domain),x")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("validate", project=project)
    assert f"{path}:{index + 1}: arm_c: a single-arm proportion has no comparator arm" in (
        result.output
    )


def test_spec_mods_year_without_years_names_the_studies_csv_row(project):
    spec = project / "analyses" / "cart_cr_cri.yaml"
    spec.write_text(spec.read_text().replace("mods: [costim_domain]", "mods: [year]"))
    before = sorted(p.name for p in project.iterdir())
    result = invoke("pool", "cart_cr_cri", project=project)
    studies = project / "extractions" / "studies.csv"
    assert result.exit_code == 1 and ONE_LINE_ERROR.match(result.output)
    assert result.output.startswith(f"error: {studies}:2: year: blank, but analysis 'cart_cr_cri'")
    assert sorted(p.name for p in project.iterdir()) == before


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ("mods: [colour]\n", "mods", "'colour' is not one of: year, population"),
        ("mods: [year, year]\n", "mods", "'year' is listed twice"),
        ("permutations: 100\n", "permutations", "a permutation test needs mods"),
        ("mods: [year]\npermutations: 1\n", "permutations", "expected a whole number from 2"),
        ("mods: [year]\nmethod: bayes\n", "mods", "a meta-regression needs an inverse-variance"),
        ("arm_labels: [A, B]\n", "arm_labels", "a single-arm proportion has one arm: [label]"),
    ],
)
def test_spec_keys_of_the_new_kinds_are_checked(tmp_path, extra, key, message):
    from metaall.data import load_extractions, load_spec

    vocabulary = load_extractions(ROOT / "extractions").vocabulary
    path = write(
        tmp_path,
        "rates.yaml",
        "comparison: cart_single_arm\noutcome: response_cr_cri\nmeasure: PLO\n" + extra,
    )
    with pytest.raises(DataError) as caught:
        load_spec(path, vocabulary)
    assert caught.value.field == key and message in caught.value.message


# ---------------------------------------------------------------------- figures


def _panel(result):
    from metaall.figures.forest import forest_panel

    return forest_panel(result)


def test_forest_of_proportions_structure():
    data, spec = metaall.Project(ROOT).load_analysis("cart_cr_cri")
    result = run_analysis(spec, data)
    panel = _panel(result)
    assert panel.favours is None and not panel.scale.null_line
    assert (panel.scale.lo, panel.scale.hi, panel.scale.log) == (0.0, 100.0, False)
    assert panel.graph_header.startswith("Proportion (%)\n")
    close(panel.reference, 100 * np.array(REF["cart_cr_cri"]["overall"]["proportion"][0]))
    rows = {r.cells.get("study"): r for r in panel.rows if r.cells}
    park = rows["Park et al. (NCT01044069)"]
    assert (park.cells["events_t"], park.cells["total_t"]) == ("44", "53")
    row = next(r for r in result.overall.rows if r.effect.study == "NCT01044069")
    half = 1.959963984540054 * np.sqrt(row.vi)
    bounds = 100 * back_transform("PLO", [row.yi, row.yi - half, row.yi + half])
    assert park.cells["effect"] == "{:.1f} [{:.1f}, {:.1f}]".format(*bounds)
    close([park.mark.est, park.mark.lo, park.mark.hi], bounds, rtol=1e-12)
    lines = [r.line for r in panel.rows if r.line]
    assert not any("Test for overall effect" in line for line in lines)
    assert any(n.startswith("Proportions (%) pooled as logits") for n in panel.notes)
    total = next(r for r in panel.rows if r.cells.get("study") == "Total (95% CI)")
    assert total.cells["total_t"] == "509" and total.cells["effect"] == "85.7 [81.3, 89.2]"


def test_forest_of_means_structure(tmp_path):
    data, spec = load_adhoc(write(tmp_path, "means.csv", MEANS))
    result = run_analysis(spec, data)
    panel = _panel(result)
    headers = [(c.key, c.header, c.group) for c in panel.left[1:7]]
    assert headers == [
        ("mean_t", "Mean", "Experimental"),
        ("sd_t", "SD", "Experimental"),
        ("total_t", "Total", "Experimental"),
        ("mean_c", "Mean", "Control"),
        ("sd_c", "SD", "Control"),
        ("total_c", "Total", "Control"),
    ]
    first = panel.rows[0].cells
    assert (first["mean_t"], first["sd_t"], first["total_t"]) == ("12.1", "3.4", "20")
    assert panel.favours == ("Favours experimental", "Favours control")
    assert panel.scale.null_line and not panel.scale.log
    assert panel.graph_header.startswith("Mean Difference\n")


@pytest.mark.parametrize("width", ["double", "single"])
@pytest.mark.parametrize("kind", ["proportions", "means"])
def test_forest_commands_draw_both_widths_byte_identically(tmp_path, kind, width):
    data = write(tmp_path, f"{kind}.csv", PROPORTIONS if kind == "proportions" else MEANS)
    outs = [tmp_path / f"{kind}_{width}_{i}.png" for i in (1, 2)]
    for out in outs:
        done = invoke("forest", "--data", str(data), "--width", width, "-o", str(out))
        assert done.exit_code == 0, done.output
    assert outs[0].read_bytes() == outs[1].read_bytes()
    from PIL import Image

    expected_mm = {"double": 175, "single": 85}[width]
    with Image.open(outs[0]) as image:
        assert abs(image.size[0] / 300 * 25.4 - expected_mm) < 1


def test_bubble_plot_draws_the_fitted_line_and_weight_sized_circles(tmp_path):
    from matplotlib.collections import PathCollection, PolyCollection

    from metaall.figures.bubble import bubble_plot

    data, spec = load_adhoc(write(tmp_path, "rates.csv", PROPORTIONS))
    result = run_analysis(with_options(spec, mods=("year",)), data)
    fig = bubble_plot(result, "year")
    ax = fig.axes[0]
    fit = result.regression.fit
    circles = next(c for c in ax.collections if isinstance(c, PathCollection))
    offsets = circles.get_offsets()
    close(offsets[:, 0], [r["year"] for r in REF["year_metareg"]["data"]], rtol=0)
    close(offsets[:, 1], 100 * back_transform("PLO", REF["year_metareg"]["yi"]), rtol=1e-12)
    sizes = circles.get_sizes()
    weights = 1 / (fit.vi + fit.tau2)
    close(sizes / sizes.max(), weights / weights.max(), rtol=1e-12)  # area ∝ weight
    (line,) = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    xs = np.asarray(line.get_xdata())
    close(line.get_ydata(), 100 * back_transform("PLO", fit.predict(xs).pred), rtol=1e-12)
    grid = np.array(REF["year_metareg"]["grid"])
    close(fit.predict(grid).ci_lb, REF["year_metareg"]["ci_lb"])
    band = next(c for c in ax.collections if isinstance(c, PolyCollection))
    lows = band.get_paths()[0].vertices[:, 1]
    assert lows.min() == pytest.approx(100 * back_transform("PLO", fit.predict(xs).ci_lb).min())
    assert ax.get_xlabel() == "Year" and ax.get_ylabel() == "Proportion (%)"
    notes = [t.get_text() for t in fig.texts]
    assert any("slope per year (logit scale) 0.0759" in t for t in notes)


@pytest.mark.parametrize("width", ["single", "double"])
def test_bubble_command_writes_deterministic_files(tmp_path, width):
    data = write(tmp_path, "rates.csv", PROPORTIONS)
    outs = [tmp_path / f"bubble_{i}.png" for i in (1, 2)]
    for out in outs:
        done = invoke(
            "bubble",
            "--data",
            str(data),
            "--mod",
            "year",
            "--width",
            width,
            "--labels",
            "-o",
            str(out),
        )
        assert done.exit_code == 0 and done.output == f"wrote {out}\n"
    assert outs[0].read_bytes() == outs[1].read_bytes()
    svg = tmp_path / "bubble.svg"
    assert invoke("bubble", "--data", str(data), "--mod", "year", "-o", str(svg)).exit_code == 0
    assert "Studies (area ∝ weight)" in svg.read_text(encoding="utf-8")


def test_bubble_of_a_categorical_moderator_is_a_usage_error(tmp_path):
    out = tmp_path / "b.png"
    result = invoke("bubble", "cart_cr_cri", "--mod", "costim_domain", "-o", str(out))
    assert result.exit_code == 2 and "needs a numeric moderator (year)" in result.output
    assert not out.exists()


# ------------------------------------------------------------------- properties


@settings(max_examples=max(10, settings.default.max_examples // 4))
@given(
    data=st.lists(
        st.integers(min_value=2, max_value=200).flatmap(
            lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
        ),
        min_size=2,
        max_size=8,
    ),
    measure=st.sampled_from(["PLO", "PAS", "PFT", "PLN", "PR"]),
)
def test_pooled_proportion_lies_between_the_study_proportions(data, measure):
    """A random-effects estimate is a weighted mean of the studies' transformed rates,
    and every back-transformation is monotone: the pooled rate lies between the
    studies' (each at its own size, as the forest shows them)."""
    xi, ni = zip(*data, strict=True)
    es = effect_sizes(measure=measure, xi=xi, ni=ni)
    ok = es.estimable
    if ok.sum() < 2:
        return
    res = metaall.fit(es.yi[ok], es.vi[ok], method="DL")
    sizes = np.array(ni)[ok]
    pooled = back_transform(measure, res.estimate, ni=sizes)
    if measure == "PFT":  # each study back-transformed at its own size
        studies = [back_transform("PFT", y, ni=[n]) for y, n in zip(es.yi[ok], sizes, strict=True)]
        studies = np.array(studies)
        slack = 0.02  # Miller's inverse at the harmonic mean is not the studies' inverse
    else:
        studies = back_transform(measure, es.yi[ok])
        slack = 1e-9
    assert studies.min() - slack <= pooled <= studies.max() + slack
    assert 0 <= pooled <= 1 or measure in ("PR", "PLN")


@settings(max_examples=max(10, settings.default.max_examples // 4))
@given(st.permutations(range(10)))
def test_meta_regression_does_not_depend_on_the_order_of_the_studies(order):
    ref = REF["cart_cr_cri"]
    order = list(order)
    yi, vi = np.array(ref["yi"])[order], np.array(ref["vi"])[order]
    costim = [ref["data"][i]["costim"] for i in order]
    from metaall.models.metareg import dummy_columns

    fit = meta_regression(yi, vi, dummy_columns(costim, "costim_domain"))
    close(fit.beta, ref["metareg"]["beta"])
    close(fit.QM, ref["metareg"]["QM"])


# ---------------------------------------------------- the shipped evidence (seed 002)

# seed 002 (002_946ab100fa682db4.txt), Table 2, columns 'CR/CRi rate' and 'MRD-CR rate'
# as printed: study -> (CR/CRi events, n, population), (MRD-CR events, n, population)
TABLE_2 = {
    "NCT01044069": ((44, 53, "all_treated"), (32, 48, "evaluable")),  # 83.0% (44/53), 66.7% (32/48)
    "NCT02028455": ((40, 43, "all_treated"), (40, 43, "all_treated")),  # 93.0% (40/43) twice
    "NCT02435849": ((61, 75, "all_treated"), (61, 75, "all_treated")),  # 81.3% (61/75) twice
    "NCT01593696": ((14, 20, "all_treated"), (12, 20, "all_treated")),  # 70.0%, 60.0% (12/20)
    "ChiCTR-llh-16008711": ((45, 49, "evaluable"), (43, 49, "evaluable")),  # of 51 treated
    "NCT01626495_NCT01029366": ((27, 30, "all_treated"), (22, 30, "all_treated")),
    "NCT01865617": ((45, 53, "all_treated"), (45, 53, "all_treated")),  # 84.9% (45/53) twice
    "NCT02965092_NCT03366350": ((51, 58, "all_treated"), (47, 58, "all_treated")),
    "NCT02772198": ((18, 20, "all_treated"), (11, 14, "evaluable")),  # 90.0%, 78.6% (11/14)
    "NCT03173417": ((102, 110, "all_treated"), (96, 110, "all_treated")),
    "NCT02735291": ((38, 47, "all_treated"), (37, 38, "responders")),  # 38/47, 97.4% (37/38)
    "NCT02315612": ((40, 57, "evaluable"), (35, 40, "responders")),  # CD22: '40/57 evaluable'
}


def test_rate_rows_are_seed_002_table_2_as_printed():
    data = metaall.data.load_extractions(ROOT / "extractions")
    rows = {(e.study, e.outcome): e for e in data.effects if e.comparison == "cart_single_arm"}
    assert len(rows) == 24
    for study, numbers in TABLE_2.items():
        for outcome, (events, n, population) in zip(
            ("response_cr_cri", "mrd_neg_cr"), numbers, strict=True
        ):
            e = rows[(study, outcome)]
            assert (e.events, e.n, e.population, e.kind) == (events, n, population, "proportion")
            assert (e.source, e.location, e.report) == (
                "002_946ab100fa682db4.txt",
                "Table 2",
                "secondary",
            )
            assert f"{events}/{n}" in e.source_row and e.timepoint == "best response"
            assert round(100 * events / n, 1) == pytest.approx(e.rate_t, abs=0.051)
            assert e.arm_c == "" and e.derivation.startswith(f"Population {population}")
    assert data.studies["NCT02315612"].car_target == "CD22"  # left out of the CD19 analyses


def test_rate_analyses_pool_what_evidence_md_says():
    cr = pooled_json("cart_cr_cri")
    mrd = pooled_json("cart_mrd_neg_cr")
    assert (cr["pooled"]["k"], mrd["pooled"]["k"]) == (10, 7)
    assert {g["name"]: len(g["studies"]) for g in cr["subgroups"]} == {"CD28": 3, "4-1BB": 7}
    assert {g["name"]: len(g["studies"]) for g in mrd["subgroups"]} == {"4-1BB": 6, "CD28": 1}
    shown = [round(100 * cr["pooled"]["proportion"][k], 1) for k in ("estimate", "ci_lb", "ci_ub")]
    assert shown == [85.7, 81.3, 89.2]
    shown = [round(100 * mrd["pooled"]["proportion"][k], 1) for k in ("estimate", "ci_lb", "ci_ub")]
    assert shown == [81.7, 74.8, 87.0]
    assert {x["study"] for x in cr["excluded"]} == {"ChiCTR-llh-16008711", "NCT02315612"}
    assert {x["study"] for x in mrd["excluded"]} == {
        "NCT01044069",
        "ChiCTR-llh-16008711",
        "NCT02772198",
        "NCT02735291",
        "NCT02315612",
    }


def test_pool_of_rates_with_meta_regression_loads_no_scipy_pandas_or_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\n"
        "from metaall.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    cli.main(['-C', {str(ROOT)!r}, 'pool', 'cart_cr_cri'], standalone_mode=False)\n"
        "assert 'Permutation p' in out.getvalue()\n"
        "print(sorted(m for m in ('scipy', 'pandas', 'matplotlib') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_mods_none_pools_without_the_specs_meta_regression():
    doc = pooled_json("cart_cr_cri", "--mods", "none", "--method", "bayes")
    assert "meta_regression" not in doc and doc["method"] == "bayes"
    bad = invoke("pool", "cart_cr_cri", "--method", "bayes")
    assert bad.exit_code == 2 and "'--mods none' pools without it" in bad.output


def test_records_csv_flattens_the_back_transformed_proportions():
    import csv
    import io

    rows = list(
        csv.DictReader(io.StringIO(invoke("pool", "cart_cr_cri", "--format", "records").output))
    )
    overall = next(r for r in rows if r["row"] == "overall")
    assert float(overall["proportion_estimate"]) == pytest.approx(
        REF["cart_cr_cri"]["overall"]["proportion"][0], rel=1e-6
    )
    park = next(r for r in rows if r["study"] == "NCT01044069")
    assert float(park["proportion_estimate"]) == pytest.approx(44 / 53, rel=1e-12)


def test_html_table_carries_the_coefficient_table():
    from metaall.reports.html import table_html
    from metaall.reports.table import result_table

    result = metaall.Project(ROOT).analysis("cart_cr_cri")
    html = table_html(result_table(result))
    assert '<table class="regression"><caption>Meta-regression on costim_domain' in html
    assert "<td>costim_domainCD28</td><td>-0.4635</td>" in html


def test_forest_of_generic_ratios_structure(tmp_path):
    data, spec = load_adhoc(write(tmp_path, "generic.csv", GENERIC))
    panel = _panel(run_analysis(spec, data))
    assert [c.header for c in panel.left[1:3]] == ["log[Generic Ratio]", "SE"]
    assert panel.scale.log and panel.scale.null == 1.0
    first = panel.rows[0].cells
    assert first["log"] == "\u22120.5108" and first["effect"] == "0.60 [0.30, 1.20]"
