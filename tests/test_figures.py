"""Figures: what they show (SVG text), that their numbers are metaall pool's, their
layout (no overlapping text, sized to the rows), and the files (size, dpi, fonts,
determinism, refusing to overwrite)."""

from __future__ import annotations

import base64
import functools
import io
import re
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text
from PIL import Image

from metaall.analysis import Project, run_analysis
from metaall.cli import cli
from metaall.data.adhoc import load_adhoc
from metaall.figures.export import figure_bytes, figure_files, save_figure
from metaall.figures.forest import forest_plot
from metaall.figures.funnel import funnel_plot
from metaall.figures.page import PT_PER_MM, drawing
from metaall.figures.scale import covering_scale, symmetric_scale
from metaall.figures.sensitivity import baujat_plot, cumulative_plot, leave_one_out_plot
from metaall.figures.settings import FigureSettings
from metaall.figures.style import get_style

ROOT = Path(__file__).resolve().parents[1]
PROJECT = Project(ROOT)
SVG = "{http://www.w3.org/2000/svg}"
CASES = [  # analysis, subgroup, style: subgroups, one subgroup, hazard ratios, journals
    ("relapse", None, "revman"),
    ("relapse", "mrd_neg", "revman"),
    ("os", None, "revman"),
    ("relapse", None, "jama"),
    ("relapse", "mrd_neg", "bmj"),
    ("os", None, "bmj"),
    ("relapse_hr", None, "jama"),
]


@functools.cache
def result(name: str, subgroup: str | None = None):
    return PROJECT.analysis(name, subgroup)  # immutable: shared by the tests


def svg_texts(fig) -> list[str]:
    root = ET.fromstring(figure_bytes(fig, "svg"))
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def plain(text: str) -> str:
    """Typeset text back to what ``metaall pool`` prints: hyphen minus, plain spaces."""
    return re.sub(r"\s+", " ", text.replace("\u2212", "-").replace("\u00a0", " ")).strip()


def joined(fig) -> str:
    """The figure's text; a label wrapped after a slash or hyphen is joined again."""
    pieces = [t.strip() for t in svg_texts(fig)]
    text = "".join(
        p if i == 0 or pieces[i - 1][-1:] in "/-" else f" {p}" for i, p in enumerate(pieces)
    )
    return plain(text)


# ------------------------------------------------------------------ what the forest shows


@pytest.mark.parametrize(("name", "subgroup", "style"), CASES)
def test_svg_text_has_every_label_pooled_row_statistics_and_favours(name, subgroup, style):
    res = result(name, subgroup)
    chosen = get_style(style)
    text = joined(forest_plot(res, style=style))
    for row in res.overall.rows:
        assert plain(row.label) in text
    total = chosen.pooled_label(True, res.spec.level)
    assert total in text
    fit = res.overall.fit
    assert plain(chosen.heterogeneity_line(fit, res.overall.heterogeneity)) in text
    assert plain(chosen.overall_line(fit)) in text
    for label in res.spec.favours:
        assert plain(chosen.spell(label)) in text
    if res.difference is not None:
        assert plain(chosen.subgroup_line(res.difference)) in text
    for group in res.groups:
        assert plain(res.descriptions[group.name]) in text


def _pool_text(*args: str) -> str:
    out = CliRunner().invoke(cli, ["-C", str(ROOT), "pool", *args])
    assert out.exit_code == 0, out.output
    return out.output


