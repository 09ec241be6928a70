"""Access to the R metafor reference cases stored in tests/fixtures/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import metaall

FIXTURES = Path(__file__).parent / "fixtures"
CASES = json.loads((FIXTURES / "metafor_reference.json").read_text())["cases"]
RTOL, ATOL = 1e-6, 1e-8


def cases(predicate) -> list:
    """Reference cases selected by ``predicate(case)``, as pytest params named by case."""
    import pytest

    return [pytest.param(c, id=c["name"]) for c in CASES if predicate(c)]


def analysis(case: dict) -> str | None:
    return case["settings"].get("analysis")


def effects(case: dict) -> tuple[np.ndarray, np.ndarray]:
    """yi, vi of a case: given directly, or from its 2×2 counts with metafor's defaults."""
    inp = case["input"]
    if inp["type"] == "generic":
        return np.array(inp["yi"]), np.array(inp["vi"])
    es = metaall.effect_sizes(
        inp["ai"], inp["n1i"], inp["ci"], inp["n2i"], measure=case["settings"]["measure"]
    )
    return es.yi, es.vi


def assert_close(actual, expected, what: str) -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)
