"""Analysis specs: the shipped ones, the defaults, and every check with its exact message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from metaall import methods
from metaall.data import (
    AnalysisSpec,
    DataError,
    ZeroCells,
    check_specs_against,
    load_extractions,
    load_spec,
    load_specs,
    validate_specs,
)
from metaall.data.tsa import TSASettings

REPO = Path(__file__).resolve().parents[1]
DATA = load_extractions(REPO / "extractions")
VOCABULARY = DATA.vocabulary
KEYS = (
    "title, comparison, outcome, measure, method, test, level, zero_cells, subgroup_by, "
    "include, favours, arm_labels, order, prediction_interval, control_risks, risk_timepoint, "
    "tau_prior, mu_prior, timepoint, overlap, caution, tsa, mods, permutations"
)
FIELDS = "population, design, disease, country, car_target, costim_domain, report"
MINIMAL = "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\nmeasure: RR\n"


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_spec(path, VOCABULARY)
    return str(caught.value)


# ------------------------------------------------------------------ shipped specs


def test_shipped_specs_load_and_select_poolable_effects() -> None:
    specs = load_specs(REPO / "analyses", VOCABULARY)
    assert {"relapse", "relapse_hr", "os", "lfs"} <= specs.keys()
    assert len(specs) == 16
    assert validate_specs(REPO / "analyses", VOCABULARY) == []
    assert check_specs_against(specs, DATA) == []


def test_relapse_spec_is_the_primary_analysis() -> None:
    spec = load_specs(REPO / "analyses", VOCABULARY)["relapse"]
    assert spec == AnalysisSpec(
        name="relapse",
        title="Relapse: consolidative allo-HSCT vs CAR-T alone",
        comparison="hsct_vs_no_hsct_after_cart",
        outcome="relapse",
        measure="RR",
        method="REML",
        test="z",
        level=0.95,
        zero_cells=ZeroCells(add=0.5, to="only0", drop00=True),
        subgroup_by="population",
        include={
            "disease": ("all",),
            "population": ("mrd_neg", "cr_cri", "cr"),
            "car_target": ("CD19",),
        },
        favours=("Favours HSCT", "Favours no HSCT"),
        arm_labels=("HSCT", "No HSCT"),
        order="spec",
        prediction_interval="metafor",
        timepoint=("last follow-up",),
        overlap="primary",
        caution=spec.caution,
        tsa=TSASettings(
            rrr=0.25,
            alpha=0.05,
            beta=0.2,
            heterogeneity="d2",
            spending="obrien-fleming",
            futility="obrien-fleming",
        ),
        path=str(REPO / "analyses" / "relapse.yaml"),
    )
    assert spec.caution.startswith("The total pools MRD-negative (mrd_neg) and MRD-mixed")
    populations = {effect.population for effect in spec.select(DATA) if effect.has_counts}
    assert populations == {"mrd_neg", "cr_cri", "cr"}  # pre-emptive CAR-T left out
    assert "ChiCTR-ONC-17011948" not in {effect.study for effect in spec.select(DATA)}


@pytest.mark.parametrize("name", ["relapse_hr", "os", "lfs"])
def test_hazard_ratio_specs(name: str) -> None:
    spec = load_specs(REPO / "analyses", VOCABULARY)[name]
    assert (spec.measure, spec.data_kind, spec.comparison) == (
        "HR",
        "hr",
        "hsct_vs_no_hsct_after_cart",
    )
    assert spec.outcome == name.removesuffix("_hr")


def test_every_shipped_spec_states_the_analysis_explicitly() -> None:
    for path in sorted((REPO / "analyses").glob("*.yaml")):
        keys = yaml.safe_load(path.read_text(encoding="utf-8")).keys()
        explicit = {"measure", "method", "test", "zero_cells", "favours", "timepoint", "overlap"}
        if methods.measure(yaml.safe_load(path.read_text(encoding="utf-8"))["measure"]).proportion:
            explicit -= {"favours"}  # a single-arm rate favours no arm
        assert explicit <= keys, path.name


# ------------------------------------------------------------------ defaults


def test_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL, "minimal.yaml"), VOCABULARY)
    assert (spec.name, spec.title, spec.method, spec.test, spec.level) == (
        "minimal",
        "minimal",
        "REML",
        "z",
        0.95,
    )
    assert spec.zero_cells == ZeroCells(0.5, "only0", True)
    assert (spec.subgroup_by, dict(spec.include), spec.order) == ("population", {}, "spec")
    assert spec.prediction_interval == "metafor" and methods.method(spec.method).random_effects
    assert (spec.timepoint, spec.overlap, spec.caution) == ((), "primary", "")


def test_control_risks_and_their_timepoint(tmp_path: Path) -> None:
    text = MINIMAL + "control_risks: [0.3, 0.5]\nrisk_timepoint: 2 years\n"
    spec = load_spec(write(tmp_path, text), VOCABULARY)
    assert (spec.control_risks, spec.risk_timepoint) == ((0.3, 0.5), "2 years")
    bad = write(tmp_path, MINIMAL + "control_risks: [30]\n", "bad.yaml")
    assert error_of(bad) == f"{bad}:4: control_risks: expected a number in (0, 1), got 30"


def test_time_points_are_read_in_their_canonical_spelling(tmp_path: Path) -> None:
    text = MINIMAL + "timepoint: [2 Years, 1 years, Last  follow-up]\n"
    spec = load_spec(write(tmp_path, text), VOCABULARY)
    assert spec.timepoint == ("2 years", "1 year", "last follow-up")
    single = load_spec(write(tmp_path, MINIMAL + "timepoint: 6 months\n"), VOCABULARY)
    assert single.timepoint == ("6 months",)


def test_subgroups_can_be_switched_off(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL + "subgroup_by: null\n"), VOCABULARY)
    assert spec.subgroup_by is None


# ------------------------------------------------------------------ errors

CASES = [
    ("methd: REML\n", 4, "methd", f"unknown key; allowed: {KEYS}"),
    (
        "method: remll\n",
        4,
        "method",
        f"unknown method 'remll'; use one of {', '.join(methods.names('method'))}",
    ),
    ("test: t\n", 4, "test", "unknown test 't'; use one of z, knha"),
    ("method: Peto\n", 4, "method", "Peto pools OR only, not risk ratio (RR)"),
    (
        "method: FE\ntest: knha\n",
        5,
        "test",
        "Hartung-Knapp needs a random-effects method, not common effect, inverse variance",
    ),
    ("level: 95\n", 4, "level", "expected a number in (0, 1), got 95"),
    ("level: true\n", 4, "level", "expected a number in (0, 1), got True"),
    (
        "zero_cells:\n  add: 0.5\n  to: zero\n",
        6,
        "zero_cells.to",
        "'zero' is not one of: only0, all, if0all, none",
    ),
    ("zero_cells:\n  ad: 0.5\n", 5, "zero_cells.ad", "unknown key; allowed: add, to, drop00"),
    ("zero_cells:\n  add: -1\n", 5, "zero_cells.add", "expected a number in [0, inf], got -1"),
    (
        "zero_cells:\n  drop00: maybe\n",
        5,
        "zero_cells.drop00",
        "expected true or false, got 'maybe'",
    ),
    ("zero_cells: 0.5\n", 4, "zero_cells", "expected a mapping with add, to, drop00"),
    (
        "subgroup_by: study\n",
        4,
        "subgroup_by",
        f"'study' is not one of: {FIELDS}",
    ),
    (
        "include:\n  arm: [x]\n",
        5,
        "include.arm",
        f"'arm' is not one of: study, {FIELDS}",
    ),
    ("include:\n  disease: all\n", 5, "include.disease", "expected a non-empty list of values"),
    (
        "include:\n  population: [mrd_neg, MRD+]\n",
        5,
        "include.population",
        "unknown population tag 'MRD+'; allowed: mrd_neg, cr_cri, cr, mrd_pos_before_cart, "
        "hsct_after_cart, all_treated, cmr, evaluable, responders",
    ),
    (
        "include:\n  report: [review]\n",
        5,
        "include.report",
        "'review' is not one of: primary, secondary",
    ),
    (
        "timepoint: [2 yrs]\n",
        4,
        "timepoint",
        "expected a time point like '2 years', '6 months', '100 days', 'last follow-up', "
        "'after induction' or 'best response', got '2 yrs'",
    ),
    ("timepoint: [2 years, 2 year]\n", 4, "timepoint", "'2 year' is listed twice"),
    ("timepoint: []\n", 4, "timepoint", "expected a time point or a list of them, e.g. [2 years]"),
    ("timepoint: [2]\n", 4, "timepoint", "expected a time point, got 2"),
    ("overlap: all\n", 4, "overlap", "'all' is not one of: primary, larger"),
    ("caution: ''\n", 4, "caution", "expected non-empty text"),
    (
        "favours: [Favours HSCT]\n",
        4,
        "favours",
        "expected a list of two labels, e.g. [Favours A, Favours B]",
    ),
    ("arm_labels: [HSCT, '']\n", 4, "arm_labels", "expected non-empty text"),
    (
        "order: alphabetical\n",
        4,
        "order",
        "'alphabetical' is not one of: spec, year, weight, effect",
    ),
    (
        "prediction_interval: 1\n",
        4,
        "prediction_interval",
        "unknown prediction interval 1; use one of metafor, higgins",
    ),
    ("title: ''\n", 4, "title", "expected non-empty text"),
    ("measure: HR\n", 4, "measure", "duplicate key"),
]


@pytest.mark.parametrize(("extra", "line", "key", "message"), CASES)
def test_spec_error(tmp_path: Path, extra: str, line: int, key: str, message: str) -> None:
    path = write(tmp_path, MINIMAL + extra)
    assert error_of(path) == f"{path}:{line}: {key}: {message}"


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (
            "comparison: hsct_vs_nothing\noutcome: relapse\nmeasure: RR\n",
            1,
            "comparison",
            "unknown comparison tag 'hsct_vs_nothing'; allowed: "
            + ", ".join(VOCABULARY.allowed("comparison")),
        ),
        (
            "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\nmeasure: SMR\n",
            3,
            "measure",
            "unknown measure 'SMR'; use one of RR, OR, RD, HR, PR, PLN, PLO, PAS, PFT, MD, SMD, "
            "ROM, GEN, GENR",
        ),
        (
            "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\nmeasure: HR\nmethod: MH\n",
            4,
            "method",
            "Mantel-Haenszel pools RR, OR, RD only, not hazard ratio (HR)",
        ),
        (
            "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\n",
            0,
            "measure",
            "required key missing",
        ),
        ("- relapse\n- os\n", 1, "spec", "expected a mapping of keys (key: value)"),
        ("", 1, "spec", "expected a mapping of keys (key: value)"),
    ],
)
def test_spec_error_whole_file(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}:{line}: {key}: {message}"


def test_broken_yaml_names_line_and_problem(tmp_path: Path) -> None:
    # libyaml and the pure-Python parser word the problem differently
    path = write(tmp_path, "comparison: [unclosed\n")
    message = error_of(path)
    assert message.startswith(f"{path}:2: yaml: not valid YAML: ")
    assert "expected ',' or ']'" in message


def test_yaml_is_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    text = MINIMAL + f'title: !!python/object/apply:os.system ["touch {marker}"]\n'
    path = write(tmp_path, text)
    assert error_of(path) == (
        f"{path}:4: yaml: not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'"
    )
    assert not marker.exists()


def test_mh_and_peto_fit_their_measures(tmp_path: Path) -> None:
    mh = load_spec(write(tmp_path, MINIMAL + "method: MH\n", "mh.yaml"), VOCABULARY)
    peto = MINIMAL.replace("RR", "OR") + "method: Peto\n"
    assert (mh.method, methods.method(mh.method).random_effects) == ("MH", False)
    assert load_spec(write(tmp_path, peto, "peto.yaml"), VOCABULARY).method == "Peto"


def test_validate_specs_reports_one_problem_per_file(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "good.yaml")
    bad = write(tmp_path, MINIMAL + "level: 2\n", "bad.yaml")
    worse = write(tmp_path, MINIMAL + "colour: red\n", "worse.yaml")
    problems = [str(err) for err in validate_specs(tmp_path, VOCABULARY)]
    assert problems == [
        f"{bad}:4: level: expected a number in (0, 1), got 2",
        f"{worse}:4: colour: unknown key; allowed: {KEYS}",
    ]
    with pytest.raises(DataError):
        load_specs(tmp_path, VOCABULARY)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_specs(tmp_path / "nowhere", VOCABULARY)
    assert str(caught.value) == f"{tmp_path / 'nowhere'}:0: directory: no such directory"


def test_check_against_data(tmp_path: Path) -> None:
    unknown = write(tmp_path, MINIMAL + "include:\n  study: [NCT00000000]\n", "unknown.yaml")
    no_counts = write(tmp_path, MINIMAL.replace("relapse", "efs"), "efs_rr.yaml")
    specs = load_specs(tmp_path, VOCABULARY)
    problems = [str(err) for err in check_specs_against(specs, DATA)]
    assert problems == [
        f"{no_counts}:0: measure: no 2×2 counts for hsct_vs_no_hsct_after_cart / efs",
        f"{unknown}:0: include.study: unknown study 'NCT00000000'",
        f"{unknown}:0: measure: no 2×2 counts for hsct_vs_no_hsct_after_cart / relapse",
    ]
