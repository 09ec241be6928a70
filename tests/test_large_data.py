"""Issue 17: ``metaall pool --data`` reads large files column by column.

A 200,000-row file pools as the engine pools its arrays; the text report lists the
ends of long groups; the records output lists every study; the first bad row of a big
file is named with the message the row rules give for that row in a small file; the
column screen never clears a row the row rules refuse; the table path and the
one-object-per-row path agree. Speed and memory are the benchmark's business
(``benchmarks/bench_cli_data.py``).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_cli import invoke

import metaall
from metaall import methods
from metaall.analysis.run import run_analysis, with_options
from metaall.analysis.table import run_table
from metaall.data import DataError, csvfile
from metaall.data.adhoc import _checked, adhoc_spec, read_adhoc
from metaall.data.model import KIND_FIELDS
from metaall.data.screen import certainly_valid
from metaall.reports.records import analysis_record
from metaall.reports.table import SHOWN_AT_EACH_END
from metaall.reports.tables import to_json
from metaall.reports.text import render_text

ROWS = 200_000
HEADER = "study,events_t,n_t,events_c,n_c\n"


def counts(rows: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_t, n_c = rng.integers(40, 400, rows), rng.integers(40, 400, rows)
    p_c = rng.uniform(0.05, 0.4, rows)
    p_t = np.clip(p_c * np.exp(rng.normal(-0.2, 0.2, rows)), 0.01, 0.95)
    return dict(ai=rng.binomial(n_t, p_t), n1i=n_t, ci=rng.binomial(n_c, p_c), n2i=n_c)


def lines(arrays: dict[str, np.ndarray]) -> list[str]:
    """The data rows of a counts file, study S1 in spreadsheet row 2."""
    table = zip(arrays["ai"], arrays["n1i"], arrays["ci"], arrays["n2i"], strict=True)
    return [f"S{i},{a},{n1},{c},{n2}\n" for i, (a, n1, c, n2) in enumerate(table, start=1)]


def study_lines(report: str) -> list[str]:
    """The study of each study line of a report."""
    return re.findall(r"^(S\d+) ", report, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray], list[str]]:
    arrays = counts(ROWS)
    rows = lines(arrays)
    path = tmp_path_factory.mktemp("large") / "trials.csv"
    path.write_text(HEADER + "".join(rows))
    return path, arrays, rows


def test_a_large_file_pools_as_the_engine_pools_its_arrays(big):
    path, arrays, _ = big
    table = read_adhoc(path)
    spec = adhoc_spec(table)
    result = run_table(spec, table)
    z = spec.zero_cells
    tables = (arrays[name] for name in ("ai", "n1i", "ci", "n2i"))
    es = metaall.effect_sizes(*tables, "RR", add=z.add, to=z.to, drop00=z.drop00)
    ok = np.isfinite(es.yi)
    fit = metaall.fit(es.yi[ok], es.vi[ok])
    pooled = result.overall.fit
    assert pooled.k == ok.sum() > ROWS - 10
    assert pooled.estimate == pytest.approx(fit.estimate, rel=1e-12)
    assert pooled.tau2 == pytest.approx(fit.tau2, rel=1e-10, abs=1e-14)
    assert pooled.se == pytest.approx(fit.se, rel=1e-10)
    rows = result.overall.rows
    assert len(rows) == ROWS and rows[-1].study.study == f"S{ROWS}"
    assert rows[123].yi == es.yi[123] and rows[123].effect.n_c == arrays["n2i"][123]
    assert result.overall.total_weight == pytest.approx(100)


def test_the_text_report_lists_the_ends_of_a_long_group(big, tmp_path):
    path, _, _ = big
    out = invoke(tmp_path, "pool", "--data", str(path)).output
    omitted = ROWS - 2 * SHOWN_AT_EACH_END
    assert (
        f"  ... {omitted:,} studies omitted here; --format records, csv or json lists every "
        "study (of at most 50,000)\n" in out
    )
    shown = study_lines(out)
    ends = range(1, SHOWN_AT_EACH_END + 1)
    assert shown == [f"S{i}" for i in ends] + [f"S{ROWS - SHOWN_AT_EACH_END + i}" for i in ends]
    assert "\nTotal (random effects, REML tau²) " in out


def test_records_list_every_study_and_short_groups_are_shown_whole(tmp_path):
    rows = 250
    path = tmp_path / "trials.csv"
    path.write_text(HEADER + "".join(lines(counts(rows))))
    records = invoke(tmp_path, "pool", "--data", str(path), "--format", "records").output
    studies = [r["study"] for r in csv.DictReader(io.StringIO(records)) if r["row"] == "study"]
    assert studies == [f"S{i}" for i in range(1, rows + 1)]
    table = invoke(tmp_path, "pool", "--data", str(path), "--format", "csv").output
    assert len(study_lines(table.replace(",", " "))) == rows  # the manuscript table is whole
    grouped = tmp_path / "grouped.csv"
    body = [f"{line.rstrip()},{'ab'[i % 2]}\n" for i, line in enumerate(lines(counts(rows)))]
    grouped.write_text(HEADER.rstrip() + ",group\n" + "".join(body))
    text = invoke(tmp_path, "pool", "--data", str(grouped)).output
    assert "omitted" not in text and len(study_lines(text)) == rows  # 125 studies per group


BAD_ROWS = {
    "not a number": "S{i},12,x1,4,30",
    "a sign and leading zeros are fine, events exceed n": "S{i},+031,030,4,30",
    "sixteen digits": "S{i},3,1234567890123456,4,30",
    "no group size": "S{i},3,0,4,30",
    "duplicate": "S7,3,30,4,30",
    "empty study": ",3,30,4,30",
    "control character": "S{i}\x1b,3,30,4,30",
    "text beyond the last column": "S{i},3,30,4,30,9",
    "missing count": "S{i},3,30,,30",
}


@pytest.mark.parametrize("bad", BAD_ROWS.values(), ids=BAD_ROWS)
def test_the_first_bad_row_of_a_big_file_is_named_as_in_a_small_one(big, tmp_path, bad):
    _path, _, rows = big
    at = 150_000  # the spreadsheet row of the bad line
    rows = list(rows)
    rows[at - 2] = bad.format(i=at - 1) + "\n"
    rows[at + 5] = "S1,1,10,1,10\n"  # a later duplicate: not the first error
    big_file = tmp_path / "big.csv"
    big_file.write_text(HEADER + "".join(rows))
    small = tmp_path / "small.csv"
    small.write_text(HEADER + "".join(rows[6:9]) + rows[at - 2])  # S7 is row 2, the bad row 5
    with pytest.raises(DataError) as error:
        read_adhoc(small)
    assert str(error.value).startswith(f"{small}:5: ")
    expected = str(error.value).replace(f"{small}:5:", f"{big_file}:{at}:")
    result = invoke(tmp_path, "pool", "--data", str(big_file))
    assert result.exit_code == 1
    assert result.output == f"error: {expected.replace('first at row 2', 'first at row 8')}\n"


def test_row_limits_of_pool_and_of_the_commands_that_draw_every_study(tmp_path, monkeypatch):
    path = tmp_path / "trials.csv"
    path.write_text(HEADER + "".join(lines(counts(60))))
    monkeypatch.setattr(csvfile, "MAX_DATA_ROWS", 50)
    monkeypatch.setattr(csvfile, "MAX_ROWS", 40)
    result = invoke(tmp_path, "pool", "--data", str(path))
    assert result.exit_code != 0 and result.output.endswith(
        "trials.csv:52: file: file is too large (over 50 rows); metaall reads CSV files of up "
        "to 64 MiB and 50 data rows\n"
    )
    fewer = tmp_path / "fewer.csv"
    fewer.write_text(HEADER + "".join(lines(counts(45))))
    assert invoke(tmp_path, "pool", "--data", str(fewer)).exit_code == 0
    result = invoke(tmp_path, "pool", "--data", str(fewer), "--format", "records")
    assert result.exit_code == 2 and (
        "--format records lists every study, of at most 40; this analysis pools 45 (the text "
        "report takes any number)" in result.output
    )
    result = invoke(tmp_path, "funnel", "--data", str(path), "-o", str(tmp_path / "f.svg"))
    assert result.exit_code != 0 and "trials.csv:42: file: file is too large (over 40 rows)" in (
        result.output
    )


def test_json_data_is_refused_with_a_one_line_error(tmp_path):
    path = tmp_path / "trials.json"
    path.write_text('[{"study": "A", "events_t": 3, "n_t": 30, "events_c": 5, "n_c": 31}]\n')
    result = invoke(tmp_path, "pool", "--data", str(path))
    assert result.exit_code == 1
    assert (
        result.output == f"error: {path}:1: header: the file holds JSON, not CSV; save it as CSV\n"
    )


def _one_row(kind: str, draw) -> dict[str, str]:
    """A row of ``kind``'s columns, each blank, plain, edge or odd."""
    value = st.sampled_from(["", "0", "1", "2", "0.5", "-1", "3", "40", "1e-3", "0.95", "1.5"])
    names = [*KIND_FIELDS[kind], "p_value", "ci_level"]
    if kind == methods.MEANS:
        names += ["n_t", "n_c"]
    row = {name: draw(value) for name in names}
    if "effect_scale" in row:
        row["effect_scale"] = draw(st.sampled_from(["", "ratio", "difference"]))
    return row


