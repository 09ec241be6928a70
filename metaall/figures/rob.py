"""Risk-of-bias figures (ROBINS-I): traffic lights beside a forest plot, a traffic-light
table of every study, and the summary plot of each domain.

Colours and symbols are those robvis uses for ROBINS-I (McGuinness & Higgins 2021,
Res Synth Methods 12:55-61): low green "+", moderate yellow "−", serious red "×",
critical dark red "!", no information blue "?"; the domains are headed D1-D7 in
ROBINS-I's order (:data:`metaall.data.model.ROB_DOMAINS`), the overall judgement last.
The summary plot is robvis's ``rob_summary``: per domain, the share of studies (or of
the analysis's weight) at each judgement, as stacked bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle
from matplotlib.transforms import Affine2D

from metaall.data.model import ROB_DOMAINS, ROB_JUDGEMENTS, ROB_OVERALL, StudyRiskOfBias
from metaall.figures.fonts import font, line_metrics, text_width, wrap
from metaall.figures.page import PT_PER_MM, new_figure
from metaall.figures.panel import DOT, INK, LINE, LINE_WIDTH, MARGIN, Column, Dot
from metaall.figures.settings import FigureSettings, figure_settings

LOOKS = {
    "low": Dot("#02C100", "+"),
    "moderate": Dot("#E2DF07", "\u2212"),
    "serious": Dot("#BF0000", "\u00d7", "white"),
    "critical": Dot("#820000", "!", "white"),
    "no_information": Dot("#4EA1F7", "?"),
}
WORDS = {
    "low": "Low",
    "moderate": "Moderate",
    "serious": "Serious",
    "critical": "Critical",
    "no_information": "No information",
}
HEADERS = {d: f"D{i}" for i, d in enumerate(ROB_DOMAINS, start=1)} | {ROB_OVERALL: "Overall"}
"""Column headings, robvis's: D1-D7 and Overall."""
PITCH = 1.8  # a row of the traffic-light table or of the summary plot (em)


def rob_columns() -> tuple[Column, ...]:
    """The traffic-light columns of a forest plot: D1-D7 and Overall."""
    return tuple(
        Column(f"rob_{d}", HEADERS[d], "center", "Risk of bias", dot=True) for d in HEADERS
    )


def rob_cells(assessment: StudyRiskOfBias | None) -> dict[str, str]:
    """A study's cells for :func:`rob_columns` (none when it has no assessment)."""
    if assessment is None:
        return {}
    return {f"rob_{d}": assessment.judgement(d) for d in HEADERS}


def rob_legend(judgements: Sequence[str] = ROB_JUDGEMENTS) -> list[str]:
    """The lines that explain the columns: the domains, then the symbols used."""
    domains = "; ".join(f"{HEADERS[d]} {title.lower()}" for d, title in ROB_DOMAINS.items())
    symbols = ", ".join(f"{LOOKS[j].symbol} {WORDS[j].lower()}" for j in judgements)
    return [f"Risk of bias (ROBINS-I): {domains}.", f"Judgements: {symbols}."]


def _assessed(
    assessments: Mapping[str, StudyRiskOfBias], labels: Mapping[str, str] | None
) -> tuple[dict[str, str], list[str]]:
    """The studies to show (id -> label, in order) that have an assessment, and the
    labels of those that have none; every assessed study when ``labels`` is None."""
    wanted = dict(labels) if labels is not None else {s: s for s in assessments}
    shown = {s: label for s, label in wanted.items() if s in assessments}
    if not shown:
        raise ValueError("no risk-of-bias assessment to plot (extractions/risk_of_bias.csv)")
    return shown, [label for s, label in wanted.items() if s not in assessments]


def _unassessed(labels: Sequence[str]) -> list[str]:
    return [f"No risk-of-bias assessment: {'; '.join(labels)}."] if labels else []


