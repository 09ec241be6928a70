"""Numbers as people read them: the digits every report and figure shares.

A leaf module (standard library only) so that the text report, the tables and the
figures format a number identically, to the last digit.
"""

from __future__ import annotations

import math


def fmt_p(p: float | None) -> str:
    """p-value as journals print it (AMA style): 'p < 0.0001', 'p = 0.004', 'p = 0.33'."""
    if p is None or not math.isfinite(p):
        return "p = n/a"
    if p < 0.0001:
        return "p < 0.0001"
    if p < 0.01:
        return f"p = {p:.4f}" if p < 0.001 else f"p = {p:.3f}"
    return f"p = {p:.2f}"


def fmt_num(value: float | None, digits: int = 2) -> str:
    """A number to ``digits`` decimals; 'n/a' for a missing value, 'inf' for infinity."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"
