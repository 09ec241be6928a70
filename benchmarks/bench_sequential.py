"""Benchmark of trial sequential analysis; prints its figures, asserts nothing about speed.

    python benchmarks/bench_sequential.py [--looks 10 50] [--skip-r]

Times (best of three) metaall's
1. O'Brien-Fleming α boundaries at K equal looks, two-sided, alone (RTSA's internal
   ``alpha_boundary``) and with the power inflation (``beta=0.1``: the information a
   sequential design needs, RTSA's ``root``, which ``boundaries()`` always computes);
2. the same with non-binding O'Brien-Fleming β-spending futility boundaries;
3. a full TSA (RR 0.9, random effects, D²-adjusted RIS) of RTSA's ``perioOxy`` (15 trials) and
   of a simulated series of 50 trials;

and, when ``Rscript`` with RTSA is on the PATH, RTSA's ``boundaries()`` and
``RTSA(type = "analysis")`` on the same inputs (RTSA as shipped: r = 18 grid, 1e-9
search tolerance), with the largest difference of the boundaries.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's metaall
from metaall.sequential import sequential_boundaries, trial_sequential_analysis

PERIO = dict(
    ai=[17, 13, 131, 77, 10, 22, 6, 34, 0, 4, 20, 5, 35, 14, 15],
    ci=[10, 28, 141, 106, 12, 35, 14, 34, 1, 6, 9, 11, 26, 19, 15],
    n1i=[69, 250, 685, 997, 77, 147, 107, 416, 30, 19, 80, 86, 288, 119, 226],
    n2i=[74, 250, 701, 1015, 83, 149, 103, 415, 30, 19, 80, 85, 297, 114, 208],
)

R_SCRIPT = """
suppressMessages({{library(RTSA); library(jsonlite)}})
args <- fromJSON("{dir}/input.json")
best <- function(f, n = 3) min(replicate(n, system.time(f())[["elapsed"]]))
out <- list()
for (K in args$looks) {{
  t <- (1:K) / K
  out[[paste0("alphaonly_", K)]] <- best(function() RTSA:::alpha_boundary(inf_frac = t,
    side = 2, alpha = 0.05, beta = 0.1, es_alpha = "esOF"))
  b <- NULL
  out[[paste0("alpha_", K)]] <- best(function()
    b <<- boundaries(t, alpha = 0.05, beta = 0.1, side = 2))
  out[[paste0("upper_", K)]] <- b$alpha_ubound
  if (K <= args$futility_max) {{
    f <- NULL
    out[[paste0("futility_", K)]] <- best(function() f <<- boundaries(t, alpha = 0.05, beta = 0.1,
      side = 2, futility = "non-binding", es_alpha = "esOF", es_beta = "esOF"), 1)
    out[[paste0("fut_", K)]] <- f$beta_ubound
  }}
}}
for (name in names(args$data)) {{
  d <- args$data[[name]]
  df <- data.frame(eI = d$ai, nI = d$n1i, eC = d$ci, nC = d$n2i)
  out[[paste0("tsa_", name)]] <- best(function() suppressWarnings(RTSA(type = "analysis",
    data = df, outcome = "RR", mc = 0.9, side = 2, alpha = 0.05, beta = 0.2, fixed = FALSE,
    random_adj = "D2", weights = "IV", re_method = "DL", tau_ci_method = "QP",
    power_adj = FALSE)))
}}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "{dir}/out.json")
"""


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def simulated(k: int = 50, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 200, k)
    risk = rng.uniform(0.1, 0.3, k)
    rr = np.exp(rng.normal(np.log(0.85), 0.15, k))
    return dict(
        ai=rng.binomial(n, np.minimum(risk * rr, 0.99)).tolist(),
        n1i=n.tolist(),
        ci=rng.binomial(n, risk).tolist(),
        n2i=n.tolist(),
    )


def run_r(looks: list[int], futility_max: int, data: dict) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        payload = dict(looks=looks, futility_max=futility_max, data=data)
        Path(tmp, "input.json").write_text(json.dumps(payload))
        Path(tmp, "bench.R").write_text(R_SCRIPT.format(dir=tmp))
        script = str(Path(tmp, "bench.R"))
        done = subprocess.run(["Rscript", script], capture_output=True, text=True)
        if done.returncode != 0:
            print("RTSA failed:", done.stderr.strip().splitlines()[-1:])
            return None
        return json.loads(Path(tmp, "out.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--looks", type=int, nargs="+", default=[10, 50])
    parser.add_argument(
        "--futility-max-r", type=int, default=10, help="largest K for RTSA's futility design"
    )
    parser.add_argument("--skip-r", action="store_true")
    args = parser.parse_args()
    sequential_boundaries([0.5, 1.0])  # import scipy outside the timings
    data = {"perioOxy": PERIO, "simulated50": simulated()}
    r = None if args.skip_r else run_r(args.looks, args.futility_max_r, data)
    if r is None and not args.skip_r:
        print("(Rscript with RTSA not available: metaall only)")
    for k in args.looks:
        t = np.arange(1, k + 1) / k
        sec, _ = best_of(lambda t=t: sequential_boundaries(t))
        line = f"α boundaries only,          {k:3d} looks: metaall {sec:8.3f} s"
        print(line + (f"   RTSA {r[f'alphaonly_{k}']:8.3f} s" if r is not None else ""))
        sec, b = best_of(lambda t=t: sequential_boundaries(t, beta=0.1))
        line = f"α boundaries + inflation,   {k:3d} looks: metaall {sec:8.3f} s"
        if r is not None:
            diff = np.max(np.abs(np.asarray(r[f"upper_{k}"]) - b.upper))
            line += f"   RTSA {r[f'alpha_{k}']:8.3f} s   max |Δz| {diff:.1e}"
        print(line)
        sec, f = best_of(lambda t=t: sequential_boundaries(t, beta=0.1, futility="obrien-fleming"))
        line = f"+ futility (non-binding),   {k:3d} looks: metaall {sec:8.3f} s"
        if r is not None and f"futility_{k}" in r:
            theirs = np.array([np.nan if v in (None, "NA") else v for v in r[f"fut_{k}"]], float)
            diff = np.nanmax(np.abs(theirs - f.futility_upper))
            line += f"   RTSA {r[f'futility_{k}']:8.3f} s   max |Δz| {diff:.1e}"
        print(line)
    for name, d in data.items():
        sec, res = best_of(lambda d=d: trial_sequential_analysis(**d, rr=0.9, method="DL"))
        line = f"TSA {name:12s} ({len(d['ai'])} trials):  metaall {sec:8.3f} s"
        if r is not None:
            line += f"   RTSA {r[f'tsa_{name}']:8.3f} s"
        print(line + f"   verdict: {res.verdict}")


if __name__ == "__main__":
    main()