class _Page:
    """Text and shapes placed in points from the top-left corner of a figure."""

    def __init__(self, settings: FigureSettings, default_width: str) -> None:
        self.em = settings.font_size
        self.normal = font(settings.font, settings.font_size)
        self.bold = font(settings.font, settings.font_size, bold=True)
        self.cap = line_metrics(self.normal)[0]
        self.width = settings.width_mm(default_width) * PT_PER_MM
        self.items: list = []  # drawing calls, replayed once the height is known

    def measure(self, text: str, bold: bool = False) -> float:
        return text_width(text, self.bold if bold else self.normal)

    def text(self, x, centre, text, align="left", bold=False, color=INK) -> None:
        self.items.append(("text", x, centre, text, align, bold, color))

    def dot(self, x: float, centre: float, look: Dot) -> None:
        self.items.append(("dot", x, centre, look))

    def box(self, x: float, top: float, width: float, height: float, fill: str) -> None:
        self.items.append(("box", x, top, width, height, fill))

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.items.append(("line", x0, y0, x1, y1))

    def finish(self, height: float) -> Figure:
        """The figure, ``height`` points tall, with everything placed so far."""
        fig = new_figure(self.width, height)
        points = Affine2D().scale(1 / 72, -1 / 72).translate(0, height / 72) + fig.dpi_scale_trans

        def write(x, centre, text, align, bold, color) -> None:
            prop = self.bold if bold else self.normal
            fig.text(x, centre + self.cap / 2, text, transform=points, ha=align, va="baseline",
                     fontproperties=prop, parse_math=False, color=color)  # fmt: skip

        for kind, *args in self.items:
            if kind == "text":
                write(*args)
            elif kind == "dot":
                x, centre, look = args
                circle = Circle((x, centre), DOT * self.em / 2, facecolor=look.fill, lw=0)
                fig.add_artist(circle).set_transform(points)
                write(x, centre, look.symbol, "center", True, look.ink)
            elif kind == "line":
                x0, y0, x1, y1 = args
                rule = Line2D([x0, x1], [y0, y1], color=INK, lw=LINE_WIDTH, solid_capstyle="butt")
                fig.add_artist(rule).set_transform(points)
            else:
                x, top, width, tall, fill = args
                box = Rectangle((x, top), width, tall, facecolor=fill, edgecolor=INK)
                fig.add_artist(box).set_transform(points)
                box.set_linewidth(LINE_WIDTH / 2)
        return fig

    def notes(self, lines: Sequence[str], top: float) -> float:
        """Wrapped notes from ``top``; the y below them."""
        em, y = self.em, top
        for line in lines:
            for piece in wrap(line, self.width - 2 * MARGIN * em, self.normal):
                self.text(MARGIN * em, y + LINE * em / 2, piece)
                y += LINE * em
        return y


def traffic_light_plot(
    assessments: Mapping[str, StudyRiskOfBias],
    labels: Mapping[str, str] | None = None,
    settings: FigureSettings | None = None,
    **options,
) -> Figure:
    """The traffic-light table: one row per study (``labels``: study -> name, in the
    order to show; default every assessed study by id), a dot per domain and overall
    (robvis ``rob_traffic_light``); studies without an assessment are named in a note."""
    names, missing = _assessed(assessments, labels)
    look = figure_settings(settings, **options)
    page = _Page(look, "single")
    em = page.em
    widths = [max(DOT * em, page.measure(h, True)) + 0.6 * em for h in HEADERS.values()]
    label_width = page.width - 2 * MARGIN * em - sum(widths) - em
    if label_width < 9 * em:
        need = (9 * em + sum(widths) + em + 2 * MARGIN * em) / PT_PER_MM
        raise ValueError(f"the traffic-light table needs a figure at least {need:.0f} mm wide")
    x0 = MARGIN * em + label_width + em
    centres = [x0 + sum(widths[:i]) + widths[i] / 2 for i in range(len(widths))]
    y = MARGIN * em
    page.text(MARGIN * em, y + LINE * em / 2, "Study", bold=True)
    for x, header in zip(centres, HEADERS.values(), strict=True):
        page.text(x, y + LINE * em / 2, header, "center", True)
    y += LINE * em + 0.4 * em
    for study, name in names.items():
        lines = wrap(name, label_width, page.normal)
        height = max(PITCH * em, (len(lines) + 0.5) * LINE * em)
        centre = y + height / 2
        for i, piece in enumerate(lines):
            page.text(MARGIN * em, centre + (i - (len(lines) - 1) / 2) * LINE * em, piece)
        for x, domain in zip(centres, HEADERS, strict=True):
            page.dot(x, centre, LOOKS[assessments[study].judgement(domain)])
        y += height
    shown = {assessments[s].judgement(d) for s in names for d in HEADERS}
    legend = rob_legend([j for j in ROB_JUDGEMENTS if j in shown]) + _unassessed(missing)
    y = page.notes(legend, y + 0.6 * em)
    return page.finish(y + MARGIN * em)


