"""matplotlib settings and a blank figure, shared by every plot (sizes and fonts:
:mod:`metaall.figures.settings`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PT_PER_MM = 72 / 25.4

# Unhinted glyph metrics: raster (PNG/TIFF) text then has the same width as in PDF/SVG
# and as measured for the layout, at any dpi.
RC = {
    "text.hinting": "no_hinting",
    "axes.unicode_minus": True,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "metaall",
    "path.simplify": False,
}


@contextmanager
def drawing() -> Iterator[None]:
    """matplotlib settings under which figures are laid out, drawn and saved."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width_pt: float, height_pt: float) -> Figure:
    """A figure of the given size in points, not registered with pyplot (no global state)."""
    fig = Figure(figsize=(width_pt / 72, height_pt / 72), dpi=72)
    FigureCanvasAgg(fig)
    return fig
