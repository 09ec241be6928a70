"""Benchmark of ``metaall run`` (incremental); prints its figures, asserts nothing.

    python benchmarks/bench_run.py [--runs 3]

On a scratch copy of the review folder, in fresh processes: a first run into an empty
folder, the same run again with nothing changed (every analysis reused), and a run
after ``metaall add`` of one trial that only the ``os`` analysis selects (that
analysis refitted and its figures redrawn). Prints the median and best wall time of
each, then which heavy modules the unchanged run imported (it must import neither
matplotlib nor pandas).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_cli import PROBE

ROOT = Path(__file__).resolve().parents[1]
TRIAL = [
    *("add", "--study", "NCT90000001", "--label", "Trial 1", "--year", "2025"),
    *("--design", "prospective_cohort", "--disease", "all", "--car-target", "CD19"),
    *("--comparison", "hsct_vs_no_hsct_after_cart", "--outcome", "os"),
    *("--population", "mrd_neg", "--arm-t", "HSCT", "--arm-c", "no HSCT"),
    *("--hr", "0.5", "--hr-lower", "0.3", "--hr-upper", "0.9", "--timepoint", "last follow-up"),
    *("--source", "s.pdf", "--location", "Table 2", "--source-row", "row 1"),
]
STEPS = ("fresh run", "again, nothing changed", "after adding one trial (os)")


def _timed(exe: Path, project: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(exe), "-C", str(project), *args], check=True, capture_output=True)
    return time.perf_counter() - start


def _once(exe: Path, project: Path) -> list[float]:
    """The three steps' times on a new copy of the review folder."""
    shutil.rmtree(project, ignore_errors=True)
    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, project / name)
    fresh = _timed(exe, project, "run")
    unchanged = _timed(exe, project, "run")
    subprocess.run([str(exe), "-C", str(project), *TRIAL], check=True, capture_output=True)
    return [fresh, unchanged, _timed(exe, project, "run")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("metaall")
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "review"
        times = [_once(exe, project) for _ in range(args.runs)]
        for step, measured in zip(STEPS, zip(*times, strict=True), strict=True):
            print(
                f"metaall run, {step}: median {statistics.median(measured):.2f} s, "
                f"best {min(measured):.2f} s over {args.runs} runs"
            )
        command = ["-C", str(project), "run"]
        probe = subprocess.run(
            [sys.executable, "-c", PROBE.format(args=command)], capture_output=True, text=True
        )
    heavy = [line for line in probe.stderr.splitlines() if line.startswith("HEAVY")]
    print("heavy modules imported, nothing changed:", heavy[0].split(" ", 1)[1] if heavy else "?")


if __name__ == "__main__":
    main()
