"""A reviewer's data is never lost or abused (issue 12), checked in-process: hostile
text, unbounded input, the run folder's manifest, symlinks and devices, paths, the
journal's recovery and the API's edge values. Real processes (concurrency, SIGKILL,
SIGPIPE, orphans) are in tests/test_safety_processes.py."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_cli import invoke, snapshot

import metaall
from metaall.data import DataError, csvfile, load_extractions, locking, writing
from metaall.data import journal as journal_module
from metaall.data.journal import JOURNAL, commit
from metaall.reports.outputs import MANIFEST
from metaall.reports.tables import markdown_text, spreadsheet_text, to_csv

ROOT = Path(__file__).resolve().parents[1]
ONE_LINE = re.compile(r"^error: [^\n]+\n$")


def add_args(study: str = "NCT99999999", **changes: str) -> list[str]:
    values = {
        "study": study,
        "label": "Doe 2026",
        "year": "2026",
        "design": "prospective_cohort",
        "disease": "all",
        "comparison": "hsct_vs_no_hsct_after_cart",
        "outcome": "relapse",
        "population": "mrd_neg",
        "arm-t": "CAR-T then allo-HSCT",
        "arm-c": "CAR-T alone",
        "events-t": "3",
        "n-t": "20",
        "events-c": "9",
        "n-c": "22",
        "source": "doe2026.pdf",
        "location": "Table 2",
        "source-row": "relapse",
        **changes,
    }
    return ["add", *[x for key, value in values.items() for x in (f"--{key}", value)]]


ADHOC_HEADER = "study,label,events_t,n_t,events_c,n_c\n"


def adhoc(tmp_path: Path, *labels: str) -> Path:
    path = tmp_path / "trials.csv"
    rows = [f'S{i},"{label}",{2 + i},20,{9 + i},22\n' for i, label in enumerate(labels)]
    path.write_text(ADHOC_HEADER + "".join(rows), encoding="utf-8")
    return path


# ------------------------------------------------------------ 4. formula injection


HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]


def test_csv_neutralises_formulas_and_keeps_numbers():
    texts = [*HOSTILE, "\tx", "\r=1", "ok", "'quoted"]
    rows = [{"label": text, "yi": -0.5, "k": -3} for text in texts]
    parsed = list(csv.reader(io.StringIO(to_csv(rows), newline="")))
    assert parsed[0] == ["label", "yi", "k"]
    assert [row[0] for row in parsed[1:]] == [
        '\'=HYPERLINK("http://x","y")',
        "'+cmd|' /C calc'!A0",
        "'@SUM(1+1)",
        "'-2+3",
        "'\tx",
        "'\r=1",
        "ok",
        "'quoted",
    ]
    assert all(row[1:] == ["-0.5", "-3"] for row in parsed[1:])


@given(st.text())
def test_csv_cells_never_start_a_formula_and_keep_the_text(text):
    cell = spreadsheet_text(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell == text or (cell == "'" + text and text[:1] in "=+-@\t\r")


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers())
def test_numbers_stay_numbers(value):
    assert spreadsheet_text(value) == (repr(value) if isinstance(value, float) else str(value))


@given(st.text())
def test_markdown_cells_render_as_their_text(text):
    cell = markdown_text(text)
    assert "<" not in cell and ">" not in cell and "\n" not in cell and "\r" not in cell
    assert re.search(r"(?<!\\)[|`*_\[\]~]", cell) is None  # every one escaped
    unescaped = re.sub(r"\\(.)", r"\1", cell)
    unescaped = unescaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped == " ".join(text.splitlines())


def test_pool_csv_markdown_json_of_hostile_labels(project, tmp_path):
    data = adhoc(tmp_path, HOSTILE[0].replace('"', "'"), "<script>alert(1)</script>", "@SUM(A1)")
    csv_out = invoke(project, "pool", "--data", str(data), "--format", "csv").output
    assert "'=HYPERLINK(" in csv_out and "\n'@SUM(A1)," in csv_out  # the label column
    assert not re.search(r"(^|,)[=+@]", csv_out, re.M)
    md = invoke(project, "pool", "--data", str(data), "--format", "markdown").output
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    doc = json.loads(invoke(project, "pool", "--data", str(data), "--format", "json").output)
    assert [s["label"] for s in doc["studies"]] == [
        "=HYPERLINK('http://x','y')",
        "<script>alert(1)</script>",
        "@SUM(A1)",
    ]


def test_run_tables_are_neutralised(project):
    studies = project / "extractions" / "studies.csv"
    text = studies.read_text(encoding="utf-8").replace("Park et al.", "=cmd|x", 1)
    studies.write_text(text, encoding="utf-8")
    assert invoke(project, "run", "--out", "out", "--no-figures").exit_code == 0
    table = (project / "out" / "relapse.csv").read_text(encoding="utf-8")
    assert "'=cmd|x (NCT01044069)" in table and ",=cmd" not in table
    record = json.loads((project / "out" / "relapse.json").read_text(encoding="utf-8"))
    assert "=cmd|x (NCT01044069)" in [s["label"] for s in record["studies"]]


# ------------------------------------------------------------ 5. YAML alias bomb

BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 12)
)


@pytest.mark.parametrize(
    "command", [["validate"], ["list"], ["pool", "bomb"], ["run", "--no-figures"], add_args()]
)
def test_alias_bomb_is_one_line_in_well_under_a_second(project, command):
    assert len(BOMB) < 1000
    (project / "analyses" / "bomb.yaml").write_text(BOMB)
    start = time.perf_counter()
    result = invoke(project, *command)
    assert time.perf_counter() - start < 1.0
    assert result.exit_code == 1
    expected = "bomb.yaml:1: yaml: anchors and aliases (& and *) are not allowed in a spec"
    assert expected in result.output and len(result.output.strip().splitlines()) <= 2
    assert b"NCT99999999" not in (project / "extractions" / "effects.csv").read_bytes()


def test_merge_keys_and_huge_or_special_specs_are_refused(project):
    spec = project / "analyses" / "merge.yaml"
    spec.write_text("base: &b {measure: RR}\n<<: *b\ncomparison: x\n")
    assert "anchors and aliases" in invoke(project, "validate").output
    spec.write_text("title: " + "x" * (2**20 + 10) + "\n")
    assert (
        "merge.yaml:0: file: larger than 1024 KiB; not a spec" in invoke(project, "validate").output
    )
    spec.unlink()
    (project / "analyses" / "zero.yaml").symlink_to("/dev/zero")
    start = time.perf_counter()
    result = invoke(project, "validate")
    assert time.perf_counter() - start < 1.0
    assert "zero.yaml:0: file: not a regular file" in result.output


# ------------------------------------------------------------ 6. control characters

CONTROLS = {"ESC": "\x1b[31m", "BEL": "\x07", "NUL": "\x00", "DEL": "\x7f", "C1": "\x9b1m"}


@pytest.mark.parametrize("name", CONTROLS)
def test_control_characters_rejected_in_validation(project, name):
    studies = project / "extractions" / "studies.csv"
    text = studies.read_text(encoding="utf-8").replace("Park et al.", f"Park{CONTROLS[name]}", 1)
    studies.write_text(text, encoding="utf-8")
    result = invoke(project, "validate")
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "control character" in x)
    assert re.fullmatch(r".*studies\.csv:\d+: label: control character U\+00[0-9A-F]{2}.*", line)
    assert "\x1b" not in result.output and "\x07" not in result.output


def edit_cell(path: Path, column: str, value: str, row: int = 1) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[row][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def test_line_breaks_and_tabs(project):
    studies = project / "extractions" / "studies.csv"
    original = studies.read_bytes()
    edit_cell(studies, "label", "Park\nand al.")
    assert "studies.csv:2: label: control character U+000A LF" in invoke(project, "validate").output
    edit_cell(studies, "label", "Park\tet al.")
    assert (
        "studies.csv:2: label: control character U+0009 TAB" in invoke(project, "validate").output
    )
    studies.write_bytes(original)
    edit_cell(project / "extractions" / "effects.csv", "note", "see\tp. 4")  # free text: a tab
    assert invoke(project, "validate").exit_code == 0


def test_control_characters_rejected_by_add_and_data(project, tmp_path):
    folder = project / "extractions"
    before = snapshot(folder)
    result = invoke(project, *add_args(label="Doe\x1b]0;pwned\x07"))
    assert result.exit_code == 1 and ONE_LINE.match(result.output)
    assert f"{folder / 'studies.csv'}:18: label: control character U+001B" in result.output
    result = invoke(project, *add_args(location="Table\x002"))
    row = len((folder / "effects.csv").read_text(encoding="utf-8").splitlines()) + 1
    assert f"effects.csv:{row}: location: control character U+0000" in result.output
    assert snapshot(folder) == before
    data = adhoc(tmp_path, "bell\x07")
    result = invoke(project, "pool", "--data", str(data))
    assert (
        result.output == f"error: {data}:2: label: control character U+0007 BEL in text; "
        "remove it (only printable text is allowed)\n"
    )


def test_control_characters_in_specs(project):
    (project / "analyses" / "relapse.yaml").write_text(
        "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\nmeasure: RR\n"
        'title: "Relapse \\e[2J"\n'
    )
    result = invoke(project, "validate")
    assert "relapse.yaml:4: title: control character U+001B" in result.output
    assert "\x1b" not in result.output


# ------------------------------------------------------------ 7. the run folder


def run(project: Path, *extra: str):
    return invoke(project, "run", "--out", "out", "--no-figures", *extra)


def test_a_file_edited_after_the_run_is_not_overwritten(project):
    assert run(project).exit_code == 0
    table = project / "out" / "relapse.txt"
    table.write_text("my edits")
    result = run(project)
    assert result.exit_code == 1 and "relapse.txt was not written by metaall run" in result.output
    assert table.read_text() == "my edits"
    assert run(project, "--force").exit_code == 0 and table.read_text().startswith("Relapse")


def test_a_file_saved_under_a_former_output_name_is_kept(project):
    assert run(project).exit_code == 0
    (project / "analyses" / "os.yaml").rename(project / "os.yaml.off")  # os.* now stale
    assert run(project).exit_code == 0
    (project / "out" / "os.txt").write_text("mine now")
    (project / "os.yaml.off").rename(project / "analyses" / "os.yaml")
    result = run(project)
    assert result.exit_code == 1 and "os.txt was not written by metaall run" in result.output
    assert (project / "out" / "os.txt").read_text() == "mine now"


def test_symlinks_and_special_files_named_like_outputs(project, tmp_path):
    out = project / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    (out / "relapse.txt").symlink_to(victim)  # dangling
    result = run(project)
    assert result.exit_code == 1 and "relapse.txt is a symbolic link" in result.output
    assert not victim.exists()
    victim.write_text("keep")
    result = run(project)
    assert result.exit_code == 1 and victim.read_text() == "keep"
    assert run(project, "--force").exit_code == 0
    assert victim.read_text() == "keep" and not (out / "relapse.txt").is_symlink()
    (out / "relapse.md").unlink()
    os.mkfifo(out / "relapse.md")
    result = run(project, "--force")
    assert result.exit_code == 1 and "relapse.md is not a regular file" in result.output


def test_interrupted_runs_recover_by_themselves(project):
    assert run(project).exit_code == 0
    out = project / "out"
    manifest = json.loads((out / MANIFEST).read_text())
    # killed after writing its outputs but before the manifest: they are 'pending'
    (project / "extractions" / "effects.csv").write_bytes(
        (project / "extractions" / "effects.csv")
        .read_bytes()
        .replace(b",6,16,10,16,", b",5,16,10,16,")
    )
    from metaall.reports.outputs import sha256

    new = (out / "relapse.txt").read_bytes() + b"new version written just before a kill"
    (out / "relapse.txt").write_bytes(new)
    manifest["pending"] = {"relapse.txt": sha256(new)}
    (out / MANIFEST).write_text(json.dumps(manifest))
    result = run(project)
    assert result.exit_code == 0, result.output
    # no manifest at all: files with the bytes metaall would write are simply kept
    (out / MANIFEST).unlink()
    assert run(project).exit_code == 0
    assert json.loads((out / MANIFEST).read_text())["files"]["relapse.txt"] == sha256(
        (out / "relapse.txt").read_bytes()
    )


def test_damaged_manifest_has_a_message_and_a_way_out(project):
    assert run(project).exit_code == 0
    (project / "out" / MANIFEST).write_text("{not json")
    result = run(project)
    assert result.exit_code == 1 and ONE_LINE.match(result.output)
    assert "is damaged" in result.output and "--force" in result.output
    assert run(project, "--force").exit_code == 0
    assert run(project).exit_code == 0


# ------------------------------------------------------------ 8, 9. no-clobber, devices


def test_forest_never_replaces_a_file_created_after_its_check(tmp_path, monkeypatch):
    target = tmp_path / "forest.png"
    real_stage = writing.stage

    def racing_stage(path, data):  # someone creates the file while metaall draws
        staged = real_stage(path, data)
        target.write_text("theirs")
        return staged

    monkeypatch.setattr(writing, "stage", racing_stage)
    result = invoke(ROOT, "forest", "relapse", "-o", str(target))
    assert result.exit_code == 1 and "refusing to overwrite" in result.output
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["forest.png"]  # no temporary left


@pytest.mark.parametrize("kind", ["device", "fifo", "dangling"])
def test_overwrite_refuses_what_is_not_a_regular_file(tmp_path, kind):
    target = tmp_path / "plot.png"
    if kind == "device":
        try:
            os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            target.symlink_to("/dev/null")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(tmp_path / "missing.png")
    result = invoke(ROOT, "forest", "relapse", "-o", str(target), "--overwrite")
    assert result.exit_code == 1 and ONE_LINE.match(result.output)
    assert "refusing" in result.output
    if kind == "device":
        assert target.is_char_device() and Path("/dev/null").is_char_device()
    if kind == "dangling":
        assert not (tmp_path / "missing.png").exists()


def test_overwrite_writes_through_a_link_to_a_file(tmp_path):
    real = tmp_path / "real.png"
    real.write_text("old")
    link = tmp_path / "link.png"
    link.symlink_to(real)
    assert invoke(ROOT, "forest", "relapse", "-o", str(link), "--overwrite").exit_code == 0
    assert link.is_symlink() and real.read_bytes().startswith(b"\x89PNG")


def test_add_writes_through_a_symlinked_effects_csv(project, tmp_path):
    folder = project / "extractions"
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in ("effects.csv", "studies.csv"):
        shutil.move(folder / name, shared / name)
        (folder / name).symlink_to(shared / name)
    assert invoke(project, *add_args()).exit_code == 0
    assert (folder / "effects.csv").is_symlink() and (folder / "studies.csv").is_symlink()
    assert b"NCT99999999" in (shared / "effects.csv").read_bytes()
    assert b"NCT99999999" in (shared / "studies.csv").read_bytes()
    assert not [p for p in shared.iterdir() if p.name.endswith(".tmp")]


def test_read_only_effects_csv_error_names_the_users_file(project):
    folder = project / "extractions"
    (folder / "effects.csv").chmod(0o444)
    before = snapshot(folder)
    result = invoke(project, *add_args())
    assert result.exit_code == 1 and ONE_LINE.match(result.output)
    assert f"{folder / 'effects.csv'}:0: file: " in result.output and "read-only" in result.output
    assert "tmp" not in result.output.replace(str(project), "")
    assert snapshot(folder) == before


# ------------------------------------------------------------ 10, 11. paths, input size


@pytest.mark.parametrize("name", ["../x", "../analyses/relapse", "/tmp/x", "./relapse", "x/.."])
def test_analysis_names_are_only_specs_in_analyses(project, name):
    (project / "x.yaml").write_text((project / "analyses" / "relapse.yaml").read_text())
    Path("/tmp/x.yaml").write_text("broken: [")
    result = invoke(project, "pool", name)
    assert result.exit_code == 2 and f"no analysis '{name}'" in result.output


def test_non_regular_data_files_are_refused_at_once(project, tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        start = time.perf_counter()
        result = invoke(project, "pool", "--data", path)
        assert time.perf_counter() - start < 2
        assert (
            result.output
            == f"error: {path}:0: file: not a regular file (a device, FIFO or folder)\n"
        )
    result = invoke(project, "add", "--from", "/dev/zero")
    assert "not a regular file" in result.output


def test_large_files_are_read_in_bounded_memory_or_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    with path.open("w") as handle:
        handle.write(ADHOC_HEADER)
        handle.writelines(f"S{i},label {i},3,20,9,22\n" for i in range(120_000))
    monkeypatch.setattr(csvfile, "MAX_ROWS", 1000)
    tracemalloc.start()
    with pytest.raises(DataError) as error:
        csvfile.read_csv(path, ("study",), ("label", "events_t", "n_t", "events_c", "n_c"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert path.stat().st_size > 3_000_000 and peak < 1_500_000  # streamed, not slurped
    assert str(error.value) == (
        f"{path}:1002: file: file is too large (over 1,000 rows); metaall reads CSV files "
        "of up to 64 MiB and 1,000 data rows"
    )
    monkeypatch.setattr(csvfile, "MAX_BYTES", 2**20)
    with pytest.raises(DataError, match=r":0: file: file is too large \(3 MiB\)"):
        csvfile.read_csv(path, ("study",), ("label", "events_t", "n_t", "events_c", "n_c"))


# ------------------------------------------------------------ 2. the journal, directly


def test_a_journal_left_by_a_kill_is_completed_by_the_next_reader(project):
    folder = project / "extractions"
    effects, studies = (folder / name for name in ("effects.csv", "studies.csv"))
    new = {
        "effects.csv": effects.read_bytes() + b"NCT1,x\n",
        "studies.csv": studies.read_bytes() + b"NCT1,y\n",
    }
    real_apply = journal_module._apply
    journal_module._apply = lambda root, entries: None  # killed right after the commit point
    try:
        commit(folder, new)
    finally:
        journal_module._apply = real_apply
    assert (folder / JOURNAL).exists() and effects.read_bytes() != new["effects.csv"]
    with pytest.raises(DataError):  # the rows are invalid: but the files are complete
        load_extractions(folder)
    assert effects.read_bytes() == new["effects.csv"] and studies.read_bytes() == new["studies.csv"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "effects.csv",
        "risk_of_bias.csv",
        "studies.csv",
        "vocabulary.csv",
    ]


def test_stale_temporary_files_are_cleaned_and_a_retry_works(project):
    folder = project / "extractions"
    (folder / ".effects.csv.abcd1234.tmp").write_bytes(b"half a row")
    (folder / ".studies.csv.zz_99xyz.tmp").write_bytes(b"")
    assert invoke(project, "validate").exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "effects.csv",
        "risk_of_bias.csv",
        "studies.csv",
        "vocabulary.csv",
    ]
    assert invoke(project, *add_args()).exit_code == 0


def test_a_journal_is_never_applied_over_a_hand_edit(project):
    folder = project / "extractions"
    effects = folder / "effects.csv"
    journal_module._apply, real = (lambda root, entries: None), journal_module._apply
    try:
        commit(folder, {"effects.csv": effects.read_bytes() + b"\n"})
    finally:
        journal_module._apply = real
    effects.write_bytes(effects.read_bytes().replace(b"Table 2", b"Table 9"))  # edited meanwhile
    with pytest.raises(DataError, match="changed by hand after an interrupted 'metaall add'"):
        load_extractions(folder)
    assert b"Table 9" in effects.read_bytes()
    (folder / JOURNAL).write_text("{damaged")
    result = invoke(project, "validate")
    assert result.exit_code == 1 and f"{folder / JOURNAL}:0: journal: damaged" in result.output


def test_full_disk_while_staging_changes_nothing(project, monkeypatch):
    folder = project / "extractions"
    before = snapshot(folder)
    calls = []

    def full(target, data):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_stage(target, data)

    real_stage = writing.stage
    monkeypatch.setattr(journal_module, "stage", full)
    result = invoke(project, *add_args())
    assert result.exit_code == 1
    assert result.output == (
        f"error: {folder / 'studies.csv'}:0: file: cannot write: No space left on device; "
        "nothing was changed\n"
    )
    assert snapshot(folder) == before


# ------------------------------------------------------------ 1. lock details


def test_lock_timeout_is_a_clear_busy_error(project, monkeypatch):
    monkeypatch.setenv(locking.TIMEOUT_ENV, "0.2")
    folder = project / "extractions"
    before = snapshot(folder)
    with locking.locked(folder, exclusive=True):
        pass  # re-entrant: nested use is fine
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from metaall.data.locking import locked\n"
            f"with locked({str(folder)!r}, exclusive=True):\n"
            "    print('held', flush=True); time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = invoke(project, *add_args())
        assert result.exit_code == 1 and ONE_LINE.match(result.output)
        assert f"{folder}:0: lock: review folder busy" in result.output
        assert snapshot(folder) == before
        assert "review folder busy" in invoke(project, "pool", "relapse").output
    finally:
        holder.kill()
        holder.wait()
    assert invoke(project, "pool", "relapse").exit_code == 0


def test_a_file_system_that_cannot_lock_folders_uses_a_lock_file(project, monkeypatch):
    real = locking.fcntl.flock

    def no_folders(fd, operation):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(22, "Invalid argument")
        return real(fd, operation)

    monkeypatch.setattr(locking.fcntl, "flock", no_folders)
    assert invoke(project, *add_args()).exit_code == 0
    assert (project / "extractions" / locking.LOCK_FILE).exists()


# ------------------------------------------------------------ 14. API edge values


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metaall.fit([1e300, 0.1], [0.1, 0.2]), "study 1: |yi| must be at most 1e+50"),
        (lambda: metaall.fit([-1e300, 0.1], [0.1, 0.2]), "study 1: |yi| must be at most 1e+50"),
        (lambda: metaall.fit([0.1, 0.2], [5e-324, 0.2]), "vi must be between 1e-50 and 1e+50"),
        (lambda: metaall.fit([0.1, 0.2], [0.1, 1e300]), "study 2: vi must be between"),
        (lambda: metaall.fit([0.1, 0.2], [1e-10, 1.0]), "vi spans more than 1e+08"),
        (lambda: metaall.effect_sizes([5e-324], [1], [1], [2]), "counts must be whole numbers"),
        (lambda: metaall.effect_sizes([1e300], [1e300], [1], [2]), "counts above 1e+15"),
        (lambda: metaall.fit_mh([1], [1e300], [1], [2]), "counts above 1e+15"),
        (lambda: metaall.hr_from_p(2.0, 5e-324), "too small to derive a standard error"),
        (lambda: metaall.fit_mh([], [], [], []), "no studies to pool"),
        (lambda: metaall.fit_mh([0, 0], [5, 8], [0, 0], [6, 9]), "no study has an event"),
        (lambda: metaall.fit_mh([0, 0], [5, 8], [0, 0], [6, 9], "RD"), "no study has an event"),
        (lambda: metaall.fit_peto([], [], [], []), "no studies to pool"),
    ],
)
def test_extreme_api_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


magnitudes = st.floats(-50, 49)


@given(
    st.lists(st.tuples(magnitudes, st.sampled_from([-1, 0, 1])), min_size=1, max_size=8),
    st.floats(-50, 42),
    st.lists(st.floats(0, 8), min_size=8, max_size=8),
    st.sampled_from(("FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM")),
)
def test_any_accepted_input_gives_finite_numbers(effects, base, spread, method):
    yi = np.array([sign * 10.0**e for e, sign in effects])
    vi = 10.0 ** (base + np.array(spread[: len(yi)]))
    res = metaall.fit(yi, vi, method)
    values = [res.estimate, res.se, res.ci_lb, res.ci_ub, res.tau2, res.I2, res.H2, res.Q]
    assert np.all(np.isfinite(values)) and res.se > 0 and res.tau2 >= 0
    assert 0 <= res.pval <= 1
