"""The TSA figure: what it draws is the TSA's numbers (the Z-curve, the boundary curve,
the RIS), what it says (labels, legend, verdict caption), its layout (no overlapping
text, the page width), journal styles, byte-identical files, and ``metaall tsa-plot`` /
``metaall run`` writing it."""

from __future__ import annotations

import functools
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from PIL import Image
from test_figures import _overlaps, joined, plain, svg_texts

from metaall.analysis import Project
from metaall.analysis.sequential import tsa_of
from metaall.cli import cli
from metaall.data.tsa import TSASettings
from metaall.figures.export import figure_bytes
from metaall.figures.page import PT_PER_MM
from metaall.figures.settings import FigureSettings
from metaall.figures.tsa import BOUNDARY_INK, tsa_figure_files, tsa_plot

ROOT = Path(__file__).resolve().parents[1]
PROJECT = Project(ROOT)


@functools.cache
def view(subgroup: str | None = None, analysis: str = "relapse", **settings):
    given = TSASettings(**settings) if settings else None
    return tsa_of(PROJECT.analysis(analysis, subgroup), given)


# relapse_preemptive declares no tsa: (one trial, Lu et al. 2021: 14 participants)
PREEMPTIVE = {"analysis": "relapse_preemptive", "rrr": 0.25}


def lines(fig) -> list[Line2D]:
    return fig.axes[0].get_lines()


def test_the_z_curve_is_the_cumulative_z_at_the_accrued_participants():
    v = view()
    fig = tsa_plot(v)
    curve = next(
        line for line in lines(fig) if line.get_marker() == "o" and line.get_color() == "black"
    )
    assert curve.get_xdata().tolist() == v.tsa.accrued.tolist()
    assert curve.get_ydata().tolist() == v.tsa.zval.tolist()


def test_boundaries_are_the_boundary_curve_without_its_capped_looks():
    v = view()
    curve = v.tsa.boundary_curve()
    keep = ~curve["capped"]
    drawn = [line for line in lines(tsa_plot(v)) if line.get_color() == BOUNDARY_INK]
    assert len(drawn) == 2  # upper and lower
    for line, name in zip(drawn, ("upper", "lower"), strict=True):
        assert line.get_xdata().tolist() == curve["participants"][keep].tolist()
        assert line.get_ydata().tolist() == curve[name][keep].tolist()
    assert curve["participants"][-1] == v.tsa.ris  # they end at the RIS


def test_ris_line_conventional_boundaries_and_the_futility_wedge():
    v = view()
    fig = tsa_plot(v)
    vertical = [line for line in lines(fig) if len(set(line.get_xdata())) == 1]
    assert [line.get_xdata()[0] for line in vertical] == [v.tsa.ris]
    levels = {
        round(line.get_ydata()[0], 6)
        for line in lines(fig)
        if len(set(line.get_ydata())) == 1 and line.get_linestyle() == "--"
    }
    assert levels == {1.959964, -1.959964}
    wedge = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(wedge) == 1  # the spec declares futility boundaries
    no_futility = tsa_plot(view(rrr=0.25, futility="none"))
    assert not [c for c in no_futility.axes[0].collections if isinstance(c, PolyCollection)]


def test_text_names_axes_trials_legend_and_gives_the_verdict():
    v = view()
    text = joined(tsa_plot(v))
    for words in (
        "Participants accrued",
        "Cumulative Z score",
        "RIS = 461",
        "Favours HSCT",
        "Favours no HSCT",
        "Cumulative Z-curve (k = 9)",
        "Conventional boundary (α = 0.05, two-sided)",
        "O'Brien-Fleming monitoring boundaries",
        "Futility boundaries (inner wedge)",
        "Required information size (RIS)",
        "Boundary crossed (benefit)",
        "Firm evidence of benefit (monitoring boundary crossed at Zhao et al. 2020 "
        "(haplo-HSCT after CAR-T)).",
        "Required information size (RIS): 461 participants to detect a risk ratio of 0.75",
        "TSA-adjusted RR 0.31 [0.22, 0.45]; conventional 95% CI 0.31 [0.22, 0.44].",
        "Trials: 1 Grupp et al. 2014 (NCT01626495/NCT01029366); 2 ELIANA (NCT02435849); "
        "3 Zhao et al. 2020 (haplo-HSCT after CAR-T); 4 Park et al. (NCT01044069); "
        "5 NCT02028455; 6 NCT01593696; 7 NCT01865617; 8 NCT02772198; 9 NCT03173417.",
        "trials 4–9 state no year and come last, in report order.",
    ):
        assert words in text, words
    numbers = [t for t in re.findall(r"\b\d+\b", text)]
    assert all(str(i) in numbers for i in range(1, 10))
    # the numbers in words are the TSA's
    rr, lb, ub = np.exp([v.tsa.estimate[-1], *v.tsa.adjusted_ci])
    assert v.tsa.ris == 461 and f"TSA-adjusted RR {rr:.2f} [{lb:.2f}, {ub:.2f}];" in text