def test_forest_numbers_are_the_numbers_metaall_pool_prints():
    report = _pool_text("relapse")
    text = joined(forest_plot(result("relapse")))
    study = re.compile(r"(\d+/\d+)\s+(\d+/\d+)\s+(\d+\.\d%)\s+(\d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\])")
    rows = study.findall(report)
    assert len(rows) == 9 + 2 + 1  # studies, subtotals, total
    for _, _, weight, ci in rows:
        assert f"{weight} {ci}" in text
    het = re.compile(
        r"tau² = (\S+) (\[\S+, \S+\]); I² = (\S+)% \[(\S+)%, (\S+)%\]; H² = \S+; "
        r"Q = (\S+), df = (\d+), p ([<=]) (\S+)"
    )
    hets = het.findall(report)
    assert len(hets) == 3
    for tau2, tau2_ci, i2, i2_lo, i2_hi, q, df, sign, p in hets:  # with Q-profile intervals
        assert (
            f"Tau² = {tau2} {tau2_ci}; Chi² = {q}, df = {df} (P {sign} {p}); "
            f"I² = {i2}% [{i2_lo}%, {i2_hi}%]"
        ) in text
    tests = re.findall(r"Test for overall effect: z = (\S+), p ([<=]) (\S+)", report)
    assert len(tests) == 3
    for z, sign, p in tests:
        assert f"Test for overall effect: Z = {z} (P {sign} {p})" in text
    intervals = re.findall(r"Prediction interval: \[(\S+), (\S+)\]", report)
    assert len(intervals) == 3
    for lo, hi in intervals:
        assert f"[{lo}, {hi}]" in text
    q, df, sign, p = re.search(
        r"subgroup differences: Q = (\S+), df = (\d+), p ([<=]) (\S+)", report
    ).groups()
    assert f"Test for subgroup differences: Chi² = {q}, df = {df} (P {sign} {p})" in text


def test_hazard_ratio_forest_shows_log_hr_and_se_as_pool_does():
    report = _pool_text("os")
    text = joined(forest_plot(result("os")))
    pairs = re.findall(r"(-?\d+\.\d{4})\s+(\d+\.\d{4})\s+\d+\.\d%", report)
    assert len(pairs) == 2
    for log_hr, se in pairs:
        assert f"{log_hr} {se}" in text
    assert "log[Hazard Ratio]" in text and "Hazard Ratio IV, Random, 95% CI" in text
    assert (
        "Not included (car_target CD22 is outside this analysis (include.car_target: CD19)): "
        "NCT02315612 (CD22 CAR-T)" in text
    )


@pytest.mark.parametrize(
    ("style", "p", "ci"),
    [
        ("revman", "P = 0.45", "0.31 [0.21, 0.45]"),
        ("jama", "P = .45", "0.31 (0.21-0.45)"),
        ("bmj", "P=0.45", "0.31 (0.21 to 0.45)"),
    ],
)
def test_journal_styles_format_p_values_and_intervals_their_way(style, p, ci):
    text = joined(forest_plot(result("relapse", "mrd_neg"), style=style))
    assert p in text and ci in text
    assert ("Favors HSCT" in text) == (style == "jama")


def test_restricted_forest_is_headed_by_its_subgroup_and_has_one_diamond():
    res = result("relapse", "mrd_neg")
    fig = forest_plot(res)
    text = joined(fig)
    assert res.descriptions["mrd_neg"] in text
    assert "Subtotal" not in text and text.count("Total (95% CI)") == 1
    diamonds = [p for p in fig.axes[0].patches if type(p).__name__ == "Polygon"]
    assert len(diamonds) == 1


def test_subgroup_forest_has_a_diamond_per_subgroup_and_one_for_all():
    res = result("relapse")
    diamonds = [p for p in forest_plot(res).axes[0].patches if type(p).__name__ == "Polygon"]
    assert len(diamonds) == len(res.groups) + 1


def test_not_estimable_study_is_shown_as_such(tmp_path: Path):
    csv = tmp_path / "trials.csv"
    csv.write_text(
        "study,events_t,n_t,events_c,n_c\nA,3,20,8,21\nB,0,12,0,10\nC,5,30,9,28\n",
        encoding="utf-8",
    )
    data, spec = load_adhoc(csv)
    text = svg_texts(forest_plot(run_analysis(spec, data)))
    assert "Not estimable" in text and "B" in text


def test_squares_have_areas_proportional_to_weights():
    res = result("relapse", "mrd_neg")
    ax = forest_plot(res).axes[0]
    sides = [ln.get_markersize() for ln in ax.lines if ln.get_marker() == "s"]
    weights = [r.weight for r in res.overall.rows if r.estimable]
    assert len(sides) == len(weights)
    ratios = [side**2 / w for side, w in zip(sides, weights, strict=True)]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-9)


def test_whiskers_past_the_axis_end_in_arrows():
    res = result("relapse", "mrd_neg")  # NCT01593696: RR 0.05 [0.003, 0.86]
    ax = forest_plot(res, style="bmj").axes[0]
    assert ax.get_xlim() == (0.02, 50.0)
    styles = [
        type(p.get_arrowstyle()).__name__ for p in ax.patches if isinstance(p, FancyArrowPatch)
    ]
    assert styles.count("Curve") == 6  # the other whiskers and the prediction interval
    assert styles.count("CurveFilledA") == 2  # ELIANA and NCT01593696: lower limits below 0.02


