"""Benchmark of the numerical engine against PyMARE and metafor; prints, asserts nothing.

    python benchmarks/bench_engine.py [--m 10000] [--k 10] [--repeat 7]
                                      [--big 1e6 1e7] [--big-hom 1e6] [--r-fits 2000]
                                      [--skip-r]

Each line prints metaall's time, the peer's and their ratio, measured in the same run
(interleaved, best of ``repeat``; wall clock):

1. batch REML, m × k, vᵢ ~ U(0.01, 1): homogeneous data (yᵢ ~ N(0, 0.3²), where
   Fisher scoring oscillates on about one data set in ten) and heterogeneous data
   (yᵢ ~ N(0, vᵢ + 0.5), where it converges); PyMARE's vectorised REML
   (``VarianceBasedLikelihoodEstimator``, Wald SEs) on the same arrays;
2. batch DL, same homogeneous arrays; PyMARE's ``DerSimonianLaird``;
3. one REML fit over each ``big`` number of studies (heterogeneous data), and over
   each ``big-hom`` (homogeneous data: Fisher scoring oscillates for metafor's 101
   steps, then the global search), each side in a fresh process: first call (imports
   included), best of two more calls, and the process's peak resident memory; the
   Fisher phase is compared with the memory-bandwidth floor (one pass over yᵢ and vᵢ
   per iteration);
4. with ``Rscript`` and metafor: ``rma(method = "REML")`` in a loop over the first
   ``r-fits`` data sets of each shape; where metafor's Fisher scoring converged, the
   largest relative difference in estimate and tau²; whether metafor failed exactly
   where metaall reports "did not converge"; elsewhere metaall's REML
   log-likelihood gain over metafor's value.

PyMARE is not a dependency: ``pip install pymare`` for its columns (skipped otherwise).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import metaall

ROOT = Path(__file__).resolve().parents[1]

R_LOOP = """
suppressMessages(library(metafor))
y <- as.matrix(read.csv("{dir}/yi.csv", header = FALSE))
v <- as.matrix(read.csv("{dir}/vi.csv", header = FALSE))
out <- matrix(NA_real_, nrow(y), 2)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(y))) {{
  r <- try(suppressWarnings(rma(y[i, ], v[i, ], method = "REML")), silent = TRUE)
  if (!inherits(r, "try-error")) out[i, ] <- c(r$beta, r$tau2)
}}
cat(proc.time()[["elapsed"]] - t0, "\\n", file = "{dir}/seconds.txt")
write.table(out, "{dir}/out.csv", sep = ",", row.names = FALSE, col.names = FALSE)
"""

# one big fit in a fresh process: prints a JSON line with the timings and peak memory
BIG = """
import json, resource, sys, time
import numpy as np
k, side, shape = int(float(sys.argv[1])), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(2)
vi = rng.uniform(0.01, 1.0, k)
yi = rng.normal(0.0, np.sqrt(vi + 0.5)) if shape == "heterogeneous" else rng.normal(0.0, 0.3, k)
if side == "metaall":
    import metaall
    from metaall.models import tau2 as engine
    from metaall.models.fit import make_batch
    def run():
        return metaall.fit(yi, vi)
else:
    from pymare.estimators import VarianceBasedLikelihoodEstimator
    X = np.ones((k, 1))
    def run():
        est = VarianceBasedLikelihoodEstimator(method="REML", small_sample_correction="wald")
        return est.fit(yi[:, None], vi[:, None], X)
times = []
for _ in range(3):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
out = dict(first=times[0], warm=min(times[1:]))
if side == "metaall":
    batch, _, _ = make_batch(yi, vi)
    scorer = batch.scorer
    start = time.perf_counter()
    fs = engine.fisher_scoring(scorer, "REML", 1e-5, 100, np.maximum(scorer.hedges(), 0))
    out["fisher"] = time.perf_counter() - start
    out["iterations"] = int(fs.iterations[0])
    floor = []
    for _ in range(5):
        start = time.perf_counter()
        np.add.reduce(yi) + np.add.reduce(vi)
        floor.append(time.perf_counter() - start)
    out["floor"] = min(floor)
