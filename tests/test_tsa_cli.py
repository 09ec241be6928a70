"""``metaall tsa`` end to end (click's runner, on a copy of the shipped project): the
numbers of the numeric layer, the verdict in words, the tables, usage errors, and the
TSA in ``metaall add``'s and ``metaall run``'s before → after summaries."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_cli import ROOT, invoke

from metaall.sequential import required_information_size, trial_sequential_analysis

# relapse, subgroup cr (MRD-mixed), in publication order: Grupp 2014, then the undated
# (NCT03173417's whole CR cohort is not in it: its mrd_neg split is pooled instead)
CR = {
    "Grupp et al. 2014 (NCT01626495/NCT01029366)": (0, 3, 7, 24),
    "NCT02772198": (2, 14, 2, 4),
}
NULL_TRIALS = (  # five trials of 200 without an effect
    "study,events_t,n_t,events_c,n_c,year\n"
    "A,30,100,31,100,2001\nB,28,100,30,100,2003\nC,33,100,31,100,2005\n"
    "D,29,100,30,100,2007\nE,31,100,30,100,2009\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped review folder (extractions and specs), to edit."""
    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def tsa_json(project: Path, *args: str) -> dict:
    done = invoke(project, "tsa", *args, "--format", "json")
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def numeric_cr(trials: dict = CR, **settings):
    ai, n1i, ci, n2i = np.array(list(trials.values())).T
    return trial_sequential_analysis(
        ai, n1i, ci, n2i, measure="RR", method="REML", studies=list(trials), **settings
    )


def test_json_holds_the_numbers_of_the_numeric_layer(project):
    doc = tsa_json(project, "relapse", "--subgroup", "cr")
    expected = numeric_cr(rrr=0.25, futility="obrien-fleming")  # the spec's tsa:
    assert [t["trial"] for t in doc["trials"]] == list(CR)
    for key, name in (
        ("z", "zval"),
        ("fraction", "timing"),
        ("upper", "upper"),
        ("lower", "lower"),
        ("alpha_spent", "alpha_spent"),
        ("se", "se"),
        ("estimate", "estimate"),
    ):
        got = [np.nan if t[key] is None else t[key] for t in doc["trials"]]
        np.testing.assert_allclose(got, getattr(expected, name), rtol=1e-12, err_msg=key)
    np.testing.assert_allclose(
        [t["effect"] for t in doc["trials"]], np.exp(expected.estimate), rtol=1e-12
    )
    assert [t["accrued"] for t in doc["trials"]] == [27, 45]
    curve = expected.boundary_curve()
    assert [b["participants"] for b in doc["boundaries"]] == curve["participants"].tolist()
    assert [b["upper"] for b in doc["boundaries"]] == curve["upper"].tolist()
    # 45 of 983 participants: both looks spend no α (capped at 20), the RIS look is ±1.96
    assert [b["capped"] for b in doc["boundaries"]] == curve["capped"].tolist()
    assert curve["capped"].tolist() == [True, True, False]
    assert doc["information_size"]["participants"] == expected.ris == 983
    assert doc["information_size"]["control_risk"] == pytest.approx(9 / 28, rel=1e-15)
    assert doc["information_size"]["diversity_D2"] == 0.0  # τ² = 0: no adjustment
    assert doc["adjusted_ci"] == pytest.approx(np.exp(expected.adjusted_ci).tolist(), rel=1e-12)
    assert doc["verdict"] == {
        "conclusion": "inconclusive",
        "text": "inconclusive: 938 more participants needed (required information size 983, "
        "45 accrued)",
        "decided_at": None,
        "decided_at_participants": None,
        "information_size_reached": False,
        "more_participants": 938,
    }
    assert doc["settings"]["source"] == "spec" and doc["settings"]["rrr"] == 0.25


def test_text_gives_the_verdict_when_and_where_the_boundary_was_crossed(project):
    done = invoke(project, "tsa", "relapse")
    assert done.exit_code == 0, done.output
    out = done.output
    assert out.startswith("Trial sequential analysis: Relapse: consolidative allo-HSCT vs CAR-T")
    assert (
        "Verdict: firm evidence of benefit (monitoring boundary crossed at Zhao et al. 2020 "
        "(haplo-HSCT after CAR-T))\n"
        "Crossed: the monitoring boundary, at trial 3 (Zhao et al. 2020 (haplo-HSCT after "
        "CAR-T)) with 206 participants accrued (information fraction 0.447), Z = -4.36 "
        "(boundary -3.16).\n"
    ) in out
    assert (
        "Required information size: 461 participants to detect a risk ratio of 0.75 "
        "(α = 0.05 two-sided, power 80%, control-group risk 54.2%): 427 for a fixed-effect "
        "meta-analysis, × 1.079 for diversity D² = 0.07335\n"
    ) in out
    assert "declared in analyses/relapse.yaml (tsa:)" in out
    assert "Accrued: 449 participants, 97% of the required information size" in out
    assert "TSA-adjusted CI at the last look: RR 0.31 [0.22, 0.45] (conventional 95% CI " in out
    assert "6 without a stated year come last, in report order" in out
    row = next(line for line in out.splitlines() if line.startswith("Zhao et al. 2020"))
    assert re.search(r"2020 +122 +206 +0\.447 +0\.31 \[0\.18, 0\.52\] +-4\.36 +±3\.16", row)
    assert row.endswith("look, crossed: benefit")


