"""Fit a Dask array of meta-analyses block by block (the optional extra ``metaall[dask]``).

A simulation study fits millions of meta-analyses. Held as (m, k) Dask arrays of yᵢ
and vᵢ chunked by rows (each block a batch of whole meta-analyses, NaN for absent
studies as in :func:`metaall.fit`), they are fitted by :func:`fit_blocks`: the batch
engine runs on every block where the block lives (``dask.array.map_blocks``), on the
threads of one machine or on the workers of a cluster (``dask.distributed``), with
the same code. Every data set's numbers are those :func:`metaall.fit` gives for it
(the engine's sums do not depend on the other data sets of a batch; see
:mod:`metaall.models.scoring`). NumPy arrays are accepted too and fitted in one batch.

The result is a mapping from the requested statistics (any scalar field of
:class:`~metaall.models.fit.FitResult`, plus ``failed``: 1 where metafor's Fisher
scoring does not converge, so that ``rma`` would stop with an error) to lazy (m,)
arrays; compute them together (``dask.compute``) so the blocks are fitted once.
See ``docs/simulation.md`` for a worked simulation study.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metaall.models.fit import check_settings, fit
from metaall.models.result import STAT_FIELDS

FIELDS = (*STAT_FIELDS, "k", "failed")
"""The statistics :func:`fit_blocks` can return, one number per meta-analysis."""

DEFAULT_FIELDS = ("estimate", "se", "ci_lb", "ci_ub", "tau2")


def _check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    fields = (fields,) if isinstance(fields, str) else tuple(fields)
    unknown = [f for f in fields if f not in FIELDS]
    if unknown or not fields:
        raise ValueError(f"fields must be among {', '.join(FIELDS)}; got {list(fields)}")
    return fields


def fit_block(yi, vi, method, test, level, tol, fields, block_info=None) -> np.ndarray:
    """The statistics ``fields`` of every meta-analysis of one (rows, k) block, as a
    (rows, len(fields)) array; errors name the rows of the whole array."""
    try:
        y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
        res = fit(y, v, method, test, level, tol)
    except ValueError as exc:
        if block_info is None:
            raise
        start, stop = block_info[0]["array-location"][0]
        raise ValueError(f"rows {start}-{stop - 1} of the array: {exc}") from None
    columns = []
    for name in fields:
        if name == "failed":
            algorithm = np.asarray(res.algorithm, dtype=str)
            columns.append(np.char.find(algorithm, "did not converge") >= 0)
        else:
            columns.append(getattr(res, name))
    return np.column_stack(columns).astype(float)


def fit_blocks(
    yi,
    vi,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tol: float | None = None,
    fields: Sequence[str] = DEFAULT_FIELDS,
) -> dict:
    """Fit every meta-analysis (row) of (m, k) arrays ``yi``, ``vi`` as
    :func:`metaall.fit` (same ``method``, ``test``, ``level``, ``tol``) and return
    ``{field: (m,) array}`` for ``fields`` (see :data:`FIELDS`).

    With Dask arrays the result is lazy (Dask arrays): each block of rows is fitted
    by one task; ``vi`` is rechunked to ``yi``'s rows and both to whole rows. With
    NumPy arrays the batch is fitted at once and NumPy arrays are returned.
    """
    method, test, level = check_settings(method, test, level)
    fields = _check_fields(fields)
    if not (hasattr(yi, "map_blocks") or hasattr(vi, "map_blocks")):
        block = fit_block(np.atleast_2d(yi), np.atleast_2d(vi), method, test, level, tol, fields)
        return {name: block[:, j] for j, name in enumerate(fields)}
    import dask.array as da  # the optional extra: pip install 'metaall[dask]'

    yi, vi = da.asarray(yi), da.asarray(vi)
    if yi.ndim != 2 or yi.shape != vi.shape:
        raise ValueError(
            f"yi and vi must be 2-D arrays of one shape (m, k), got {yi.shape} and {vi.shape}"
        )
    yi = yi.rechunk({1: -1})
    vi = vi.rechunk((yi.chunks[0], -1))
    out = da.map_blocks(
        fit_block,
        yi,
        vi,
        method=method,
        test=test,
        level=level,
        tol=tol,
        fields=fields,
        chunks=(yi.chunks[0], (len(fields),)),
        dtype=float,
        meta=np.empty((0, 0)),
    )
    return {name: out[:, j] for j, name in enumerate(fields)}
