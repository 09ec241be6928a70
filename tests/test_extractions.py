"""The shipped evidence base, the CSV reader and every validation rule of the loader.

Broken copies are made in tmp_path from the shipped files, one rule at a time, and the
exact one-line message (file, spreadsheet row, field) is asserted.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime
import pickle
import shutil
from pathlib import Path

import pytest

from metaall.data import (
    DataError,
    Effect,
    load_extractions,
    read_csv,
    validate_extractions,
)

SHIPPED = Path(__file__).resolve().parents[1] / "extractions"


# ------------------------------------------------------------------ helpers


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "extractions"
    shutil.copytree(SHIPPED, target)
    return target


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]], **options: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n", **options).writerows(rows)


def find_line(path: Path, **match: str) -> int:
    """Spreadsheet row (header = 1) of the first row whose columns equal ``match``."""
    rows = read_rows(path)
    header = rows[0]
    for line, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, row, strict=False))
        if all(cells.get(name) == value for name, value in match.items()):
            return line
    raise AssertionError(f"no row {match} in {path}")


def edit(path: Path, line: int, **cells: str) -> None:
    rows = read_rows(path)
    for name, value in cells.items():
        rows[line - 1][rows[0].index(name)] = value
    write_rows(path, rows)


def first_error(directory: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_extractions(directory)
    return str(caught.value)


def get(
    data,
    study: str,
    comparison: str,
    outcome: str,
    population: str,
    kind: str,
    timepoint: str = "last follow-up",
) -> Effect:
    key = (study, comparison, outcome, population, timepoint, kind)
    matches = [e for e in data.effects if e.key == key]
    assert len(matches) == 1, matches
    return matches[0]


HSCT = "hsct_vs_no_hsct_after_cart"
COUNTS_ROW = {"study": "NCT01044069", "comparison": HSCT, "outcome": "relapse"}
HR_ROW = {"study": "ChiCTR1900023957", "comparison": HSCT, "outcome": "lfs"}
HR_P_ROW = {"study": "NCT02735291", "comparison": HSCT, "outcome": "os"}


# ------------------------------------------------------------------ shipped data


def test_shipped_extractions_are_valid() -> None:
    assert validate_extractions(SHIPPED) == []
    data = load_extractions(SHIPPED)
    assert len(data.studies) == 16
    assert len(data.effects) == 121
    assert {effect.study for effect in data.effects} == set(data.studies)
    assert all(effect.source and effect.location and effect.source_row for effect in data.effects)
    assert all(effect.report in ("primary", "secondary") for effect in data.effects)
    assert all(effect.timepoint for effect in data.effects if effect.has_counts)


def test_every_tag_in_use_is_described() -> None:
    data = load_extractions(SHIPPED)
    for effect in data.effects:
        for name in ("comparison", "outcome", "population"):
            assert data.vocabulary.describe(name, getattr(effect, name))
    assert data.vocabulary.has("disease", "aml_mds")
    assert not data.vocabulary.has("disease", "cll")


def test_table2_counts_of_the_review() -> None:
    data = load_extractions(SHIPPED)

    def counts(study: str, population: str) -> tuple[int | None, ...]:
        e = get(data, study, HSCT, "relapse", population, "counts")
        return (e.events_t, e.n_t, e.events_c, e.n_c)

    # 002 Table 2: "Relapse rate 37.5% (6/16) Relapse rate 62.5% (10/16)"
    assert counts("NCT01044069", "mrd_neg") == (6, 16, 10, 16)
    # 002 Table 2: "Relapse rate 18.1% (2/11) Relapse rate 55.2% (16/29)"
    assert counts("NCT02028455", "mrd_neg") == (2, 11, 16, 29)
    # 002 Table 2: "Relapse rate 0.0% (0/4), four others with unknown status" / "41.5% (22/53)"
    # (mrd_neg: "CR/CRi rate 81.3% (61/75)" = "MRD-CR rate 81.3% (61/75)")
    assert counts("NCT02435849", "mrd_neg") == (0, 4, 22, 53)
    # 002 Table 2: "Relapse rate 0.0%, (0/10) Relapse rate 100.0% (2/2)"
    assert counts("NCT01593696", "mrd_neg") == (0, 10, 2, 2)
    # 002 Table 2: "relapse rate 7.4% (2/27) relapse rate 50.0% (9/18)"
    assert counts("ChiCTR-llh-16008711", "cr_cri") == (2, 27, 9, 18)
    # 002 Table 2: "Relapse rate 13.3% (10/75) Relapse rate 48.1% (13/27)"
    assert counts("NCT03173417", "cr") == (10, 75, 13, 27)
    # 002 Table 2: "10.1% (7/69) MRD-CR allo-HSCT, ... 48.1% (13/27) CRA-T alone patients",
    # the CAR-T alone arm MRD-negative by the row's arithmetic (96 MRD-CR - 69 = 27)
    assert counts("NCT03173417", "mrd_neg") == (7, 69, 13, 27)
    # 002 Table 2: "10.1% (7/69) MRD-CR allo-HSCT, 50.0% (3/6)MRD+ CR allo-HSCT"
    split = get(
        data,
        "NCT03173417",
        "mrd_pos_vs_mrd_neg_before_hsct",
        "relapse",
        "hsct_after_cart",
        "counts",
    )
    assert (split.events_t, split.n_t, split.events_c, split.n_c) == (3, 6, 7, 69)


def test_table2_hazard_ratios_and_p_values() -> None:
    data = load_extractions(SHIPPED)
    # 002 Table 2: "allo-HSCT vs. no allo-HSCT: OS HR 0.187, P= 0.105; RFS HR 0.533, P= 0.285"
    os_ = get(data, "NCT02735291", HSCT, "os", "cr", "hr")
    assert (os_.hr, os_.hr_lower, os_.p_value) == (0.187, None, 0.105)
    assert get(data, "NCT02735291", HSCT, "rfs", "cr", "hr").hr == 0.533
    # 002 Table 2: "very favorably associated with RFS (P= 0.0083) and EFS (P= 0.016)"
    rfs = get(data, "NCT02315612", HSCT, "rfs", "cr", "hr")
    assert (rfs.hr, rfs.p_value) == (None, 0.0083)
    assert not rfs.has_hr and os_.has_hr


def test_haplo_hsct_after_cart_study() -> None:
    data = load_extractions(SHIPPED)
    sid = "ChiCTR1900023957"
    # 001 Results: "long LFS (HR: 0.244, 95% CI: 0.136-0.437; P < 0.001)"
    lfs = get(data, sid, HSCT, "lfs", "mrd_neg", "hr")
    assert (lfs.hr, lfs.hr_lower, lfs.hr_upper, lfs.p_value) == (0.244, 0.136, 0.437, None)
    assert "multivariable" in lfs.hr_model
    # 001 Results: "low cumulative incidence of relapse (HR: 0.163, 95% CI: 0.081-0.329"
    relapse = get(data, sid, HSCT, "relapse", "mrd_neg", "hr")
    assert (relapse.hr, relapse.hr_lower, relapse.hr_upper) == (0.163, 0.081, 0.329)
    # 001 Results: "44 (65.7%) patients relapsed, whereas 11 (20.0%) patients relapsed"
    counts = get(data, sid, HSCT, "relapse", "mrd_neg", "counts")
    assert (counts.events_t, counts.n_t, counts.events_c, counts.n_c) == (11, 55, 44, 67)
    assert "11/55 = 20.0%" in counts.derivation
    # 001 Table 2: "MRD before HSCT | Positive vs. negative | 4.466 (1.561-12.776) | 0.005"
    mrd = get(data, sid, "mrd_pos_vs_mrd_neg_before_hsct", "lfs", "hsct_after_cart", "hr")
    assert (mrd.hr, mrd.hr_lower, mrd.hr_upper, mrd.p_value) == (4.466, 1.561, 12.776, 0.005)
    assert mrd.timepoint == "last follow-up" and mrd.rate_t is None
    # 001 Table 3: 2-year LFS "MRD+ ... 27.6" and "MRD- ... 76.1", "P between MRD+ and MRD-" 0.007
    rates = get(
        data, sid, "mrd_pos_vs_mrd_neg_before_hsct", "lfs", "hsct_after_cart", "hr", "2 years"
    )
    assert (rates.rate_t, rates.rate_c, rates.p_value, rates.hr) == (27.6, 76.1, 0.007, None)


def test_per_patient_table_of_the_mrd_positive_study() -> None:
    data = load_extractions(SHIPPED)
    # 004 Table 2 + Discussion: "Of the eight patients who did not undergo subsequent
    # transplantation ..., four patients suffered clinical relapse"; six HSCT, none relapsed
    e = get(data, "Lu-MRD-CART-2021", HSCT, "relapse", "mrd_pos_before_cart", "counts")
    assert (e.events_t, e.n_t, e.events_c, e.n_c) == (0, 6, 4, 8)
    assert "1, 6, 10, 11, 12, 14" in e.derivation and "4, 5, 7, 9" in e.derivation


def test_ph_all_three_arms() -> None:
    data = load_extractions(SHIPPED)
    sid = "PhALL-MST-2020"
    # 000 Table 2: "NRM, No. of Events (%) 9 (20) 8 (47) .008 0 (0) .008 1 (6) .421"
    nrm = get(data, sid, "allosct_vs_chemo_tki_ph_all", "nrm", "cr", "counts")
    assert nrm.rate_t is None  # the '(%)' of the events row is not used
    assert (nrm.events_t, nrm.n_t, nrm.events_c, nrm.n_c, nrm.p_value) == (8, 17, 1, 17, 0.008)
    # 000 Table 2: "Hematologic relapse, No. of Events (%) 18 (40) 3 (20) .148 6 (59) .585 9 (67)"
    rel = get(data, sid, "mst_vs_chemo_tki_ph_all", "relapse", "cr", "counts")
    assert (rel.events_t, rel.n_t, rel.events_c, rel.n_c) == (6, 11, 9, 17)
    # 000 Table 4: "MST 90.9 0.080 (0.010-0.643) .018" (4-year OS multivariate analysis)
    mst = get(data, sid, "mst_vs_allosct_ph_all", "os", "cr", "hr", "4 years")
    assert (mst.hr, mst.hr_lower, mst.hr_upper, mst.p_value) == (0.080, 0.010, 0.643, 0.018)
    # 000 Table 4: "Chemo 52.9 0.602 (0.229-1.581) .303", inverted to SCT vs chemotherapy
    sct = get(data, sid, "allosct_vs_chemo_tki_ph_all", "os", "cr", "hr", "4 years")
    assert sct.hr == pytest.approx(1 / 0.602, rel=1e-5)
    assert (sct.hr_lower, sct.hr_upper) == pytest.approx((1 / 1.581, 1 / 0.229), rel=1e-5)
    assert sct.derivation.startswith("Table 4 prints Chemo vs SCT 0.602")


def test_aml_study_is_tagged_and_left_out_of_all_analyses() -> None:
    data = load_extractions(SHIPPED)
    # 003 Table 2: "OR 15 (50) 16 (94) 0.002" (IA n = 30, allo-TLI n = 17)
    e = get(
        data,
        "ChiCTR-ONC-17011948",
        "allotli_vs_ia_historical_aml",
        "response",
        "all_treated",
        "counts",
        "after induction",
    )
    assert (e.events_t, e.n_t, e.events_c, e.n_c, e.p_value) == (16, 17, 15, 30, 0.002)
    assert data.studies["ChiCTR-ONC-17011948"].disease == "aml_mds"
    comparison = "allotli_vs_ia_historical_aml"
    assert data.select(comparison, "response", {"disease": ["all"]}) == ()
    assert len(data.select(comparison, "response", {"disease": ["aml_mds"]})) == 1


def test_years_only_where_a_source_states_them() -> None:
    studies = load_extractions(SHIPPED).studies
    assert studies["ChiCTR1900023957"].year == 2020  # 001: "Published online: 04 May 2020"
    assert studies["NCT02435849"].year == 2018  # 002: "Later, in 2018, Grupp et al reported"
    assert studies["NCT01044069"].year is None  # 002 gives no year for ref [42]


def test_select_filters_by_effect_and_study_fields() -> None:
    data = load_extractions(SHIPPED)
    mrd_neg = data.select(HSCT, "relapse", {"population": ["mrd_neg"], "disease": ["all"]})
    assert {e.study for e in mrd_neg} == {
        "NCT01044069",
        "NCT02028455",
        "NCT02435849",
        "NCT01593696",
        "NCT01865617",
        "NCT02965092_NCT03366350",
        "ChiCTR1900023957",
        "NCT03173417",
    }
    assert [e.kind for e in data.select(HSCT, "efs")] == ["hr"]


def test_kind_and_key() -> None:
    counts = Effect("s", "c", "o", "p", events_t=1, n_t=2, events_c=0, n_c=2)
    hr = Effect("s", "c", "o", "p", hr=0.5, hr_lower=0.2, hr_upper=0.9)
    assert (counts.kind, hr.kind) == ("counts", "hr")
    assert counts.key == ("s", "c", "o", "p", "", "counts")
    assert hr.ci_level == 0.95 and hr.has_hr and not hr.has_counts


# ------------------------------------------------------------------ DataError


def test_data_error_is_one_line_and_picklable() -> None:
    err = DataError("x/effects.csv", 7, "hr", "first line\nsecond   line")
    assert str(err) == "x/effects.csv:7: hr: first line second line"
    assert (err.path, err.row, err.field) == ("x/effects.csv", 7, "hr")
    assert isinstance(err, ValueError)
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


# ------------------------------------------------------------------ effect rules

COUNT_CASES = [
    ({"events_t": "6.5"}, "events_t", "expected a whole number, got '6.5'"),
    ({"events_t": "-1"}, "events_t", "events must not be negative, got -1"),
    ({"events_c": "17"}, "events_c", "17 events exceed n_c = 16"),
    ({"n_t": "0"}, "n_t", "group size must be positive, got 0"),
    ({"n_c": ""}, "n_c", "events_t, n_t, events_c and n_c go together: fill all four"),
    ({"study": "NCT99999999"}, "study", "unknown study 'NCT99999999' (not in studies.csv)"),
    ({"source": ""}, "source", "required, but empty"),
    ({"location": ""}, "location", "required, but empty"),
    ({"source_row": ""}, "source_row", "required, but empty"),
    ({"arm_c": ""}, "arm_c", "required, but empty"),
    ({"p_value": "0"}, "p_value", "a p-value must be in (0, 1], got 0"),
    ({"p_value": "1.5"}, "p_value", "a p-value must be in (0, 1], got 1.5"),
    (
        {"p_value": "<0.001"},
        "p_value",
        "expected a number, got '<0.001'; leave it blank and quote '<0.001' in note",
    ),
    ({"rate_t": "101"}, "rate_t", "a rate is a percentage in [0, 100], got 101"),
    (
        {"rate_c": "62,5"},
        "rate_c",
        "expected a number, got '62,5'; use '.' as the decimal separator",
    ),
    (
        {"events_t": "", "n_t": "", "events_c": "", "n_c": "", "rate_t": "", "rate_c": ""},
        "events_t",
        "no numbers: fill counts, an hr, a proportion (events, n), means, a generic effect, "
        "a p_value or rate_t/rate_c",
    ),
]

HR_CASES = [
    ({"hr_lower": "0.3"}, "hr", "expected hr_lower < hr < hr_upper, got 0.3, 0.244, 0.437"),
    ({"hr_upper": "0.2"}, "hr", "expected hr_lower < hr < hr_upper, got 0.136, 0.244, 0.2"),
    ({"hr_upper": ""}, "hr_upper", "give both CI limits or neither"),
    ({"hr": ""}, "hr", "a CI needs its hazard ratio"),
    ({"hr": "0"}, "hr", "a hazard ratio must be positive, got 0"),
    ({"hr": "inf"}, "hr", "expected a number, got 'inf'"),
    ({"hr": "1e999"}, "hr", "expected a finite number, got '1e999'"),
    ({"ci_level": "95"}, "ci_level", "ci_level must be in (0, 1), e.g. 0.95, got 95"),
    (
        {"hr_lower": "", "hr_upper": ""},
        "hr",
        "a hazard ratio needs hr_lower and hr_upper, or a p_value",
    ),
]


@pytest.mark.parametrize(
    ("row", "cells", "field", "message"),
    [(COUNTS_ROW, *case) for case in COUNT_CASES]
    + [(HR_ROW, *case) for case in HR_CASES]
    + [(HR_P_ROW, {"ci_level": "0.9"}, "ci_level", "ci_level given without hr_lower and hr_upper")],
)
def test_effect_rule(data_dir: Path, row: dict, cells: dict, field: str, message: str) -> None:
    path = data_dir / "effects.csv"
    line = find_line(path, **row)
    edit(path, line, **cells)
    assert first_error(data_dir) == f"{path}:{line}: {field}: {message}"


@pytest.mark.parametrize(
    ("filename", "row", "name", "value"),
    [
        ("effects.csv", COUNTS_ROW, "comparison", "made_up"),
        ("effects.csv", COUNTS_ROW, "outcome", "death"),
        ("effects.csv", COUNTS_ROW, "population", "MRD-neg"),
        ("studies.csv", {"study": "NCT02028455"}, "design", "cohort"),
        ("studies.csv", {"study": "NCT02028455"}, "disease", "ALL"),
    ],
)
def test_unknown_tag(data_dir: Path, filename: str, row: dict, name: str, value: str) -> None:
    path = data_dir / filename
    line = find_line(path, **row)
    edit(path, line, **{name: value})
    allowed = [row[1] for row in read_rows(data_dir / "vocabulary.csv")[1:] if row[0] == name]
    expected = f"unknown tag '{value}'; allowed: {', '.join(allowed)} (see vocabulary.csv)"
    assert first_error(data_dir) == f"{path}:{line}: {name}: {expected}"


def test_duplicate_effect_key(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    rows = read_rows(path)
    line = find_line(path, **COUNTS_ROW)
    rows.append(list(rows[line - 1]))
    write_rows(path, rows)
    key = "NCT01044069, hsct_vs_no_hsct_after_cart, relapse, mrd_neg, last follow-up, counts"
    message = f"duplicate effect ({key}); first at row {line}"
    assert first_error(data_dir) == f"{path}:{len(rows)}: study: {message}"


def test_counts_and_hr_rows_of_one_outcome_may_coexist(data_dir: Path) -> None:
    data = load_extractions(data_dir)
    rows = data.select(HSCT, "relapse", {"study": ["ChiCTR1900023957"]})
    assert [(e.kind, e.timepoint) for e in rows] == [
        ("counts", "last follow-up"),
        ("hr", "last follow-up"),
        ("hr", "2 years"),  # 2-year cumulative incidences only
    ]


def test_validate_collects_every_problem_and_load_raises_the_first(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    first, second = find_line(path, **COUNTS_ROW), find_line(path, **HR_ROW)
    edit(path, first, events_t="x")
    edit(path, second, hr="-2", p_value="2")
    problems = [str(err) for err in validate_extractions(data_dir)]
    assert problems == [
        f"{path}:{first}: events_t: expected a whole number, got 'x'",
        f"{path}:{second}: hr: a hazard ratio must be positive, got -2",
        f"{path}:{second}: p_value: a p-value must be in (0, 1], got 2",
    ]
    assert first_error(data_dir) == problems[0]


# ------------------------------------------------------------------ study and vocabulary rules

NEXT_YEAR = datetime.date.today().year + 1
STUDY_CASES = [
    ({"year": "20x5"}, "year", "expected a whole number, got '20x5'"),
    ({"year": "1850"}, "year", f"implausible year 1850 (expected 1950-{NEXT_YEAR})"),
    ({"label": ""}, "label", "required, but empty"),
    ({"source": ""}, "source", "required, but empty"),
    (
        {"study": "NCT 0104"},
        "study",
        "'NCT 0104' is not a study id: use letters, digits and . _ + -",
    ),
]


@pytest.mark.parametrize(("cells", "field", "message"), STUDY_CASES)
def test_study_rule(data_dir: Path, cells: dict, field: str, message: str) -> None:
    path = data_dir / "studies.csv"
    line = find_line(path, study="NCT01044069")
    edit(path, line, **cells)
    assert first_error(data_dir) == f"{path}:{line}: {field}: {message}"


def test_duplicate_study_id(data_dir: Path) -> None:
    path = data_dir / "studies.csv"
    rows = read_rows(path)
    rows.append(list(rows[1]))
    write_rows(path, rows)
    assert first_error(data_dir) == (
        f"{path}:{len(rows)}: study: duplicate study id '{rows[1][0]}' (first at row 2)"
    )


def test_vocabulary_rules(data_dir: Path) -> None:
    path = data_dir / "vocabulary.csv"
    rows = read_rows(path)
    rows += [["outcomes", "death", "Death"], ["outcome", "os", "again"], ["outcome", "OS-2", "x"]]
    write_rows(path, rows)
    n = len(rows)
    problems = [str(err) for err in validate_extractions(data_dir)]
    assert problems == [
        f"{path}:{n - 2}: field: unknown field 'outcomes'; tags are for: "
        "comparison, outcome, population, design, disease",
        f"{path}:{n - 1}: tag: duplicate tag 'os' for field 'outcome'",
        f"{path}:{n}: tag: 'OS-2' is not a tag: use lower-case letters, digits and '_'",
    ]


# ------------------------------------------------------------------ reading CSV files


def test_bom_and_crlf_are_accepted(data_dir: Path) -> None:
    for name in ("vocabulary.csv", "studies.csv", "effects.csv"):
        path = data_dir / name
        text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
        path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
    shipped, copied = load_extractions(SHIPPED), load_extractions(data_dir)

    def strip(effect: Effect) -> Effect:
        return dataclasses.replace(effect, path="")

    assert [strip(e) for e in copied.effects] == [strip(e) for e in shipped.effects]
    assert copied.studies.keys() == shipped.studies.keys()


def test_non_utf8_is_rejected_with_row_and_column(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    line = find_line(path, **HR_ROW)
    edit(path, line, note="PLACEHOLDER")
    path.write_bytes(path.read_bytes().replace(b"PLACEHOLDER", "r\xe9sum\xe9".encode("latin-1")))
    assert first_error(data_dir) == (
        f"{path}:{line}: note: byte 0xe9 is not UTF-8; save the file as CSV UTF-8"
    )


def test_utf16_is_rejected(data_dir: Path) -> None:
    path = data_dir / "studies.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    assert first_error(data_dir) == f"{path}:1: encoding: file is UTF-16; save it as CSV UTF-8"


@pytest.mark.parametrize(("delimiter", "name"), [(";", "';'"), ("\t", "tab")])
def test_other_delimiters_are_rejected(data_dir: Path, delimiter: str, name: str) -> None:
    path = data_dir / "effects.csv"
    write_rows(path, read_rows(path), delimiter=delimiter)
    message = f"cells are separated by {name}; save the file as comma-separated CSV"
    assert first_error(data_dir) == f"{path}:1: header: {message}"


def test_blank_lines_are_skipped_but_counted_as_rows(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1:1] = ["\n", "   \n", ",,,\n"]
    path.write_text("".join(lines), encoding="utf-8")
    assert len(load_extractions(data_dir).effects) == 121
    line = find_line(path, **COUNTS_ROW)
    assert line == 5  # the header, three blank rows, then the first data row
    edit(path, line, n_t="many")
    assert first_error(data_dir) == f"{path}:5: n_t: expected a whole number, got 'many'"


def test_cells_are_trimmed(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    edit(path, find_line(path, **COUNTS_ROW), events_t="  6 ", arm_t=" HSCT\t")
    effect = get(load_extractions(data_dir), "NCT01044069", HSCT, "relapse", "mrd_neg", "counts")
    assert (effect.events_t, effect.arm_t) == (6, "HSCT")


def test_header_problems(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    rows = read_rows(path)

    def header_error(header: list[str]) -> str:
        write_rows(path, [header, *rows[1:]])
        return first_error(data_dir)

    renamed = ["evnts_t" if name == "events_t" else name for name in rows[0]]
    assert header_error(renamed) == f"{path}:1: evnts_t: unknown column; did you mean 'events_t'?"
    assert header_error([*rows[0], "note"]) == f"{path}:1: note: duplicate column"
    without_note = [name for name in rows[0] if name != "note"]
    assert header_error(without_note) == f"{path}:1: note: missing column"
    unnamed = ["" if name == "hr_model" else name for name in rows[0]]
    assert header_error(unnamed) == f"{path}:1: column 16: column has no name"


def test_columns_may_come_in_any_order(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    rows = read_rows(path)
    write_rows(path, [list(reversed(row)) for row in rows])
    assert len(load_extractions(data_dir).effects) == 121


def test_text_beyond_the_last_column(data_dir: Path) -> None:
    path = data_dir / "effects.csv"
    rows = read_rows(path)
    rows[3] = [*rows[3], "", "stray"]
    write_rows(path, rows)
    width = len(rows[0])  # the file's own columns (the newer optional ones may be absent)
    expected = f"{path}:4: column {width + 2}: text beyond the last column: 'stray'"
    assert first_error(data_dir) == expected


def test_malformed_quoting(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('a,b\n1,"ab"c\n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_csv(path, ["a", "b"])
    assert str(caught.value) == f"{path}:2: csv: malformed CSV: ',' expected after '\"'"


def test_empty_and_missing_files(data_dir: Path) -> None:
    path = data_dir / "studies.csv"
    path.write_text("\n\n", encoding="utf-8")
    assert first_error(data_dir) == f"{path}:1: header: file is empty; expected a header row"
    path.unlink()
    assert first_error(data_dir) == f"{path}:0: file: cannot read: No such file or directory"


def test_read_csv_returns_rows_with_spreadsheet_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"b, a\r\n\r\n 2 ,x\r\n3\r\n")
    records = read_csv(path, ["a", "b"])
    assert [(r.line, dict(r.cells)) for r in records] == [
        (3, {"b": "2", "a": "x"}),
        (4, {"b": "3", "a": ""}),
    ]
