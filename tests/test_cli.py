"""The command line end to end (click's runner) on a copy of the shipped project."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import metaall
from metaall.cli import cli

ROOT = Path(__file__).resolve().parents[1]
ONE_LINE_ERROR = re.compile(r"^error: [^\n]+:\d+: [^:\n]+: [^\n]+\n$")

# The MRD-negative relapse counts the shipped relapse analysis pools (review Table 2 and
# 001; Hu et al. 2/21 vs 16/26 shares patients with 001 and is left out, see overlap groups)
MRD_NEG = {
    "NCT01044069": (6, 16, 10, 16),
    "NCT02028455": (2, 11, 16, 29),
    "NCT02435849": (0, 4, 22, 53),
    "NCT01593696": (0, 10, 2, 2),
    "NCT01865617": (3, 18, 19, 27),
    "ChiCTR1900023957": (11, 55, 44, 67),
    "NCT03173417": (7, 69, 13, 27),
}


def invoke(project: Path, *args: str):
    result = CliRunner().invoke(cli, ["-C", str(project), *args])
    assert "Traceback" not in result.output
    return result


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def pooled_json(project: Path, *args: str) -> dict:
    result = invoke(project, "pool", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# ---------------------------------------------------------------- pool


def test_pool_mrd_neg_text_reads_like_revman(project):
    result = invoke(project, "pool", "relapse", "--subgroup", "mrd_neg")
    assert result.exit_code == 0
    out = result.output
    assert "Subtotal mrd_neg (random effects, REML tau²)" in out
    # metafor: rma(measure="RR", ai, n1i, ci, n2i, method="REML") on the seven studies
    # (tests/fixtures/r/evidence.R)
    assert "0.31 [0.21, 0.45]" in out
    assert "Prediction interval: [0.19, 0.51]" in out
    # metafor: confint(rma(...)): tau² [0.0000, 1.4348], I² [0.0%, 85.3%] (Q-profile)
    assert (
        "tau² = 0.0285 [0.0000, 1.4348]; I² = 10.3% [0.0%, 85.3%]; H² = 1.11; "
        "Q = 5.78, df = 6, p = 0.45"
    ) in out
    assert "Test for overall effect: z = -6.01, p < 0.0001" in out
    assert "* NCT01593696: 0.5 added to each cell" in out
    assert "Hu et al. (NCT02965092/NCT03366350) [mrd_neg]: may share patients with Zhao" in out
    for line in (
        "measure: risk ratio (RR)",
        "tau2 estimator: restricted maximum likelihood",
        "ci method: Wald (z)",
        "I2: from tau² (metafor)",
        f"metaall version: {metaall.__version__}",
    ):
        assert line in out


def test_pool_json_agrees_with_the_engine(project):
    doc = pooled_json(project, "relapse", "--subgroup", "mrd_neg")
    assert [s["study"] for s in doc["studies"]] == list(MRD_NEG)
    ai, n1i, ci, n2i = np.array(list(MRD_NEG.values())).T
    es = metaall.effect_sizes(ai, n1i, ci, n2i, "RR", drop00=True)
    fit = metaall.fit(es.yi, es.vi, "REML")
    for key in (
        "estimate",
        "se",
        "ci_lb",
        "ci_ub",
        "pval",
        "tau2",
        "I2",
        "H2",
        "Q",
        "Q_pval",
        "pi_lb",
        "pi_ub",
    ):
        assert doc["pooled"][key] == pytest.approx(getattr(fit, key), rel=1e-12), key
    assert doc["pooled"]["Q_df"] == 6
    assert [s["weight"] for s in doc["studies"]] == pytest.approx(list(fit.weights), rel=1e-12)
    assert [s["events_t"] for s in doc["studies"]] == list(ai)
    assert {
        "analysis",
        "subgroup",
        "measure",
        "method",
        "test",
        "studies",
        "pooled",
        "excluded",
    } <= set(doc)
    assert (doc["measure"], doc["method"], doc["test"], doc["subgroup"]) == (
        "RR",
        "REML",
        "z",
        "mrd_neg",
    )


def test_pool_all_subgroups_with_test_for_differences(project):
    doc = pooled_json(project, "relapse")
    names = [g["name"] for g in doc["subgroups"]]
    assert names == ["mrd_neg", "cr"]  # cr_cri's one study shares patients with NCT03173417
    est = [g["pooled"]["estimate"] for g in doc["subgroups"]]
    se = [g["pooled"]["se"] for g in doc["subgroups"]]
    w = 1 / np.square(se)
    q = float(np.sum(w * (np.array(est) - np.sum(w * est) / np.sum(w)) ** 2))
    assert doc["subgroup_differences"]["Q_between"] == pytest.approx(q, rel=1e-12)
    assert doc["subgroup_differences"]["df"] == 1
    assert doc["pooled"]["k"] == 9
    text = invoke(project, "pool", "relapse").output
    assert "Test for subgroup differences: Q = " in text
    assert "Mixed-effects model, common tau²: QM = " in text


def test_pool_overrides_are_applied_and_reported(project):
    ai, n1i, ci, n2i = np.array(list(MRD_NEG.values())).T
    doc = pooled_json(
        project, "relapse", "--subgroup", "mrd_neg", "--method", "MH", "--measure", "OR"
    )
    mh = metaall.fit_mh(ai, n1i, ci, n2i, "OR")
    assert doc["pooled"]["estimate"] == pytest.approx(mh.estimate, rel=1e-12)
    assert doc["pooled"]["pi_lb"] is None  # no prediction interval for a common-effect model
    assert doc["method_details"]["model"] == "common effect, Mantel-Haenszel"
    text = invoke(
        project,
        "pool",
        "relapse",
        "--subgroup",
        "mrd_neg",
        "--method",
        "DL",
        "--ci",
        "hk",
        "--level",
        "0.9",
    ).output
    assert "Subtotal mrd_neg (random effects, DL tau²)" in text
    assert "ci method: Hartung-Knapp (t, k-1 df)" in text and "level: 0.9" in text
    es = metaall.effect_sizes(ai, n1i, ci, n2i, "RR", drop00=True)
    hk = metaall.fit(es.yi, es.vi, "DL", "knha", level=0.9)
    assert f"[{math.exp(hk.ci_lb):.2f}, {math.exp(hk.ci_ub):.2f}]" in text


def test_pool_records_keep_every_per_study_field(project):
    args = ("pool", "relapse", "--subgroup", "mrd_neg", "--format", "records")
    lines = invoke(project, *args).output.splitlines()
    assert lines[0].startswith("row,study,label,year,group,events_t,n_t,events_c,n_c,yi,vi,weight")
    assert lines[-1].startswith("overall,")
    assert sum(line.startswith("study,") for line in lines) == 7


def test_pool_csv_and_markdown_are_the_manuscript_table(project):
    args = ("pool", "relapse", "--subgroup", "mrd_neg")
    rows = list(csv.reader(io.StringIO(invoke(project, *args, "--format", "csv").output)))
    assert rows[0] == ["Study", "HSCT events/N", "No HSCT events/N", "Weight", "RR [95% CI]"]
    assert rows[1] == ["Park et al. (NCT01044069)", "6/16", "10/16", "22.2%", "0.60 [0.29, 1.25]"]
    assert rows[8][:5] == [
        "Subtotal mrd_neg (random effects, REML tau²)",
        "29/183",
        "126/221",
        "100.0%",
        "0.31 [0.21, 0.45]",
    ]
    assert rows[9][0] == "Prediction interval: [0.19, 0.51]"
    assert rows[-1][0] == "* NCT01593696: 0.5 added to each cell"
    md = invoke(project, *args, "--format", "markdown").output
    # Markdown escapes what could start a link or emphasis: [ ] * render as themselves
    assert md.startswith("| Study | HSCT events/N | No HSCT events/N | Weight | RR \\[95% CI\\] |")
    assert "| Zhao et al. 2020 (haplo-HSCT after CAR-T) | 11/55 | 44/67 | 34.7% |" in md
    whole = invoke(project, "pool", "relapse", "--format", "csv").output
    assert "Test for subgroup differences: Q = " in whole


def test_pool_docx_is_a_word_table_of_the_same_rows(project, tmp_path):
    docx = pytest.importorskip("docx")
    target = tmp_path / "relapse.docx"
    args = ("pool", "relapse", "--subgroup", "mrd_neg", "--format", "docx")
    assert invoke(project, *args).exit_code == 2  # binary: needs -o
    assert invoke(project, *args, "-o", str(target)).exit_code == 0
    table = docx.Document(str(target)).tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0][1] == "HSCT\nevents/N" and cells[1][4] == "0.60 [0.29, 1.25]"
    assert cells[8][0] == "Subtotal mrd_neg (random effects, REML tau²)"
    first = target.read_bytes()
    target.unlink()
    invoke(project, *args, "-o", str(target))
    assert target.read_bytes() == first  # deterministic
    again = invoke(project, *args, "-o", str(target))
    assert again.exit_code == 1 and "refusing to overwrite" in again.output


def test_pool_lists_studies_that_cannot_enter(project):
    out = invoke(project, "pool", "rfs").output
    assert "Not included in this analysis:" in out
    assert "car_target CD22 is outside this analysis (include.car_target: CD19)" in out
    assert "002_946ab100fa682db4.txt, Table 2" in out
    nrm = invoke(project, "pool", "nrm").output
    assert "Zhao et al. 2020 (haplo-HSCT after CAR-T) [mrd_neg]: no 2×2 counts reported" in nrm


def test_pool_not_estimable_study_shown_as_revman_does(project, tmp_path):
    data = tmp_path / "trials.csv"
    data.write_text("study,events_t,n_t,events_c,n_c\nA,0,10,0,12\nB,2,20,6,20\nC,1,15,5,14\n")
    out = invoke(project, "pool", "--data", str(data)).output
    assert re.search(r"A\s+0/10\s+0/12\s+-\s+Not estimable", out)
    assert "Not estimable (shown, weight 0):" in out
    doc = pooled_json(project, "--data", str(data))
    assert doc["pooled"]["k"] == 2 and doc["studies"][0]["estimable"] is False


def test_pool_adhoc_hazard_ratios(project, tmp_path):
    data = tmp_path / "hr.csv"
    data.write_text("study,hr,hr_lower,hr_upper\nX,0.5,0.3,0.9\nY,0.7,0.5,1.1\n")
    doc = pooled_json(project, "--data", str(data))
    es = metaall.hr_from_ci([0.5, 0.7], [0.3, 0.5], [0.9, 1.1])
    fit = metaall.fit(es.yi, es.vi)
    assert doc["measure"] == "HR" and doc["pooled"]["estimate"] == pytest.approx(fit.estimate)
    assert doc["studies"][0]["hr_lower"] == 0.3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pool", "nope"), "no analysis 'nope'"),
        (("pool", "relapse", "--subgroup", "zzz"), "has no subgroup 'zzz'; available: mrd_neg"),
        (("pool", "relapse", "--method", "Peto"), "Peto pools OR only, not risk ratio"),
        (("pool", "relapse", "--measure", "HR"), "measure HR needs hr data"),
        (("pool", "relapse", "--level", "95"), "Invalid value for '--level'"),
        (("pool", "relapse", "--method", "FE", "--ci", "hk"), "Hartung-Knapp needs a random"),
        (("pool",), "missing ANALYSIS"),
        (("sensitivity", "relapse"), "choose one of --leave-one-out"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(project, args, message):
    result = invoke(project, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1


def test_broken_extraction_is_one_line_exit_1(project):
    effects = project / "extractions" / "effects.csv"
    text = effects.read_text()
    effects.write_text(text.replace(",6,16,10,16,", ",6,16,17,16,", 1))
    result = invoke(project, "pool", "relapse", "--subgroup", "mrd_neg")
    assert result.exit_code == 1
    assert ONE_LINE_ERROR.match(result.output)
    assert "effects.csv:2: events_c: 17 events exceed n_c = 16" in result.output


def test_adhoc_bad_row_names_file_row_field(project, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("study,events_t,n_t,events_c,n_c\nA,3,10,2,12\nB,x,20,6,20\n")
    result = invoke(project, "pool", "--data", str(data))
    assert result.exit_code == 1
    assert result.output == f"error: {data}:3: events_t: expected a whole number, got 'x'\n"


# ---------------------------------------------------------------- list, validate


def test_list_shows_analyses_subgroups_and_counts(project):
    rows = json.loads(invoke(project, "list", "--format", "json").output)
    relapse = {r["subgroup"]: r["studies"] for r in rows if r["analysis"] == "relapse"}
    assert relapse == {"(all)": 9, "mrd_neg": 7, "cr_cri": 0, "cr": 2}
    text = invoke(project, "list").output
    assert re.search(r"relapse\s+\(all\)\s+RR\s+REML\s+9", text)


def test_validate_clean_and_broken(project):
    ok = invoke(project, "validate")
    assert ok.exit_code == 0 and ok.output.startswith("ok: 16 studies, 121 effects, 16 analyses")
    studies = project / "extractions" / "studies.csv"
    studies.write_text(studies.read_text().replace(",all,", ",leukaemia,", 2))
    bad = invoke(project, "validate")
    assert bad.exit_code == 1
    lines = bad.output.strip().splitlines()
    assert lines[-1] == "2 problem(s) found"
    assert all(
        "studies.csv:" in line and ": disease: unknown tag 'leukaemia'" in line
        for line in lines[:-1]
    )


# ---------------------------------------------------------------- add


def add_args(**fields: str) -> list[str]:
    """``metaall add`` arguments from column names (``events_t`` -> ``--events-t``)."""
    args = ["add"]
    for name, value in fields.items():
        args += ["--" + name.replace("_", "-"), value]
    return args


EFFECT = dict(
    comparison="hsct_vs_no_hsct_after_cart",
    outcome="relapse",
    population="mrd_neg",
    arm_t="CAR-T then allo-HSCT",
    arm_c="CAR-T alone",
    events_t="3",
    n_t="20",
    events_c="9",
    n_c="22",
    source="doe2026.pdf",
    location="Table 2",
    source_row="relapse",
    timepoint="last follow-up",
    report="primary",
)
NEW_STUDY = dict(
    study="NCT99999999",
    label="Doe 2026",
    year="2026",
    design="prospective_cohort",
    car_target="CD19",
)
NEW_TRIAL = add_args(**NEW_STUDY, disease="all", **EFFECT)


def test_add_appends_validates_and_reports_change(project):
    folder = project / "extractions"
    before = snapshot(folder)
    result = invoke(project, *NEW_TRIAL)
    assert result.exit_code == 0, result.output
    assert "added 1 effect(s) and study NCT99999999" in result.output
    assert "relapse [mrd_neg]: RR 0.31 [0.21, 0.45] (k = 7) -> " in result.output
    after = snapshot(folder)
    for name in ("effects.csv", "studies.csv"):
        assert after[name].startswith(before[name])  # old bytes untouched
        assert after[name].count(b"\n") == before[name].count(b"\n") + 1
    assert after["vocabulary.csv"] == before["vocabulary.csv"]
    doc = pooled_json(project, "relapse", "--subgroup", "mrd_neg")
    assert doc["studies"][-1]["study"] == "NCT99999999" and doc["pooled"]["k"] == 8


def test_invalid_or_duplicate_add_leaves_files_byte_identical(project):
    folder = project / "extractions"
    before = snapshot(folder)
    bad = list(NEW_TRIAL)
    bad[bad.index("--events-t") + 1] = "30"
    result = invoke(project, *bad)
    assert result.exit_code == 1
    assert (
        result.output
        == "error: " + str(folder / "effects.csv") + ":123: events_t: 30 events exceed n_t = 20\n"
    )
    assert snapshot(folder) == before
    dup = invoke(project, *add_args(study="NCT01044069", **EFFECT))
    assert dup.exit_code == 1 and "duplicate effect (NCT01044069, " in dup.output
    assert snapshot(folder) == before
    dry = invoke(project, *NEW_TRIAL, "--dry-run")
    assert dry.exit_code == 0 and dry.output.startswith("would add 1 effect(s)")
    assert snapshot(folder) == before


def test_add_from_csv_rows(project, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "study,comparison,outcome,population,arm_t,arm_c,hr,hr_lower,hr_upper,timepoint,"
        "source,location,source_row\n"
        "NCT01044069,hsct_vs_no_hsct_after_cart,os,cr,HSCT,no HSCT,0.6,0.3,1.2,last follow-up,"
        "x.pdf,Table 3,OS\n"
    )
    result = invoke(project, "add", "--from", str(rows))
    assert result.exit_code == 0, result.output
    assert "added 1 effect(s)" in result.output and "os [all]" in result.output


# ---------------------------------------------------------------- run


def test_run_writes_tables_and_reports_changes(project):
    first = invoke(project, "run", "--out", "out", "--no-figures")
    assert first.exit_code == 0 and "relapse: new analysis" in first.output
    out = project / "out"
    doc = json.loads((out / "relapse.json").read_text())
    assert doc["pooled"]["k"] == 9
    assert (out / "relapse.txt").read_text().startswith("Relapse: consolidative allo-HSCT")
    again = invoke(project, "run", "--out", "out", "--no-figures")
    assert "no change since the last run" in again.output
    invoke(project, *NEW_TRIAL)
    third = invoke(project, "run", "--out", "out", "--no-figures")
    assert "relapse [mrd_neg]: RR 0.31 [0.21, 0.45] (k = 7) -> " in third.output
    assert "relapse [all]: RR 0.31 [0.22, 0.44] (k = 9) -> " in third.output


def test_run_never_overwrites_a_users_file(project):
    out = project / "out"
    out.mkdir()
    (out / "relapse.txt").write_text("my notes")
    result = invoke(project, "run", "--out", "out", "--no-figures")
    assert result.exit_code == 1
    assert "was not written by metaall run; refusing to overwrite" in result.output
    assert (out / "relapse.txt").read_text() == "my notes"


# ---------------------------------------------------------------- bias, sensitivity


def _mrd_neg_effects():
    ai, n1i, ci, n2i = np.array(list(MRD_NEG.values())).T
    return metaall.effect_sizes(ai, n1i, ci, n2i, "RR", drop00=True)


def test_bias_warns_with_few_studies_and_matches_engine(project):
    text = invoke(project, "bias", "relapse", "--subgroup", "mrd_neg").output
    assert "Caution: only 7 studies" in text and "§13.3.5.4" in text
    doc = json.loads(
        invoke(project, "bias", "relapse", "--subgroup", "mrd_neg", "--format", "json").output
    )
    es = _mrd_neg_effects()
    with pytest.warns(metaall.FewStudiesWarning, match="fewer than 10 studies"):
        egger = metaall.egger_test(es.yi, es.vi)
    row = next(t for t in doc["tests"] if t["test"] == "Egger")
    assert row["value"] == pytest.approx(egger.tval) and row["pval"] == pytest.approx(egger.pval)
    tf = metaall.trim_and_fill(es.yi, es.vi, method="REML")
    assert doc["trimfill"]["k0"] == tf.k0 and doc["trimfill"]["estimate"] == pytest.approx(
        tf.estimate
    )


def test_sensitivity_views_match_engine(project):
    es = _mrd_neg_effects()
    fit = metaall.fit(es.yi, es.vi)
    loo = json.loads(
        invoke(
            project,
            "sensitivity",
            "relapse",
            "--subgroup",
            "mrd_neg",
            "--leave-one-out",
            "--format",
            "json",
        ).output
    )
    assert [r["effect"] for r in loo] == pytest.approx(np.exp(fit.leave_one_out().estimate))
    assert loo[0]["omitted"] == "Park et al. (NCT01044069)"
    cum = json.loads(
        invoke(
            project, "sensitivity", "relapse", "--cumulative", "--by", "year", "--format", "json"
        ).output
    )
    assert [r["year"] for r in cum][:4] == [2014, 2018, 2020, None]
    assert cum[-1]["k"] == 9
    inf = invoke(project, "sensitivity", "relapse", "--subgroup", "mrd_neg", "--influence").output
    infl = fit.influence()
    assert f"{infl.rstudent[0]:.3f}" in inf and "influential by metafor's rule" in inf


def test_every_command_has_help_with_an_example(project):
    for command in cli.commands:
        out = invoke(project, command, "--help").output
        assert "Example" in out, command
        # the examples keep their lines (click's \\b marker), one command per line
        examples = out.split("Example", 1)[1].split("Options:")[0]
        joined = examples.replace("\\\n", " ")  # shell continuation lines
        lines = [line.strip() for line in joined.splitlines()[1:] if line.strip()]
        assert lines and all(line.startswith("metaall ") for line in lines), command
        assert all(line.count("metaall ") == 1 for line in lines), command


def test_python_api_gives_the_cli_numbers(project):
    result = metaall.Project(project).analysis("relapse", "mrd_neg", method="DL", test="knha")
    doc = pooled_json(project, "relapse", "--subgroup", "mrd_neg", "--method", "DL", "--ci", "hk")
    assert result.overall.fit.ci_lb == pytest.approx(doc["pooled"]["ci_lb"], rel=1e-15)
    assert result.descriptions["mrd_neg"].startswith("Patients in MRD-negative CR")
    with pytest.raises(metaall.analysis.UnknownAnalysis, match="no analysis 'nope'"):
        metaall.Project(project).analysis("nope")


def test_analysis_result_as_dataframe(project):
    frame = metaall.Project(project).analysis("relapse", "mrd_neg").to_frame()
    assert list(frame["row"]) == ["study"] * 7 + ["overall"]
    doc = pooled_json(project, "relapse", "--subgroup", "mrd_neg")
    assert frame["estimate"].iloc[-1] == pytest.approx(doc["pooled"]["estimate"], rel=1e-15)
    assert str(frame["events_t"].dtype) == "Int64" and frame["events_t"].iloc[0] == 6
    assert frame["events_t"].isna().iloc[-1]  # the pooled row has no counts


def test_import_metaall_is_light():
    import subprocess
    import sys

    probe = (
        "import sys, metaall; heavy = ('scipy', 'pandas', 'matplotlib', 'statsmodels', 'click');"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_add_from_file_names_the_row_of_that_file(project, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "study,comparison,outcome,population,arm_t,arm_c,events_t,n_t,events_c,n_c,"
        "source,location,source_row\n"
        "NCT01044069,hsct_vs_no_hsct_after_cart,relapse,mrd_neg,a,b,30,10,1,10,x,y,z\n",
        encoding="utf-8",
    )
    out = invoke(project, "add", "--from", str(rows))
    assert out.exit_code == 1
    assert out.output == f"error: {rows}:2: events_t: 30 events exceed n_t = 10\n"


def test_add_warns_of_a_likely_duplicate(project):
    counts = dict(events_t="6", n_t="16", events_c="10", n_c="16")  # Park et al.'s
    args = add_args(**NEW_STUDY, disease="all", **{**EFFECT, **counts})
    result = invoke(project, *args, "--dry-run")
    assert result.exit_code == 0
    assert "warning: likely duplicate: NCT99999999: counts 6/16/10/16 repeat NCT01044069's" in (
        result.output
    )


def test_outside_a_review_folder_says_so_and_how_to_point_at_one(tmp_path):
    out = CliRunner().invoke(cli, ["-C", str(tmp_path), "pool", "relapse"])
    assert out.exit_code == 1
    assert "not a review folder: no extractions/ and no analyses/ here" in out.output
    assert "give -C DIR" in out.output
