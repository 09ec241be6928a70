"""The ``tsa:`` mapping of analysis specs: what it holds, its defaults, and every check
with its exact message (file:line: tsa.key: message)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaall.data import DataError, load_extractions, load_spec, load_specs
from metaall.data.tsa import TSASettings

REPO = Path(__file__).resolve().parents[1]
VOCABULARY = load_extractions(REPO / "extractions").vocabulary
MINIMAL = "comparison: hsct_vs_no_hsct_after_cart\noutcome: relapse\nmeasure: RR\n"


def spec_with(tmp_path: Path, tsa: str):
    path = tmp_path / "spec.yaml"
    path.write_text(MINIMAL + "tsa:\n" + tsa, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_spec(path, VOCABULARY)
    return str(caught.value)


def test_only_relapse_declares_tsa_parameters_grade_default_rrr():
    specs = load_specs(REPO / "analyses", VOCABULARY)  # all of relapse's: test_specs.py
    assert [name for name, spec in specs.items() if spec.tsa is not None] == ["relapse"]
    assert specs["relapse"].tsa.effect == {"rrr": 0.25}


def test_every_key_is_read(tmp_path: Path):
    text = (
        "  or: 0.7\n  control_risk: 0.3\n  alpha: 0.01\n  beta: 0.1\n  side: 1\n"
        "  heterogeneity: I2\n  spending: Pocock\n  futility: OF\n  benefit: lower\n"
    )
    spec = load_spec(spec_with(tmp_path, text), VOCABULARY)
    assert spec.tsa == TSASettings(
        odds_ratio=0.7,
        control_risk=0.3,
        alpha=0.01,
        beta=0.1,
        side=1,
        heterogeneity="i2",
        spending="pocock",
        futility="obrien-fleming",
        benefit="lower",
    )
    assert spec.tsa.effect == {"odds_ratio": 0.7}


@pytest.mark.parametrize("value", ["none", "false", "null"])
def test_futility_none_in_any_spelling(tmp_path: Path, value: str):
    spec = load_spec(spec_with(tmp_path, f"  rr: 0.8\n  futility: {value}\n"), VOCABULARY)
    assert spec.tsa == TSASettings(rr=0.8, futility="none")


def test_no_tsa_key_means_none(tmp_path: Path):
    path = tmp_path / "plain.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_spec(path, VOCABULARY).tsa is None


@pytest.mark.parametrize(
    ("tsa", "line", "key", "message"),
    [
        ("  rr: 0.8\n  power: 0.9\n", 6, "tsa.power", "unknown key; allowed: rr, rrr, or, "),
        ("  rr: 0.8\n  rrr: 0.2\n", 6, "tsa.rrr", "give exactly one anticipated effect: "),
        ("  alpha: 0.05\n", 4, "tsa", "give exactly one anticipated effect: rr, rrr or or"),
        ("  rr: 1\n", 5, "tsa.rr", "a ratio of 1 is no effect: no information size exists"),
        ("  rr: -0.5\n", 5, "tsa.rr", "expected a number in (0, inf), got -0.5"),
        ("  or: zero\n", 5, "tsa.or", "expected a number in (0, inf), got 'zero'"),
        ("  rrr: 25\n", 5, "tsa.rrr", "expected a number in (0, 1), got 25"),
        ("  rr: 3\n  control_risk: 0.5\n", 5, "tsa.rr", "rr = 3 with control_risk = 0.5 is a"),
        ("  rr: 0.8\n  control_risk: 1.2\n", 6, "tsa.control_risk", "expected a number in (0, 1)"),
        ("  rr: 0.8\n  alpha: 0\n", 6, "tsa.alpha", "expected a number in (0, 1), got 0"),
        ("  rr: 0.8\n  beta: 1\n", 6, "tsa.beta", "expected a number in (0, 1), got 1"),
        ("  rr: 0.8\n  side: 3\n", 6, "tsa.side", "expected 1 (one-sided) or 2 (two-sided)"),
        ("  rr: 0.8\n  side: true\n", 6, "tsa.side", "expected 1 (one-sided) or 2"),
        ("  rr: 0.8\n  heterogeneity: tau2\n", 6, "tsa.heterogeneity", "'tau2' is not one of"),
        ("  rr: 0.8\n  spending: linear\n", 6, "tsa.spending", "unknown spending function"),
        ("  rr: 0.8\n  futility: yes\n", 6, "tsa.futility", "unknown futility function"),
        ("  rr: 0.8\n  benefit: up\n", 6, "tsa.benefit", "'up' is not one of: lower, higher"),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path: Path, tsa, line, key, message):
    path = spec_with(tmp_path, tsa)
    assert error_of(path).startswith(f"{path}:{line}: {key}: {message}")


def test_tsa_must_be_a_mapping(tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_text(MINIMAL + "tsa: 0.8\n", encoding="utf-8")
    assert error_of(path) == (
        f"{path}:4: tsa: expected a mapping of rr, rrr, or, control_risk, alpha, beta, side, "
        "heterogeneity, spending, futility, benefit"
    )


def test_updated_replaces_the_anticipated_effect_and_keeps_the_rest():
    declared = TSASettings(rrr=0.25, beta=0.1, futility="pocock")
    assert declared.updated(rr=0.8, alpha=0.01) == TSASettings(
        rr=0.8, alpha=0.01, beta=0.1, futility="pocock"
    )
    assert declared.updated(beta=None) == declared
    with pytest.raises(ValueError, match="unknown TSA setting"):
        declared.updated(power=0.9)
