"""Fonts: resolving a family to a file, measuring and wrapping text in points.

Widths are those of the font's outlines (matplotlib's ``TextToPath``), which is what a
PDF or SVG viewer draws; raster output matches because figures are drawn without
hinting (see :data:`metaall.figures.page.RC`).
"""

from __future__ import annotations

from functools import lru_cache

from matplotlib.font_manager import FontProperties, findfont
from matplotlib.textpath import TextToPath

_MEASURE = TextToPath()


def font(family: str, size: float, bold: bool = False) -> FontProperties:
    """Font properties of ``family`` (a ``ValueError`` when it is not installed)."""
    prop = FontProperties(family=[family], size=size, weight="bold" if bold else "normal")
    font_file(prop)
    return prop


@lru_cache(maxsize=64)
def _find(family: str, weight: str, style: str) -> str:
    prop = FontProperties(family=[family], weight=weight, style=style)
    try:
        return findfont(prop, fallback_to_default=False)
    except ValueError:
        raise ValueError(f"font {family!r} is not installed (matplotlib cannot find it)") from None


def font_file(prop: FontProperties) -> str:
    """Path of the font file matplotlib draws ``prop`` with."""
    return _find(prop.get_family()[0], str(prop.get_weight()), prop.get_style())


@lru_cache(maxsize=4096)
def text_width(text: str, prop: FontProperties) -> float:
    """Advance width of one line of ``text`` in points."""
    if not text:
        return 0.0
    width, _, _ = _MEASURE.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


@lru_cache(maxsize=64)
def line_metrics(prop: FontProperties) -> tuple[float, float, float]:
    """Cap height, and the ascent and descent matplotlib gives a line of text (those of
    "lp", its reference), in points: text is centred on the cap height so that digits,
    capitals and marks line up; boxes around text use the ascent and descent."""
    _, cap, _ = _MEASURE.get_text_width_height_descent("H", prop, ismath=False)
    _, height, descent = _MEASURE.get_text_width_height_descent("lp", prop, ismath=False)
    return float(cap), float(height - descent), float(descent)


def _break_word(word: str, width: float, prop: FontProperties) -> list[str]:
    """A word wider than ``width`` cut into pieces that fit: after a slash or hyphen
    where one fits, else between characters (at least one character a piece)."""
    pieces = []
    while len(word) > 1 and text_width(word, prop) > width + 1e-6:
        fits = [i for i in range(1, len(word)) if text_width(word[:i], prop) <= width + 1e-6]
        fits = fits or [1]
        soft = [i for i in fits if word[i - 1] in "/-"]
        cut = (soft or fits)[-1]
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


def unbroken(text: str) -> str:
    """``text`` with no-break spaces, so :func:`wrap` keeps it on one line (an estimate
    with its interval)."""
    return text.replace(" ", "\u00a0")


def wrap(text: str, width: float, prop: FontProperties) -> list[str]:
    """``text`` broken into lines no wider than ``width`` points: between phrases
    (after "; ") where the phrases fit, else at spaces (a word longer than a line is cut
    between characters), so "Chi² = 5.82, df = 5" is not split from its number."""
    phrases = text.split("; ")
    if len(phrases) > 1:
        lines: list[str] = []
        for phrase in phrases:
            last = phrase is phrases[-1]
            piece = phrase if last else f"{phrase};"
            candidate = f"{lines[-1]} {piece}" if lines else piece
            if lines and text_width(candidate, prop) <= width + 1e-6:
                lines[-1] = candidate
            elif text_width(piece, prop) <= width + 1e-6:
                lines.append(piece)
            else:
                lines += _wrap_words(piece, width, prop)
        return lines
    return _wrap_words(text, width, prop)


def _words(text: str) -> list[str]:
    """Words of ``text``, with "=", "<" and ">" kept between their neighbours
    ("P = 0.74" never breaks)."""
    words: list[str] = []
    glue = False
    for word in text.split(" "):
        if words and (glue or word in ("=", "<", ">")):
            words[-1] = f"{words[-1]} {word}"
        else:
            words.append(word)
        glue = word in ("=", "<", ">")
    return words


def _wrap_words(text: str, width: float, prop: FontProperties) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` points."""
    lines: list[str] = []
    line = ""
    for word in _words(text):
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, prop) <= width + 1e-6:
            line = candidate
            continue
        if line:
            lines.append(line)
        *head, line = _break_word(word, width, prop)
        lines += head
    lines.append(line)
    return lines
