"""``metaall run`` is incremental (issue 17): an analysis whose inputs (rows, spec,
settings, versions) are unchanged keeps its files and is neither fitted nor drawn;
what it does write is byte for byte what a fresh run writes."""

from __future__ import annotations

import hashlib
import importlib
import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from test_cli import invoke
from test_safety_processes import ENV, start

import metaall.reports.reuse
from metaall.analysis import Project
from metaall.figures.settings import FigureSettings
from metaall.reports.outputs import MANIFEST
from metaall.reports.reuse import analysis_key, run_inputs

RUN = importlib.import_module("metaall.cli.run")  # the module; metaall.cli.run is the command

KEEP = ("os", "lfs", "nrm")  # three analyses with subgroups: quick to draw
FIGURES = ("--formats", "png", "--dpi", "72")
OS_TRIAL = [
    *("add", "--study", "NCT90000001", "--label", "Trial 1", "--year", "2025"),
    *("--design", "prospective_cohort", "--disease", "all", "--car-target", "CD19"),
    *("--comparison", "hsct_vs_no_hsct_after_cart", "--outcome", "os"),
    *("--population", "mrd_neg", "--arm-t", "HSCT", "--arm-c", "no HSCT"),
    *("--hr", "0.5", "--hr-lower", "0.3", "--hr-upper", "0.9", "--timepoint", "last follow-up"),
    *("--source", "s.pdf", "--location", "Table 2", "--source-row", "row 1"),
]


@pytest.fixture
def small(project: Path) -> Path:
    """The project with three analyses (os, lfs, nrm) of their own rows."""
    for spec in (project / "analyses").glob("*.yaml"):
        if spec.stem not in KEEP:
            spec.unlink()
    return project


@pytest.fixture
def computed(monkeypatch) -> list[str]:
    """The names of the analyses a run fits (in this process), in order."""
    names: list[str] = []
    real = RUN.run_analysis

    def spy(spec, data, subgroup=None):
        if subgroup is None:
            names.append(spec.name)
        return real(spec, data, subgroup)

    monkeypatch.setattr(RUN, "run_analysis", spy)
    return names


def run(project: Path, *extra: str, out: str = "out"):
    result = invoke(project, "run", "--out", out, *extra)
    assert result.exit_code == 0, result.output
    return result


