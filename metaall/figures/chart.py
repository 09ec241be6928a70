"""A single x-y chart laid out in points: the frame of the funnel and Baujat plots.

The axes get the requested figure width minus the room the tick labels and axis titles
need (measured with the font); their height is ``aspect`` times their width; the legend
and notes go below, wrapped to the figure width, and the figure is exactly as tall as
that. Ticks are fixed in advance (:mod:`metaall.figures.scale`), so the layout never
depends on the renderer.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from matplotlib.transforms import Affine2D

from metaall.figures.fonts import font, line_metrics, text_width, wrap
from metaall.figures.page import PT_PER_MM, new_figure
from metaall.figures.panel import LINE, LINE_WIDTH, MARGIN, TICK
from metaall.figures.scale import Scale, tick_label
from metaall.figures.settings import FigureSettings

PAD = 0.35  # between a tick and its label (em)


class Chart:
    """A figure with one axes; draw on ``ax``, then call :meth:`finish`."""

    def __init__(
        self,
        settings: FigureSettings,
        x: Scale,
        y: Scale,
        labels: tuple[str, str],
        aspect: float = 0.8,
        default_width: str = "single",
    ) -> None:
        width_mm = settings.width_mm(default_width)
        self.em = settings.font_size
        self.prop = font(settings.font, settings.font_size)
        self.width = width_mm * PT_PER_MM
        self.x, self.y = x, y
        em = self.em
        y_ticks = max(text_width(tick_label(t), self.prop) for t in y.ticks)
        self.left = (MARGIN + LINE + 0.4 + TICK + PAD) * em + y_ticks
        right = max(MARGIN * em, text_width(tick_label(x.ticks[-1]), self.prop) / 2 + em * 0.2)
        self.top = MARGIN * em + em / 2  # half a tick label above the top tick
        self.plot_width = self.width - self.left - right
        if self.plot_width < 30 * PT_PER_MM:
            raise ValueError(f"a width of {width_mm:g} mm leaves no room for the plot")
        self.plot_height = aspect * self.plot_width
        self.bottom = self.top + self.plot_height
        self.fig = new_figure(self.width, self.bottom + 4 * em)
        self.ax = self.fig.add_axes((0.1, 0.1, 0.8, 0.8))
        self._style_axes(labels)

    def _style_axes(self, labels: tuple[str, str]) -> None:
        ax, em = self.ax, self.em
        for axis, scale, set_scale, set_lim in (
            (ax.xaxis, self.x, ax.set_xscale, ax.set_xlim),
            (ax.yaxis, self.y, ax.set_yscale, ax.set_ylim),
        ):
            set_scale("log" if scale.log else "linear")
            set_lim(scale.lo, scale.hi)
            axis.set_ticks(
                scale.ticks, [tick_label(t) for t in scale.ticks], fontproperties=self.prop
            )
            axis.set_minor_locator(NullLocator())
        ax.tick_params(length=TICK * em, width=LINE_WIDTH, pad=PAD * em)
        for name, spine in ax.spines.items():
            spine.set_linewidth(LINE_WIDTH)
            spine.set_visible(name in ("left", "bottom"))
        ax.set_xlabel(labels[0], fontproperties=self.prop, labelpad=0.4 * em)
        ax.set_ylabel(labels[1], fontproperties=self.prop, labelpad=0.4 * em)

    def _point(self, x: float, y: float) -> tuple[float, float]:
        """Data (x, y) in points from the axes' top-left corner (y downwards)."""
        return self.plot_width * self.x.fraction(x), self.plot_height * (1 - self.y.fraction(y))

    def label_points(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        labels: Sequence[str],
        radii: Sequence[float] | None = None,
    ) -> None:
        """Label each point; points closer than half an em share one label ("2, 3, 9"), and
        each label takes the first place around its points that stays inside the axes
        and clear of the other labels and of every other point's surroundings (so no
        label sits beside a point it does not name); a label placed away from its
        points gets a leader line to each of them. ``radii`` (points) are the marks'
        sizes when they are larger than a dot (a bubble plot's circles): labels keep
        clear of them."""
        em = self.em
        radii = [0.0] * len(labels) if radii is None else list(radii)
        near_em = 0.5 * em  # points this close share a label
        where = [self._point(x, y) for x, y in zip(xs, ys, strict=True)]
        clusters: list[list[int]] = []
        for i, (px, py) in enumerate(where):
            near = [
                c
                for c in clusters
                if any(
                    abs(px - where[j][0]) < near_em and abs(py - where[j][1]) < near_em for j in c
                )
            ]
            merged = [i, *(j for c in near for j in c)]
            clusters = [c for c in clusters if c not in near] + [sorted(merged)]
        halo = 0.6 * em  # a label this close to a point would read as that point's
        around = [max(halo, r + 0.2 * em) for r in radii]
        points = [
            (px - h, py - h, px + h, py + h) for (px, py), h in zip(where, around, strict=True)
        ]
        labels_placed: list[tuple] = []
        cap, ascent, descent = line_metrics(self.prop)
        for cluster in sorted(clusters):
            text = ", ".join(labels[i] for i in cluster)
            width = text_width(text, self.prop)
            left = min(where[i][0] - radii[i] for i in cluster) - 2
            right = max(where[i][0] + radii[i] for i in cluster) + 2
            top = min(where[i][1] - radii[i] for i in cluster) - 2
            bottom = max(where[i][1] + radii[i] for i in cluster) + 2
            middle, centre = (top + bottom) / 2, (left + right) / 2
            across = min(max(centre - width / 2, 0.0), self.plot_width - width)
            spots = []  # (left, baseline) of the label, nearest first
            for step in range(8):
                d = (0.25 + 1.2 * step) * em
                spots += [
                    (right + d, middle + cap / 2),
                    (across, top - d - descent),
                    (right + d, top - d - descent),
                    (left - d - width, middle + cap / 2),
                    (across, bottom + d + ascent),
                ]
            boxes = [(x, y - ascent, x + width, y + descent) for x, y in spots]
            inside = [
                b
                for b in boxes
                if b[0] >= 0 and b[2] <= self.plot_width and b[1] >= 0 and b[3] <= self.plot_height
            ]
            others = [box for j, box in enumerate(points) if j not in cluster] + labels_placed
            box = next((b for b in inside if not any(_overlap(b, t) for t in others)), boxes[0])
            labels_placed.append(box)
            far = boxes.index(box) >= 5  # away from its points: leader lines show whose
            for k, anchor in enumerate(cluster):
                self.ax.annotate(
                    text if k == 0 else "",
                    (xs[anchor], ys[anchor]),
                    xytext=(box[0] - where[anchor][0], where[anchor][1] - box[3] + descent),
                    textcoords="offset points",
                    va="baseline",
                    fontproperties=self.prop,
                    parse_math=False,
                    arrowprops={
                        "arrowstyle": "-",
                        "lw": 0.4,
                        "color": "0.45",
                        "shrinkA": 1,
                        "shrinkB": 3,
                    }
                    if far
                    else None,
                )

    def _legend(self, legend: Sequence[tuple[Artist, str]]):
        """The legend in two columns when they fit the width, else in one; its extent."""
        renderer = self.fig.canvas.get_renderer()
        for ncols in (2, 1):
            handles = self.ax.legend(
                [h for h, _ in legend],
                [label for _, label in legend],
                prop=self.prop,
                loc="upper left",
                frameon=False,
                borderaxespad=0,
                borderpad=0,
                handlelength=2.2,
                labelspacing=0.45,
                columnspacing=1.5,
                ncols=ncols,
            )
            extent = handles.get_window_extent(renderer)
            if extent.width * 72 / self.fig.dpi <= self.width - 2 * MARGIN * self.em:
                break
        return handles, extent

    def finish(
        self, legend: Sequence[tuple[Artist, str]] = (), notes: Sequence[str] = ()
    ) -> Figure:
        """Place the legend and notes under the axes and size the figure to its content."""
        em = self.em
        y = self.bottom + (TICK + PAD + 2 * LINE + 0.6) * em
        handles = None
        if legend:
            handles, extent = self._legend(legend)
            legend_top, y = y, y + extent.height * 72 / self.fig.dpi + 0.5 * em
        lines = [
            piece for note in notes for piece in wrap(note, self.width - 2 * MARGIN * em, self.prop)
        ]
        notes_top = y
        height = y + len(lines) * LINE * em + MARGIN * em
        self.fig.set_size_inches(self.width / 72, height / 72)
        self.ax.set_position(
            (
                self.left / self.width,
                1 - self.bottom / height,
                self.plot_width / self.width,
                self.plot_height / height,
            )
        )
        points = (
            Affine2D().scale(1 / 72, -1 / 72).translate(0, height / 72) + self.fig.dpi_scale_trans
        )
        if handles is not None:
            handles.set_bbox_to_anchor((MARGIN * em, legend_top), transform=points)
        for i, text in enumerate(lines):
            baseline = notes_top + (i + 0.75) * LINE * em
            self.fig.text(
                MARGIN * em,
                baseline,
                text,
                transform=points,
                va="baseline",
                fontproperties=self.prop,
                parse_math=False,
            )
        return self.fig


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two boxes (left, top, right, bottom) overlap."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
