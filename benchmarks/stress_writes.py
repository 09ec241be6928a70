"""Stress the review folder's write guarantees with real processes (issue 12).

On a scratch copy of the shipped project:

1. 50 ``metaall add`` of different trials started at once;
2. rounds of concurrent adds, some killed with SIGKILL at a random instant;
3. ``metaall run`` killed with SIGKILL at random instants (with adds in between),
   then a run that must succeed without ``--force``.

After every step ``metaall validate`` must pass and the files must show that nothing
was lost or half-written: the original bytes of effects.csv and studies.csv are
still their prefix, every add that said "added" is in both files, every add refused
as busy or killed is in both files or in neither, no journal or temporary file is
left, and every output of ``run`` has the hash its manifest records. Prints the
counts; exits 1 on any violation.

    python benchmarks/stress_writes.py [--adds 50] [--kill-rounds 12] [--run-kills 8]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METAALL = [sys.executable, "-c", "from metaall.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def add_args(n: int) -> list[str]:
    return [
        *("add", "--study", f"NCT8{n:07d}", "--label", f"Stress trial {n}", "--year", "2025"),
        *("--design", "prospective_cohort", "--disease", "all"),
        *("--comparison", "hsct_vs_no_hsct_after_cart", "--outcome", "relapse"),
        *("--population", "mrd_neg", "--arm-t", "HSCT", "--arm-c", "no HSCT"),
        *("--events-t", str(1 + n % 7), "--n-t", "20", "--events-c", "9", "--n-c", "22"),
        *("--source", "stress.pdf", "--location", "Table 2", "--source-row", f"row {n}"),
    ]


def start(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*METAALL, "-C", str(project), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )


class Checker:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.folder = project / "extractions"
        self.original = {n: (self.folder / n).read_bytes() for n in ("effects.csv", "studies.csv")}
        self.added: set[str] = set()  # said "added": must be present
        self.unsure: set[str] = set()  # killed: all or nothing
        self.absent: set[str] = set()  # refused (busy): must be absent
        self.violations: list[str] = []
        self.validations = 0

    def fail(self, message: str) -> None:
        self.violations.append(message)
        print(f"  VIOLATION: {message}")

    def outcome(self, trial: str, proc: subprocess.Popen, killed: bool) -> str:
        out, err = proc.communicate()
        if killed and proc.returncode == -signal.SIGKILL:
            self.unsure.add(trial)
            return "killed"
        if proc.returncode == 0 and out.startswith(b"added 1 effect(s)"):
            self.added.add(trial)
            return "added"
        if proc.returncode == 1 and b"review folder busy" in err and err.count(b"\n") == 1:
            self.absent.add(trial)
            return "busy"
        self.fail(f"{trial}: exit {proc.returncode}: {err.decode(errors='replace').strip()}")
        return "error"

    def check(self) -> None:
        done = subprocess.run(
            [*METAALL, "-C", str(self.project), "validate"], capture_output=True, env=ENV
        )
        self.validations += 1
        if done.returncode != 0:
            self.fail(f"validate: {done.stderr.decode(errors='replace').strip()}")
        for name, before in self.original.items():
            if not (self.folder / name).read_bytes().startswith(before):
                self.fail(f"{name}: original bytes changed")
        leftovers = [p.name for p in self.folder.iterdir() if p.name.startswith(".")]
        if leftovers:
            self.fail(f"left in extractions/: {leftovers}")
        effects = (self.folder / "effects.csv").read_text(encoding="utf-8")
        studies = (self.folder / "studies.csv").read_text(encoding="utf-8")
        for trial in self.added | self.unsure | self.absent:
            in_effects, in_studies = f"\n{trial}," in effects, f"\n{trial}," in studies
            if in_effects != in_studies:
                self.fail(f"{trial}: half-written (effects {in_effects}, studies {in_studies})")
            if trial in self.added and not in_effects:
                self.fail(f"{trial}: said 'added' but is missing")
            if trial in self.absent and in_effects:
                self.fail(f"{trial}: refused as busy but present")

    def present(self, trials: set[str]) -> int:
        effects = (self.folder / "effects.csv").read_text(encoding="utf-8")
        return sum(f"\n{trial}," in effects for trial in trials)


def concurrent_adds(check: Checker, n: int) -> None:
    start_time = time.perf_counter()
    procs = [(f"NCT8{i:07d}", start(check.project, *add_args(i))) for i in range(n)]
    counts: dict[str, int] = {}
    for trial, proc in procs:
        kind = check.outcome(trial, proc, killed=False)
        counts[kind] = counts.get(kind, 0) + 1
    check.check()
    took = time.perf_counter() - start_time
    present = check.present({t for t, _ in procs})
    print(f"1. {n} concurrent adds in {took:.1f} s: {counts}; {present} of {n} trials present")


def killed_adds(check: Checker, rounds: int, rng: random.Random) -> None:
    counts: dict[str, int] = {}
    number = 1000
    for _ in range(rounds):
        procs = []
        for _ in range(rng.randint(2, 4)):
            number += 1
            procs.append((f"NCT8{number:07d}", start(check.project, *add_args(number))))
        doomed = rng.sample(range(len(procs)), rng.randint(1, len(procs)))
        time.sleep(rng.uniform(0.2, 2.5))
        for i in doomed:
            procs[i][1].send_signal(signal.SIGKILL)
        for i, (trial, proc) in enumerate(procs):
            kind = check.outcome(trial, proc, killed=i in doomed)
            counts[kind] = counts.get(kind, 0) + 1
        check.check()
    killed = {t for t in check.unsure}
    print(
        f"2. {rounds} rounds of concurrent adds with SIGKILLs: {counts}; of the killed, "
        f"{check.present(killed)} completed, {len(killed) - check.present(killed)} left no trace"
    )


def killed_runs(check: Checker, kills: int, rng: random.Random) -> None:
    out = check.project / "output"
    counts = {"killed": 0, "finished before the kill": 0}
    for i in range(kills):
        figures = i % 4 == 0  # a run with figures takes far longer: kill it later
        args = ["run", "--formats", "png"] if figures else ["run", "--no-figures"]
        proc = start(check.project, *args)
        time.sleep(rng.uniform(2.0, 12.0) if figures else rng.uniform(0.3, 1.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        counts["killed" if proc.returncode == -signal.SIGKILL else "finished before the kill"] += 1
        if i % 3 == 1:  # the evidence changes between runs
            trial = f"NCT8{5000 + i:07d}"
            check.outcome(trial, start(check.project, *add_args(5000 + i)), killed=False)
        check.check()
    final = subprocess.run(
        [*METAALL, "-C", str(check.project), "run", "--no-figures"], capture_output=True, env=ENV
    )
    if final.returncode != 0:
        check.fail(f"run after the kills: {final.stderr.decode(errors='replace').strip()}")
    manifest = json.loads((out / ".metaall-run.json").read_text())
    wrong = [
        name
        for name, digest in manifest["files"].items()
        if hashlib.sha256((out / name).read_bytes()).hexdigest() != digest
    ]
    if wrong:
        check.fail(f"outputs that differ from the manifest: {wrong}")
    temporary = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    if temporary:
        check.fail(f"temporary files left in output/: {temporary}")
    verdict = "succeeded" if final.returncode == 0 else "FAILED"
    print(
        f"3. {kills} runs killed at random instants: {counts}; the next run {verdict} "
        f"without --force; {len(manifest['files']) - len(wrong)} outputs match the manifest, "
        f"{len(wrong)} do not; {len(temporary)} temporary files left"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adds", type=int, default=50)
    parser.add_argument("--kill-rounds", type=int, default=12)
    parser.add_argument("--run-kills", type=int, default=8)
    parser.add_argument("--seed", type=int, default=12)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("extractions", "analyses"):
            shutil.copytree(ROOT / name, project / name)
        check = Checker(project)
        timeout = os.environ.get("METAALL_LOCK_TIMEOUT", "60")
        print(f"scratch project {project}; lock timeout {timeout} s")
        concurrent_adds(check, options.adds)
        killed_adds(check, options.kill_rounds, rng)
        killed_runs(check, options.run_kills, rng)
        print(
            f"trials said 'added' {len(check.added)}, killed {len(check.unsure)}, refused "
            f"busy {len(check.absent)}; {check.validations} validations; "
            f"{len(check.violations)} violations"
        )
    return 1 if check.violations else 0


if __name__ == "__main__":
    sys.exit(main())
