"""Benchmark of ``metaall pool --data`` on large ad-hoc CSV files; prints, asserts nothing.

    python benchmarks/bench_cli_data.py [--rows 1e4 1e5 1e6] [--timeout 600]

For each size, writes a CSV of 2×2 counts (``study,events_t,n_t,events_c,n_c``, the
format ``--data`` reads), then runs ``metaall pool --data FILE`` in a fresh process
(report to /dev/null) and prints its wall time and peak resident memory (the child
reports its own ``ru_maxrss`` at exit). It then times, in this process, what the numerical
engine alone costs for the same studies: ``metaall.effect_sizes`` on the count
arrays and ``metaall.fit`` (REML, the command's default) on the resulting yᵢ, vᵢ —
the floor that a streaming loader handing arrays to the engine can approach.

Issue 17's targets for the loader (not this benchmark's business to meet): 10⁶ rows
pooled in < 10 s and < 500 MB. Before issue 17 the command made one object per row
and printed one line per study (10⁶ rows: 76 s, 2.0 GB; then refused beyond 50,000
rows by issue 12); since, it reads the file column by column, pools the arrays and
lists the first and last 10 studies of a long group (10⁶ rows: about 6 s, 0.4 GB on
the project's 2-core machine; README "Speed").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import metaall

ROOT = Path(__file__).resolve().parents[1]
RUN = (  # the command in-process, reporting its own peak RSS (kB) at exit
    "import atexit, resource, sys\n"
    "atexit.register(lambda: print('PEAK', resource.getrusage(resource.RUSAGE_SELF)"
    ".ru_maxrss, file=sys.stderr))\n"
    "from metaall.cli import main\nmain()"
)


def write_csv(path: Path, rows: int, seed: int = 1) -> dict[str, np.ndarray]:
    """``rows`` random trials (log RR around -0.2 with heterogeneity) as a --data CSV."""
    rng = np.random.default_rng(seed)
    n_t, n_c = rng.integers(40, 400, rows), rng.integers(40, 400, rows)
    p_c = rng.uniform(0.05, 0.4, rows)
    p_t = np.clip(p_c * np.exp(rng.normal(-0.2, 0.2, rows)), 0.01, 0.95)
    a, c = rng.binomial(n_t, p_t), rng.binomial(n_c, p_c)
    table = np.column_stack([np.arange(1, rows + 1), a, n_t, c, n_c])
    with path.open("w") as handle:
        handle.write("study,events_t,n_t,events_c,n_c\n")
        np.savetxt(handle, table, fmt="S%d,%d,%d,%d,%d")
    return dict(ai=a, n1i=n_t, ci=c, n2i=n_c)


def run_cli(path: Path, timeout: float) -> tuple[float, float] | None:
    """Wall seconds and peak RSS (GB) of ``metaall pool --data path`` in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", RUN, "pool", "--data", str(path)],
        cwd=path.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = start + timeout
    while child.poll() is None:
        if time.perf_counter() > deadline:
            child.kill()
            child.wait()
            return None
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    lines = child.stderr.read().decode().strip().splitlines()
    if child.returncode != 0:
        print("    failed:", [line for line in lines if not line.startswith("PEAK")][-1:])
        return None
    peak = next(int(line.split()[1]) for line in lines if line.startswith("PEAK"))
    return seconds, peak / 1e6


def engine_share(counts: dict[str, np.ndarray]) -> tuple[float, float]:
    """Seconds for the effect sizes and for the fit (second call: imports excluded)."""
    start = time.perf_counter()
    es = metaall.effect_sizes(counts["ai"], counts["n1i"], counts["ci"], counts["n2i"], "RR")
    middle = time.perf_counter()
    metaall.fit(es.yi, es.vi)
    again = time.perf_counter()
    metaall.fit(es.yi, es.vi)
    return middle - start, time.perf_counter() - again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, nargs="*", default=[1e4, 1e5, 1e6])
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    print("metaall pool --data FILE (2×2 counts, RR, REML), fresh process, report to /dev/null:")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (int(r) for r in args.rows):
            path = Path(tmp, f"trials_{rows}.csv")
            counts = write_csv(path, rows)
            size = path.stat().st_size / 1e6
            result = run_cli(path, args.timeout)
            es_s, fit_s = engine_share(counts)
            cli = (
                f"{result[0]:8.2f} s, peak RSS {result[1]:.2f} GB"
                if result
                else f"did not finish within {args.timeout:.0f} s"
            )
            print(
                f"  {rows:>9,} rows ({size:6.1f} MB): {cli}; engine alone: effect sizes "
                f"{es_s:.3f} s + fit {fit_s:.3f} s"
            )


if __name__ == "__main__":
    main()
