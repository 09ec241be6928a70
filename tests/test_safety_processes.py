"""Concurrent and interrupted writes with real processes (issue 12): concurrent adds,
SIGKILL at every step of an add's commit and at random instants, a full disk at every
step, a closed stdout, runs overlapping adds, killed runs, and figure workers that
must end with their parent."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from metaall.cli import cli
from metaall.data import load_extractions
from metaall.data.journal import JOURNAL

ROOT = Path(__file__).resolve().parents[1]
METAALL = [sys.executable, "-c", "import sys; from metaall.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
FILES = ("effects.csv", "risk_of_bias.csv", "studies.csv", "vocabulary.csv")


def add_args(n: int) -> list[str]:
    """A new trial NCT9000nnnn with one relapse effect (its own counts: the same counts
    as another study would be warned about as a likely duplicate)."""
    return [
        *("add", "--study", f"NCT9{n:07d}", "--label", f"Trial {n}", "--year", "2025"),
        *("--design", "prospective_cohort", "--disease", "all"),
        *("--comparison", "hsct_vs_no_hsct_after_cart", "--outcome", "relapse"),
        *("--population", "mrd_neg", "--arm-t", "HSCT", "--arm-c", "no HSCT"),
        *("--events-t", "3", "--n-t", str(20 + n), "--events-c", "9", "--n-c", "22"),
        *("--source", "s.pdf", "--location", "Table 2", "--source-row", f"row {n}"),
    ]


def start(project: Path, *args: str, **popen) -> subprocess.Popen:
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "env": ENV, **popen}
    return subprocess.Popen([*METAALL, "-C", str(project), *args], **options)


def trials(project: Path) -> tuple[set[str], set[str]]:
    """The added trials in studies.csv and in effects.csv, after checking that the
    folder loads cleanly (every effect's study exists, no half-written row)."""
    data = load_extractions(project / "extractions")
    studies = {s for s in data.studies if s.startswith("NCT9")}
    effects = {e.study for e in data.effects if e.study.startswith("NCT9")}
    return studies, effects


def assert_clean(project: Path) -> None:
    folder = project / "extractions"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    result = CliRunner().invoke(cli, ["-C", str(project), "validate"])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- 1. concurrent adds


def test_concurrent_adds_all_land(project):
    n = 10
    procs = [start(project, *add_args(i)) for i in range(n)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, outputs
    for i, (out, err) in enumerate(outputs):
        assert out.decode().startswith(f"added 1 effect(s) and study NCT9{i:07d}")
        # the trials share their counts: each later one is flagged as a likely duplicate
        assert all(line.startswith(b"warning: likely duplicate") for line in err.splitlines())
    studies, effects = trials(project)
    assert studies == effects == {f"NCT9{i:07d}" for i in range(n)}
    assert_clean(project)


def test_concurrent_adds_of_the_same_trial_add_it_once(project):
    procs = [start(project, *add_args(1)) for _ in range(4)]
    results = [(p.communicate(timeout=300), p.returncode) for p in procs]
    assert sorted(code for _, code in results) == [0, 2, 2, 2]
    for (out, err), code in results:
        if code:  # each later add re-read the files under the lock and saw the first
            assert b"study NCT90000001 is already in studies.csv" in err and out == b""
    data = load_extractions(project / "extractions")
    assert [e.study for e in data.effects].count("NCT90000001") == 1


def test_runs_overlapping_adds_always_see_a_consistent_folder(project):
    procs = [start(project, *add_args(i)) for i in range(4)]
    runs = [start(project, "run", "--no-figures", "--out", f"out{i}") for i in range(3)]
    for proc in [*procs, *runs]:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert_clean(project)


# ---------------------------------------------------------------- 2. killed adds

INJECT = """
import errno, os, signal, sys
import metaall.data.journal as journal

AT, HOW = int(os.environ["FAULT_AT"]), os.environ["FAULT_HOW"]
count, armed = [0], [False]

def fault(function):
    def wrapped(*args, **kwargs):
        if armed[0]:
            count[0] += 1
            if count[0] == AT:
                with open(os.environ["FAULT_LOG"], "w") as log:
                    log.write(function.__name__)
                if HOW == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise OSError(errno.ENOSPC, "No space left on device")
        return function(*args, **kwargs)
    return wrapped

for name in ("fsync", "replace", "link", "unlink", "chmod", "write"):
    setattr(os, name, fault(getattr(os, name)))
commit = journal.commit
def armed_commit(*args):
    armed[0] = True
    return commit(*args)
from metaall.cli import main
sys.modules["metaall.cli.add"].commit = armed_commit
main()
"""


def faulty_add(project: Path, at: int, how: str) -> subprocess.CompletedProcess:
    log = project / "fault.log"
    log.unlink(missing_ok=True)
    env = {**ENV, "FAULT_AT": str(at), "FAULT_HOW": how, "FAULT_LOG": str(log)}
    command = [sys.executable, "-c", INJECT, "-C", str(project), *add_args(7)]
    return subprocess.run(command, capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("how", ["kill", "enospc"])
def test_add_is_all_or_nothing_at_every_step(project, how):
    """SIGKILL (or a full disk) at each file-system call of the commit, in turn, until
    one run gets through: the next command always finds both rows or neither."""
    folder = project / "extractions"
    before = {name: (folder / name).read_bytes() for name in FILES}
    outcomes = []
    for at in range(1, 60):
        for name, data in before.items():
            (folder / name).write_bytes(data)
        done = faulty_add(project, at, how)
        fired = (project / "fault.log").exists()
        if not fired:  # past the last file-system call of the commit
            assert done.returncode == 0, done.stderr.decode()
            break
        if how == "kill":
            assert done.returncode == -signal.SIGKILL
        elif done.returncode:
            err = done.stderr.decode()
            assert done.returncode == 1 and err.count("\n") == 1, err
            assert ".tmp" not in err and ("nothing was changed" in err or "next metaall" in err)
        studies, effects = trials(project)  # the next command: recovers, then reads
        assert studies == effects, at
        outcomes.append(bool(studies))
        assert_clean(project)
        if not studies:  # a retry is never refused ("already in studies.csv")
            retry = CliRunner().invoke(cli, ["-C", str(project), *add_args(7)])
            assert retry.exit_code == 0, retry.output
            assert trials(project) == ({"NCT90000007"}, {"NCT90000007"})
    else:
        pytest.fail("the add never got through")
    assert len(outcomes) >= 10  # every stage, journal, apply and clean-up step was hit
    assert False in outcomes and True in outcomes


def test_add_killed_at_random_instants(project):
    rng = random.Random(12)
    for attempt in range(8):
        proc = start(project, *add_args(100 + attempt))
        time.sleep(rng.uniform(0.2, 1.6))
        proc.kill()
        proc.communicate()
        studies, effects = trials(project)
        assert studies == effects
        assert not (project / "extractions" / JOURNAL).exists()
    assert_clean(project)


# ---------------------------------------------------------------- 3. closed stdout


@pytest.mark.parametrize("command", ["add", "run"])
def test_closed_stdout_loses_nothing_and_exits_quietly(project, command):
    for attempt in range(3):
        args = add_args(attempt) if command == "add" else ["run", "--no-figures"]
        proc = start(project, *args)
        proc.stdout.close()  # like 'metaall add ... | head -0'
        err = proc.stderr.read()
        proc.wait(timeout=120)
        assert err == b"" and proc.returncode == 1
    if command == "add":
        assert trials(project) == ({f"NCT9{i:07d}" for i in range(3)},) * 2
    else:
        manifest = json.loads((project / "output" / ".metaall-run.json").read_text())
        for name, digest in manifest["files"].items():
            assert hashlib.sha256((project / "output" / name).read_bytes()).hexdigest() == digest
    assert_clean(project)


# ---------------------------------------------------------------- 7, 8. killed runs


def test_killed_runs_recover_by_themselves(project):
    rng = random.Random(7)
    out = project / "output"
    for attempt in range(4):
        # --rebuild: every run recomputes (an unchanged run would reuse, done at once)
        proc = start(project, "run", "--no-figures", "--rebuild")
        time.sleep(rng.uniform(0.3, 2.0))
        proc.kill()
        proc.communicate()
        if attempt == 2:
            CliRunner().invoke(cli, ["-C", str(project), *add_args(attempt)])
    again = CliRunner().invoke(cli, ["-C", str(project), "run", "--no-figures"])
    assert again.exit_code == 0, again.output
    manifest = json.loads((out / ".metaall-run.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- 12. orphans


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
    reason="needs /proc and at least two CPUs (figure workers)",
)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_figure_workers_end_with_their_parent(project, sig):
    out = subprocess.DEVNULL  # a worker that outlived its parent must not hold a pipe open
    proc = start(project, "run", "--formats", "png", "--out", "figs", stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and not workers:
        time.sleep(0.1)
        workers = children(proc.pid)
    assert workers, "run started no figure worker"
    time.sleep(0.5)  # let them start drawing
    proc.send_signal(sig)
    proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.05)
    survivors = [w for w in workers if alive(w)]
    for pid in survivors:  # leave no orphan behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