def rob_summary_plot(
    assessments: Mapping[str, StudyRiskOfBias],
    labels: Mapping[str, str] | None = None,
    weights: Mapping[str, float] | None = None,
    settings: FigureSettings | None = None,
    title: str = "",
    **options,
) -> Figure:
    """Per domain and overall, the share of studies at each judgement as stacked bars
    (robvis ``rob_summary``) over the studies of ``labels`` (default: every assessed
    study); with ``weights`` (study -> weight, e.g. an analysis's percentages) each
    study counts by its weight, robvis's ``weighted = TRUE``. Studies without an
    assessment are left out and named in a note."""
    names, missing = _assessed(assessments, labels)
    look = figure_settings(settings, **options)
    page = _Page(look, "single")
    em = page.em
    share = {s: (1.0 if weights is None else weights.get(s, 0.0)) for s in names}
    share = {s: w for s, w in share.items() if w > 0}
    if not share:
        raise ValueError("no assessed study with a positive weight to summarise")
    total = sum(share.values())
    rows = {**ROB_DOMAINS, ROB_OVERALL: "Overall risk of bias"}
    content = page.width - 2 * MARGIN * em
    widest = max(page.measure(text, d == ROB_OVERALL) for d, text in rows.items())
    label_width = min(widest, 0.45 * content)
    bar_left = MARGIN * em + label_width + em
    bar_width = page.width - bar_left - MARGIN * em - page.measure("100%") / 2
    if bar_width < 25 * PT_PER_MM:
        raise ValueError("the summary plot needs a wider figure (try --width double)")
    y = MARGIN * em
    if title:
        for piece in wrap(title, content, page.bold):
            page.text(MARGIN * em, y + LINE * em / 2, piece, bold=True)
            y += LINE * em
        y += 0.4 * em
    for domain, text in rows.items():
        bold = domain == ROB_OVERALL
        lines = wrap(text, label_width, page.bold if bold else page.normal)
        height = max(PITCH * em, (len(lines) + 0.6) * LINE * em)
        centre = y + height / 2
        for i, piece in enumerate(lines):
            page.text(bar_left - em, centre + (i - (len(lines) - 1) / 2) * LINE * em, piece,
                      "right", bold)  # fmt: skip
        x = bar_left
        for judgement in ROB_JUDGEMENTS:
            part = sum(w for s, w in share.items() if assessments[s].judgement(domain) == judgement)
            if part > 0:
                width = bar_width * part / total
                page.box(x, centre - 0.6 * em, width, 1.2 * em, LOOKS[judgement].fill)
                x += width
        y += height
    page.line(bar_left, y, bar_left + bar_width, y)  # the axis
    for tick in (0, 25, 50, 75, 100):
        x = bar_left + bar_width * tick / 100
        page.line(x, y, x, y + 0.35 * em)
        page.text(x, y + 0.35 * em + LINE * em / 2, f"{tick}%", "center")
    y += 0.35 * em + LINE * em + 0.5 * em
    x = MARGIN * em
    for judgement in ROB_JUDGEMENTS:
        word = WORDS[judgement]
        need = em + 0.4 * em + page.measure(word) + em
        if x + need > page.width - MARGIN * em:
            x, y = MARGIN * em, y + LINE * em
        page.box(x, y + LINE * em / 2 - 0.45 * em, 0.9 * em, 0.9 * em, LOOKS[judgement].fill)
        page.text(x + 1.3 * em, y + LINE * em / 2, word)
        x += need
    y += LINE * em + 0.4 * em
    what = (
        f"Share of the analysis's weight ({len(share)} studies)"
        if weights is not None
        else f"Share of {len(share)} studies"
    )
    y = page.notes([f"{what}; ROBINS-I judgements.", *_unassessed(missing)], y)
    return page.finish(y + MARGIN * em)
