"""Risk-of-bias figures: traffic lights on forest plots (``metaall forest --rob``), the
summary plot and the traffic-light table (``metaall rob-plot``), and the spec's caution
under a forest's total."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.patches import Circle, Rectangle

from metaall.analysis import Project
from metaall.cli import cli
from metaall.data import load_extractions
from metaall.figures.forest import forest_plot
from metaall.figures.rob import LOOKS, rob_summary_plot, traffic_light_plot
from tests.test_figures import _overlaps, joined, result, svg_texts

ROOT = Path(__file__).resolve().parents[1]
ROB = load_extractions(ROOT / "extractions").risk_of_bias
LABELS = {sid: study.label for sid, study in load_extractions(ROOT / "extractions").studies.items()}


def dots(fig) -> list[str]:
    """The fill colours of the traffic-light dots, in drawing order."""
    found = [a for a in fig.get_children() if isinstance(a, Circle)]
    colours = {tuple(round(c, 3) for c in _rgb(look.fill)): j for j, look in LOOKS.items()}
    return [colours[tuple(round(c, 3) for c in a.get_facecolor()[:3])] for a in found]


def _rgb(hexa: str) -> tuple[float, float, float]:
    return tuple(int(hexa[i : i + 2], 16) / 255 for i in (1, 3, 5))


def test_forest_with_traffic_lights_shows_every_judgement_in_row_order():
    res = result("relapse")
    fig = forest_plot(res, rob=ROB)
    judgements = dots(fig)
    studies = [r.study.study for g in res.groups for r in g.rows]  # drawn group by group
    domains = ("confounding", "selection", "classification", "deviations", "missing_data")
    domains += ("measurement", "reporting", "overall")
    assert judgements == [ROB[s].judgement(d) for s in studies for d in domains]
    texts = svg_texts(fig)
    assert {"Risk of bias", "D1", "D7", "Overall"} <= set(texts)
    text = joined(fig)
    assert "Risk of bias (ROBINS-I): D1 bias due to confounding;" in text
    assert "Judgements: + low, - moderate, × serious, ? no information." in text
    assert fig.get_figwidth() * 25.4 > 175  # as wide as the columns need
    assert _overlaps(fig, fig.axes[0]) == []


def test_forest_names_studies_without_an_assessment_and_keeps_numbers():
    res = result("relapse", "mrd_neg")
    partial = {s: a for s, a in ROB.items() if s != "NCT01044069"}
    fig = forest_plot(res, rob=partial, style="bmj")
    assert len(dots(fig)) == 8 * (len(res.overall.rows) - 1)
    text = joined(fig)
    assert "No risk-of-bias assessment: Park et al. (NCT01044069)." in text
    assert "0.31 (0.21 to 0.45)" in text and _overlaps(fig, fig.axes[0]) == []
    plain = forest_plot(res)
    assert not dots(plain) and "Risk of bias" not in joined(plain)
    with pytest.raises(ValueError, match="at least"):
        forest_plot(result("relapse"), rob=ROB, width="single")


def test_total_of_several_subgroups_carries_the_caution():
    text = joined(forest_plot(result("relapse")))
    assert "Caution: The total pools MRD-negative (mrd_neg) and MRD-mixed" in text
    assert "Caution" not in joined(forest_plot(result("relapse", "mrd_neg")))


def _rows(fig) -> list[list[tuple[float, str]]]:
    """The bars of each domain row (share of the full width, judgement), top to bottom."""
    bars = _bars(fig)
    full = sum(w for w, _ in bars) / 8  # eight rows, each spanning the full width
    rows, row = [], []
    for width, judgement in bars:
        row.append((width / full, judgement))
        if sum(w for w, _ in row) > 1 - 1e-9:
            rows.append(row)
            row = []
    assert len(rows) == 8 and not row
    return rows


def _bars(fig) -> list[tuple[float, str]]:
    colours = {tuple(round(c, 3) for c in _rgb(look.fill)): j for j, look in LOOKS.items()}
    found = [a for a in fig.get_children() if isinstance(a, Rectangle) and a.get_width() > 0]
    tallest = max(r.get_height() for r in found)
    found = [r for r in found if r.get_height() == tallest]  # the bars, not the legend keys
    key = lambda r: tuple(round(c, 3) for c in r.get_facecolor()[:3])  # noqa: E731
    return [(r.get_width(), colours[key(r)]) for r in found if key(r) in colours]


def test_summary_plot_shares_are_the_counts_of_judgements():
    fig = rob_summary_plot(ROB, title="All studies")
    confounding, *_, overall = _rows(fig)  # 15 serious, 1 critical (Lu et al. 2021)
    assert [j for _, j in confounding] == ["serious", "critical"]
    assert [w for w, _ in confounding] == pytest.approx([15 / 16, 1 / 16])
    assert [j for _, j in overall] == ["serious", "critical"]
    text = joined(fig)
    assert "Share of 16 studies; ROBINS-I judgements." in text and "All studies" in text
    assert _overlaps(fig) == []


def test_weighted_summary_counts_studies_by_their_weight():
    res = Project(ROOT).analysis("relapse", "mrd_neg")
    weights = {r.study.study: r.weight for r in res.overall.rows}
    fig = rob_summary_plot(ROB, {s: LABELS[s] for s in weights}, weights)
    missing = _rows(fig)[4]  # D5, missing data: 001 low, ELIANA serious, the rest unknown
    low, eliana = weights["ChiCTR1900023957"] / 100, weights["NCT02435849"] / 100
    assert [j for _, j in missing] == ["low", "serious", "no_information"]
    assert [w for w, _ in missing] == pytest.approx([low, eliana, 1 - low - eliana])
    assert "Share of the analysis's weight (7 studies)" in joined(fig)


def test_traffic_light_table_has_a_row_per_study():
    labels = {"NCT02435849": "ELIANA", "NCT99": "A study without assessment"}
    fig = traffic_light_plot(ROB, labels)
    assert dots(fig) == [ROB["NCT02435849"].judgement(d) for d in ROB["NCT02435849"].judgements]
    text = joined(fig)
    assert "No risk-of-bias assessment: A study without assessment." in text
    assert "Study D1 D2 D3 D4 D5 D6 D7 Overall ELIANA" in text
    assert _overlaps(traffic_light_plot(ROB, LABELS)) == []
    with pytest.raises(ValueError, match="no risk-of-bias assessment to plot"):
        traffic_light_plot(ROB, {"NCT99": "nobody"})
    with pytest.raises(ValueError, match=r"at least \d+ mm wide"):
        traffic_light_plot(ROB, width=40)


def invoke(*args: str, project: Path = ROOT):
    return CliRunner().invoke(cli, ["-C", str(project), *args])


def test_rob_commands_write_their_figures(tmp_path: Path):
    for args in (
        ("forest", "relapse", "--rob"),
        ("rob-plot",),
        ("rob-plot", "relapse", "--subgroup", "mrd_neg", "--weighted"),
        ("rob-plot", "relapse", "--traffic-light"),
    ):
        out = tmp_path / f"{'_'.join(args)}.png"
        done = invoke(*args, "-o", str(out))
        assert done.exit_code == 0, done.output
        assert out.read_bytes().startswith(b"\x89PNG")
    usage = invoke("rob-plot", "--weighted", "-o", str(tmp_path / "x.png"))
    assert usage.exit_code == 2 and "--weighted and --subgroup need an ANALYSIS" in usage.output
    help_text = invoke("rob-plot", "--help").output
    assert "Example" in help_text and "metaall rob-plot" in help_text


def test_rob_without_assessments_is_a_usage_error(tmp_path: Path):
    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "extractions" / "risk_of_bias.csv").unlink()
    done = invoke("forest", "relapse", "--rob", "-o", str(tmp_path / "f.png"), project=tmp_path)
    assert done.exit_code == 2 and "no risk-of-bias assessments" in done.output
    assert not (tmp_path / "f.png").exists()
