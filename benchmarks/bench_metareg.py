"""Benchmark of meta-regression and permutation tests; prints figures, asserts nothing.

    python benchmarks/bench_metareg.py [--perms 100000] [--k 50] [--m 10000] [--mk 20]
                                       [--r-perms 1000] [--r-fits 1000] [--skip-r]

Times:
1. ``permutation_test`` with ``perms`` random permutations at k studies, for an
   intercept-only REML model (sign flips) and a REML meta-regression on one moderator
   (wall and CPU time of this process);
2. R metafor's ``permutest(iter = r-perms)`` on the same data (when ``Rscript`` with
   metafor is on the PATH), with its time scaled to ``perms`` permutations; its
   p-values differ from metaall's by Monte Carlo error only (the draws differ);
3. exact permutation tests, where both sides enumerate the same permutations and the
   p-values must agree: all 2¹² sign flips of 12 studies and all 7! = 5,040
   orderings of 7 studies with one moderator, metaall against ``permutest(exact =
   TRUE)``, with both times and their ratio;
4. one batch call fitting m REML meta-regressions of mk studies on two moderators;
5. metafor's ``rma(mods = ...)`` in a loop over the first ``r-fits`` of those data
   sets, its time scaled to m fits, and the largest relative difference in the
   coefficients and tau² between metafor and metaall.
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
from metaall.models.permutation import permutation_test

R_PERMUTEST = """
suppressMessages(library(metafor))
d <- read.csv("{dir}/data.csv")
set.seed(1)
t0 <- proc.time()[["elapsed"]]
p0 <- permutest(rma(yi, vi, data = d), iter = {iters}, progbar = FALSE)
t1 <- proc.time()[["elapsed"]]
p1 <- permutest(rma(yi, vi, mods = ~ x, data = d), iter = {iters}, progbar = FALSE)
t2 <- proc.time()[["elapsed"]]
cat(t1 - t0, t2 - t1, p0$pval, p1$pval[2], "\\n", file = "{dir}/out.txt")
"""

R_EXACT = """
suppressMessages(library(metafor))
d0 <- read.csv("{dir}/null.csv")
d1 <- read.csv("{dir}/mods.csv")
t0 <- proc.time()[["elapsed"]]
p0 <- permutest(rma(yi, vi, data = d0), exact = TRUE, progbar = FALSE)
t1 <- proc.time()[["elapsed"]]
p1 <- suppressWarnings(permutest(rma(yi, vi, mods = ~ x, data = d1), exact = TRUE,
                                 progbar = FALSE))
t2 <- proc.time()[["elapsed"]]
cat(t1 - t0, t2 - t1, sprintf("%.17g", c(p0$pval, p1$pval[2], p1$QMp)), "\n",
    file = "{dir}/out.txt")
"""

R_LOOP = """
suppressMessages(library(metafor))
y <- as.matrix(read.csv("{dir}/yi.csv", header = FALSE))
v <- as.matrix(read.csv("{dir}/vi.csv", header = FALSE))
X <- as.matrix(read.csv("{dir}/X.csv", header = FALSE))
out <- matrix(NA_real_, nrow(y), 4)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(y))) {{
  r <- try(rma(y[i, ], v[i, ], mods = X, method = "REML"), silent = TRUE)
  if (!inherits(r, "try-error")) out[i, ] <- c(r$beta, r$tau2)
}}
cat(proc.time()[["elapsed"]] - t0, "\\n", file = "{dir}/seconds.txt")
write.table(out, "{dir}/out.csv", sep = ",", row.names = FALSE, col.names = FALSE)
"""


def timed(fn):
    """Wall-clock seconds, CPU seconds of this process, and the value of ``fn()``."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - start, time.process_time() - cpu, value


def rscript(code: str, files: dict[str, np.ndarray], header: dict[str, str]) -> Path | None:
    """Run R code (``{dir}`` is a scratch directory holding ``files``); the directory."""
    tmp = Path(tempfile.mkdtemp())
    for name, array in files.items():
        np.savetxt(
            tmp / name, array, delimiter=",", fmt="%.17g", header=header.get(name, ""), comments=""
        )
    (tmp / "run.R").write_text(code.replace("{dir}", str(tmp)))
    done = subprocess.run(["Rscript", str(tmp / "run.R")], capture_output=True, text=True)
    if done.returncode != 0:
        print("R failed:", done.stderr.strip().splitlines()[-1:])
        return None
    return tmp


def bench_permutations(args, use_r: bool) -> None:
    rng = np.random.default_rng(1)
    k = args.k
    vi = rng.uniform(0.01, 0.3, k)
    x = rng.normal(size=k)
    yi = 0.1 + 0.1 * x + rng.normal(0, np.sqrt(vi + 0.05))
    null, reg = metaall.fit(yi, vi), metaall.fit(yi, vi, mods=x)
    permutation_test(null, iterations=1000, seed=0)  # warm-up (imports)
    print(f"permutation tests, {args.perms:,} random permutations, k = {k}, REML:")
    t0, c0, p0 = timed(lambda: permutation_test(null, iterations=args.perms, seed=1))
    t1, c1, p1 = timed(lambda: permutation_test(reg, iterations=args.perms, seed=1))
    for what, t, c, p in (
        ("intercept-only (sign flips)", t0, c0, p0.pval),
        ("one moderator (row perms)", t1, c1, p1.pval[1]),
    ):
        print(f"  metaall {what:28s} {t:6.2f} s (CPU {c:.2f} s) p = {p:.4f}")
    if not use_r:
        return
    data = np.column_stack([yi, vi, x])
    code = R_PERMUTEST.replace("{iters}", str(args.r_perms))
    tmp = rscript(code, {"data.csv": data}, {"data.csv": "yi,vi,x"})
    if tmp is None:
        return
    r0, r1, rp0, rp1 = (float(t) for t in (tmp / "out.txt").read_text().split())
    scale = args.perms / args.r_perms
    print(
        f"  metafor permutest, {args.r_perms:,} permutations: intercept-only {r0:.1f} s, "
        f"moderator {r1:.1f} s (p = {rp0:.4f}, {rp1:.4f})"
    )
    print(
        f"  metafor scaled to {args.perms:,}: {r0 * scale:,.0f} s and {r1 * scale:,.0f} s "
        f"(metaall {r0 * scale / t0:,.0f}x and {r1 * scale / t1:,.0f}x faster)"
    )


