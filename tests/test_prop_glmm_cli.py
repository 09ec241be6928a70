"""The GLMM of single-arm proportions end to end: ``method: GLMM`` in a spec, ``metaall
pool/forest --method GLMM`` on the shipped CAR-T rates (against metafor,
fixtures/r/prop_glmm.json), the reports naming the model, the forest plot's header,
and the usage errors for a model of the other kind of data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

import metaall
from metaall.analysis import run_analysis
from tests.test_kinds import invoke, pooled_json

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "r" / "prop_glmm.json").read_text())
CASES = {c["name"]: c["expected"] for c in FIXTURE["cases"]}
INPUTS = {c["name"]: c["input"] for c in FIXTURE["cases"]}
LABEL = "binomial-normal GLMM for proportions, logistic with random study intercepts"


@pytest.mark.parametrize("name", ["cart_cr_cri", "cart_mrd_neg_cr"])
def test_pool_matches_metafor_overall_and_per_domain(name):
    doc = pooled_json(name, "--method", "GLMM", "--mods", "none")
    assert doc["method"] == "GLMM" and doc["measure"] == "PLO"
    assert doc["method_details"]["model"] == LABEL
    groups = {"overall": doc["pooled"]} | {g["name"]: g["pooled"] for g in doc["subgroups"]}
    for group, fit in groups.items():
        case = name if group == "overall" else f"{name}_{group}"
        if "error" in CASES[case]:  # one study: metafor stops, metaall fixes tau² at 0
            assert fit["k"] == 1 and fit["tau2"] == 0
            continue
        e = CASES[f"{case}_tight"]
        for key in ("estimate", "tau2"):
            assert fit[key] == pytest.approx(e[key], rel=1e-4, abs=1e-5), (case, key)
        for key in ("se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            assert fit[key] == pytest.approx(e[key], rel=1e-3), (case, key)
        shown = [fit["proportion"][key] for key in ("estimate", "ci_lb", "ci_ub")]
        p = e["proportion"]
        assert shown == pytest.approx([p["pred"], p["ci_lb"], p["ci_ub"]], rel=1e-3)
        assert fit["QE_lrt"] == pytest.approx(e["QE_lrt"], rel=1e-5)


def test_pool_text_csv_and_markdown_name_the_model():
    args = ("pool", "cart_cr_cri", "--method", "glmm", "--mods", "none")
    text = invoke(*args).output
    assert "86.4 [82.4, 89.6]" in text  # metafor: 86.40% (82.38 to 89.62)
    assert f"Total ({LABEL})" in text and "Subtotal CD28" in text
    assert "the model pools the raw counts" in text
    for fmt in ("csv", "markdown"):
        assert LABEL in invoke(*args, "--format", fmt).output


def test_spec_method_glmm(project):
    spec = project / "analyses" / "cart_cr_cri.yaml"
    text = spec.read_text().replace("method: REML", "method: GLMM")
    spec.write_text(re.sub(r"mods: .*\npermutations: .*\n", "", text))
    doc = pooled_json("cart_cr_cri", project=project)
    assert doc["method"] == "GLMM"
    assert doc["pooled"]["estimate"] == pytest.approx(
        CASES["cart_cr_cri_tight"]["estimate"], rel=1e-6
    )
    methods_text = invoke("methods", "cart_cr_cri", project=project).output
    assert "pooled with a binomial-normal GLMM for proportions" in methods_text
    assert "the GLMM used the raw counts" in methods_text and "Q-profile" not in methods_text


def test_sparse_file_keeps_zero_and_full_arms(tmp_path):
    data = tmp_path / "sparse.csv"
    inp = INPUTS["sparse"]  # 0/10, 10/10, 3/12, 1/5, 4/20, 2/9
    rows = zip("ABCDEF", inp["xi"], inp["ni"], strict=True)
    data.write_text("study,events,n\n" + "".join(f"{s},{x},{n}\n" for s, x, n in rows))
    doc = pooled_json("--data", str(data), "--measure", "PLO", "--method", "GLMM")
    e = CASES["sparse_tight"]
    assert doc["pooled"]["k"] == 6
    assert doc["pooled"]["estimate"] == pytest.approx(e["estimate"], rel=1e-6)
    assert doc["pooled"]["tau2"] == pytest.approx(e["tau2"], rel=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("cart_cr_cri", "--method", "CM.EL", "--mods", "none"),
            "single-arm proportions are pooled by inverse variance (REML, DL, FE, ...), "
            "--method bayes or, on the logit scale (--measure PLO), --method GLMM",
        ),
        (
            ("cart_cr_cri", "--method", "GLMM", "--measure", "PFT", "--mods", "none"),
            "the GLMM for proportions is the logistic model: use --measure PLO",
        ),
        (
            ("relapse", "--method", "GLMM"),
            "it is the model of single-arm proportions: for 2×2 counts use UM.FS, UM.RS, "
            "CM.EL, CM.AL",
        ),
        (("cart_cr_cri", "--method", "GLMM"), "'--mods none' pools without it"),
    ],
)
def test_usage_errors_say_what_to_use(args, message):
    result = invoke("pool", *args)
    assert result.exit_code == 2 and message in " ".join(result.output.split())


def test_forest_header_and_rows():
    from metaall.figures.forest import forest_panel

    data, spec = metaall.Project(ROOT).load_analysis("cart_cr_cri")
    result = run_analysis(metaall.analysis.with_options(spec, method="GLMM", mods=()), data)
    panel = forest_panel(result)
    assert panel.graph_header == "Proportion (%)\nGLMM, Random, 95% CI"
    assert (panel.scale.lo, panel.scale.hi, panel.scale.log) == (0.0, 100.0, False)
    assert panel.reference == pytest.approx(100 * CASES["cart_cr_cri"]["proportion"]["pred"], 1e-4)
    cells = {r.cells.get("study"): r.cells for r in panel.rows if r.cells}
    assert cells["Total (95% CI)"]["effect"] == "86.4 [82.4, 89.6]"
    assert cells["Subtotal (95% CI)"]["total_t"] in ("93", "416")
    assert any(f"Model: {LABEL}" in note for note in panel.notes)


def test_forest_command_draws_the_glmm(tmp_path):
    out = tmp_path / "glmm.png"
    result = invoke("forest", "cart_cr_cri", "--method", "GLMM", "-o", str(out))
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 1000