@pytest.mark.parametrize(
    ("style", "z", "ci"),
    [
        ("revman", "Z", "0.31 [0.22, 0.45]"),
        ("jama", "z", "0.31 (0.22-0.45)"),
        ("bmj", "z", "0.31 (0.22 to 0.45)"),
    ],
)
def test_journal_styles(style, z, ci):
    text = joined(tsa_plot(view(), style=style))
    assert f"Cumulative {z} score" in text and f"TSA-adjusted RR {ci}" in text


@pytest.mark.parametrize(("width", "mm"), [(None, 175.0), ("single", 85.0), ("double", 175.0)])
def test_width_and_no_overlapping_text(width, mm):
    fig = tsa_plot(view(), width=width)
    assert fig.get_figwidth() * 72 == pytest.approx(mm * PT_PER_MM)
    assert _overlaps(fig) == []


@pytest.mark.parametrize(
    ("subgroup", "options"),
    [("cr", {}), ("mrd_neg", {}), (None, PREEMPTIVE), ("mrd_pos_before_cart", PREEMPTIVE)],
)
def test_subgroups_draw_without_overlaps_and_say_their_verdict(subgroup, options):
    v = view(subgroup, **options)
    fig = tsa_plot(v, width="single")
    assert _overlaps(fig) == []
    verdict = v.tsa.verdict[0].upper() + v.tsa.verdict[1:]
    assert plain(verdict) in joined(fig)


@pytest.mark.parametrize(("subgroup", "options"), [("cr", {}), (None, PREEMPTIVE)])
def test_capped_last_look_gives_no_adjusted_interval(subgroup, options):
    v = view(subgroup, **options)
    assert v.tsa.boundary_curve()["capped"][-2]  # the last trial's look (before the RIS)
    text = joined(tsa_plot(v))
    assert "TSA-adjusted RR not informative yet (boundary capped at the last look)" in text
    assert "TSA-adjusted RR 0." not in text
    # the words wrap as prose (only an interval is kept on one line)
    narrow = svg_texts(tsa_plot(v, width="single"))
    assert any(t.startswith("TSA-adjusted RR not informative") for t in narrow), narrow


@pytest.mark.parametrize("fmt", ["pdf", "svg", "png"])
def test_files_are_byte_identical_across_runs(fmt):
    first = figure_bytes(tsa_plot(view()), fmt, dpi=100)
    assert first == figure_bytes(tsa_plot(view()), fmt, dpi=100)


def test_figure_files_of_a_result_whose_spec_declares_tsa():
    files = tsa_figure_files(PROJECT.analysis("relapse", "cr"), FigureSettings(dpi=72), ("png",))
    assert list(files) == ["relapse_cr_tsa.png"]
    image = Image.open(io.BytesIO(files["relapse_cr_tsa.png"]))
    assert image.mode == "RGB" and image.width == round(175 / 25.4 * 72)
    assert tsa_figure_files(PROJECT.analysis("os"), FigureSettings(), ("png",)) == {}


def invoke(*args: str, project: Path = ROOT):
    return CliRunner().invoke(cli, ["-C", str(project), *args])


def test_tsa_plot_writes_the_file_with_the_options(tmp_path: Path):
    out = tmp_path / "tsa.svg"
    done = invoke("tsa-plot", "relapse", "--subgroup", "mrd_neg", "--rr", "0.8", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert done.output == f"wrote {out}\n"
    svg = out.read_text(encoding="utf-8")
    assert f'width="{175 * 72 / 25.4:.6f}pt"' in svg
    assert "risk ratio of 0.8 " in svg
    again = invoke("tsa-plot", "relapse", "-o", str(out))
    assert again.exit_code == 1 and "refusing to overwrite" in again.output
    bad = invoke("tsa-plot", "os", "--rr", "0.8", "-o", str(tmp_path / "os.png"))
    assert bad.exit_code == 2 and bad.output.count("\n") == 1
    assert "pools hazard ratios, which carry none" in bad.output


def test_tsa_plot_has_help_with_examples():
    done = invoke("tsa-plot", "--help")
    assert done.exit_code == 0 and "metaall tsa-plot relapse" in done.output


def test_run_draws_the_tsa_figures_of_specs_that_declare_tsa(tmp_path: Path):
    shutil.copytree(ROOT / "extractions", tmp_path / "extractions")
    (tmp_path / "analyses").mkdir()
    for name in ("relapse.yaml", "os.yaml"):
        shutil.copy(ROOT / "analyses" / name, tmp_path / "analyses")
    done = invoke("run", "--out", "out", "--formats", "png", "--dpi", "72", project=tmp_path)
    assert done.exit_code == 0, done.output
    drawn = sorted(p.name for p in (tmp_path / "out").glob("*_tsa.png"))
    # relapse [cr_cri] pools nothing (LuDaopei overlaps NCT03173417, pooled instead): no figure
    assert drawn == ["relapse_cr_tsa.png", "relapse_mrd_neg_tsa.png", "relapse_tsa.png"]
    expected = tsa_figure_files(PROJECT.analysis("relapse"), FigureSettings(dpi=72), ("png",))[
        "relapse_tsa.png"
    ]
    assert (tmp_path / "out" / "relapse_tsa.png").read_bytes() == expected
    assert np.array(Image.open(tmp_path / "out" / "relapse_tsa.png")).std() > 0
