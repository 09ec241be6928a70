"""Benchmark of the command line's answer time; prints its figures, asserts nothing.

    python benchmarks/bench_cli.py [--runs 10]

Runs ``metaall pool relapse --subgroup mrd_neg`` (the README's first command) in fresh
processes and prints the median and best wall time, then which heavy modules that
process imported (it must import neither matplotlib nor pandas, nor scipy on the
default z-test path).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ["pool", "relapse", "--subgroup", "mrd_neg"]
PROBE = (
    "import sys; from metaall.cli import cli\n"
    "try:\n    cli.main({args!r}, standalone_mode=False)\nexcept SystemExit:\n    pass\n"
    "heavy = [m for m in ('matplotlib', 'pandas', 'scipy', 'statsmodels') if m in sys.modules]\n"
    "print('HEAVY', ','.join(heavy) or 'none', file=sys.stderr)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("metaall")
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([str(exe), *COMMAND], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    print(
        f"metaall {' '.join(COMMAND)}: median {statistics.median(times):.3f} s, "
        f"best {min(times):.3f} s over {args.runs} runs"
    )
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=COMMAND)], cwd=ROOT, capture_output=True, text=True
    )
    heavy = [line for line in probe.stderr.splitlines() if line.startswith("HEAVY")]
    print("heavy modules imported:", heavy[0].split(" ", 1)[1] if heavy else probe.stderr.strip())


if __name__ == "__main__":
    main()
