"""Issue 14's evidence base: the numbers it added (against quotes from the source
documents, cited by document, table and row), the columns and rules it added (time
points, report, CAR construct, overlap groups, risk_of_bias.csv) with their exact
``file:row: field`` errors, and how an analysis picks its rows (one per study, its
time point, one study per overlap group)."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from metaall.analysis import run_analysis
from metaall.analysis.run import overlap_members
from metaall.data import load_extractions, load_specs, timepoints, validate_extractions
from metaall.data.model import ROB_DOMAINS
from tests.test_extractions import edit, find_line, first_error, get, read_rows, write_rows

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "extractions"
DATA = load_extractions(SHIPPED)
SPECS = load_specs(ROOT / "analyses", DATA.vocabulary)
HSCT = "hsct_vs_no_hsct_after_cart"
PH = "PhALL-MST-2020"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "extractions"
    shutil.copytree(SHIPPED, target)
    return target


def counts(effect) -> tuple:
    return (effect.events_t, effect.n_t, effect.events_c, effect.n_c)


# ------------------------------------------------------------------ numbers vs documents


@pytest.mark.parametrize(
    ("comparison", "outcome", "timepoint", "expected"),
    [
        # 000 Table 2 "2-year OS 14 (69) 10 (39) .018 1 (91) .012 3 (80) .492"
        ("allosct_vs_chemo_tki_ph_all", "os", "2 years", (10, 17, 3, 17, 0.018, 39, 80)),
        # 000 Table 2 "4-year OS 20 (56) 11 (31) .159 1 (91) .005 8 (36) .013"
        ("mst_vs_allosct_ph_all", "os", "4 years", (1, 11, 11, 17, 0.005, 91, 31)),
        # 000 Table 2 "2-year LFS 21 (53) 11 (33) .428 1 (91) .005 9 (41) .017"
        ("mst_vs_chemo_tki_ph_all", "lfs", "2 years", (1, 11, 9, 17, 0.017, 91, 41)),
        # 000 Table 2 "2-year relapse 12 (27) 3 (20) .226 1 (9) .429 8 (56) .025"
        ("mst_vs_chemo_tki_ph_all", "relapse", "2 years", (1, 11, 8, 17, 0.025, 9, 56)),
        # 000 Table 2 "4-year relapse 15 (33) 3 (20) .148 3 (28) .847 9 (67) .034"
        ("mst_vs_allosct_ph_all", "relapse", "4 years", (3, 11, 3, 17, 0.847, 28, 20)),
        # 000 Table 2 "1-year NRM 8 (18) 7 (41) .019 0 (0) .018 1 (6) .421"
        ("allosct_vs_chemo_tki_ph_all", "nrm", "1 year", (7, 17, 1, 17, 0.019, 41, 6)),
        # 000 Table 2 "Hematologic relapse, No. of Events (%) 18 (40) 3 (20) .148 6 (59) .585"
        ("mst_vs_allosct_ph_all", "relapse", "last follow-up", (6, 11, 3, 17, 0.585, None, None)),
    ],
)
def test_ph_all_counts_at_each_time_point(comparison, outcome, timepoint, expected):
    e = get(DATA, PH, comparison, outcome, "cr", "counts", timepoint)
    assert (*counts(e), e.p_value, e.rate_t, e.rate_c) == expected
    assert e.report == "primary" and e.location == "Table 2"


def test_ph_all_relapse_in_cmr_at_enrolment():
    # 000 Table 3 "From CMR to Relapse, n (%) 28 (65) 8 (53) 7 (64) 13 (76)",
    # "Within 3 months 5 (18) 3 (38) 0 (0) 2 (15)", "Within 6 months 8 (29) 3 (38) 2 (29) 3 (23)"
    def at(comparison: str, when: str) -> tuple:
        return counts(get(DATA, PH, comparison, "relapse_molecular", "cmr", "counts", when))

    assert at("allosct_vs_chemo_tki_ph_all", "3 months") == (3, 8, 2, 13)
    assert at("mst_vs_chemo_tki_ph_all", "3 months") == (0, 7, 2, 13)
    assert at("mst_vs_allosct_ph_all", "6 months") == (2, 7, 3, 8)
    e = get(DATA, PH, "mst_vs_chemo_tki_ph_all", "relapse_molecular", "cmr", "counts", "6 months")
    assert counts(e) == (2, 7, 3, 13) and e.p_value is None  # P .865 compares three groups


def test_pre_emptive_study_os_and_nrm_from_the_per_patient_table():
    # 004 Results: "Two patients died due to transplant-related toxic effects" (of the five
    # BCR-ABL-positive, all transplanted); Table 2 patient 9 "Relapse (death)"; 2-year OS 78.6%
    sid, population = "Lu-MRD-CART-2021", "mrd_pos_before_cart"
    os_ = get(DATA, sid, HSCT, "os", population, "counts")
    nrm = get(DATA, sid, HSCT, "nrm", population, "counts")
    assert counts(os_) == (2, 6, 1, 8) and counts(nrm) == (2, 6, 0, 8)
    assert "11/14 = 78.6%" in os_.derivation and "patient 9" in nrm.derivation
    assert round(100 * (14 - 3) / 14, 1) == 78.6


def test_aml_response_components():
    # 003 Table 2 "CRi 2 (7) 1 (6) 1.000" and "PR 1 (3) 2 (12) 0.606" (IA n = 30, allo-TLI n = 17)
    comparison, sid = "allotli_vs_ia_historical_aml", "ChiCTR-ONC-17011948"
    cri = get(DATA, sid, comparison, "response_cri", "all_treated", "counts", "after induction")
    pr = get(DATA, sid, comparison, "response_pr", "all_treated", "counts", "after induction")
    assert (*counts(cri), cri.p_value) == (1, 17, 2, 30, 1.0)
    assert (*counts(pr), pr.p_value) == (2, 17, 1, 30, 0.606)
    cr = get(DATA, sid, comparison, "response_cr", "all_treated", "counts", "after induction")
    overall = get(DATA, sid, comparison, "response", "all_treated", "counts", "after induction")
    assert cr.events_t + cri.events_t + pr.events_t == overall.events_t  # 13 + 1 + 2 = 16
    assert cr.events_c + cri.events_c + pr.events_c == overall.events_c  # 12 + 2 + 1 = 15
    # 003: "median follow-up time of 30.0 months" (study), "61.2 months" (historical)
    assert (cri.followup_t, cri.followup_c, cri.followup) == (
        "median 30.0 months (range 1.2-35.9)",
        "median 61.2 months (range 0.2-62.2)",
        "",
    )


def test_follow_up_of_001_belongs_to_the_transplanted_arm():
    # 001 Engraftment section: "Fifty-five patients who received haplo-HSCT ... The median
    # follow-up time was 613 days after CAR-T therapy (range 100-1403 days)"
    e = get(DATA, "ChiCTR1900023957", HSCT, "relapse", "mrd_neg", "counts")
    assert e.followup_t.startswith("median 613 days") and not e.followup and not e.followup_c
    rates = get(DATA, "ChiCTR1900023957", HSCT, "relapse", "mrd_neg", "hr", "2 years")
    # 001: "The 2-year cumulative incidence of relapse ... was 67.2% and 27.6%"
    assert (rates.rate_t, rates.rate_c, rates.hr) == (27.6, 67.2, None)


def test_populations_follow_the_arithmetic_of_the_review_table():
    # 002 Table 2: ELIANA "81.3% (61/75)" CR/CRi and "81.3% (61/75)" MRD-CR
    eliana = get(DATA, "NCT02435849", HSCT, "relapse", "mrd_neg", "counts")
    assert "81.3% (61/75) equals" in eliana.derivation
    # NCT03173417: "92.7% (102/110)", "87.3% (96/110)", "69 MRD-,6 MRD+"
    split = get(DATA, "NCT03173417", HSCT, "relapse", "mrd_neg", "counts")
    assert counts(split) == (7, 69, 13, 27) and "96 - 69 = 27" in split.derivation
    # NCT01626495: CR "90.0% (27/30)", MRD-CR "73.3% (22/30)", 3 transplanted: mixed
    assert get(DATA, "NCT01626495_NCT01029366", HSCT, "relapse", "cr", "counts")
    assert not [
        e
        for e in DATA.effects
        if e.comparison == "hsct_mrdneg_vs_no_hsct_after_cart" and e.has_counts
    ]
    secondary = {e.study for e in DATA.effects if e.report == "secondary"}
    assert len(secondary) == 12 and all(
        DATA.studies[s].reference.startswith("review") for s in secondary
    )


def test_car_constructs_and_overlap_groups():
    studies = DATA.studies
    # 002 Table 2 "CD22/4-1BB"; 004 "CD19-28 ζ CAR gene"; 001 "4-1BB costimulatory domain"
    assert (studies["NCT02315612"].car_target, studies["NCT02315612"].costim_domain) == (
        "CD22",
        "4-1BB",
    )
    assert studies["Lu-MRD-CART-2021"].costim_domain == "CD28"
    assert studies["ChiCTR1900023957"].costim_domain == "4-1BB"
    assert studies["PhALL-MST-2020"].car_target == ""  # no CAR-T in that study
    groups = {s.study: s.overlap_group for s in studies.values() if s.overlap_group}
    assert groups == {
        "NCT02965092_NCT03366350": "zhejiang_hu",
        "ChiCTR1900023957": "zhejiang_hu",
        "ChiCTR-llh-16008711": "ludaopei",
        "NCT03173417": "ludaopei",
    }
    assert all("Against:" in studies[s].overlap_note for s in groups)
    assert "CD28" in studies["ChiCTR1900023957"].note  # why 004 is not grouped with 001


# ------------------------------------------------------------------ risk of bias


def test_every_study_has_a_robins_i_assessment():
    rob = DATA.risk_of_bias
    assert set(rob) == set(DATA.studies)
    assert rob["Lu-MRD-CART-2021"].overall == "critical"
    assert rob["Lu-MRD-CART-2021"].judgement("confounding") == "critical"
    assert rob["NCT02435849"].judgement("missing_data") == "serious"  # "four others unknown"
    assert rob["ChiCTR1900023957"].serious_domains() == ("confounding", "selection")
    for assessment in rob.values():
        assert list(assessment.judgements) == [*ROB_DOMAINS, "overall"]
        for j in assessment.judgements.values():
            assert j.support and j.source and j.location
    guarantee = rob["NCT01865617"].judgements["confounding"].support
    assert "44-138 (median 70) days" in guarantee and "guarantee-time" in guarantee


ROB_CASES = [
    ({"study": "NCT0"}, "study", "unknown study 'NCT0' (not in studies.csv)"),
    (
        {"domain": "bias"},
        "domain",
        "'bias' is not one of: confounding, selection, classification, deviations, "
        "missing_data, measurement, reporting, overall",
    ),
    (
        {"judgement": "high"},
        "judgement",
        "'high' is not one of: low, moderate, serious, critical, no_information",
    ),
    ({"support": ""}, "support", "required, but empty"),
    ({"location": ""}, "location", "required, but empty"),
]


@pytest.mark.parametrize(("cells", "field", "message"), ROB_CASES)
def test_risk_of_bias_rule(data_dir: Path, cells: dict, field: str, message: str):
    path = data_dir / "risk_of_bias.csv"
    line = find_line(path, study="NCT02028455", domain="deviations")
    edit(path, line, **cells)
    assert first_error(data_dir) == f"{path}:{line}: {field}: {message}"


RULE = "ROBINS-I: overall at least the most severe domain, low only if every domain is low"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"overall": "moderate"}, "overall 'moderate' is less severe than confounding 'serious'"),
        (
            {"overall": "no_information"},
            "overall 'no_information' although confounding is 'serious'",
        ),
        (
            {
                d: "low"
                for d in (
                    "confounding",
                    "selection",
                    "classification",
                    "measurement",
                    "reporting",
                    "overall",
                )
            },
            "overall 'low' although deviations is 'no_information'",
        ),
    ],
)
def test_overall_judgement_follows_robins_i(data_dir: Path, changes: dict, message: str):
    path = data_dir / "risk_of_bias.csv"
    for domain, judgement in changes.items():
        edit(path, find_line(path, study="NCT02028455", domain=domain), judgement=judgement)
    line = find_line(path, study="NCT02028455", domain="overall")
    assert first_error(data_dir) == f"{path}:{line}: judgement: {message} ({RULE})"


def test_risk_of_bias_needs_every_domain_once(data_dir: Path):
    path = data_dir / "risk_of_bias.csv"
    rows = read_rows(path)
    first = find_line(path, study="NCT02028455", domain="confounding")
    dropped = find_line(path, study="NCT02028455", domain="reporting")
    write_rows(path, [*rows[: dropped - 1], *rows[dropped:]])
    message = "NCT02028455 has no judgement for: reporting (ROBINS-I needs all)"
    assert first_error(data_dir) == f"{path}:{first}: domain: {message}"
    rows = read_rows(path)
    write_rows(path, [*rows, rows[first - 1]])
    problems = [str(p) for p in validate_extractions(data_dir)]
    assert (
        f"{path}:{len(rows) + 1}: domain: duplicate judgement of NCT02028455 in "
        f"confounding; first at row {first}" in problems
    )


def test_risk_of_bias_file_is_optional(data_dir: Path):
    (data_dir / "risk_of_bias.csv").unlink()
    data = load_extractions(data_dir)
    assert dict(data.risk_of_bias) == {} and len(data.effects) == len(DATA.effects)


# ------------------------------------------------------------------ new columns, new rules

EFFECT_ROW = {"study": "NCT01044069", "comparison": HSCT, "outcome": "relapse"}
STUDY_ROW = {"study": "NCT02028455"}


@pytest.mark.parametrize(
    ("filename", "row", "cells", "field", "message"),
    [
        (
            "effects.csv",
            EFFECT_ROW,
            {"timepoint": "2 yrs"},
            "timepoint",
            "expected a time point like '2 years', '6 months', '100 days', 'last follow-up', "
            "'after induction' or 'best response', got '2 yrs'",
        ),
        (
            "effects.csv",
            EFFECT_ROW,
            {"report": "review"},
            "report",
            "'review' is not one of: primary, secondary",
        ),
        (
            "studies.csv",
            STUDY_ROW,
            {"car_target": "cd19"},
            "car_target",
            "expected an antigen like 'CD19' or 'CD19+CD22', got 'cd19'",
        ),
        (
            "studies.csv",
            STUDY_ROW,
            {"car_target": "", "costim_domain": "4-1BB"},
            "costim_domain",
            "a costimulatory domain needs its car_target",
        ),
        (
            "studies.csv",
            STUDY_ROW,
            {"costim_domain": "4-1BB / CD28"},
            "costim_domain",
            "expected a domain as printed, like '4-1BB' or 'CD28', got '4-1BB / CD28'",
        ),
        (
            "studies.csv",
            STUDY_ROW,
            {"overlap_group": "Seattle"},
            "overlap_group",
            "expected a group id of lower-case letters, digits and _, got 'Seattle'",
        ),
        (
            "studies.csv",
            STUDY_ROW,
            {"overlap_group": "seattle"},
            "overlap_note",
            "required with overlap_group: the evidence for and against",
        ),
        (
            "studies.csv",
            STUDY_ROW,
            {"overlap_group": "seattle", "overlap_note": "same city"},
            "overlap_group",
            "overlap group 'seattle' has only this study; a group needs two or more",
        ),
    ],
)
def test_new_column_rule(data_dir, filename, row, cells, field, message):
    path = data_dir / filename
    line = find_line(path, **row)
    edit(path, line, **cells)
    assert first_error(data_dir) == f"{path}:{line}: {field}: {message}"


def test_files_without_the_new_columns_still_load(data_dir: Path):
    new = {
        "car_target",
        "costim_domain",
        "overlap_group",
        "overlap_note",
        "followup_t",
        "followup_c",
        "report",
    }
    for name in ("studies.csv", "effects.csv"):
        path = data_dir / name
        rows = read_rows(path)
        keep = [i for i, column in enumerate(rows[0]) if column not in new]
        write_rows(path, [[row[i] for i in keep] for row in rows])
    data = load_extractions(data_dir)
    assert {e.report for e in data.effects} == {""}
    assert {s.overlap_group for s in data.studies.values()} == {""}


def test_time_points_have_one_spelling_and_a_default_order():
    assert timepoints.normalise(" 1  Years ") == "1 year"
    assert timepoints.normalise("24 month") == "24 months"
    assert timepoints.normalise("Last follow-up") == "last follow-up"
    ordered = sorted(
        ["2 years", "", "after induction", "6 months", "last follow-up", "4 years"],
        key=timepoints.order_key,
    )
    assert ordered == ["last follow-up", "4 years", "2 years", "6 months", "after induction", ""]
    assert timepoints.days("6 months") == pytest.approx(182.625)
    with pytest.raises(ValueError, match="got 'two years'"):
        timepoints.normalise("two years")


# ------------------------------------------------------------------ which rows an analysis pools


def test_relapse_pools_one_row_per_study_and_one_study_per_overlap_group():
    result = run_analysis(SPECS["relapse"], DATA)
    pooled = [(r.study.study, r.effect.population) for r in result.overall.rows]
    assert pooled == [
        ("NCT01044069", "mrd_neg"),
        ("NCT02028455", "mrd_neg"),
        ("NCT02435849", "mrd_neg"),
        ("NCT01593696", "mrd_neg"),
        ("NCT01626495_NCT01029366", "cr"),
        ("NCT01865617", "mrd_neg"),
        ("NCT02772198", "cr"),
        ("ChiCTR1900023957", "mrd_neg"),
        ("NCT03173417", "mrd_neg"),
    ]
    why = {(x.study.study, x.effect.population): x.reason for x in result.excluded}
    assert why[("NCT03173417", "cr")].startswith("the study enters once, with its mrd_neg row")
    assert "overlap group ludaopei" in why[("ChiCTR-llh-16008711", "cr_cri")]
    assert "primary report first" in why[("NCT02965092_NCT03366350", "mrd_neg")]
    assert why[("Lu-MRD-CART-2021", "mrd_pos_before_cart")] == (
        "population mrd_pos_before_cart is outside this analysis "
        "(include.population: mrd_neg, cr_cri, cr)"
    )


def test_overlap_rules_and_alternatives():
    spec = SPECS["relapse"]
    assert overlap_members(spec, DATA) == {
        "ludaopei": ["NCT03173417", "ChiCTR-llh-16008711"],  # both secondary: 96 > 45 patients
        "zhejiang_hu": ["ChiCTR1900023957", "NCT02965092_NCT03366350"],  # primary report
    }
    larger = replace(spec, overlap="larger")
    assert overlap_members(larger, DATA)["zhejiang_hu"][0] == "ChiCTR1900023957"  # 122 > 47
    swapped = run_analysis(spec, DATA, "mrd_neg", {"zhejiang_hu": "NCT02965092_NCT03366350"})
    studies = [r.study.study for r in swapped.overall.rows]
    assert "NCT02965092_NCT03366350" in studies and "ChiCTR1900023957" not in studies
    left = {x.study.study: x.reason for x in swapped.excluded}
    assert left["ChiCTR1900023957"].endswith("one study per group, as asked")
    with pytest.raises(ValueError, match="study 'NCT01044069' has no row that analysis"):
        run_analysis(spec, DATA, overlap_choice={"ludaopei": "NCT01044069"})


def test_a_spec_chooses_the_time_point():
    spec = SPECS["ph_all_mst_vs_chemo_relapse"]
    result = run_analysis(spec, DATA)
    (row,) = result.overall.rows
    assert (row.effect.timepoint, counts(row.effect)) == ("2 years", (1, 11, 8, 17))
    reasons = sorted(x.reason for x in result.excluded)
    assert reasons == [
        "time point 4 years; this analysis uses 2 years",
        "time point last follow-up; this analysis uses 2 years",
    ]
    default = run_analysis(replace(spec, timepoint=()), DATA)  # last follow-up first
    assert counts(default.overall.rows[0].effect) == (6, 11, 9, 17)
    assert [x.reason for x in default.excluded] == [
        "the study enters once, with its row at last follow-up"
    ] * 2
    four = run_analysis(replace(spec, timepoint=("4 years", "2 years")), DATA)
    assert counts(four.overall.rows[0].effect) == (3, 11, 9, 17)


def test_cd22_study_is_outside_the_cd19_analyses():
    result = run_analysis(SPECS["os"], DATA)
    assert "NCT02315612" not in {r.study.study for r in result.overall.rows}
    (outside,) = [x for x in result.excluded if x.study.study == "NCT02315612"]
    assert outside.reason == "car_target CD22 is outside this analysis (include.car_target: CD19)"


def test_a_subgroup_outside_the_analysis_is_refused():
    with pytest.raises(
        ValueError, match="has no subgroup 'mrd_pos_before_cart'; available: mrd_neg, cr_cri, cr"
    ):
        run_analysis(SPECS["relapse"], DATA, "mrd_pos_before_cart")
    empty = run_analysis(SPECS["relapse"], DATA, "cr_cri")  # its one study is excluded
    assert empty.overall.rows == () and len(empty.excluded) == 1


def test_every_shipped_spec_pools_at_least_one_study():
    for name, spec in SPECS.items():
        assert run_analysis(spec, DATA).overall.rows, name


# ------------------------------------------------------------------ against R metafor

REFERENCE = json.loads((ROOT / "tests/fixtures/r/evidence.json").read_text(encoding="utf-8"))
FIELDS = ("estimate", "se", "ci_lb", "ci_ub", "zval", "pval", "tau2", "I2", "H2", "Q", "Q_pval")


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    "case",
    REFERENCE["cases"],
    ids=[f"{c['name']}-{c['overlap_choice']}" for c in REFERENCE["cases"]],
)
def test_shipped_analyses_match_metafor(case):
    spec = SPECS[case["analysis"]]
    result = run_analysis(spec, DATA, case["subgroup"], case["overlap_choice"])
    pooled = {r.study.study: counts(r.effect) for r in result.overall.rows}
    columns = [_listed(case["input"][name]) for name in ("study", "ai", "n1i", "ci", "n2i")]
    assert pooled == {study: tuple(cells) for study, *cells in zip(*columns, strict=True)}
    fit, expected = result.overall.fit, case["expected"]
    assert fit.k == expected["k"]
    for field in FIELDS:
        want = expected[field]
        if field in ("tau2", "I2") and want == 0:
            assert getattr(fit, field) == pytest.approx(0, abs=1e-10), field
        else:
            assert getattr(fit, field) == pytest.approx(want, rel=1e-6, abs=1e-12), field
    if "pi_lb" in expected:
        assert (fit.pi_lb, fit.pi_ub) == pytest.approx((expected["pi_lb"], expected["pi_ub"]))


def test_subgroup_difference_of_relapse_matches_metafor():
    expected = REFERENCE["subgroup_test"]
    d = run_analysis(SPECS["relapse"], DATA).difference
    assert (d.Q, d.df, d.pval) == pytest.approx((expected["Q"], 1, expected["pval"]), rel=1e-6)
    assert (d.QM_common_tau2, d.QM_common_tau2_pval) == pytest.approx(
        (expected["QM"], expected["QM_pval"]), rel=1e-5
    )


def test_sensitivity_overlap_command(tmp_path: Path):
    from click.testing import CliRunner

    from metaall.cli import cli

    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, tmp_path / name)
    out = CliRunner().invoke(
        cli, ["-C", str(tmp_path), "sensitivity", "relapse", "--overlap", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [(r["overlap_group"], r["pooled"], r["instead_of"]) for r in rows] == [
        (None, None, None),
        ("ludaopei", "ChiCTR-llh-16008711", "NCT03173417"),
        ("zhejiang_hu", "NCT02965092_NCT03366350", "ChiCTR1900023957"),
    ]
    reference = {
        tuple(c["overlap_choice"].items()) if c["overlap_choice"] else (): c["expected"]
        for c in REFERENCE["cases"]
        if c["name"] == "relapse/all"
    }
    swapped = reference[(("ludaopei", "ChiCTR-llh-16008711"),)]
    assert rows[1]["effect"] == pytest.approx(math.exp(swapped["estimate"]), rel=1e-6)
    assert rows[0]["k"] == reference[()]["k"] == 9
    text = (
        CliRunner()
        .invoke(
            cli,
            ["-C", str(tmp_path), "sensitivity", "relapse", "--overlap", "--subgroup", "mrd_neg"],
        )
        .output
    )
    assert text.startswith("Overlapping cohorts: analysis 'relapse', subgroup mrd_neg")
    assert "ludaopei: LuDaopei (ChiCTR-llh-16008711) for NCT03173417" in text
    lone = CliRunner().invoke(cli, ["-C", str(tmp_path), "sensitivity", "relapse_hr", "--overlap"])
    assert "No overlap group has two studies in this analysis." in lone.output