def test_ratio_axis_is_log_and_symmetric_about_one():
    scale = symmetric_scale([0.3, 0.06, 2.2], log=True)
    assert (scale.lo, scale.hi) == (0.05, 20.0)
    assert symmetric_scale([0.3, 0.052], log=True).hi == 50.0  # 5% to spare at the end
    assert symmetric_scale([0.3, 0.04], log=True).hi == 50.0
    assert scale.fraction(1.0) == pytest.approx(0.5)
    assert forest_plot(result("relapse", "mrd_neg")).axes[0].get_xscale() == "log"
    assert symmetric_scale([-0.12, 0.3], log=False).ticks == (-0.5, -0.25, 0.0, 0.25, 0.5)
    assert covering_scale([0.18, 0.43], log=True, beyond_null=True).hi == 2.0


def test_too_narrow_a_width_fails_loudly_with_the_width_needed_and_the_way_out():
    with pytest.raises(ValueError, match=r"at least \d+ mm wide.*try .*--columns effect"):
        forest_plot(result("relapse"), width=60)
    with pytest.raises(ValueError, match=r"at least \d+ mm wide at 7 pt.*--font-size 6"):
        forest_plot(result("relapse"), width="single", columns=("counts", "weight", "effect"))


@pytest.mark.parametrize("style", ["revman", "jama", "bmj"])
@pytest.mark.parametrize(
    ("name", "subgroup"), [("relapse", None), ("relapse", "mrd_neg"), ("os", None)]
)
def test_one_journal_column_fits_at_six_points_or_more(name, subgroup, style):
    res = result(name, subgroup)
    fig = forest_plot(res, style=style, width="single")
    assert fig.get_figwidth() * 72 == pytest.approx(85 * PT_PER_MM)
    sizes = {round(t.get_fontsize(), 3) for t in _texts(fig)}
    assert min(sizes) >= 6.0
    assert _overlaps(fig) == []
    text = joined(fig)
    squeezed = text.replace(" ", "")  # labels wrap onto several lines in one column
    for row in res.overall.rows:
        assert plain(row.label).replace(" ", "") in squeezed
    weights = any(t.startswith("Weight") for t in svg_texts(fig))
    assert weights != ("Square areas are proportional to the studies' weights." in text)


def test_columns_choose_what_stands_beside_the_labels():
    res = result("relapse", "mrd_neg")
    effect_only = joined(forest_plot(res, columns=("effect",)))
    assert "0.60 [0.29, 1.25]" in effect_only and "25.8%" not in effect_only
    assert "Events" not in effect_only
    with pytest.raises(ValueError, match="unknown column 'weights'"):
        forest_plot(res, columns=("weights",))


# ------------------------------------------------------------------ layout


def _texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _overlaps(fig, graph=None) -> list[str]:
    """Pairs of overlapping texts, texts inside the graph area, texts off the page."""
    with drawing():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        # Text's own extent: an annotation's leader line is not text
        extent = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in _texts(fig)]
        boxes = [(text, box.padded(-0.5)) for text, box in extent]
        area = graph.get_window_extent(renderer) if graph is not None else None
        ticks = {t.get_text() for t in graph.get_xticklabels()} if graph is not None else set()
    page = fig.bbox
    problems = [
        f"{a!r} overlaps {b!r}" for (a, p), (b, q) in combinations(boxes, 2) if p.overlaps(q)
    ]
    problems += [f"{a!r} is off the page" for a, p in boxes if not page.contains(p.x0, p.y0)]
    problems += [f"{a!r} is off the page" for a, p in boxes if not page.contains(p.x1, p.y1)]
    if area is not None:
        problems += [
            f"{a!r} is in the graph" for a, p in boxes if a not in ticks and p.overlaps(area)
        ]
    return problems


@pytest.mark.parametrize(("name", "subgroup", "style"), CASES)
def test_forest_text_never_overlaps_text_or_the_graph(name, subgroup, style):
    fig = forest_plot(result(name, subgroup), style=style)
    assert _overlaps(fig, fig.axes[0]) == []