def test_options_set_the_information_size(project):
    doc = tsa_json(
        project, "relapse", "--subgroup", "mrd_neg", "--rr", "0.8", "--control-risk", "0.4"
    )
    d2 = doc["information_size"]["diversity_D2"]
    assert doc["information_size"]["participants"] == (
        required_information_size(0.4, 0.8, d2=d2).participants
    )
    assert doc["settings"]["rr"] == 0.8 and doc["settings"]["rrr"] is None
    assert doc["settings"]["source"] == "spec and options"
    assert doc["control_risk_source"] == "given"


def test_csv_and_markdown_are_the_trial_table(project):
    out = invoke(project, "tsa", "relapse", "--subgroup", "cr", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["trial"] for r in rows] == list(CR)
    assert [r["accrued"] for r in rows] == ["27", "45"]
    assert float(rows[-1]["z"]) == pytest.approx(numeric_cr(rrr=0.25).zval[-1], rel=1e-12)
    md = invoke(project, "tsa", "relapse", "--subgroup", "cr", "--format", "markdown").output
    assert md.startswith("| trial | year | participants | accrued | fraction | effect |")
    assert md.count("\n") == 2 + len(CR)


def test_futile_by_the_futility_boundary_and_by_the_information_size(project, tmp_path):
    data = tmp_path / "null.csv"
    data.write_text(NULL_TRIALS)
    wedge = invoke(project, "tsa", "--data", str(data), "--rr", "0.8", "--futility", "pocock")
    assert wedge.exit_code == 0, wedge.output
    assert "Verdict: futile (futility boundary crossed at " in wedge.output
    reached = invoke(project, "tsa", "--data", str(data), "--rr", "0.5")
    assert (
        "Verdict: futile (required information size reached at B without crossing the "
        "monitoring boundary: an effect as large as anticipated is unlikely)\n"
        "Required information size reached at trial 2 (B) with 400 participants accrued"
    ) in reached.output
    assert "final look (RIS), decides: futility" in reached.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("relapse", "--rr", "0.8", "--or", "0.7"), "give one of --rr, --rrr, --or (got --rr and"),
        (("relapse", "--alpha", "2"), "Invalid value for '--alpha'"),
        (("relapse", "--rrr", "25"), "Invalid value for '--rrr'"),
        (("relapse", "--heterogeneity", "tau2"), "Invalid value for '--heterogeneity'"),
        (("relapse", "--spending", "linear"), "Invalid value for '--spending'"),
        (("relapse", "--side", "3"), "Invalid value for '--side'"),
        (("relapse", "--rr", "1"), "no effect: no information size exists"),
        (("relapse_preemptive",), "give --rr, --rrr or --or (or declare tsa:"),
        (("os", "--rr", "0.8"), "analysis 'os' pools hazard ratios, which carry none"),
        (("nosuch", "--rr", "0.8"), "no analysis 'nosuch'"),
        (("relapse_preemptive", "--rr", "0.99"), "no look: "),
        (("relapse", "--subgroup", "cr", "--rr", "0.99"), "no look: "),
        ((), "missing ANALYSIS"),
    ],
)
def test_bad_options_exit_2_with_one_line(project, args, message):
    done = invoke(project, "tsa", *args)
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert done.output.startswith("error: ") and done.output.count("\n") == 1


def test_a_bad_tsa_key_in_a_spec_is_one_line_exit_1(project):
    spec = project / "analyses" / "relapse.yaml"
    spec.write_text(spec.read_text().replace("alpha: 0.05", "alpha: 5"))
    line = next(i for i, s in enumerate(spec.read_text().splitlines(), 1) if "alpha: 5" in s)
    done = invoke(project, "tsa", "relapse")
    assert done.exit_code == 1
    assert done.output == f"error: {spec}:{line}: tsa.alpha: expected a number in (0, 1), got 5\n"


def test_help_has_examples(project):
    for command in ("tsa", "tsa-plot"):
        done = invoke(project, command, "--help")
        assert done.exit_code == 0 and f"metaall {command} relapse" in done.output


