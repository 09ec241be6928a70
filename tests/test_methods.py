"""The vocabulary has one owner: every layer accepts exactly the registry's names and
aliases (any case), and nothing else."""

from __future__ import annotations

from pathlib import Path

import click
import click.testing
import pytest

import metaall
from metaall import methods
from metaall.cli import cli
from metaall.cli.common import Named
from metaall.data import load_extractions, load_spec
from metaall.data.errors import DataError
from metaall.models.glmm import PROPORTIONS
from metaall.models.glmm_models import DEFAULT_NODES, FITTERS
from metaall.models.tau2 import ESTIMATORS

REPO = Path(__file__).resolve().parents[1]
VOCABULARY = load_extractions(REPO / "extractions").vocabulary
MINIMAL = "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\nmeasure: OR\n"
UNKNOWN = ["", "REML ", "remll", "k", "hk2", "Peto;", "é", "DL\n"]


def _spellings(kind: str) -> list[tuple[str, str]]:
    """(spelling, canonical name) for every name and alias, as given and in upper case."""
    table = {"measure": methods.MEASURES, "method": methods.METHODS, "test": methods.TESTS}[kind]
    pairs = []
    for entry in table.values():
        for name in (entry.name, *entry.aliases):
            pairs += [(name, entry.name), (name.upper(), entry.name), (name.lower(), entry.name)]
    return pairs


def test_accepted_lists_every_name_and_alias_once():
    assert set(methods.accepted("test")) == {"z", "wald", "knha", "hk", "hksj"}
    for kind in ("measure", "method", "test"):
        assert {s.lower() for s, _ in _spellings(kind)} == set(methods.accepted(kind))


@pytest.mark.parametrize("kind", ["measure", "method", "test"])
def test_cli_parameter_accepts_exactly_the_registry(kind):
    param = Named(kind)
    for spelling, name in _spellings(kind):
        assert param.convert(spelling, None, None) == name
    for bad in UNKNOWN:
        with pytest.raises(click.BadParameter, match=f"unknown {kind}"):
            param.convert(bad, None, None)


@pytest.mark.parametrize(("key", "kind"), [("method", "method"), ("test", "test")])
def test_spec_accepts_exactly_the_registry(tmp_path, key, kind):
    path = tmp_path / "spec.yaml"
    for spelling, name in _spellings(kind):
        path.write_text(f"{MINIMAL}{key}: '{spelling}'\n", encoding="utf-8")
        try:
            spec = load_spec(path, VOCABULARY)
        except DataError as exc:  # a valid name that does not fit OR with z (e.g. knha + FE)
            assert "only" in exc.message or "needs a random-effects" in exc.message
            continue
        assert getattr(spec, key) == name
    for bad in UNKNOWN[1:]:
        path.write_text(f"{MINIMAL}{key}: '{bad}'\n", encoding="utf-8")
        with pytest.raises(DataError, match=f"unknown {kind}"):
            load_spec(path, VOCABULARY)


def test_api_fit_accepts_the_inverse_variance_methods_and_their_aliases():
    inverse_variance = {
        s: n
        for s, n in _spellings("method")
        if not methods.METHODS[n].tables and methods.METHODS[n].family in methods.INVERSE_VARIANCE
    }
    for spelling, name in inverse_variance.items():
        assert metaall.fit([0.1, 0.5, 0.3], [0.1, 0.2, 0.1], method=spelling).method == name
    for spelling in ("MH", "peto", "bayes"):
        with pytest.raises(ValueError, match="does not pool effect sizes by inverse variance"):
            metaall.fit([0.1, 0.5], [0.1, 0.2], method=spelling)
    for spelling, name in _spellings("test"):
        assert metaall.fit([0.1, 0.5, 0.3], [0.1, 0.2, 0.1], test=spelling).test == name


def test_every_method_has_its_implementation():
    assert set(ESTIMATORS) == set(methods.names("method", methods.RANDOM))
    assert {*FITTERS, PROPORTIONS} == set(methods.names("method", methods.EXACT))
    assert set(DEFAULT_NODES) == set(methods.names("method", methods.EXACT))


def test_hk_is_knha_on_the_command_line():
    runner = click.testing.CliRunner()
    args = ["-C", str(REPO), "pool", "relapse", "--subgroup", "mrd_neg", "--format", "json"]
    hk = runner.invoke(cli, [*args, "--ci", "hk", "--method", "dl"])
    knha = runner.invoke(cli, [*args, "--ci", "KNHA", "--method", "DL"])
    assert hk.exit_code == 0 and hk.output == knha.output
    assert '"test": "knha"' in hk.output and '"method": "DL"' in hk.output


def test_combination_rules():
    methods.check_combination("OR", "Peto", "z")
    with pytest.raises(methods.Unfit, match="Peto pools OR only") as peto:
        methods.check_combination("RR", "Peto", "z")
    assert peto.value.key == "method"
    with pytest.raises(methods.Unfit, match="Hartung-Knapp needs a random-effects") as hk:
        methods.check_combination("RR", "MH", "hk")
    assert hk.value.key == "test"


def test_display_names_come_from_the_registry():
    assert methods.method("reml").model == "random effects, REML tau²"
    assert methods.method("mh").model == "common effect, Mantel-Haenszel"
    assert methods.measure("hr").title == "Hazard Ratio"
    assert methods.ci_method("hk").description == "Hartung-Knapp (t, k-1 df)"