def test_overlap_check_does_catch_an_overlap():
    fig = forest_plot(result("relapse", "mrd_neg"))
    fig.texts[0].set_position(fig.texts[1].get_position())
    fig.texts[0].set_transform(fig.texts[1].get_transform())
    assert _overlaps(fig, fig.axes[0])


@pytest.mark.parametrize(
    ("draw", "table"),
    [
        (leave_one_out_plot, True),
        (cumulative_plot, True),
        (lambda r: funnel_plot(r, contours=True, trimfill=True, egger=True), False),
        (baujat_plot, False),  # point labels belong inside the axes
    ],
    ids=["leave-one-out", "cumulative", "funnel", "baujat"],
)
def test_other_figures_have_no_overlapping_text(draw, table):
    fig = draw(result("relapse"))
    assert _overlaps(fig, fig.axes[0] if table else None) == []


def test_figure_height_follows_the_rows_without_empty_space():
    small, large = forest_plot(result("relapse", "cr")), forest_plot(result("relapse"))
    assert large.get_figheight() > 2 * small.get_figheight()
    for fig in (small, large):
        with drawing():
            fig.canvas.draw()
            renderer = fig.canvas.get_renderer()
            bottom = min(t.get_window_extent(renderer).y0 for t in _texts(fig))
            top = max(t.get_window_extent(renderer).y1 for t in _texts(fig))
        em = 7 * fig.dpi / 72
        assert bottom < 1.5 * em and fig.bbox.height - top < 1.5 * em


# ------------------------------------------------------------------ sensitivity and funnel


def test_leave_one_out_rows_are_the_refits():
    res = result("relapse", "mrd_neg")
    text = joined(leave_one_out_plot(res))
    loo = res.overall.fit.leave_one_out()
    for i, row in enumerate(r for r in res.overall.rows if r.estimable):
        est, lo, hi = (
            res.display(float(getattr(loo, n)[i])) for n in ("estimate", "ci_lb", "ci_ub")
        )
        assert f"{row.label} {est:.2f} [{lo:.2f}, {hi:.2f}]" in text
    assert "All studies 0.31 [0.21, 0.45]" in text


def test_cumulative_plot_adds_dated_studies_first_and_ends_with_all_studies():
    res = result("relapse")
    text = joined(cumulative_plot(res, by="year"))
    assert text.index("Grupp et al. 2014") < text.index("ELIANA") < text.index("Park et al.")
    fit = res.overall.fit
    est, lo, hi = (res.display(v) for v in (fit.estimate, fit.ci_lb, fit.ci_ub))
    last = f"{est:.2f} [{lo:.2f}, {hi:.2f}]"
    assert text.index(last) > text.index("NCT03173417")  # the last row: all studies


def test_funnel_draws_filled_studies_open_and_says_what_it_added():
    fig = funnel_plot(result("relapse"), trimfill=True, egger=True, contours=True)
    text = joined(fig)
    assert "Filled studies (k0 = 3)" in text and "Egger's test: bias" in text
    assert "0.01 < P < 0.05" in text and "P < 0.01" in text
    open_points = [c for c in fig.axes[0].collections if (c.get_facecolor()[:, :3] == 1).all()]
    assert open_points and len(open_points[0].get_offsets()) == 3
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylim()[0] > ax.get_ylim()[1] == 0.0
    # the pooled estimate stays whole on its line; the caution reads as one sentence
    lines = [line for t in _texts(fig) for line in t.get_text().splitlines()]
    assert any(line.endswith("RR\u00a00.31\u00a0[0.22,\u00a00.44].") for line in lines)
    assert "Caution: with 9 studies (fewer than 10) a funnel plot cannot reliably show " in text


def test_baujat_needs_an_inverse_variance_model():
    with pytest.raises(ValueError, match="inverse-variance"):
        baujat_plot(PROJECT.analysis("relapse", method="MH"))


# ------------------------------------------------------------------ files


@pytest.mark.parametrize(
    ("draw", "mm", "dpi"),
    [
        (lambda: forest_plot(result("os")), 175, 150),
        (lambda: funnel_plot(result("relapse"), width=120), 120, 100),
    ],
)
def test_png_has_the_requested_width_in_pixels_and_stores_the_dpi(tmp_path, draw, mm, dpi):
    image = Image.open(save_figure(draw(), tmp_path / "figure.png", dpi=dpi))
    assert abs(image.size[0] - mm / 25.4 * dpi) <= 1
    assert image.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)  # pHYs: dots per metre


