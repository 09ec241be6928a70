"""Fuzzing the options of ``metaall pool``: bad levels, unknown methods and subgroups,
measures that do not fit the data, ANALYSIS together with --data, and random option
combinations on the shipped project and on ad-hoc files.

Every run must end in a report (exit 0, nothing on stderr), a data error (exit 1, one
line naming file, row and field) or a usage error (exit 2, one ``Error:`` line naming
the problem); never a traceback or ``internal error``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import event, given, settings
from hypothesis import strategies as st

from metaall.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DATA_ERROR = re.compile(r"^(?:error: )?[^:\n]+:\d+: [^:\n]+: [^\n]+$")
USAGE_ERROR = ("Error: ", "error: ")  # click's own line, or metaall's one-line form
COUNTS = "study,events_t,n_t,events_c,n_c,group\nA,3,10,5,10,x\nB,0,12,6,11,x\nC,1,10,4,9,y\n"
HRS = "study,hr,hr_lower,hr_upper\nA,0.5,0.3,0.9\nB,0.7,0.5,0.95\nC,1.2,0.8,1.7\n"


def examples(n: int) -> int:
    """``n`` examples under the ci profile, scaled with the loaded profile."""
    return max(1, n * settings.default.max_examples // 100)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, root / name)
    (root / "counts.csv").write_text(COUNTS)
    (root / "hrs.csv").write_text(HRS)
    return root


def invoke(project: Path, *args: str):
    return CliRunner().invoke(cli, ["-C", str(project), *args])


def outcome(result) -> str:
    """'report', 'data error' or 'usage error', after checking the run ended cleanly."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"uncaught {result.exception!r}:\n{trace}")
    assert "Traceback" not in result.output and "internal error" not in result.output
    if result.exit_code == 0:
        assert result.stderr == "" and result.stdout.strip()
        return "report"
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    if result.exit_code == 1:
        assert len(lines) == 1 and DATA_ERROR.match(lines[0]), result.stderr
        return "data error"
    assert result.exit_code == 2, result.exit_code
    errors = [line for line in lines if line.startswith(USAGE_ERROR)]
    assert len(errors) == 1 and len(errors[0]) > len("Error: "), result.stderr
    return "usage error"


def error_line(result) -> str:
    return next(line for line in result.stderr.splitlines() if line.startswith(USAGE_ERROR))


BAD_LEVELS = ["2", "0", "1", "-0.5", "abc", "nan", "inf", "-inf", "95", "0.95.1", "", "1e400"]


@pytest.mark.parametrize("level", BAD_LEVELS)
@pytest.mark.parametrize("target", [("relapse",), ("--data", "counts.csv")], ids=["spec", "data"])
def test_bad_level(project, target, level):
    args = [*target[:1], *(str(project / t) if t.endswith(".csv") else t for t in target[1:])]
    result = invoke(project, "pool", *args, "--level", level)
    assert outcome(result) == "usage error"
    assert "level" in error_line(result)  # click's range check, or the spec check for NaN


@pytest.mark.parametrize("method", ["XX", "", "reml2", "REML ", "rema", "Peto;", "MH\n", "é"])
def test_unknown_method(project, method):
    result = invoke(project, "pool", "relapse", "--method", method)
    assert outcome(result) == "usage error"
    assert "--method" in error_line(result)