@given(st.data())
def test_the_column_screen_never_clears_a_row_the_row_rules_refuse(data):
    kind = data.draw(st.sampled_from(list(KIND_FIELDS)))
    row = _one_row(kind, data.draw)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "row.csv")
        path.write_text(",".join(["study", *row]) + "\n" + ",".join(["S1", *row.values()]) + "\n")
        try:
            table = read_adhoc(path)
        except (DataError, ValueError):
            return  # a refused row or file: nothing more to check
        scale = np.asarray(table.text.get("effect_scale", ""))
        if certainly_valid(table.kind, table.column, scale)[0]:
            _checked(str(path), table.record(0), None)  # raises if the rules refuse it


SMALL = {
    "counts with subgroups and a zero cell": (
        "study,label,year,events_t,n_t,events_c,n_c,group\n"
        "A,Alpha,2001,3,30,5,31,x\nB,,1999,0,20,0,22,y\nC,Gamma,,7,40,9,41,x\n"
        "D,,2010,12,50,20,52,y\n"
    ),
    "hazard ratios, one with a p-value, one without either": (
        "study,hr,hr_lower,hr_upper,p_value\nA,0.7,0.5,0.98,\nB,0.8,,,0.04\nC,,,,0.3\n"
        "D,0.9,0.6,1.35,\n"
    ),
    "proportions": "study,events,n\nA,3,30\nB,0,20\nC,20,20\nD,7,41\n",
    "means, one arm as a median": (
        "study,mean_t,sd_t,n_t,mean_c,sd_c,n_c,median_c,q1_c,q3_c\n"
        "A,10,2,30,12,2.5,31,,,\nB,11,3,25,,,26,13,11,15\nC,9,2,20,10,2,22,,,\n"
    ),
    "generic ratios by SE and by CI": (
        "study,effect,se,effect_lower,effect_upper,effect_scale\n"
        "A,0.8,0.1,,,ratio\nB,0.7,,0.5,0.98,ratio\nC,,,0.6,1.2,ratio\n"
    ),
}