def test_tiff_stores_the_dpi(tmp_path: Path):
    path = save_figure(funnel_plot(result("relapse")), tmp_path / "f.tiff", dpi=200)
    image = Image.open(path)
    assert image.info["dpi"] == pytest.approx((200, 200), abs=0.01)
    assert abs(image.size[0] - 85 / 25.4 * 200) <= 1


def test_pdf_embeds_truetype_fonts_and_no_type3():
    pdf = figure_bytes(forest_plot(result("relapse", "mrd_neg")), "pdf")
    fonts = re.findall(rb"/Subtype\s*/(\w+)", pdf)
    assert b"FontFile2" in pdf
    assert b"Type3" not in fonts and b"CIDFontType2" in fonts
    assert re.findall(rb"/BaseFont\s*/[A-Z]{6}\+DejaVuSans", pdf)  # subset, embedded


def test_svg_keeps_text_and_embeds_the_glyphs_it_uses():
    svg = figure_bytes(forest_plot(result("relapse", "mrd_neg")), "svg")
    assert "font-family: 'DejaVu Sans'" in svg.decode()
    faces = re.findall(rb"@font-face \{[^}]*font-weight: (\d+);[^}]*base64,([A-Za-z0-9+/=]+)", svg)
    assert {w for w, _ in faces} == {b"400", b"700"}
    used = {c for text in ET.fromstring(svg).iter(f"{SVG}text") for c in "".join(text.itertext())}
    covered = set()
    for _, data in faces:
        font = TTFont(io.BytesIO(base64.b64decode(data)))
        assert font.flavor == "woff"
        covered |= {chr(code) for code in font.getBestCmap()}
    assert used - {" "} <= covered


@pytest.mark.parametrize("fmt", ["pdf", "svg", "png", "tiff", "eps"])
def test_output_is_byte_identical_across_runs(fmt):
    draw = funnel_plot if fmt == "eps" else forest_plot  # EPS Type 42 embedding is slow
    res = result("relapse", "mrd_neg")
    first = figure_bytes(draw(res), fmt, dpi=100)
    second = figure_bytes(draw(res), fmt, dpi=100)
    assert first == second
    assert b"/tmp" not in first and str(ROOT).encode() not in first
    if fmt == "eps":  # fonts embedded as TrueType (Type 42), no Type 3
        assert first.startswith(b"%!PS-Adobe-3.0 EPSF")
        assert b"/FontType 42" in first and b"/FontType 3" not in first


def test_save_refuses_to_overwrite_unless_asked(tmp_path: Path):
    path = tmp_path / "forest.svg"
    path.write_bytes(b"the user's file")
    fig = forest_plot(result("os"))
    with pytest.raises(FileExistsError):
        save_figure(fig, path)
    assert path.read_bytes() == b"the user's file"
    save_figure(fig, path, overwrite=True)
    assert path.read_bytes().startswith(b"<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["forest.svg"]  # no temporary left


def test_unknown_extension_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="format"):
        save_figure(forest_plot(result("os")), tmp_path / "forest.docx")


def test_figure_files_are_named_by_analysis_subgroup_and_kind():
    files = figure_files(result("relapse", "mrd_neg"), FigureSettings(dpi=72), ("pdf", "png"))
    assert sorted(files) == [
        "relapse_mrd_neg_forest.pdf",
        "relapse_mrd_neg_forest.png",
        "relapse_mrd_neg_funnel.pdf",
        "relapse_mrd_neg_funnel.png",
    ]
    assert files["relapse_mrd_neg_forest.pdf"].startswith(b"%PDF")


def test_figure_files_skip_the_funnel_below_three_studies():
    assert list(figure_files(result("os"), FigureSettings(), ("svg",))) == ["os_forest.svg"]


def test_save_figure_refuses_to_replace_a_file_unless_asked(tmp_path: Path):
    target = tmp_path / "forest.png"
    target.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="refusing"):
        save_figure(forest_plot(result("os")), target, dpi=72)
    assert target.read_bytes() == b"mine"
    save_figure(forest_plot(result("os")), target, dpi=72, overwrite=True)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_width_in_mm_sets_the_page_width():
    fig = forest_plot(result("os"), width=160)
    assert fig.get_figwidth() * 72 == pytest.approx(160 * PT_PER_MM)
