"""A table beside a graph: the layout engine of forest and sensitivity plots.

A :class:`Panel` is rows of text cells (left and right of the graph), full-width text
lines and one mark per row in the graph (a square sized by weight with its interval, a
diamond, a prediction interval). :func:`draw_panel` measures every text with the font,
gives each column the width of its widest entry, gives the graph what is left of the
requested figure width, wraps study labels and long lines rather than let them run
into the graph, and makes the figure exactly as tall as its rows (the layout R meta and
RevMan use: rows at a fixed pitch, headers above, the axis and the "favours" labels
below). Everything is placed in points from the top-left corner, so the figure is the
same at any dpi and in every format.

Squares have an area proportional to the weight (side ∝ √weight), as in RevMan and
R meta (Lewis & Clarke 2001, BMJ 322:1479, "Forest plots: trying to see the wood and the
trees"). Whiskers beyond the axis end in an arrow. A ``dot`` column shows each cell as a
filled circle with a symbol (RevMan's risk-of-bias "traffic lights"), the fill and the
symbol of each cell value given by the panel's ``dots``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Polygon
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import Affine2D, Transform

from metaall.figures.fonts import font, line_metrics, text_width, wrap
from metaall.figures.page import PT_PER_MM, new_figure
from metaall.figures.scale import Scale, tick_label
from metaall.figures.settings import FigureSettings

# geometry in em (multiples of the font size)
PITCH = 1.55  # a row of the table
LINE = 1.25  # a line of text inside a cell, header or note
GAP = 1.0  # between columns
MARGIN = 0.6  # around the figure
TICK = 0.45  # tick length
SQUARE = 0.8  # side of the largest square, in row pitches
DIAMOND = 0.62  # height of a diamond, in row pitches
MIN_GRAPH = 0.22  # the graph's least share of the width
PREFERRED_GRAPH = 0.42  # the share it keeps when long lines widen the table
MIN_LABEL = 8.0  # study labels are never wrapped narrower than this (em)
COMFORTABLE_LABEL = 14.0  # labels wrap down to this (em) to give the graph its share
WRAP_FOR_GRAPH = 0.3  # the graph's share that labels wrap for
LINE_WIDTH = 0.6  # points
INK = "black"
SQUARE_INK = "0.3"
SHRUNKEN_INK = "0.55"  # grey of the Bayesian shrunken estimates
SHRUNKEN_OFFSET = 0.3  # below the study's own interval, in row pitches
DOT = 1.15  # diameter of a traffic-light dot (em)
DOT_GAP = 0.35  # between two dot columns (em)


class TooNarrow(ValueError):
    """The columns of a panel do not fit the width asked for; ``need_mm`` says how wide
    the figure must be."""

    def __init__(self, need_mm: float, asked_mm: float, font_size: float) -> None:
        self.need_mm = need_mm
        super().__init__(
            f"these columns need a figure at least {need_mm:.0f} mm wide at {font_size:g} pt "
            f"(asked for {asked_mm:.0f} mm)"
        )


@dataclass(frozen=True)
class Column:
    """A table column; ``header`` lines are separated by newlines, ``group`` is a heading
    shared by adjacent columns (e.g. an arm's name over its Events and Total)."""

    key: str
    header: str
    align: str = "right"
    group: str = ""
    dot: bool = False  # cells are keys of Panel.dots, drawn as filled circles


@dataclass(frozen=True)
class Mark:
    """What a row draws in the graph, in display units (ratios, not logs).

    ``kind``: ``square`` (point estimate and interval, ``area`` the square's area
    relative to the largest, 0..1), ``diamond`` (a pooled estimate and its CI) or
    ``interval`` (a prediction interval: a bar with end caps). ``shrunken`` (median,
    lower, upper) adds a study's shrunken estimate under the square: a grey interval
    with an open circle.
    """

    kind: str
    est: float
    lo: float
    hi: float
    area: float = 1.0
    whole: bool = True  # the axis holds the whole interval (else it may run past it)
    shrunken: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class Row:
    """A table row: ``cells`` by column key, or one ``line`` of text across the table."""

    cells: Mapping[str, str] = field(default_factory=dict)
    line: str = ""
    bold: bool = False
    mark: Mark | None = None
    space_before: float = 0.0  # in row pitches


@dataclass(frozen=True)
class Panel:
    """Everything a table-and-graph figure shows. The first left column holds the
    labels and is the one that wraps when space is short."""

    left: tuple[Column, ...]
    right: tuple[Column, ...]
    rows: tuple[Row, ...]
    scale: Scale
    graph_header: str = ""
    favours: tuple[str, str] | None = None
    notes: tuple[str, ...] = ()
    reference: float | None = None  # a dashed line, e.g. at the pooled estimate
    gap: float = GAP  # between columns (em)
    dots: Mapping[str, Dot] = field(default_factory=dict)  # a dot cell's value -> its look


@dataclass(frozen=True)
class Dot:
    """How a ``dot`` column draws a cell: fill colour, symbol and the symbol's colour."""

    fill: str
    symbol: str
    ink: str = INK


class _Fonts:
    def __init__(self, family: str, size: float) -> None:
        self.size = size
        self.normal = font(family, size)
        self.bold = font(family, size, bold=True)
        self.cap, _, _ = line_metrics(self.normal)

    def of(self, bold: bool):
        return self.bold if bold else self.normal

    def width(self, text: str, bold: bool = False) -> float:
        return max((text_width(line, self.of(bold)) for line in text.split("\n")), default=0.0)


@dataclass
class _Layout:
    """Horizontal positions (points from the left edge) of every column and the graph."""

    x: dict[str, tuple[float, float]]  # column key -> (left, right)
    label_width: float
    table_left: float
    table_width: float
    graph_left: float
    graph_width: float
    favours_width: tuple[float, float]  # room for the left and the right label


def _favours_room(panel: Panel, fonts: _Fonts, left: float, graph: float, edge: float, content):
    """Narrow the graph so that the right "favours" label, which starts at the line of
    no effect, ends before ``edge``: on one line if the graph keeps its least share,
    else on two; the graph width and the room for each label."""
    gap = GAP * fonts.size / 2
    share = panel.scale.fraction(panel.scale.null)
    words = (panel.favours[1] if panel.favours else "").split()
    splits = [(" ".join(words[:k]), " ".join(words[k:])) for k in range(1, len(words))]
    two_lines = min(
        (max(fonts.width(a), fonts.width(b)) for a, b in splits),
        default=fonts.width(" ".join(words)),
    )
    if share > 0:
        one_line = (edge - left - gap - fonts.width(" ".join(words))) / share
        graph = min(graph, max(one_line, MIN_GRAPH * content))
        graph = min(graph, (edge - left - gap - two_lines) / share)
    null = left + share * graph
    return graph, (null - gap - MARGIN * fonts.size, edge - null - gap)


def _column_widths(panel: Panel, fonts: _Fonts) -> dict[str, float]:
    widths = {}
    for col in (*panel.left, *panel.right):
        if col.dot:
            widths[col.key] = max(fonts.width(col.header, True), DOT * fonts.size)
            continue
        cells = [fonts.width(r.cells.get(col.key, ""), r.bold) for r in panel.rows]
        widths[col.key] = max([fonts.width(col.header, True), *cells])
    for columns in (panel.left, panel.right):
        for group, keys in _groups(columns).items():
            need = fonts.width(group, True) - _span(keys, widths, fonts.size * panel.gap)
            if need > 0:
                widths[keys[-1]] += need
    return widths


def _groups(columns: tuple[Column, ...]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for col in columns:
        if col.group:
            groups.setdefault(col.group, []).append(col.key)
    return groups


def _span(keys: list[str], widths: Mapping[str, float], gap: float) -> float:
    return sum(widths[k] for k in keys) + gap * (len(keys) - 1)


def _gaps_after(columns: tuple[Column, ...], em: float) -> list[float]:
    """The space after each column: narrow between two dot columns, else a gap."""
    narrow = [a.dot and b.dot for a, b in itertools.pairwise(columns)]
    return [DOT_GAP * em if tight else GAP * em for tight in [*narrow, False]][: len(columns)]


def _need(panel: Panel, fonts: _Fonts, widths: Mapping[str, float], right: float) -> float:
    """The least figure width (points) at which the labels need not wrap narrower
    than MIN_LABEL and the graph keeps MIN_GRAPH of the width."""
    em = fonts.size
    narrowest = max(MIN_LABEL * em, fonts.width(panel.left[0].header, True))
    keys = [c.key for c in panel.left]
    least = _span(keys, {**widths, keys[0]: narrowest}, panel.gap * em)
    return (least + right + panel.gap * em) / (1 - MIN_GRAPH) + 2 * MARGIN * em


def minimum_width_mm(panel: Panel, settings: FigureSettings) -> float:
    """The narrowest figure (mm) that can hold ``panel`` at the settings' font size."""
    fonts = _Fonts(settings.font, settings.font_size)
    widths = _column_widths(panel, fonts)
    right = sum(widths[c.key] for c in panel.right) + sum(_gaps_after(panel.right, fonts.size))
    return _need(panel, fonts, widths, right) / PT_PER_MM


def _layout(panel: Panel, fonts: _Fonts, width: float) -> _Layout:
    em = fonts.size
    gap, margin = panel.gap * em, MARGIN * em
    content = width - 2 * margin
    widths = _column_widths(panel, fonts)
    label_key = panel.left[0].key
    after = _gaps_after(panel.right, em)
    right = sum(widths[c.key] for c in panel.right) + sum(after)
    table = _span([c.key for c in panel.left], widths, gap)
    comfortable = content - right - gap - WRAP_FOR_GRAPH * content
    if table > comfortable:  # wrap long labels to give the graph room, within reason
        label = max(widths[label_key] - (table - comfortable), COMFORTABLE_LABEL * em)
        if label < widths[label_key]:
            table -= widths[label_key] - label
            widths[label_key] = label
    room = content - right - gap - MIN_GRAPH * content
    if table > room:  # wrap the labels further
        label = widths[label_key] - (table - room)
        narrowest = max(MIN_LABEL * em, fonts.width(panel.left[0].header, True))
        if label < narrowest:
            need = _need(panel, fonts, widths, right)
            raise TooNarrow(need / PT_PER_MM, width / PT_PER_MM, em)
        widths[label_key] = label
        table = room
    lines = max((fonts.width(r.line, r.bold) for r in panel.rows if r.line), default=0.0)
    wide = min(lines, content - right - gap - PREFERRED_GRAPH * content)
    if wide > table:  # let long lines have room: the label column takes it
        widths[label_key] += wide - table
        table = wide
    x, left = {}, margin
    for col in panel.left:
        x[col.key] = (left, left + widths[col.key])
        left += widths[col.key] + gap
    graph_left, edge = left, width - margin
    graph = edge - graph_left - right
    if not panel.right:  # the last tick label is centred on the graph's right end
        graph -= fonts.width(tick_label(panel.scale.ticks[-1])) / 2
    graph, favours = _favours_room(panel, fonts, graph_left, graph, edge, content)
    left = graph_left + graph + gap
    for col, space in zip(panel.right, after, strict=True):
        x[col.key] = (left, left + widths[col.key])
        left += widths[col.key] + space
    return _Layout(x, widths[label_key], margin, table, graph_left, graph, favours)


class _Canvas:
    """Places text and marks in points measured from the figure's top-left corner."""

    def __init__(self, fig: Figure, height: float, fonts: _Fonts) -> None:
        self.fig = fig
        self.fonts = fonts
        self.points: Transform = (
            Affine2D().scale(1 / 72, -1 / 72).translate(0, height / 72) + fig.dpi_scale_trans
        )

    def text(
        self,
        x: float,
        top: float,
        text: str,
        align: str = "left",
        bold: bool = False,
        color: str = INK,
    ):
        """One line of text, its cap height centred in a line whose top is at ``top``."""
        baseline = top + (self.fonts.size * LINE + self.fonts.cap) / 2
        self.fig.text(
            x,
            baseline,
            text,
            transform=self.points,
            ha=align,
            va="baseline",
            fontproperties=self.fonts.of(bold),
            parse_math=False,
            color=color,
        )

    def dot(self, x: float, centre: float, look: Dot) -> None:
        """A filled circle centred on (x, centre) with its symbol in the middle."""
        radius = DOT * self.fonts.size / 2
        self.fig.add_artist(
            Circle((x, centre), radius, transform=self.points, facecolor=look.fill, lw=0)
        )
        self.text(x, centre - LINE * self.fonts.size / 2, look.symbol, "center", True, look.ink)


def _cell_lines(panel: Panel, layout: _Layout, fonts: _Fonts, row: Row) -> dict[str, list[str]]:
    lines = {}
    for col in (*panel.left, *panel.right):
        text = "" if col.dot else row.cells.get(col.key, "")
        width = layout.label_width if col.key == panel.left[0].key else math.inf
        lines[col.key] = wrap(text, width, fonts.of(row.bold)) if text else []
    return lines


def draw_panel(panel: Panel, settings: FigureSettings, default_width: str = "double") -> Figure:
    """Draw ``panel`` as wide as ``settings`` ask (``default_width`` when they leave it
    open) and as tall as its rows need."""
    fonts = _Fonts(settings.font, settings.font_size)
    em = fonts.size
    width = settings.width_mm(default_width) * PT_PER_MM
    layout = _layout(panel, fonts, width)
    columns = (*panel.left, *panel.right)

    # -- vertical layout: header, rows, axis, favours, notes -----------------------
    y = MARGIN * em
    graph_header = _wrap_block(panel.graph_header, layout.graph_width, fonts, bold=True)
    header_lines = max(
        [len(graph_header), *(len(c.header.split("\n")) for c in columns)], default=1
    )
    has_groups = any(c.group for c in columns)
    header_top = y + (LINE * em if has_groups else 0.0)
    body_top = header_top + header_lines * LINE * em + 0.35 * em
    placed = []  # (row, top, height, cell lines, line lines)
    y = body_top
    for row in panel.rows:
        y += row.space_before * PITCH * em
        cells = _cell_lines(panel, layout, fonts, row)
        line = _wrap_block(row.line, layout.table_width, fonts, row.bold)
        count = max([len(line), *(len(v) for v in cells.values()), 1])
        pitch = PITCH if not row.line else LINE + 0.1
        height = (pitch + (count - 1) * LINE) * em
        placed.append((row, y, height, cells, line))
        y += height
    body_bottom = y + 0.3 * em
    ticks_bottom = body_bottom + (TICK + 0.35) * em + LINE * em
    favours = [
        _wrap_block(text, room, fonts)
        for text, room in zip(panel.favours or ("", ""), layout.favours_width, strict=True)
    ]
    favours_top = ticks_bottom + 0.25 * em
    y = favours_top + max(len(f) for f in favours) * LINE * em
    notes = [_wrap_block(note, width - 2 * MARGIN * em, fonts) for note in panel.notes]
    notes_top = y + (0.6 * em if notes else 0.0)
    height = notes_top + sum(len(n) for n in notes) * LINE * em + MARGIN * em

    fig = new_figure(width, height)
    canvas = _Canvas(fig, height, fonts)

    # -- header ----------------------------------------------------------------------
    for columns_ in (panel.left, panel.right):
        for group, keys in _groups(columns_).items():
            left, right = layout.x[keys[0]][0], layout.x[keys[-1]][1]
            canvas.text((left + right) / 2, header_top - LINE * em, group, "center", True)
    for col in columns:
        lines = col.header.split("\n")
        top = header_top + (header_lines - len(lines)) * LINE * em
        for i, text in enumerate(lines):
            canvas.text(_anchor(layout, col), top + i * LINE * em, text, col.align, bold=True)
    top = header_top + (header_lines - len(graph_header)) * LINE * em
    centre = layout.graph_left + layout.graph_width / 2
    for i, text in enumerate(graph_header):
        canvas.text(centre, top + i * LINE * em, text, "center", bold=True)

    # -- rows ------------------------------------------------------------------------
    ax = _graph_axes(fig, panel.scale, layout, body_top, body_bottom, height, fonts)
    side = SQUARE * PITCH * em
    for row, top, row_height, cells, line in placed:
        centre_y = top + row_height / 2
        _block(canvas, layout.table_left, centre_y, line, "left", row.bold)
        for col in columns:
            x = _anchor(layout, col)
            _block(canvas, x, centre_y, cells[col.key], col.align, row.bold)
            if col.dot and row.cells.get(col.key) in panel.dots:
                canvas.dot(x, centre_y, panel.dots[row.cells[col.key]])
        if row.mark is not None:
            _draw_mark(ax, row.mark, centre_y, side, PITCH * em)

    # -- axis labels: "favours" either side of the line of no effect ---------------
    null = layout.graph_left + layout.graph_width * panel.scale.fraction(panel.scale.null)
    for lines, x, align in zip(
        favours, (null - GAP * em / 2, null + GAP * em / 2), ("right", "left"), strict=True
    ):
        for i, text in enumerate(lines):
            canvas.text(x, favours_top + i * LINE * em, text, align)
    y = notes_top
    for note in notes:
        for text in note:
            canvas.text(MARGIN * em, y, text)
            y += LINE * em
    if panel.reference is not None:
        ax.axvline(panel.reference, color=INK, lw=LINE_WIDTH, ls=(0, (3, 2)), zorder=1)
    return fig


def _anchor(layout: _Layout, col: Column) -> float:
    """Where a column's text is anchored: its left or right edge, or its centre."""
    left, right = layout.x[col.key]
    return {"left": left, "center": (left + right) / 2}.get(col.align, right)


def _wrap_block(text: str, width: float, fonts: _Fonts, bold: bool = False) -> list[str]:
    """``text`` (newlines kept) wrapped to ``width`` points; [] for no text."""
    if not text:
        return []
    return [piece for part in text.split("\n") for piece in wrap(part, width, fonts.of(bold))]


def _block(canvas: _Canvas, x: float, centre: float, lines: list[str], align: str, bold: bool):
    """Lines of text centred as a block on ``centre``."""
    top = centre - len(lines) * LINE * canvas.fonts.size / 2
    for i, text in enumerate(lines):
        canvas.text(x, top + i * LINE * canvas.fonts.size, text, align, bold)


def _graph_axes(
    fig: Figure, scale: Scale, layout: _Layout, top: float, bottom: float, height: float, fonts
) -> Axes:
    """The graph: x in display units (log for ratios), y in points from the figure top."""
    width = fig.get_figwidth() * 72
    ax = fig.add_axes(
        (
            layout.graph_left / width,
            1 - bottom / height,
            layout.graph_width / width,
            (bottom - top) / height,
        )
    )
    ax.set_xscale("log" if scale.log else "linear")
    ax.set_xlim(scale.lo, scale.hi)
    ax.set_ylim(bottom, top)
    ax.patch.set_visible(False)
    for name, spine in ax.spines.items():
        spine.set_visible(name == "bottom")
        spine.set_linewidth(LINE_WIDTH)
    ticks = _legible_ticks(scale, layout.graph_width, fonts)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [tick_label(t) for t in ticks], fontproperties=fonts.normal)
    ax.tick_params(
        axis="x", length=TICK * fonts.size, width=LINE_WIDTH, pad=0.35 * fonts.size, color=INK
    )
    ax.yaxis.set_visible(False)
    if scale.null_line:
        ax.axvline(scale.null, color=INK, lw=LINE_WIDTH, zorder=1)
    return ax


def _legible_ticks(scale: Scale, graph_width: float, fonts: _Fonts) -> list[float]:
    """The scale's ticks whose labels do not touch: the line of no effect and the ends
    first, then the others, each kept only where its label has room (a narrow graph,
    e.g. in one journal column, shows fewer ticks rather than overlapping numbers)."""
    gap = 0.5 * fonts.size
    ends = (scale.ticks[0], scale.ticks[-1])
    order = sorted(scale.ticks, key=lambda t: (t != scale.null, t not in ends))
    kept: list[tuple[float, float]] = []  # (left, right) of each placed label
    chosen = []
    for tick in order:
        centre = scale.fraction(tick) * graph_width
        half = fonts.width(tick_label(tick)) / 2
        box = (centre - half - gap, centre + half + gap)
        if all(box[1] <= a or box[0] >= b for a, b in kept):
            kept.append(box)
            chosen.append(tick)
    return sorted(chosen)


def _draw_mark(ax: Axes, mark: Mark, y: float, side: float, pitch: float) -> None:
    if not all(math.isfinite(v) for v in (mark.est, mark.lo, mark.hi)):
        return
    lo, hi = ax.get_xlim()
    if mark.kind == "diamond":
        _diamond(ax, mark, y, DIAMOND * pitch / 2, (lo, hi))
        return
    _whisker(ax, max(mark.lo, lo), min(mark.hi, hi), y, mark.lo < lo, mark.hi > hi)
    if mark.kind == "interval":
        for x in (mark.lo, mark.hi):
            if lo <= x <= hi:
                ends = [y - pitch * 0.18, y + pitch * 0.18]
                ax.plot([x, x], ends, color=INK, lw=LINE_WIDTH * 1.3, solid_capstyle="butt")
        return
    if mark.shrunken is not None:
        _shrunken(ax, mark.shrunken, y + SHRUNKEN_OFFSET * pitch, (lo, hi))
    if lo <= mark.est <= hi:
        ax.plot(
            [mark.est],
            [y],
            marker="s",
            markersize=side * math.sqrt(max(mark.area, 0.0)),
            markerfacecolor=SQUARE_INK,
            markeredgewidth=0,
            linestyle="none",
            zorder=3,
        )


def _shrunken(ax: Axes, values: tuple[float, float, float], y: float, limits) -> None:
    """A shrunken estimate: grey interval, open circle at the median."""
    est, lo, hi = values
    ax.plot([max(lo, limits[0]), min(hi, limits[1])], [y, y], color=SHRUNKEN_INK, lw=LINE_WIDTH)
    if limits[0] <= est <= limits[1]:
        ax.plot(
            [est],
            [y],
            marker="o",
            markersize=2.6,
            markerfacecolor="white",
            markeredgecolor=SHRUNKEN_INK,
            markeredgewidth=LINE_WIDTH,
            linestyle="none",
            zorder=4,
        )


def _diamond(ax: Axes, mark: Mark, y: float, half: float, limits: tuple[float, float]) -> None:
    """A pooled estimate's diamond; where the axis cuts it, the cut edge stands at the
    axis end and an arrowhead just outside it points on."""
    lo, hi = limits
    log = ax.get_xscale() == "log"
    t = math.log if log else (lambda v: v)
    inv = math.exp if log else (lambda v: v)

    def height(x: float) -> float:  # the diamond's half-height at x
        if x <= mark.est:
            span = t(mark.est) - t(mark.lo)
            return half * (t(x) - t(mark.lo)) / span if span > 0 else half
        span = t(mark.hi) - t(mark.est)
        return half * (t(mark.hi) - t(x)) / span if span > 0 else half

    left, right = max(mark.lo, lo), min(mark.hi, hi)
    if left >= right:
        return
    xs = [left, *(x for x in (mark.est,) if left < x < right), right]
    top = [(x, y - height(x)) for x in xs]
    bottom = [(x, y + height(x)) for x in reversed(xs)]
    ax.add_patch(Polygon(top + bottom, closed=True, facecolor=INK, edgecolor=INK, lw=0.4, zorder=3))
    reach = 0.04 * (t(hi) - t(lo))  # an arrowhead just outside the cut end
    if mark.lo < lo:
        _whisker(ax, inv(t(lo) - reach), lo, y, True, False)
    if mark.hi > hi:
        _whisker(ax, hi, inv(t(hi) + reach), y, False, True)


def _whisker(ax: Axes, start: float, end: float, y: float, clip_lo: bool, clip_hi: bool) -> None:
    """A horizontal interval; an arrowhead where it runs past the axis."""
    if start >= end:
        return
    style = {(False, False): "-", (True, False): "<|-", (False, True): "-|>", (True, True): "<|-|>"}
    arrow = FancyArrowPatch(
        (start, y),
        (end, y),
        arrowstyle=style[clip_lo, clip_hi],
        mutation_scale=5.5,
        shrinkA=0,
        shrinkB=0,
        lw=LINE_WIDTH,
        color=INK,
        clip_on=False,
        zorder=2,
    )
    ax.add_patch(arrow)
