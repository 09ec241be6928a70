"""The cumulative meta-analysis a trial sequential analysis monitors: after each trial
(in chronological order) the pooled estimate, its standard error and z over the trials
so far, and the participants accrued.

Per-trial effects come from :func:`metaall.effect_sizes` (metafor's ``escalc``: 0.5
added to every cell of a table with a zero cell); tables with no events, or only
events, in both arms are not estimable for RR and OR (``drop00``, Cochrane Handbook
v6.4 §10.4.4.2): they are left out of the pooling and of the accrued participants, as
RTSA's ``metaPrepare`` does. The pooling is :func:`metaall.fit` (inverse variance,
``FE`` or a τ² estimator, Wald z) or :func:`metaall.fit_mh` (``MH``), called once on
the batch of prefixes (row j holds the first j estimable trials, NaN elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metaall.effects import effect_sizes

COUNT_MEASURES = ("RR", "OR", "RD")


@dataclass(frozen=True)
class Cumulative:
    """Per trial: participants, whether it is pooled, and the cumulative fit after it
    (NaN for trials that are not pooled). ``fit`` is the final fit (all pooled trials)."""

    studies: tuple[str, ...]
    participants: np.ndarray
    included: np.ndarray
    accrued: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    tau2: np.ndarray
    Q: np.ndarray
    Q_df: np.ndarray
    control_risk: float | None


def _names(studies: Sequence[str] | None, k: int) -> tuple[str, ...]:
    if studies is None:
        return tuple(f"trial {j + 1}" for j in range(k))
    if len(studies) != k:
        raise ValueError(f"{len(studies)} trial names given for {k} trials")
    return tuple(str(s) for s in studies)


def _vector(values, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {v.shape}")
    return v


def _same_length(arrays: dict[str, np.ndarray]) -> int:
    sizes = {name: a.size for name, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        shown = ", ".join(f"{n}={s}" for n, s in sizes.items())
        raise ValueError(f"per-trial arrays must have the same length, got {shown}")
    return next(iter(sizes.values()))


def cumulative(
    ai=None,
    n1i=None,
    ci=None,
    n2i=None,
    *,
    yi=None,
    vi=None,
    ni=None,
    measure: str = "RR",
    method: str = "DL",
    level: float = 0.95,
    studies: Sequence[str] | None = None,
) -> Cumulative:
    """Cumulative pooled statistics from 2×2 counts or from ``yi``/``vi``/``ni``."""
    counts = [x is not None for x in (ai, n1i, ci, n2i)]
    generic = [x is not None for x in (yi, vi, ni)]
    if any(counts) and any(generic):
        raise ValueError("give either 2×2 counts (ai, n1i, ci, n2i) or yi, vi and ni, not both")
    if any(counts):
        if not all(counts):
            raise ValueError("2×2 counts need all of ai, n1i, ci and n2i")
        return _from_counts(ai, n1i, ci, n2i, measure, method, level, studies)
    if not all(generic):
        raise ValueError("give 2×2 counts (ai, n1i, ci, n2i) or all of yi, vi and ni")
    if method == "MH":
        raise ValueError("method 'MH' needs 2×2 counts")
    arrays = {"yi": _vector(yi, "yi"), "vi": _vector(vi, "vi"), "ni": _vector(ni, "ni")}
    k = _same_length(arrays)
    names = _names(studies, k)
    y, v, n = arrays["yi"], arrays["vi"], arrays["ni"]
    bad = ~(np.isfinite(n) & (n > 0))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"{names[j]}: ni (participants) must be positive, got {n[j]}")
    for name, values, ok in (("yi", y, np.isfinite(y)), ("vi", v, np.isfinite(v) & (v > 0))):
        if not ok.all():
            j = int(np.argmax(~ok))
            raise ValueError(
                f"{names[j]}: {name} must be finite (and vi positive), got {values[j]}"
            )
    return _pool(names, n, np.ones(k, bool), y, v, None, method, level, None)


def _from_counts(ai, n1i, ci, n2i, measure, method, level, studies) -> Cumulative:
    measure = str(measure).upper()
    if measure not in COUNT_MEASURES:
        raise ValueError(f"2×2 counts give RR, OR or RD, not {measure!r}")
    arrays = {
        "ai": _vector(ai, "ai"),
        "n1i": _vector(n1i, "n1i"),
        "ci": _vector(ci, "ci"),
        "n2i": _vector(n2i, "n2i"),
    }
    k = _same_length(arrays)
    names = _names(studies, k)
    a, n1, c, n2 = arrays.values()
    es = effect_sizes(a, n1, c, n2, measure, drop00=measure != "RD", studies=names)
    included = es.estimable
    if not included.any():
        raise ValueError("no trial has an estimable effect (every table lacks events)")
    risk = float(c[included].sum() / n2[included].sum())
    tables = (a, n1, c, n2, measure)
    return _pool(names, n1 + n2, included, es.yi, es.vi, tables, method, level, risk)


def _pool(names, participants, included, yi, vi, tables, method, level, risk) -> Cumulative:
    """Fit every prefix of the estimable trials in one batched call."""
    from metaall.models.fit import fit
    from metaall.models.mantel_haenszel import fit_mh

    k = participants.size
    rows = np.flatnonzero(included)
    keep = np.zeros((rows.size, k), dtype=bool)
    for r in range(rows.size):
        keep[r, rows[: r + 1]] = True
    if method == "MH":
        *cells, measure = tables
        res = fit_mh(*(np.where(keep, t, np.nan) for t in cells), measure=measure, level=level)
    else:
        res = fit(np.where(keep, yi, np.nan), np.where(keep, vi, np.nan), method, level=level)
    out = {}
    for name in ("estimate", "se", "zval", "ci_lb", "ci_ub", "tau2", "Q", "Q_df"):
        col = np.full(k, np.nan)
        col[rows] = np.atleast_1d(getattr(res, name))
        out[name] = col
    return Cumulative(
        studies=names,
        participants=participants,
        included=included,
        accrued=np.cumsum(np.where(included, participants, 0.0)),
        yi=np.where(included, yi, np.nan),
        vi=np.where(included, vi, np.nan),
        control_risk=risk,
        **out,
    )
