"""How a figure looks and is saved: journal style, width, font, size and resolution.

One matplotlib-free object that travels from the command line (or a notebook) to every
plot function, so the options are defined and checked once. Journal column widths: one
column ≈ 85 mm and two columns ≈ 175 mm sit within the sizes journals print at (most use
80-90 mm and 170-190 mm; Elsevier's artwork guide: 90 and 190 mm, i.e. 1063 and 2244
pixels at 300 dpi). Text is 7 pt by default (journals ask for about 6-8 pt at final
size) in DejaVu Sans, the font bundled with matplotlib, so a figure looks the same on
every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from metaall.figures.style import STYLES, Style, get_style

WIDTHS_MM = {"single": 85.0, "double": 175.0}
DEFAULT_FONT = "DejaVu Sans"
DEFAULT_FONT_SIZE = 7.0
SMALLEST_FONT_SIZE = 6.0  # journals' usual floor at final size
FONT_SIZES = (4.0, 14.0)
DPI_RANGE = (72, 2400)
FORMATS = {"pdf": "pdf", "svg": "svg", "png": "png", "tif": "tiff", "tiff": "tiff", "eps": "eps"}
"""File extension -> the format written."""


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


def format_of(path: str | Path) -> str:
    """The format for a file name's extension (ValueError if unsupported)."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise ValueError(
            f"cannot tell the format of {str(path)!r}; use one of: .{', .'.join(FORMATS)}"
        )
    return FORMATS[ext]


@dataclass(frozen=True)
class FigureSettings:
    """Style (``revman``, ``jama``, ``bmj``), width (``single``, ``double``, mm, or None
    for each plot's own default), font family and size (pt), and raster resolution."""

    style: str = "revman"
    width: str | float | None = None
    font: str = DEFAULT_FONT
    font_size: float = DEFAULT_FONT_SIZE
    dpi: int = 300

    def __post_init__(self) -> None:
        get_style(self.style)
        if self.width is not None:
            width_mm(self.width)
        low, high = FONT_SIZES
        if not low <= self.font_size <= high:
            raise ValueError(f"font size must be {low:g}-{high:g} pt, got {self.font_size:g}")
        if not DPI_RANGE[0] <= self.dpi <= DPI_RANGE[1]:
            raise ValueError(f"dpi must be {DPI_RANGE[0]}-{DPI_RANGE[1]}, got {self.dpi}")

    @property
    def journal(self) -> Style:
        return get_style(self.style)

    def width_mm(self, default: str) -> float:
        """The width in mm, ``default`` (a preset) when none was chosen."""
        return width_mm(default if self.width is None else self.width)


def figure_settings(settings: FigureSettings | None = None, **changes) -> FigureSettings:
    """``settings`` (default: all defaults) with keyword ``changes`` applied."""
    return replace(settings or FigureSettings(), **changes)


__all__ = ["FORMATS", "STYLES", "FigureSettings", "figure_settings", "format_of", "width_mm"]