OPTIONS = {
    "default": {},
    "MH": {"method": "MH", "measure": "OR"},
    "PFT, by weight": {"measure": "PFT", "order": "weight"},
    "year order, Hartung-Knapp": {"order": "year", "test": "knha"},
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS)
@pytest.mark.parametrize("text", SMALL.values(), ids=SMALL)
def test_the_table_path_and_the_row_path_agree(tmp_path, text, options):
    path = tmp_path / "small.csv"
    path.write_text(text)
    table = read_adhoc(path)
    try:
        spec = with_options(adhoc_spec(table), **options)
    except ValueError:
        return  # e.g. MH for hazard ratios
    by_columns, by_rows = run_table(spec, table), run_analysis(spec, table.extractions())
    assert render_text(by_columns) == render_text(by_rows)
    assert to_json(analysis_record(by_columns)) == to_json(analysis_record(by_rows))
    for a, b in zip(
        (by_columns.overall, *by_columns.groups), (by_rows.overall, *by_rows.groups), strict=True
    ):
        assert repr(list(a.rows)) == repr(list(b.rows))  # NaN effect sizes too
        assert (a.fit is None) == (b.fit is None)
        if a.fit is not None:
            assert a.fit.estimate == b.fit.estimate and a.fit.se == b.fit.se
        assert a.total_weight == pytest.approx(b.total_weight, abs=1e-12)
        assert a.absolute == b.absolute
    assert by_columns.excluded == by_rows.excluded
    assert by_columns.difference == by_rows.difference
