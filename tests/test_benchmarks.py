"""The benchmark scripts stay runnable: each imports (its helpers from the other
scripts, metaall's API) and answers ``--help`` with its own description. Nothing here
times anything; the scripts print their figures when run by hand (README, Speed)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def test_there_are_benchmarks():
    names = {path.stem for path in SCRIPTS}
    assert {"bench_engine", "bench_glmm", "bench_bayes", "bench_run", "bench_cli_data"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_benchmark_answers_help_with_its_description(script: Path):
    first_line = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))).splitlines()[0]
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        cwd=BENCHMARKS,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script.name}")
    assert " ".join(first_line.split()[:4]) in " ".join(done.stdout.split())
