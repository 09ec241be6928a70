"""Page geometry and drawing settings shared by every figure.

Journal column widths: one column ≈ 85 mm and two columns ≈ 175 mm sit within the
sizes journals print at (most use 80-90 mm and 170-190 mm; Elsevier's artwork guide:
90 and 190 mm, i.e. 1063 and 2244 pixels at 300 dpi). Text is 7 pt by default (journals
ask for about 6-8 pt at final size) in DejaVu Sans, the font bundled with matplotlib, so
a figure looks the same on every machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PT_PER_MM = 72 / 25.4
WIDTHS_MM = {"single": 85.0, "double": 175.0}
DEFAULT_FONT = "DejaVu Sans"
DEFAULT_FONT_SIZE = 7.0

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


def width_mm(width: str | float) -> float:
    """A width in mm from a preset (``single``, ``double``) or a number of mm."""
    if isinstance(width, str):
        key = width.strip().lower()
        if key in WIDTHS_MM:
            return WIDTHS_MM[key]
        try:
            width = float(key)
        except ValueError:
            raise ValueError(
                f"width must be 'single', 'double' or a number of mm, got {width!r}"
            ) from None
    value = float(width)
    if not 30 <= value <= 500:
        raise ValueError(f"width must be between 30 and 500 mm, got {value:g}")
    return value


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
