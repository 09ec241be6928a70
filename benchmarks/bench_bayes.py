"""Benchmark of fit_bayes against R bayesmeta; prints figures, asserts nothing about speed.

    python benchmarks/bench_bayes.py [--skip-r]

For every case of tests/fixtures/r/bayes.json (the data sets and priors of the
reference tests: k = 1 to 18 studies) it times fit_bayes (best of three) and, when
``Rscript`` with bayesmeta is on the PATH, ``bayesmeta()`` with its default accuracy
(``delta = 0.01``, which is accurate to about 1e-4 on μ) on the same data and priors,
and prints both times and their ratio. Both compute the same summaries (μ, τ,
predictive and per-study shrinkage distributions with their intervals). fit_bayes is
exact to about 1e-10 at the time shown.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
from bench_engine import interleaved

from metaall.models.bayes import fit_bayes
from metaall.models.priors import turner_prior

CASES = Path(__file__).parents[1] / "tests" / "fixtures" / "r" / "bayes.json"

R_TIMER = r"""
suppressMessages({{library(bayesmeta); library(jsonlite)}})
cases <- fromJSON("{cases}", simplifyVector = FALSE)$cases
prior <- function(s) {{
  switch(s$tau_prior,
    halfnormal = function(t) dhalfnormal(t, scale = s$tau_scale),
    halfcauchy = function(t) dhalfcauchy(t, scale = s$tau_scale),
    halft = function(t) dhalft(t, df = s$df, scale = s$tau_scale),
    uniform = if (is.null(s$upper)) "uniform" else function(t) dunif(t, 0, s$upper),
    lognormal = function(t) dlnorm(t, s$meanlog / 2, s$sdlog / 2),
    jeffreys = "Jeffreys")
}}
for (c in cases) {{
  s <- c$settings
  y <- unlist(c$input$yi); v <- unlist(c$input$vi)
  mm <- if (is.null(s$mu_sd)) NA else s$mu_mean
  ms <- if (is.null(s$mu_sd)) NA else s$mu_sd
  iv <- if (is.null(s$interval)) "central" else s$interval
  t <- system.time(bayesmeta(y, sqrt(v), tau.prior = prior(s), mu.prior.mean = mm,
                             mu.prior.sd = ms, interval.type = iv))[["elapsed"]]
  cat(c$name, t, "\n")
}}
"""


def for_r(case: dict) -> dict:
    """The case with a Turner et al. prior written as the log-normal it is."""
    s = dict(case["settings"])
    if s["tau_prior"] == "turner":
        prior = turner_prior(s.pop("outcome", "any"), s.pop("comparison", "any"))
        s.update(tau_prior="lognormal", meanlog=prior.meanlog, sdlog=prior.sdlog)
    return dict(case, settings=s)


def bayesmeta_times(cases: list[dict]) -> dict[str, float]:
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "cases.json")
        path.write_text(json.dumps({"cases": [for_r(c) for c in cases]}))
        script = Path(tmp, "time.R")
        script.write_text(R_TIMER.format(cases=path))
        done = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
    if done.returncode != 0:
        print("bayesmeta timing failed:", done.stderr.strip().splitlines()[-1:])
        return {}
    return {name: float(t) for name, t in (line.split() for line in done.stdout.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-r", action="store_true", help="do not time R bayesmeta")
    args = parser.parse_args()
    cases = json.loads(CASES.read_text())["cases"]
    fit_bayes([0.1, 0.2], [0.1, 0.1])  # imports scipy once, outside the timings
    ours = {}
    for case in cases:
        fit = partial(fit_bayes, case["input"]["yi"], case["input"]["vi"], **case["settings"])
        ours[case["name"]] = interleaved([fit], 3)[0]
    theirs = {} if args.skip_r else bayesmeta_times(cases)
    print(f"{'case':52s} {'k':>3s} {'metaall s':>10s} {'bayesmeta s':>12s} {'ratio':>7s}")
    for case in cases:
        name = case["name"]
        k = np.size(case["input"]["yi"])
        r_time = theirs.get(name)
        r_text = f"{r_time:12.3f} {r_time / ours[name]:7.1f}" if r_time else f"{'-':>12s}"
        print(f"{name:52s} {k:3d} {ours[name]:10.3f} {r_text}")
    if theirs:
        total_r = sum(theirs.values())
        total = sum(ours[name] for name in theirs)
        print(f"{'total':56s} {total:10.3f} {total_r:12.3f} {total_r / total:7.1f}")


if __name__ == "__main__":
    main()
