"""What every kind of effect size shares: the result, input validation with errors
that name the study, and metafor's continuity-correction rule.

Continuity correction (metafor ``escalc``'s ``add``/``to``): ``add`` is added to the
cells of the studies that ``to`` selects: ``only0`` studies with a zero cell, ``all``
every study, ``if0all`` every study of a data set when any of them has a zero cell,
``none`` no study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metaall.methods import ZERO_CELL_TARGETS

CORRECTION_TARGETS = ZERO_CELL_TARGETS  # metafor's ``to`` values, owned by metaall.methods


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effects ``yi`` (analysis scale) with sampling variances ``vi``.

    ``corrected`` flags studies that received the continuity correction and
    ``dropped`` the double-zero tables removed by ``drop00``; those and tables whose
    effect is infinite (a zero cell left uncorrected) have NaN ``yi``/``vi``. As in
    metafor, an uncorrected risk difference of two empty arms is 0 with variance 0.
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    corrected: np.ndarray
    dropped: np.ndarray

    @property
    def estimable(self) -> np.ndarray:
        """Studies with a finite effect and a positive variance (usable for pooling)."""
        return np.isfinite(self.yi) & np.isfinite(self.vi) & (self.vi > 0)


def study_name(studies: Sequence[str] | None, j: int) -> str:
    """The name of study ``j`` (0-based) for error messages."""
    return studies[j] if studies is not None else f"study {j + 1}"


def as_arrays(
    arrays: dict[str, object], studies: Sequence[str] | None, what: str
) -> dict[str, np.ndarray]:
    """The inputs as float arrays of one shape (1-D studies or 2-D data sets × studies)."""
    out = {key: np.atleast_1d(np.asarray(val, dtype=float)) for key, val in arrays.items()}
    shapes = {key: a.shape for key, a in out.items()}
    if len(set(shapes.values())) != 1:
        shown = ", ".join(f"{key}={shape}" for key, shape in shapes.items())
        raise ValueError(f"{what} arrays must have the same shape, got {shown}")
    first = next(iter(out.values()))
    if first.ndim > 2:
        raise ValueError(f"{what} arrays must be 1-D or 2-D, got shape {first.shape}")
    if studies is not None and len(studies) != first.shape[-1]:
        raise ValueError(f"{len(studies)} study names given for {first.shape[-1]} studies")
    return out


def check_studies(
    values: dict[str, np.ndarray],
    checks: Sequence[tuple[np.ndarray, str]],
    studies: Sequence[str] | None,
    allow_absent: bool = True,
    optional: Sequence[str] = (),
) -> np.ndarray:
    """Raise a ``ValueError`` naming the first study failing a check; return which
    studies are present (absent studies, all NaN, pad ragged batches; with
    ``allow_absent=False`` they are an error too).

    Before ``checks`` (pairs of a bad-study mask and the reason), every present study
    must have its values finite and given (NaN allowed for the ``optional`` keys).
    """
    isnan = {key: np.isnan(a) for key, a in values.items()}
    present = ~np.stack(list(isnan.values())).all(axis=0) | (not allow_absent)
    missing = np.stack([isnan[key] for key in values if key not in optional]).any(axis=0)
    infinite = np.stack([np.isinf(a) for a in values.values()]).any(axis=0)
    leading = ((missing, "a value is missing"), (infinite, "values must be finite"))
    for bad, why in (*leading, *checks):
        bad = bad & present
        if bad.any():
            idx = tuple(np.argwhere(bad)[0])
            shown = ", ".join(f"{key}={a[idx]:g}" for key, a in values.items())
            raise ValueError(f"{study_name(studies, idx[-1])}: {why} ({shown})")
    return present


def check_correction(add: float, to: str) -> None:
    """Validate metafor's ``add`` and ``to`` arguments."""
    if to not in CORRECTION_TARGETS:
        raise ValueError(f"unknown 'to' {to!r}; use one of {', '.join(CORRECTION_TARGETS)}")
    if not np.isfinite(add) or add < 0:
        raise ValueError(f"'add' must be a non-negative number, got {add}")


def corrected_studies(zero: np.ndarray, eligible: np.ndarray, add: float, to: str) -> np.ndarray:
    """Which studies get ``add`` (see module docstring); ``zero`` flags studies with a
    zero cell, ``eligible`` the present studies that may be corrected."""
    if to == "all":
        chosen = eligible
    elif to == "only0":
        chosen = zero & eligible
    elif to == "if0all":
        chosen = eligible & (zero & eligible).any(axis=-1, keepdims=True)
    else:
        chosen = np.zeros_like(eligible)
    return chosen & (add > 0)