@pytest.mark.parametrize(
    "subgroup", ["zzz", "MRD_NEG", "mrd_neg ", "", "mrd-neg", "🙂", "a" * 10_000, "x\ny"]
)
@pytest.mark.parametrize("target", ["relapse", "counts.csv"])
def test_unknown_subgroup(project, target, subgroup):
    where = ["--data", str(project / target)] if target.endswith(".csv") else [target]
    result = invoke(project, "pool", *where, "--subgroup", subgroup)
    assert outcome(result) == "usage error"
    assert "subgroup" in error_line(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("relapse", "--measure", "HR"), "measure HR"),
        (("relapse_hr", "--measure", "RR"), "measure RR"),
        (("os", "--measure", "OR"), "measure OR"),
        (("--data", "counts.csv", "--measure", "HR"), "measure HR"),
        (("--data", "hrs.csv", "--measure", "RD"), "measure RD"),
        (("--data", "hrs.csv", "--method", "MH"), "Mantel-Haenszel"),
        (("--data", "counts.csv", "--method", "Peto"), "Peto"),
        (("relapse", "--method", "FE", "--ci", "hk"), "Hartung-Knapp"),
        (("relapse", "--measure", "XX"), "--measure"),
        (("relapse", "--to", "some"), "--to"),
        (("relapse", "--add", "-1"), "--add"),
        (("relapse", "--format", "pdf"), "--format"),
        (("relapse", "--bogus"), "--bogus"),
        (("nope",), "nope"),
        (("../relapse",), "../relapse"),
        ((), "missing ANALYSIS"),
        (("--data", "missing.csv"), "--data"),
        (("--data", "."), "--data"),
    ],
)
def test_options_that_do_not_fit(project, args, message):
    args = [str(project / a) if a.endswith(".csv") or a == "." else a for a in args]
    result = invoke(project, "pool", *args)
    assert outcome(result) == "usage error"
    assert message in error_line(result)


@pytest.mark.parametrize("data", ["counts.csv", "hrs.csv"])
@pytest.mark.parametrize("analysis", ["relapse", "os", "nope", "x.csv"])
def test_analysis_and_data_together(project, analysis, data):
    result = invoke(project, "pool", analysis, "--data", str(project / data))
    assert outcome(result) == "usage error"
    assert "either ANALYSIS or --data" in error_line(result)


# ------------------------------------------------------------------ random combinations

OPTIONS = {
    "--subgroup": st.sampled_from(["mrd_neg", "cr", "x", "y", "nope"]),
    "--measure": st.sampled_from(["RR", "OR", "RD", "HR", "rr", "XX"]),
    "--method": st.sampled_from(["FE", "MH", "Peto", "REML", "ML", "DL", "HE", "HS", "HSk"])
    | st.sampled_from(["SJ", "EB", "PM", "reml", "XX"]),
    "--ci": st.sampled_from(["z", "hk", "t"]),
    "--level": st.sampled_from(["0.95", "0.5", "0.999", "0.001", "1", "x"]),
    "--add": st.sampled_from(["0", "0.5", "1", "-1", "1e400"]),
    "--to": st.sampled_from(["only0", "all", "if0all", "none", "some"]),
    "--format": st.sampled_from(["text", "json", "csv", "markdown", "pdf"]),
}
targets = st.sampled_from(
    [["relapse"], ["os"], ["relapse_hr"], ["lfs"], ["hsct_mrdpos_vs_no_hsct_relapse"]]
    + [["--data", name] for name in ("counts.csv", "hrs.csv")]
)


@st.composite
def option_sets(draw) -> list[str]:
    args = list(draw(targets))
    for name in draw(st.lists(st.sampled_from(sorted(OPTIONS)), max_size=5, unique=True)):
        args += [name, draw(OPTIONS[name])]
    if draw(st.booleans()):
        args.append(draw(st.sampled_from(["--drop00", "--keep00"])))
    return args


@settings(max_examples=examples(100))
@given(option_sets())
def test_random_option_combinations(project, args):
    args = [str(project / a) if a.endswith(".csv") else a for a in args]
    event(outcome(invoke(project, "pool", *args)))


# ------------------------------------------------------------------ the real process


@pytest.mark.parametrize(
    "args",
    [["relapse", "--level", "2"], ["relapse", "--method", "XX"], ["x", "--data", "counts.csv"]],
)
def test_real_process_usage_errors(project, args):
    command = [sys.executable, "-c", "from metaall.cli import main; main()", "pool", *args]
    proc = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith(USAGE_ERROR)]
    assert proc.stdout == ""


# ------------------------------------------------------------------ reported bugs


@pytest.mark.parametrize(
    "args",
    [
        ["relapse", "--level", "2"],
        ["relapse", "--method", "XX"],
        ["relapse", "--subgroup", "zzz"],
        ["relapse", "--measure", "HR"],
        ["x", "--data", "counts.csv"],
    ],
)
def test_reported_usage_error_is_one_line(project, args):
    args = [str(project / a) if a.endswith(".csv") else a for a in args]
    result = invoke(project, "pool", *args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