def bench_exact(use_r: bool) -> None:
    rng = np.random.default_rng(3)
    v0, v1 = rng.uniform(0.01, 0.3, 12), rng.uniform(0.01, 0.3, 7)
    y0 = 0.1 + rng.normal(0, np.sqrt(v0 + 0.05))
    x = rng.normal(size=7)
    y1 = 0.1 + 0.2 * x + rng.normal(0, np.sqrt(v1 + 0.05))
    null, reg = metaall.fit(y0, v0), metaall.fit(y1, v1, mods=x)
    t0, _, e0 = timed(lambda: permutation_test(null, exact=True))
    t1, _, e1 = timed(lambda: permutation_test(reg, exact=True))
    print("exact permutation tests (every permutation on both sides), REML:")
    print(
        f"  metaall 2^12 sign flips {t0:6.3f} s (p = {e0.pval:.6f}); "
        f"7! orderings {t1:6.3f} s (p = {e1.pval[1]:.6f}, QM p = {e1.QM_pval:.6f}, "
        f"{e1.failed} refit(s) left out where metafor's Fisher scoring fails)"
    )
    if not use_r:
        return
    files = {
        "null.csv": np.column_stack([y0, v0]),
        "mods.csv": np.column_stack([y1, v1, x]),
    }
    tmp = rscript(R_EXACT, files, {"null.csv": "yi,vi", "mods.csv": "yi,vi,x"})
    if tmp is None:
        return
    r0, r1, rp0, rp1, rqm = (float(v) for v in (tmp / "out.txt").read_text().split())
    print(
        f"  metafor permutest(exact = TRUE): {r0:.1f} s and {r1:.1f} s "
        f"(metaall {r0 / t0:,.0f}x and {r1 / t1:,.0f}x faster)"
    )
    print(
        f"  p-values metaall - metafor: {e0.pval - rp0:.1e}, {e1.pval[1] - rp1:.1e}, "
        f"QM {e1.QM_pval - rqm:.1e}"
    )


def bench_batch(args, use_r: bool) -> None:
    rng = np.random.default_rng(2)
    m, k = args.m, args.mk
    X = np.column_stack([rng.normal(size=k), rng.integers(0, 2, k)])
    vi = rng.uniform(0.01, 0.5, (m, k))
    yi = 0.2 + X @ [0.3, -0.2] + rng.normal(0, np.sqrt(vi + 0.1))
    metaall.fit(yi[:10], vi[:10], mods=X)  # warm-up
    seconds, cpu, res = timed(lambda: metaall.fit(yi, vi, mods=X))
    print(f"batch meta-regression, {m:,} data sets × k = {k}, 2 moderators, REML:")
    print(
        f"  metaall one batch call              {seconds:7.2f} s (CPU {cpu:.2f} s, "
        f"{1e6 * seconds / m:.0f} µs per fit)"
    )
    if not use_r:
        return
    n = min(args.r_fits, m)
    tmp = rscript(R_LOOP, {"yi.csv": yi[:n], "vi.csv": vi[:n], "X.csv": X}, {})
    if tmp is None:
        return
    r_seconds = float((tmp / "seconds.txt").read_text())
    out = np.genfromtxt(tmp / "out.csv", delimiter=",", missing_values="NA")
    ours = np.column_stack([res.beta[:n], res.tau2[:n]])
    done = ~np.isnan(out).any(axis=1)
    rel = np.abs(ours[done] - out[done]) / np.maximum(np.abs(out[done]), 1e-8)
    print(
        f"  metafor rma(mods) loop, {n:,} fits   {r_seconds:7.2f} s "
        f"(scaled to {m:,}: {r_seconds * m / n:,.0f} s, metaall "
        f"{r_seconds * m / n / seconds:,.0f}x faster)"
    )
    print(
        f"  metafor finished {done.sum():,}/{n:,}; max relative difference: "
        f"beta {rel[:, :3].max():.1e}, tau2 {rel[:, 3].max():.1e}"
    )
    same_route = np.asarray(res.algorithm[:n])[done] == "Fisher scoring"
    print(
        f"  where both took Fisher scoring ({same_route.sum():,} fits): beta "
        f"{rel[same_route, :3].max():.1e}, tau2 {rel[same_route, 3].max():.1e}; the other "
        f"{(~same_route).sum()} took metaall's global-maximum route (see models.tau2)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--perms", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--m", type=int, default=10_000)
    parser.add_argument("--mk", type=int, default=20)
    parser.add_argument("--r-perms", type=int, default=1000)
    parser.add_argument("--r-fits", type=int, default=1000)
    parser.add_argument("--skip-r", action="store_true", help="do not time R metafor")
    args = parser.parse_args()
    use_r = not args.skip_r and shutil.which("Rscript") is not None
    bench_permutations(args, use_r)
    bench_exact(use_r)
    bench_batch(args, use_r)


if __name__ == "__main__":
    main()