def stats(folder: Path) -> dict[str, tuple[int, int]]:
    """Inode and modification time (ns) of every output file."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.iterdir()
        if p.name != MANIFEST
    }


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != MANIFEST}


def test_an_unchanged_rerun_reuses_every_analysis_and_touches_no_file(small, computed):
    first = run(small, *FIGURES)
    assert sorted(computed) == sorted(KEEP)
    before = stats(small / "out")
    assert any(name.endswith(".png") for name in before)
    computed.clear()
    again = run(small, *FIGURES)
    assert computed == []
    assert f"3 analyses, 0 files written to {small / 'out'}" in again.output
    assert f"reused 3 analyses unchanged since the last run ({len(before)} files" in again.output
    assert "no change since the last run" in again.output
    assert stats(small / "out") == before
    assert first.output.splitlines()[1] == again.output.splitlines()[2]  # the skipped groups


def test_an_unchanged_run_imports_neither_matplotlib_nor_pandas(small):
    run(small, *FIGURES)
    args = ["-C", str(small), "run", "--out", "out", *FIGURES]
    probe = (
        "import sys; from metaall.cli import cli\n"
        f"cli.main({args!r}, standalone_mode=False)\n"
        "print(sorted(m for m in ('matplotlib', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV)
    assert "reused 3 analyses" in done.stdout, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_one_new_trial_refits_and_redraws_only_its_analysis(small, computed):
    run(small, *FIGURES)
    before, old = stats(small / "out"), contents(small / "out")
    assert invoke(small, *OS_TRIAL).exit_code == 0
    computed.clear()
    done = run(small, *FIGURES)
    assert computed == ["os"]
    assert "reused 2 analyses unchanged" in done.output
    assert "os [all]: HR 0.27 [0.14, 0.50] (k = 2) -> 0.36 [0.21, 0.63] (k = 3)" in done.output
    after = stats(small / "out")
    others = [name for name in before if not name.startswith("os")]
    assert others and all(after[name] == before[name] for name in others)
    new = contents(small / "out")
    changed = {name for name in new if new[name] != old.get(name)}
    assert "os.txt" in changed and "os_funnel.png" in changed  # k = 3: a funnel plot now
    assert all(name.startswith("os") for name in changed)


def test_an_incremental_run_is_byte_identical_to_a_fresh_one(small):
    look = ("--formats", "pdf,png", "--dpi", "72")
    run(small, *look)
    assert invoke(small, *OS_TRIAL).exit_code == 0
    incremental = run(small, *look)
    assert "reused 2 analyses" in incremental.output
    fresh = run(small, *look, out="fresh")
    assert "reused" not in fresh.output
    ours, theirs = contents(small / "out"), contents(small / "fresh")
    assert sorted(ours) == sorted(theirs)
    assert any(name.endswith(".pdf") for name in ours)
    assert [name for name in ours if ours[name] != theirs[name]] == []
    manifests = [json.loads((small / d / MANIFEST).read_text()) for d in ("out", "fresh")]
    for section in ("files", "summary", "analyses"):
        assert manifests[0][section] == manifests[1][section]


@pytest.mark.parametrize(
    "changed",
    [("--dpi", "73"), ("--formats", "svg"), ("--style", "jama")],
)
def test_a_settings_change_redraws_every_analysis(small, computed, changed):
    run(small, *FIGURES)
    computed.clear()
    settings = dict(zip(FIGURES[::2], FIGURES[1::2], strict=True)) | {changed[0]: changed[1]}
    done = run(small, *(x for item in settings.items() for x in item))
    assert sorted(computed) == sorted(KEEP) and "reused" not in done.output


def test_figures_on_or_off_is_a_settings_change(small, computed):
    run(small, "--no-figures")
    computed.clear()
    run(small, *FIGURES)
    assert sorted(computed) == sorted(KEEP)
    assert (small / "out" / "os_forest.png").exists()


@pytest.mark.parametrize(
    "name, value",
    [("__version__", "99.0"), ("source_digest", lambda: "edited source")],
    ids=["version", "edited source"],
)
def test_another_metaall_recomputes_everything(small, computed, monkeypatch, name, value):
    """A new version, or the same version with its source files edited."""
    run(small, "--no-figures")
    monkeypatch.setattr(metaall.reports.reuse, name, value)
    computed.clear()
    done = run(small, "--no-figures")
    assert sorted(computed) == sorted(KEEP) and "reused" not in done.output
    assert "no change since the last run" in done.output


def test_a_manifest_without_keys_reuses_nothing(small, computed):
    run(small, "--no-figures")
    manifest = small / "out" / MANIFEST
    record = json.loads(manifest.read_text())
    del record["analyses"]  # as an older metaall wrote it
    manifest.write_text(json.dumps(record))
    computed.clear()
    run(small, "--no-figures")
    assert sorted(computed) == sorted(KEEP)
    computed.clear()
    run(small, "--no-figures")
    assert computed == []


def test_rebuild_recomputes_everything(small, computed):
    run(small, "--no-figures")
    computed.clear()
    done = run(small, "--no-figures", "--rebuild")
    assert sorted(computed) == sorted(KEEP) and "reused" not in done.output


def test_a_deleted_output_is_redrawn(small, computed):
    run(small, *FIGURES)
    figure = small / "out" / "lfs_forest.png"
    drawn = figure.read_bytes()
    figure.unlink()
    computed.clear()
    done = run(small, *FIGURES)
    assert computed == ["lfs"] and "reused 2 analyses" in done.output
    assert figure.read_bytes() == drawn


def test_a_hand_edited_output_of_an_unchanged_analysis_is_never_overwritten(small, computed):
    run(small, "--no-figures")
    table = small / "out" / "nrm.txt"
    table.write_text("my edits")
    computed.clear()
    refused = invoke(small, "run", "--out", "out", "--no-figures")
    assert refused.exit_code == 1 and "nrm.txt was not written by metaall run" in refused.output
    assert computed == ["nrm"] and table.read_text() == "my edits"
    record = json.loads((small / "out" / MANIFEST).read_text())
    assert record["files"]["nrm.txt"] != hashlib.sha256(b"my edits").hexdigest()
    run(small, "--no-figures", "--force")
    assert table.read_text().startswith("Non-relapse mortality")


def _vouched_for(out: Path) -> None:
    """Every file in ``out`` is one the manifest knows (by name and bytes) or a
    temporary file of the killed run."""
    record = json.loads((out / MANIFEST).read_text())
    for path in out.iterdir():
        if path.name == MANIFEST or path.name.endswith(".tmp"):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        known = {record[s].get(path.name) for s in ("files", "pending", "stale") if s in record}
        assert digest in known, path.name


def _os_trial(i: int) -> list[str]:
    """OS_TRIAL as the i-th new study (its own registry number and label)."""
    names = {"NCT90000001": f"NCT9000{i:04d}", "Trial 1": f"Trial {i}"}
    return [names.get(arg, arg) for arg in OS_TRIAL]


def test_an_incremental_run_killed_midway_leaves_a_consistent_folder(small):
    """Each run has a new trial to draw; the first is timed, the others are killed at
    a random point of that time (however fast or loaded the machine)."""
    run(small, *FIGURES)
    out, rng = small / "out", random.Random(17)
    codes, duration = [], 0.0
    for i in range(1, 7):
        assert invoke(small, *_os_trial(i)).exit_code == 0
        begun = time.perf_counter()
        proc = start(small, "run", "--out", "out", *FIGURES)
        if i > 1:
            time.sleep(duration * rng.uniform(0.2, 0.8))
            proc.kill()
        proc.communicate()
        duration = duration or time.perf_counter() - begun
        codes.append(proc.returncode)
        _vouched_for(out)
    assert codes[0] == 0 and -signal.SIGKILL in codes  # killed while running, not after
    done = run(small, *FIGURES)
    assert "reused 2 analyses" in done.output or "reused 3 analyses" in done.output
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    record = json.loads((out / MANIFEST).read_text())
    for name, digest in record["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    run(small, *FIGURES, out="fresh")
    assert contents(out) == contents(small / "fresh")


def test_the_key_is_the_analysis_rows_and_settings_not_where_rows_sit(project):
    data, specs = Project(project).load()
    spec, run_ = specs["os"], run_inputs(None)
    key = analysis_key(spec, data, run_)
    effects = data.effects
    moved = replace(data, effects=tuple(replace(e, path="x.csv", line=e.line + 9) for e in effects))
    assert analysis_key(spec, moved, run_) == key
    own = replace(data, effects=tuple(e for e in effects if e.outcome == spec.outcome))
    assert analysis_key(spec, own, run_) == key
    first = next(i for i, e in enumerate(effects) if e.outcome == spec.outcome)
    edited = list(effects)
    edited[first] = replace(effects[first], note=effects[first].note + ".")
    assert analysis_key(spec, replace(data, effects=tuple(edited)), run_) != key
    assert analysis_key(replace(spec, level=0.9), data, run_) != key
    elsewhere = replace(spec, path=str(project.resolve() / "analyses" / "os.yaml"))
    assert analysis_key(elsewhere, data, run_) == key  # metaall -C DIR run, or run in DIR
    look = (FigureSettings(), ("png",))
    assert analysis_key(spec, data, run_inputs(look)) != key
    assert run_inputs(look) != run_inputs((FigureSettings(dpi=600), ("png",)))


def test_a_kept_file_changed_during_the_run_is_caught_under_the_lock(small, monkeypatch):
    """The run decides and draws before it takes the folder's lock; if a file it keeps
    changes meanwhile, it decides again under the lock."""
    run(small, "--no-figures")
    table = small / "out" / "lfs.txt"
    written = table.read_bytes()
    assert invoke(small, *OS_TRIAL).exit_code == 0
    names: list[str] = []
    real = RUN.run_analysis

    def meddling(spec, data, subgroup=None):
        if subgroup is None:
            names.append(spec.name)
            if names == ["os"]:  # lfs.txt was found intact just before: now it goes
                table.unlink()
        return real(spec, data, subgroup)

    monkeypatch.setattr(RUN, "run_analysis", meddling)
    done = run(small, "--no-figures")
    assert names == ["os", "lfs", "os"] and "reused 1 analyses" in done.output
    assert table.read_bytes() == written