# ---------------------------------------------------------------- add and run

NEW_CR_TRIAL = [
    "add",
    *("--study", "NCT99999998", "--label", "Roe 2025", "--year", "2025"),
    *("--design", "prospective_cohort", "--disease", "all", "--car-target", "CD19"),
    *("--comparison", "hsct_vs_no_hsct_after_cart", "--outcome", "relapse"),
    *("--population", "cr", "--arm-t", "HSCT", "--arm-c", "no HSCT"),
    *("--events-t", "4", "--n-t", "40", "--events-c", "12", "--n-c", "38"),
    *("--timepoint", "last follow-up"),
    *("--source", "roe2025.pdf", "--location", "Table 1", "--source-row", "relapse"),
]


def test_add_reports_the_change_of_the_tsa_verdict(project):
    done = invoke(project, *NEW_CR_TRIAL)
    assert done.exit_code == 0, done.output
    before = (
        "inconclusive: 938 more participants needed (required information size 983, 45 accrued)"
    )
    lines = [line.strip() for line in done.output.splitlines()]
    change = next(line for line in lines if line.startswith("relapse [cr]: TSA "))
    assert change.startswith(f"relapse [cr]: TSA {before} -> ")
    after = change.split(" -> ")[1]
    doc = tsa_json(project, "relapse", "--subgroup", "cr")
    assert after == doc["verdict"]["text"] and doc["accrued"] == 45 + 78
    # Roe 2025 is dated: it comes before the undated NCT02772198
    grupp, undated = CR.items()
    trials = dict([grupp, ("Roe 2025", (4, 40, 12, 38)), undated])
    assert [t["trial"] for t in doc["trials"]] == list(trials)
    expected = numeric_cr(trials, rrr=0.25, futility="obrien-fleming")
    assert after == expected.verdict
    assert doc["information_size"]["participants"] == expected.ris != 983  # the RIS moved
    # the verdicts that did not change are not repeated: the total's still crosses at Zhao
    assert "relapse [all]: RR " in done.output
    assert not any(line.startswith("relapse [all]: TSA") for line in lines)
    assert not any(line.startswith("relapse [mrd_neg]: TSA") for line in lines)
    assert not any(line.startswith("os [") and "TSA" in line for line in lines)


def test_run_writes_tsa_tables_and_reports_verdict_changes(project):
    first = invoke(project, "run", "--out", "out", "--no-figures")
    assert first.exit_code == 0, first.output
    out = project / "out"
    for stem in ("relapse", "relapse_mrd_neg", "relapse_cr"):
        for ext in ("txt", "json", "csv", "md"):
            assert (out / f"{stem}_tsa.{ext}").is_file(), f"{stem}_tsa.{ext}"
    assert not list(out.glob("relapse_cr_cri*"))  # LuDaopei overlaps NCT03173417: empty
    assert not list(out.glob("os*_tsa.*"))  # os declares no TSA parameters
    assert not list(out.glob("relapse_preemptive*_tsa.*"))  # nor does relapse_preemptive
    doc = json.loads((out / "relapse_cr_tsa.json").read_text())
    assert doc == tsa_json(project, "relapse", "--subgroup", "cr")
    text = (out / "relapse_tsa.txt").read_text()
    assert text == invoke(project, "tsa", "relapse").output
    manifest = json.loads((out / ".metaall-run.json").read_text())
    assert manifest["summary"]["relapse"]["tsa"]["cr"] == doc["verdict"]["text"]
    assert "tsa" not in manifest["summary"]["os"]
    invoke(project, *NEW_CR_TRIAL)
    again = invoke(project, "run", "--out", "out", "--no-figures")
    assert f"relapse [cr]: TSA {doc['verdict']['text']} -> " in again.output


def test_a_tsa_that_cannot_be_done_is_explained_in_its_text_file(project):
    # one trial of 14 participants against an information size of 313,948
    spec = project / "analyses" / "relapse_preemptive.yaml"
    spec.write_text(spec.read_text() + "tsa:\n  rr: 0.99\n")
    done = invoke(project, "run", "--out", "out", "--no-figures")
    assert done.exit_code == 0, done.output
    for stem in ("relapse_preemptive", "relapse_preemptive_mrd_pos_before_cart"):
        text = (project / "out" / f"{stem}_tsa.txt").read_text()
        assert text == (
            "Trial sequential analysis not done: no look: the pooled trials hold less than 1% "
            "of the required information size (14 of 313,948 participants)\n"
        )
        assert not (project / "out" / f"{stem}_tsa.json").exists()
    assert (project / "out" / "relapse_tsa.json").is_file()  # the others are still done
