"""The package layout reads as the data flow, with no import cycles.

Layers, lowest first: the vocabulary and number formatting; the evidence base
(``data``); effect sizes; models; diagnostics and sequential analysis; running
analyses; reports; figures; the command line. A module imports (at module level) only
from its own layer or lower ones; imports inside functions (heavy or optional modules,
views of a result) are not part of the layering.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "metaall"
LAYERS = [
    {"methods", "formatting", "distributions", "_version"},
    {"data"},
    {"effects"},
    {"models"},
    {"diagnostics", "sequential"},
    {"analysis"},
    {"reports"},
    {"figures"},
    {"cli"},
]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """metaall modules imported at module level (not under TYPE_CHECKING)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("metaall"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("metaall"))
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in _top_level_imports(path, set(paths)) if m in paths and m != name}
        for name, path in paths.items()
    }


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS)  # metaall itself: the public face, above everything
    return next(i for i, names in enumerate(LAYERS) if parts[1] in names)


def test_every_module_belongs_to_a_layer():
    for module in _graph():
        assert _layer(module) <= len(LAYERS), module


def test_no_module_imports_a_higher_layer():
    upward = [
        (module, imported)
        for module, imports in _graph().items()
        for imported in imports
        if _layer(imported) > _layer(module)
    ]
    assert upward == []


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_graph_sees_real_imports():
    graph = _graph()
    assert "metaall.methods" in graph["metaall.data.specs"]
    assert "metaall.analysis.result" in graph["metaall.analysis.run"]


def test_the_public_api_exports_every_model_family():
    """``import metaall`` is enough for every model: inverse variance, MH/Peto, the
    GLMMs, the Bayesian model with its priors, meta-regression, permutation tests and
    blockwise fits of Dask arrays."""
    import json

    import metaall
    from metaall.models import bayes, blockwise, glmm, metareg, permutation, priors

    for module, names in (
        (glmm, ("fit_glmm", "GLMMResult")),
        (bayes, ("fit_bayes", "BayesResult")),
        (blockwise, ("fit_blocks",)),
        (priors, ("HalfNormal", "HalfCauchy", "HalfT", "Jeffreys", "turner_prior")),
        (metareg, ("meta_regression", "MetaRegressionResult")),
        (permutation, ("permutation_test", "PermutationResult")),
    ):
        for name in names:
            assert getattr(metaall, name) is getattr(module, name), name
            assert name in metaall.__all__ and getattr(metaall, name).__doc__, name
    # the top-level names are the real thing: BCG, exact conditional GLMM (glmm.R)
    fixture = Path(__file__).parent / "fixtures" / "r" / "glmm.json"
    cases = json.loads(fixture.read_text())["cases"]
    case = next(c for c in cases if c["name"] == "bcg_CM.EL_independent")
    d = case["input"]
    res = metaall.fit_glmm(d["ai"], d["n1i"], d["ci"], d["n2i"], model="CM.EL")
    assert abs(res.estimate - case["expected"]["estimate"]) < 1e-5
    assert abs(res.tau2 - case["expected"]["tau2"]) < 1e-5
