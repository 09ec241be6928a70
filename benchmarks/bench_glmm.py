"""Benchmark of the binomial GLMMs (metafor's rma.glmm); prints figures, asserts nothing.

    python benchmarks/bench_glmm.py [--data nielweise2007|bcg|cart] [--repeat 3] [--skip-r]

(from the repository root; prefix ``PYTHONPATH=.`` when the installed metaall is
another checkout)

For each of the four models (UM.FS, UM.RS, CM.EL, CM.AL) on the catheter data of
Niel-Weise et al. 2007 (metafor's dat.nielweise2007; or the BCG trials), or the
binomial-normal GLMM of proportions (``GLMM``, metafor's ``measure = "PLO"``) on the
CD19 CAR-T CR/CRi rates of the shipped ``cart_cr_cri`` analysis (``--data cart``): the
best of ``--repeat`` times of ``metaall.models.glmm.fit_glmm`` (scipy already
imported), and, when ``Rscript`` with metafor is on the PATH, the elapsed time of
metafor's ``rma.glmm`` for the same model (R's own ``proc.time`` around the call; metafor, lme4,
BiasedUrn and numDeriv loaded beforehand), the ratio, and the relative difference of
the pooled log odds ratios (logit proportions).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench_engine import interleaved

from metaall.models.glmm import fit_glmm

TWO_ARM_MODELS = ("UM.FS", "UM.RS", "CM.EL", "CM.AL")
DATA = {
    "nielweise2007": dict(
        ai=[0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4],
        n1i=[116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64],
        ci=[3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1],
        n2i=[117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69],
    ),
    "bcg": dict(
        ai=[4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
        n1i=[123, 306, 231, 13598, 5069, 1541, 2545, 88391, 7499, 1716, 50634, 2498, 16913],
        ci=[11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
        n2i=[139, 303, 220, 12867, 5808, 1451, 629, 88391, 7277, 1665, 27338, 2341, 17854],
    ),
    # seed 002 Table 2 as in extractions/effects.csv (the 10 studies cart_cr_cri pools)
    "cart": dict(
        xi=[44, 14, 18, 40, 61, 27, 45, 51, 102, 38],
        ni=[53, 20, 20, 43, 75, 30, 53, 58, 110, 47],
    ),
}


def models(tables: dict) -> tuple[str, ...]:
    """The rma.glmm models for these data: the proportion GLMM or the four OR models."""
    return ("GLMM",) if "xi" in tables else TWO_ARM_MODELS


def fit(tables: dict, model: str):
    measure = "PLO" if model == "GLMM" else "OR"
    return fit_glmm(**tables, measure=measure, model=model)


R_SCRIPT = """
suppressMessages({{library(metafor); library(lme4); library(BiasedUrn); library(numDeriv)}})
d <- jsonlite::fromJSON("{dir}/data.json")
out <- list()
for (m in d$models) {{
  t0 <- proc.time()[["elapsed"]]
  r <- suppressWarnings(if (m == "GLMM") rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni)
                        else rma.glmm(measure = "OR", ai = d$ai, n1i = d$n1i, ci = d$ci,
                                      n2i = d$n2i, model = m))
  out[[m]] <- list(seconds = proc.time()[["elapsed"]] - t0, estimate = c(r$beta))
}}
writeLines(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA), "{dir}/out.json")
"""


def metafor_times(tables: dict) -> dict | None:
    """metafor's elapsed seconds and estimate per model, or None without R/metafor."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data.json").write_text(json.dumps({**tables, "models": models(tables)}))
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT.format(dir=tmp))
        done = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"metafor: Rscript failed: {done.stderr.strip()[-300:]}")
            return None
        return json.loads((Path(tmp) / "out.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATA), default="nielweise2007")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-r", action="store_true")
    args = parser.parse_args()
    tables = DATA[args.data]
    fit(tables, models(tables)[-1])  # imports scipy once, outside the timings

    ours = {}
    for model in models(tables):
        result = fit(tables, model)
        seconds = interleaved([lambda model=model: fit(tables, model)], args.repeat)[0]
        ours[model] = (seconds, result.estimate)
    theirs = None if args.skip_r else metafor_times(tables)

    k = len(next(iter(tables.values())))
    print(f"rma.glmm models on {args.data} ({k} studies), best of {args.repeat}")
    print(f"{'model':6s} {'metaall':>10s} {'metafor':>10s} {'ratio':>8s} {'rel. diff':>18s}")
    for model in models(tables):
        seconds, estimate = ours[model]
        line = f"{model:6s} {seconds * 1000:8.1f} ms"
        if theirs is not None:
            r = theirs[model]
            diff = abs(estimate - r["estimate"]) / abs(r["estimate"])
            line += f" {r['seconds']:8.2f} s {r['seconds'] / seconds:7.0f}x {diff:18.1e}"
        print(line)
    if theirs is None and not args.skip_r:
        print("metafor: Rscript with metafor not available")
    print(
        "(differences: metafor's default lme4 fits stop short of the maximum, and its "
        "CM.EL integrates at rel.tol 1.2e-4; see tests/test_glmm.py)"
    )


if __name__ == "__main__":
    main()
