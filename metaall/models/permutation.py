"""Permutation tests for random-effects models and meta-regressions (metafor
``permutest.rma.uni``; Follmann & Proschan 1999, Biometrics 55:961; Higgins &
Thompson 2004, Stat Med 23:1663).

* Intercept-only model: the signs of the yᵢ are flipped (2ᵏ sign patterns), which
  leaves the distribution of the effects unchanged under H₀: μ = 0.
* Meta-regression: the rows of the design are permuted among the studies (the
  number of distinct permutations is k!/∏ cⱼ! for groups of cⱼ identical rows),
  which breaks any association of the moderators with the effects.

Each permuted data set is refitted with the same estimator and test; the p-value of
a coefficient is the share of permutations whose |z| (|t| under ``knha``) is at least
the observed one, and that of the omnibus test the share with QM at least the
observed one, both with metafor's tolerance √ε. As in metafor, the test is exact (all
distinct permutations, the observed one included) when ``exact=True`` or when there
are no more distinct permutations than ``iterations``; otherwise ``iterations``
random permutations are drawn, the first replaced by the observed data.

Where metafor's Fisher scoring does not converge on a permuted data set, ``rma``
stops with an error and ``permutest`` leaves that permutation out of both the
numerator and the denominator; metaall's engine still finds the maximum there (see
:mod:`metaall.models.tau2`) but leaves the permutation out likewise, so that the
p-values are metafor's.

Permuting the design rows among studies gives the same fit as permuting (yᵢ, vᵢ)
under a fixed design, so every permutation is a row of one (m, k) batch fitted at
once by the vectorised engine, in chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metaall.models.design import Batch
from metaall.models.fit import FitResult
from metaall.models.metareg import MetaRegressionResult, coefficient_tests

COMPTOL = float(np.finfo(float).eps ** 0.5)  # metafor's control$comptol
FAILED = "did not converge"  # in a tau² algorithm: where metafor's rma() stops with an error
MAX_EXACT = 10_000_000  # distinct permutations an exact test may enumerate
# permutations × studies fitted per batch call: the engine works in cache-sized blocks
# itself (metaall.models.scoring), so a chunk only bounds memory (a few copies of it)
CELLS_PER_CHUNK = 1 << 20


@dataclass(frozen=True)
class PermutationResult:
    """Permutation p-values per coefficient (intercept first; a float for an
    intercept-only model) and for the omnibus test, with the permutation
    distributions of the statistics (rows: permutations; the observed data first
    for a random test). ``failed`` counts the refits left out (NaN) because metafor's
    Fisher scoring does not converge on them (see module docstring)."""

    pval: np.ndarray | float
    QM_pval: float
    iterations: int
    exact: bool
    zval: np.ndarray | float
    QM: float
    zval_perm: np.ndarray
    QM_perm: np.ndarray
    seed: int | None
    failed: int = 0


def _groups(X: np.ndarray) -> np.ndarray:
    """Group label of each design row (identical rows share a label)."""
    return np.unique(X, axis=0, return_inverse=True)[1].ravel()


def distinct_permutations(X: np.ndarray | None, k: int) -> int:
    """2ᵏ sign patterns (``X`` None: intercept-only) or k!/∏ cⱼ! row permutations."""
    if X is None:
        return 2**k
    counts = np.bincount(_groups(X))
    return math.factorial(k) // math.prod(math.factorial(int(c)) for c in counts)


def multiset_permutations(labels: np.ndarray) -> np.ndarray:
    """Every distinct ordering of ``labels`` (non-negative ints), one per row."""
    counts = np.bincount(labels)
    seqs = np.zeros((1, 0), dtype=np.min_scalar_type(counts.size))
    left = counts[None, :]
    for _ in range(labels.size):
        parts, lefts = [], []
        for g in range(counts.size):
            rows = left[:, g] > 0
            parts.append(np.column_stack([seqs[rows], np.full(rows.sum(), g, dtype=seqs.dtype)]))
            step = left[rows].copy()
            step[:, g] -= 1
            lefts.append(step)
        seqs, left = np.concatenate(parts), np.concatenate(lefts)
    return seqs


def _observed(result) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
    """yi, vi, the design (None: intercept only) and the observed QM of a single fit."""
    if isinstance(result, MetaRegressionResult):
        if result.batched:
            raise ValueError("a permutation test needs a single meta-regression, not a batch")
        keep = ~np.isnan(result.yi)
        return result.yi[keep], result.vi[keep], result.X[keep], float(result.QM)
    if not isinstance(result, FitResult):
        raise ValueError(
            "a permutation test needs an inverse-variance fit (metaall.fit), "
            f"not a {type(result).__name__} (Mantel-Haenszel and Peto are not refitted)"
        )
    if result.batched:
        raise ValueError("a permutation test needs a single meta-analysis, not a batch")
    keep = ~np.isnan(result.yi)
    return result.yi[keep], result.vi[keep], None, float(result.zval) ** 2


def _permuted_data(y, v, X, index: np.ndarray, exact: bool, rng):
    """Permuted data sets ``index`` (for an exact moderator test: the orderings of
    the studies themselves): (Y, V) each (len(index), k)."""
    k = y.size
    if X is None:
        if exact:  # sign pattern i: bit j of i set flips study j
            signs = 1 - 2 * ((index[:, None] >> np.arange(k)) & 1)
        else:
            signs = 1 - 2 * rng.integers(0, 2, size=(index.size, k))
            signs[index == 0] = 1  # the observed data come first
        return signs * y, np.broadcast_to(v, signs.shape)
    if exact:
        idx = index  # already orderings of the studies (see permutation_test)
    else:
        idx = rng.permuted(np.tile(np.arange(k), (index.size, 1)), axis=1)
        idx[index == 0] = np.arange(k)
    return y[idx], v[idx]


def permutation_test(
    result: FitResult | MetaRegressionResult,
    exact: bool = False,
    iterations: int = 1000,
    seed: int | None = None,
) -> PermutationResult:
    """Permutation test of a random-effects model or meta-regression, as metafor's
    ``permutest`` (see module docstring). ``seed`` makes a random test reproducible
    (it cannot reproduce R's random draws). Raises ``ValueError`` for a batch, a
    Mantel-Haenszel/Peto fit, fewer than 2 iterations, or an exact test needing
    more than ten million permutations.
    """
    if int(iterations) != iterations or iterations < 2:
        raise ValueError(f"iterations must be a whole number of at least 2, got {iterations}")
    iterations = int(iterations)
    y, v, X, QM_obs = _observed(result)
    k = y.size
    count = distinct_permutations(X, k)
    exact = bool(exact or count <= iterations)
    if exact and count > MAX_EXACT:
        raise ValueError(
            f"an exact test needs {count:.3g} permutations (more than {MAX_EXACT:.0e}); "
            "use exact=False"
        )
    n = count if exact else iterations
    rng = None if exact else np.random.default_rng(seed)
    design = np.ones((k, 1)) if X is None else X
    labels = None
    if exact and X is not None:
        groups = _groups(X)
        positions = np.argsort(groups, kind="stable")  # design rows, grouped
        labels = multiset_permutations(groups)  # design group given to each study
    chunk = max(1, CELLS_PER_CHUNK // k)
    z_parts, qm_parts = [], []
    for start in range(0, n, chunk):
        index = np.arange(start, min(n, start + chunk))
        rows = index
        if labels is not None:  # study placed at each design row: same groups in order
            rows = np.empty((index.size, k), dtype=np.int64)
            rows[:, positions] = np.argsort(labels[index], axis=1, kind="stable")
        Y, V = _permuted_data(y, v, X, rows, exact, rng)
        batch = Batch(Y, np.ascontiguousarray(V), np.ones(Y.shape, dtype=bool), design)
        stats_ = coefficient_tests(batch, result.method, result.test, result.level, result.tol)
        failed = np.array([FAILED in a for a in stats_["algorithm"]], dtype=bool)
        z_parts.append(np.where(failed[:, None], np.nan, stats_["zval"]))
        qm_parts.append(np.where(failed, np.nan, stats_["QM"]))
    zval_perm, QM_perm = np.concatenate(z_parts), np.concatenate(qm_parts)
    zval = np.atleast_1d(np.asarray(result.zval, dtype=float))
    kept = ~np.isnan(QM_perm)  # metafor's na.rm = TRUE: failed refits left out
    pval = (np.abs(zval_perm[kept]) >= np.abs(zval) - COMPTOL).mean(axis=0)
    QM_pval = float((QM_perm[kept] >= QM_obs - COMPTOL).mean())
    single = X is None
    return PermutationResult(
        pval=float(pval[0]) if single else pval,
        QM_pval=QM_pval,
        iterations=n,
        exact=exact,
        zval=float(zval[0]) if single else zval,
        QM=QM_obs,
        zval_perm=zval_perm[:, 0] if single else zval_perm,
        QM_perm=QM_perm,
        seed=seed,
        failed=int((~kept).sum()),
    )