out["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(json.dumps(out))
"""


def data(m: int, k: int, heterogeneous: bool, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 1.0, (m, k))
    yi = rng.normal(0.0, np.sqrt(vi + 0.5)) if heterogeneous else rng.normal(0.0, 0.3, (m, k))
    return yi, vi


def interleaved(fns: list, repeat: int) -> list[float]:
    """Best wall time of each function, the functions run in turn ``repeat`` times."""
    best = [np.inf] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def pymare():
    try:
        from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator
    except ImportError:
        return None
    return VarianceBasedLikelihoodEstimator, DerSimonianLaird


def _pymare_reml(peers, yi: np.ndarray, vi: np.ndarray, X: np.ndarray):
    estimator = peers[0](method="REML", small_sample_correction="wald")
    return estimator.fit(yi.T, vi.T, X)


def row(what: str, ours: float, theirs: float | None, peer: str = "PyMARE") -> None:
    if theirs is None:
        print(f"  {what:44s} metaall {_t(ours):>9s}   {peer}: not installed")
    else:
        print(
            f"  {what:44s} metaall {_t(ours):>9s}   {peer} {_t(theirs):>9s}   "
            f"ratio {ours / theirs:5.2f}"
        )


def _t(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 0.1 else f"{seconds:.3f} s"


def bench_batch(args, peers) -> dict:
    X = np.ones((args.k, 1))
    shapes = {}
    print(f"batch fits, {args.m:,} meta-analyses × k = {args.k} (best of {args.repeat}):")
    for label, het in (("homogeneous", False), ("heterogeneous", True)):
        yi, vi = data(args.m, args.k, het)
        shapes[label] = (yi, vi)
        res = metaall.fit(yi, vi)  # warm-up (and the scipy import for large batches)
        fns = [lambda y=yi, v=vi: metaall.fit(y, v)]
        if peers:
            fns.append(lambda y=yi, v=vi: _pymare_reml(peers, y, v, X))
        times = interleaved(fns, args.repeat)
        row(f"REML, {label}", times[0], times[1] if peers else None)
        fallback = int(np.sum(res.algorithm != "Fisher scoring"))
        print(f"    {fallback} fits not settled by Fisher scoring (global search)")
    yi, vi = shapes["homogeneous"]
    fns = [lambda: metaall.fit(yi, vi, "DL")]
    if peers:
        fns.append(lambda: peers[1](small_sample_correction="wald").fit(yi.T, vi.T, X))
    times = interleaved(fns, args.repeat * 3)
    row("DL, homogeneous", times[0], times[1] if peers else None)
    return shapes


def big_fit(k: float, side: str, shape: str) -> dict | None:
    done = subprocess.run(
        [sys.executable, "-c", BIG, str(k), side, shape], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["failed"]
        print(f"    {side}: {tail[0]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_big(args, peers) -> None:
    print("one REML fit over many studies (fresh process each; warm = best of 2 more calls):")
    runs = [(k, "heterogeneous") for k in args.big] + [(k, "homogeneous") for k in args.big_hom]
    for k, shape in runs:
        ours = big_fit(k, "metaall", shape)
        theirs = big_fit(k, "pymare", shape) if peers else None
        if ours is None:
            continue
        line = (
            f"  k = {k:>10,.0f}, {shape}: metaall first {_t(ours['first'])}, "
            f"warm {_t(ours['warm'])}, "
            f"peak {ours['peak_gb']:.2f} GB"
        )
        if theirs is not None:
            line += (
                f" | PyMARE warm {_t(theirs['warm'])}, peak {theirs['peak_gb']:.2f} GB"
                f" | ratio {ours['warm'] / theirs['warm']:.2f}"
            )
        print(line)
        per_iteration = ours["fisher"] / max(ours["iterations"], 1)
        print(
            f"    Fisher phase: {ours['iterations']} iteration(s), {_t(per_iteration)} each; "
            f"bandwidth floor (one pass over yi, vi) {_t(ours['floor'])}: "
            f"{per_iteration / ours['floor']:.1f}x"
        )


def metafor_loop(yi: np.ndarray, vi: np.ndarray) -> tuple[float, np.ndarray] | None:
    with tempfile.TemporaryDirectory() as tmp:
        np.savetxt(Path(tmp, "yi.csv"), yi, delimiter=",", fmt="%.17g")
        np.savetxt(Path(tmp, "vi.csv"), vi, delimiter=",", fmt="%.17g")
        script = Path(tmp, "loop.R")
        script.write_text(R_LOOP.format(dir=tmp))
        done = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
        if done.returncode != 0:
            print("  metafor loop failed:", done.stderr.strip().splitlines()[-1:])
            return None
        seconds = float(Path(tmp, "seconds.txt").read_text())
        out = np.genfromtxt(Path(tmp, "out.csv"), delimiter=",", missing_values="NA")
    return seconds, out.reshape(-1, 2)


def reml_loglik(yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """REML log-likelihood (up to a constant) of the intercept-only model."""
    w = 1 / (vi + tau2[:, None])
    mu = (w * yi).sum(1, keepdims=True) / w.sum(1, keepdims=True)
    return -0.5 * (np.log(vi + tau2[:, None]).sum(1) + (w * (yi - mu) ** 2).sum(1)) - 0.5 * np.log(
        w.sum(1)
    )


def bench_metafor(args, shapes: dict) -> None:
    n = min(args.r_fits, args.m)
    print(f"agreement with metafor rma(method = 'REML'), first {n:,} data sets of each shape:")
    for label, (yi, vi) in shapes.items():
        y, v = yi[:n], vi[:n]
        timed = metafor_loop(y, v)
        if timed is None:
            return
        seconds, out = timed
        start = time.perf_counter()
        res = metaall.fit(y, v)
        ours_s = time.perf_counter() - start
        done = ~np.isnan(out[:, 0])
        alg = np.asarray(res.algorithm, dtype=str)
        fisher = alg == "Fisher scoring"
        failed_here = np.char.find(alg, "did not converge") >= 0
        both = done & fisher
        ours = np.column_stack([res.estimate, res.tau2])[both]
        rel = np.abs(ours - out[both]) / np.maximum(np.abs(out[both]), 1e-8)
        other = done & ~fisher
        gain = reml_loglik(y[other], v[other], res.tau2[other]) - reml_loglik(
            y[other], v[other], out[other, 1]
        )
        print(
            f"  {label}: metafor {seconds:.1f} s ({seconds / ours_s:,.0f}x metaall's batch); "
            f"Fisher scoring converged in both on {both.sum():,}: max relative difference "
            f"estimate {rel[:, 0].max():.1e}, tau² {rel[:, 1].max():.1e}"
        )
        agree = np.array_equal(~done, failed_here)
        print(
            f"    metafor failed on {int((~done).sum())}; metaall says 'did not converge' on "
            f"{int(failed_here.sum())} ({'the same data sets' if agree else 'DIFFERENT sets'})"
        )
        if other.any():
            print(
                f"    {int(other.sum())} more took metaall's global search (metafor's ll0check "
                f"or a higher maximum): REML log-likelihood gain {gain.min():.2g} to "
                f"{gain.max():.2g}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--big", type=float, nargs="*", default=[1e6, 1e7])
    parser.add_argument("--big-hom", type=float, nargs="*", default=[1e6])
    parser.add_argument("--r-fits", type=int, default=2000)
    parser.add_argument("--skip-r", action="store_true", help="do not run R metafor")
    args = parser.parse_args()
    peers = pymare()
    if peers is None:
        print("PyMARE not installed (pip install pymare): its columns are skipped")
    shapes = bench_batch(args, peers)
    bench_big(args, peers)
    if args.skip_r or shutil.which("Rscript") is None:
        print("metafor: skipped (--skip-r, or Rscript not on PATH)")
        return
    bench_metafor(args, shapes)


if __name__ == "__main__":
    main()
