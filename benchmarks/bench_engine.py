"""Benchmark of the numerical engine; prints its figures, asserts nothing about speed.

    python benchmarks/bench_engine.py [--m 10000] [--k 10] [--skip-r]

Times (best of three where cheap):
1. m random-effects (REML) meta-analyses of k studies in one batch call;
2. the same m fits one by one;
3. one REML fit over 1,000,000 studies;
4. PyMARE's vectorised REML on the same arrays, when pymare is installed;
5. R metafor's ``rma(method="REML")`` in a loop over the same m data sets, when
   ``Rscript`` with metafor is on the PATH, and the largest relative difference
   between metafor's and metaall's estimates and tau² over the fits metafor finished.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import metaall

R_LOOP = """
suppressMessages(library(metafor))
y <- as.matrix(read.csv("{dir}/yi.csv", header = FALSE))
v <- as.matrix(read.csv("{dir}/vi.csv", header = FALSE))
out <- matrix(NA_real_, nrow(y), 2)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(y))) {{
  r <- try(rma(y[i, ], v[i, ], method = "REML"), silent = TRUE)
  if (!inherits(r, "try-error")) out[i, ] <- c(r$beta, r$tau2)
}}
cat(proc.time()[["elapsed"]] - t0, "\\n", file = "{dir}/seconds.txt")
write.table(out, "{dir}/out.csv", sep = ",", row.names = FALSE, col.names = FALSE)
"""


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def data(m: int, k: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 1.0, (m, k))
    return rng.normal(0.0, np.sqrt(vi + 0.5)), vi


def metafor_loop(yi: np.ndarray, vi: np.ndarray) -> tuple[float, np.ndarray] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        np.savetxt(Path(tmp, "yi.csv"), yi, delimiter=",", fmt="%.17g")
        np.savetxt(Path(tmp, "vi.csv"), vi, delimiter=",", fmt="%.17g")
        script = Path(tmp, "loop.R")
        script.write_text(R_LOOP.format(dir=tmp))
        done = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
        if done.returncode != 0:
            print("metafor loop failed:", done.stderr.strip().splitlines()[-1:])
            return None
        seconds = float(Path(tmp, "seconds.txt").read_text())
        out = np.genfromtxt(Path(tmp, "out.csv"), delimiter=",", missing_values="NA")
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--skip-r", action="store_true", help="do not time R metafor")
    args = parser.parse_args()
    yi, vi = data(args.m, args.k)

    batch = best_of(lambda: metaall.fit(yi, vi))
    res = metaall.fit(yi, vi)
    fallback = int(np.sum(res.algorithm != "Fisher scoring"))
    print(f"batch REML, {args.m} x {args.k}:        {batch:8.3f} s")
    print(f"  fits not settled by Fisher scoring:   {fallback} (found by the robust search)")

    start = time.perf_counter()
    for i in range(args.m):
        metaall.fit(yi[i], vi[i])
    loop = time.perf_counter() - start
    print(f"one by one, {args.m} fits:             {loop:8.3f} s  ({loop / batch:.0f}x the batch)")

    big_y, big_v = data(1, 1_000_000, seed=2)
    big = best_of(lambda: metaall.fit(big_y[0], big_v[0]))
    print(f"one REML fit, 1,000,000 studies:       {big:8.3f} s")

    try:
        from pymare import Dataset
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError:
        print("PyMARE:                                (not installed; pip install pymare)")
    else:

        def pymare_fit() -> None:
            VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(Dataset(y=yi.T, v=vi.T))

        print(f"PyMARE vectorised REML, same arrays:   {best_of(pymare_fit):8.3f} s")

    if args.skip_r:
        return
    timed = metafor_loop(yi, vi)
    if timed is None:
        print("metafor loop:                          (Rscript with metafor not available)")
        return
    seconds, out = timed
    done = ~np.isnan(out[:, 0])
    same_route = done & (res.algorithm == "Fisher scoring")
    ours = np.stack([res.estimate, res.tau2], 1)[same_route]
    rel = np.max(np.abs(ours - out[same_route]) / np.maximum(np.abs(out[same_route]), 1e-8))
    other = np.flatnonzero(done & ~same_route)
    batch_fit = fit_batch_loglik(yi[other], vi[other], res.tau2[other], out[other, 1])
    speedup = seconds / batch
    print(f"metafor rma() loop, {args.m} fits: {seconds:8.3f} s  ({speedup:.0f}x the batch)")
    print(f"  metafor failed on {int(np.sum(~done))} data sets; where both used Fisher scoring")
    print(f"  the largest relative difference in estimate or tau² is {rel:.1e}")
    print(
        f"  on {other.size} more data sets metaall searched for the global maximum; its REML "
        f"log-likelihood is at least metafor's (gain {batch_fit.min():.2g} "
        f"to {batch_fit.max():.2g})"
    )


def fit_batch_loglik(yi: np.ndarray, vi: np.ndarray, ours: np.ndarray, theirs: np.ndarray):
    """REML log-likelihood gain of metaall's tau² over metafor's, per data set."""
    from metaall.models.fit import make_batch

    batch, _, _ = make_batch(yi, vi)
    return batch.wls(ours).loglik(ours, True) - batch.wls(theirs).loglik(theirs, True)


if __name__ == "__main__":
    main()
