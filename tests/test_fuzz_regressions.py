"""Loader bugs found by the fuzzers (tests/test_fuzz_loader.py), each kept as the exact
failing example with the message the fix produces."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from metaall.cli import cli
from metaall.data import DataError, validate_extractions
from metaall.data.adhoc import load_adhoc

COUNTS = "study,events_t,n_t,events_c,n_c\n"


def adhoc(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "trials.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def error_of(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_adhoc(path)
    return str(info.value)


def pool(path: Path):
    result = CliRunner().invoke(cli, ["pool", "--data", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def test_whole_number_with_thousands_of_digits(tmp_path):
    """Was: int() raised ValueError ('Exceeds the limit (4300 digits)'): a crash in
    load_extractions, a usage error without file or row on the command line."""
    path = adhoc(tmp_path, f"{COUNTS}A,3,{'9' * 5000},5,10\n")
    expected = (
        f"{path}:2: n_t: expected a whole number of at most 15 digits, "
        "got '99999999999999999999... (5000 characters)'"
    )
    assert error_of(path) == expected
    result = pool(path)
    assert (result.exit_code, result.stderr) == (1, f"error: {expected}\n")


def test_year_with_thousands_of_digits_in_studies_csv(tmp_path):
    shipped = Path(__file__).resolve().parents[1] / "extractions"
    folder = tmp_path / "extractions"
    folder.mkdir()
    for name in ("vocabulary.csv", "effects.csv"):
        (folder / name).write_bytes((shipped / name).read_bytes())
    lines = (shipped / "studies.csv").read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[1].split(",")
    cells[header.index("year")] = "2" * 5000
    (folder / "studies.csv").write_text("".join([lines[0], ",".join(cells), *lines[2:]]))
    problems = [str(p) for p in validate_extractions(folder)]
    assert problems == [
        f"{folder / 'studies.csv'}:2: year: expected a whole number of at most 15 digits, "
        "got '22222222222222222222... (5000 characters)'"
    ]


def test_count_too_large_for_the_float_engine(tmp_path):
    """Was: accepted, then effect_sizes raised OverflowError ('int too large to convert
    to float'): 'internal error' on the command line. 20 digits were accepted and
    pooled as a rounded number."""
    for n_t in ("1" + "0" * 400, "99999999999999999999"):
        path = adhoc(tmp_path, f"{COUNTS}A,3,{n_t},5,10\nB,2,12,6,11\n")
        message = error_of(path)
        assert message.startswith(f"{path}:2: n_t: expected a whole number of at most 15 digits")
        assert pool(path).exit_code == 1
    path = adhoc(tmp_path, f"{COUNTS}A,3,000999999999999999,5,10\nB,2,12,6,11\n")
    assert load_adhoc(path)[0].effects[0].n_t == 999_999_999_999_999  # 15 digits are fine


def test_non_utf8_byte_beyond_the_last_column(tmp_path):
    """Was: 'text beyond the last column: '\\udcff'' (a lone surrogate: printed as an
    escape, or unprintable); now the byte is named like in any other cell."""
    path = adhoc(tmp_path, COUNTS.encode() + b"A,3,10,5,10,\xff\n")
    expected = f"{path}:2: column 6: byte 0xff is not UTF-8; save the file as CSV UTF-8"
    assert error_of(path) == expected
    assert pool(path).stderr == f"error: {expected}\n"


def test_column_name_with_a_colon_keeps_the_error_line_parseable(tmp_path):
    """Was: 'trials.csv:1: Note: extra: unknown column', whose field reads as 'Note'."""
    path = adhoc(tmp_path, "study,events_t,n_t,events_c,n_c,Note: extra\nA,3,10,5,10,x\n")
    assert error_of(path) == f"{path}:1: column 6: unknown column 'Note: extra'"
    path = adhoc(tmp_path, "study,a:b,events_t,n_t,events_c,n_c,a:b\nA,,3,10,5,10,\n")
    assert error_of(path).startswith(f"{path}:1: column 2: unknown column 'a:b'")
    path = adhoc(tmp_path, "study,evnts_t,events_t\nA,1,2\n")
    assert error_of(path) == f"{path}:1: evnts_t: unknown column; did you mean 'events_t'?"
