"""Saving figures as journals want them, byte for byte the same on every run.

* The format follows the file's extension: PDF, SVG, PNG, TIFF or EPS, raster formats at
  ``dpi`` (default 300, stored in the file: PNG pHYs, TIFF resolution tags) in RGB
  without an alpha channel, as journals' artwork checkers require.
* Fonts are embedded. PDF and EPS carry the TrueType font itself (Type 42,
  ``pdf.fonttype``/``ps.fonttype`` 42: outlines, not Type 3 bitmaps, as the BMJ and JAMA
  artwork guidelines ask). SVG keeps every label as a ``<text>`` element (searchable,
  editable; ``svg.fonttype='none'``) and embeds the font as an ``@font-face`` WOFF data
  URI holding only the glyphs used (subset with fontTools, which ships with matplotlib),
  so it renders the same on a machine without the font.
* Deterministic: no creation dates (``CreationDate``/``Date`` None, EPS's date line
  fixed), a fixed ``svg.hashsalt``, PNG ``Software`` naming metaall, and the figure is
  rendered to memory, so neither the time nor the file's name or folder enters it.
* Files are written atomically (a temporary file in the target folder, then
  ``os.replace``) and an existing file is never replaced unless ``overwrite=True``:
  without it the file is created only if no file has its name at that instant (a
  hard link, or ``O_EXCL``), so a file created after any check is never replaced;
  with it only a regular file is replaced (a device, a folder, a FIFO or a dangling
  symbolic link is refused; a link to a file is written through)
  (:func:`metaall.data.writing.write_atomic`).
"""

from __future__ import annotations

import base64
import functools
import io
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from fontTools import subset
from fontTools.ttLib import TTFont
from matplotlib.figure import Figure
from matplotlib.font_manager import weight_dict
from matplotlib.text import Text

from metaall._version import __version__
from metaall.analysis import AnalysisResult
from metaall.data.writing import write_atomic
from metaall.figures.fonts import font_file
from metaall.figures.forest import forest_plot
from metaall.figures.funnel import funnel_plot
from metaall.figures.page import drawing
from metaall.figures.settings import FORMATS, FigureSettings, format_of

CREATOR = f"metaall {__version__} (matplotlib {matplotlib.__version__})"
METADATA = {
    "pdf": {"Creator": CREATOR, "CreationDate": None},
    "svg": {"Creator": CREATOR, "Date": None},
    "png": {"Software": CREATOR},
    "tiff": None,
    "eps": {"Creator": CREATOR},
}
EPS_DATE = b"%%CreationDate: Thu Jan  1 00:00:00 1970"  # the epoch, as SOURCE_DATE_EPOCH=0


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def _font_faces(fig: Figure) -> str:
    """@font-face rules embedding, per font file used, the glyphs of the figure's text."""
    faces: dict[tuple[str, str, int, str], set[str]] = {}
    for text in _texts(fig):
        prop = text.get_fontproperties()
        weight = prop.get_weight()
        key = (
            font_file(prop),
            prop.get_family()[0],
            weight_dict.get(weight, weight),
            prop.get_style(),
        )
        faces.setdefault(key, set()).update(text.get_text())
    rules = []
    for (path, family, weight, style), chars in sorted(faces.items()):
        data = _woff_subset(path, "".join(sorted(set(COMMON_GLYPHS) | chars)))
        rules.append(
            f"@font-face {{font-family: {family!r}; font-weight: {weight}; "
            f"font-style: {style}; src: url(data:font/woff;base64,{data}) format('woff');}}"
        )
    return "\n".join(rules)


# Glyphs most figures use: subsetting to them (plus any others a figure needs) lets one
# cached subset serve every figure of a run instead of one fontTools pass per file.
COMMON_GLYPHS = "".join(chr(c) for c in range(0x20, 0x7F)) + "²±–—−·×≤≥τχ…"


@functools.lru_cache(maxsize=64)
def _woff_subset(path: str, text: str) -> str:
    """The font at ``path`` reduced to the glyphs of ``text``, as base64 WOFF."""
    options = subset.Options()
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: not needed, not subsettable
    font = TTFont(path, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.flavor = "woff"
    buffer = io.BytesIO()
    font.save(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _embed_svg_fonts(svg: bytes, fig: Figure) -> bytes:
    style = f'<style type="text/css"><![CDATA[\n{_font_faces(fig)}\n]]></style>\n'
    head, found, tail = svg.partition(b"<defs>\n")
    if not found:
        raise RuntimeError("unexpected SVG from matplotlib: no <defs> to hold the fonts")
    return head + found + style.encode("utf-8") + tail


def figure_bytes(fig: Figure, fmt: str, dpi: int = 300) -> bytes:
    """The figure rendered in ``fmt`` (pdf, svg, png, tiff, eps) at ``dpi``."""
    if fmt not in METADATA:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(METADATA)}")
    buffer = io.BytesIO()
    raster = fmt in ("png", "tiff")
    with drawing():
        fig.savefig(buffer, format="png" if raster else fmt, dpi=dpi, metadata=METADATA[fmt])
    data = buffer.getvalue()
    if raster:
        return _rgb(data, fmt, dpi)
    if fmt == "svg":
        return _embed_svg_fonts(data, fig)
    if fmt == "eps":
        return re.sub(rb"%%CreationDate: [^\n]*", EPS_DATE, data, count=1)
    return data


def _rgb(png: bytes, fmt: str, dpi: int) -> bytes:
    """A PNG or LZW-compressed TIFF in RGB without an alpha channel (journal artwork
    checkers reject alpha), from matplotlib's RGBA PNG, with the resolution stored."""
    from PIL import Image, PngImagePlugin

    image = Image.open(io.BytesIO(png)).convert("RGB")  # the figure's background is white
    out = io.BytesIO()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", CREATOR)
        image.save(out, format="PNG", dpi=(dpi, dpi), pnginfo=info, optimize=False)
    else:
        image.save(out, format="TIFF", dpi=(dpi, dpi), compression="tiff_lzw")
    return out.getvalue()


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 300, overwrite: bool = False) -> Path:
    """Write ``fig`` to ``path`` in the format of its extension; refuses to replace an
    existing file (FileExistsError) unless ``overwrite``."""
    target = Path(path)
    return write_atomic(target, figure_bytes(fig, format_of(target), dpi), overwrite=overwrite)


def figure_files(
    result: AnalysisResult,
    settings: FigureSettings,
    formats: Sequence[str] = ("pdf", "png", "svg"),
    funnel: bool = True,
) -> dict[str, bytes]:
    """The figures of one analysis result, file name -> bytes, in each of ``formats``:
    ``<analysis>[_<subgroup>]_forest.<ext>`` and, when ``funnel`` and k ≥ 3,
    ``..._funnel.<ext>`` (each plot at its own default width unless ``settings`` set
    one)."""
    for fmt in formats:
        format_of(f"figure.{fmt}")
    figures = {"forest": forest_plot(result, settings)}
    fit = result.overall.fit
    if funnel and fit is not None and fit.k >= 3:
        figures["funnel"] = funnel_plot(result, settings=settings)
    return {
        f"{result.stem}_{kind}.{fmt}": figure_bytes(fig, FORMATS[fmt], settings.dpi)
        for kind, fig in figures.items()
        for fmt in formats
    }
