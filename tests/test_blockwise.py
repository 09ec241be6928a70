"""Fitting a Dask array of meta-analyses block by block on a local cluster of two
workers (the optional extra metaall[dask]), against the batch engine on the same
NumPy arrays; and the NumPy path and the argument checks, which need no Dask."""

from __future__ import annotations

import numpy as np
import pytest

import metaall
from metaall.models.blockwise import FIELDS, fit_blocks


def _data(m: int = 700, k: int = 9, seed: int = 6):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 1, (m, k))
    yi = rng.normal(0, np.sqrt(vi + rng.choice([0.0, 0.3], (m, 1))))
    yi[::5, 3] = vi[::5, 3] = np.nan  # ragged: absent studies
    return yi, vi


def _expected(res, name: str) -> np.ndarray:
    if name == "failed":
        return np.char.find(np.asarray(res.algorithm, dtype=str), "did not converge") >= 0
    return np.asarray(getattr(res, name), dtype=float)


def test_numpy_arrays_are_fitted_in_one_batch():
    yi, vi = _data()
    out = fit_blocks(yi, vi, "DL", "knha", fields=FIELDS)
    res = metaall.fit(yi, vi, "DL", "knha")
    for name in FIELDS:
        np.testing.assert_array_equal(out[name], _expected(res, name))


def test_unknown_fields_and_bad_shapes_are_refused():
    yi, vi = _data(10)
    with pytest.raises(ValueError, match="fields must be among"):
        fit_blocks(yi, vi, fields=("estimate", "weights"))
    da = pytest.importorskip("dask.array", reason="Dask is the optional extra metaall[dask]")
    with pytest.raises(ValueError, match="2-D arrays of one shape"):
        fit_blocks(da.from_array(yi), da.from_array(vi[:, :5]))


def test_a_dask_array_is_fitted_on_a_local_cluster_of_two_workers():
    da = pytest.importorskip("dask.array", reason="Dask is the optional extra metaall[dask]")
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is part of the optional extra metaall[dask]"
    )
    import dask

    yi, vi = _data()
    res = metaall.fit(yi, vi)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        Y = da.from_array(yi, chunks=(128, 5))  # rows chunked, studies split: rechunked
        V = da.from_array(vi, chunks=(300, 9))  # other row chunks: aligned to yi's
        out = fit_blocks(Y, V, fields=FIELDS)
        assert out["tau2"].chunks[0] == Y.chunks[0]
        values = dict(zip(FIELDS, dask.compute(*out.values()), strict=True))
        # tau² and its route are bitwise those of the whole batch; the pooled values
        # (BLAS row sums) agree to rounding
        np.testing.assert_array_equal(values["tau2"], res.tau2)
        np.testing.assert_array_equal(values["failed"], _expected(res, "failed"))
        for name in FIELDS:
            np.testing.assert_allclose(values[name], _expected(res, name), rtol=1e-12, atol=1e-14)
        bad = yi.copy()
        bad[450, 1] = np.inf
        with pytest.raises(ValueError, match=r"rows 384-511 of the array: data set 67"):
            fit_blocks(da.from_array(bad, chunks=(128, 9)), V)["estimate"].compute()


def test_the_simulation_study_of_the_docs_runs():
    """docs/simulation.md's script, at 400 replications per scenario, on an in-process
    local cluster of two workers."""
    pytest.importorskip("dask.array", reason="Dask is the optional extra metaall[dask]")
    distributed = pytest.importorskip("distributed", reason="part of metaall[dask]")
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "simulation.md").read_text()
    code = next(block for block in doc.split("```python\n")[1:] if "def main()" in block)
    code = code.split("```")[0]
    code = code.replace("REPS = 20_000", "REPS = 400").replace("CHUNK = 5_000", "CHUNK = 150")
    namespace: dict = {"__name__": "simulation"}
    exec(compile(code, "docs/simulation.md", "exec"), namespace)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster, distributed.Client(cluster):
        rows = namespace["main"]()
    assert len(rows) == 18
    for row in rows:
        assert 0.85 < row["knha"] <= 1 and 0.75 < row["z"] <= 1  # 400 draws: sd ≈ 0.011
        assert row["knha width"] > 0 and 0 <= row["failed"] <= 1
