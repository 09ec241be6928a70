"""The pooled result shared by every model, and the sensitivity views built on refits.

A result is the single source for every table and figure (as metafor's fitted
``rma`` object is): reports and plots read its attributes and never recompute.
Attributes are floats for one meta-analysis and arrays of shape (m,) for a batch;
per-study arrays (``yi``, ``vi``, ``weights``) have the studies on the last axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from metaall import distributions as dist
from metaall import methods

STAT_FIELDS = (
    "estimate",
    "se",
    "ci_lb",
    "ci_ub",
    "zval",
    "pval",
    "tau2",
    "I2",
    "H2",
    "Q",
    "Q_df",
    "Q_pval",
    "pi_lb",
    "pi_ub",
)


@dataclass(frozen=True)
class PooledResult:
    """Pooled effect, its test and interval, heterogeneity statistics and weights.

    ``estimate`` is on the analysis scale (log RR, log OR, log HR or RD).
    ``zval`` is a t statistic and ``pval``/``ci`` use t(k-1) under
    ``test='knha'``. ``I2`` is in percent. ``weights`` are percentages per study.
    """

    estimate: np.ndarray | float
    se: np.ndarray | float
    ci_lb: np.ndarray | float
    ci_ub: np.ndarray | float
    zval: np.ndarray | float
    pval: np.ndarray | float
    tau2: np.ndarray | float
    I2: np.ndarray | float
    H2: np.ndarray | float
    Q: np.ndarray | float
    Q_df: np.ndarray | int
    Q_pval: np.ndarray | float
    pi_lb: np.ndarray | float
    pi_ub: np.ndarray | float
    weights: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    k: np.ndarray | int
    method: str
    test: str
    level: float
    i2_source: str  # "tau2" (metafor's definition for random effects) or "Q"
    studies: tuple[str, ...] | None = field(default=None, compare=False)

    PER_STUDY: ClassVar[tuple[str, ...]] = ("yi", "vi", "weights")
    """Fields with one entry per study (on the last axis)."""
    PER_STUDY_TUPLES: ClassVar[tuple[str, ...]] = ()
    """Fields holding a tuple of per-study arrays (e.g. the 2×2 ``tables``)."""
    REPORT_FIELDS: ClassVar[tuple[str, ...]] = ()
    """Statistics of this model that reports show besides the shared ones."""

    @property
    def batched(self) -> bool:
        """True when the result holds many meta-analyses (2-D input)."""
        return np.ndim(self.estimate) > 0

    @property
    def model(self) -> str:
        """Plain-words name of the model that produced the pooled estimate."""
        return methods.method(self.method).model

    def heterogeneity_interval(self):
        """Intervals for tau², I² and H² of a single fit (a HeterogeneityCI), where the
        model gives them; None here."""
        return None

    def prediction(self, kind: str = methods.DEFAULT_PREDICTION) -> tuple[float, float] | None:
        """The prediction interval for a new study's true effect (one meta-analysis), by
        ``kind`` (see :data:`metaall.methods.PREDICTION_INTERVALS`): ``metafor``'s
        estimate ± c·√(se² + τ²) (``pi_lb``, ``pi_ub``), or ``higgins``'s with t(k-2)
        (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137, eq. 12; needs
        k ≥ 3). None for common-effect models and where it is undefined."""
        kind = methods.lookup("prediction interval", kind).name
        self._require_single("a prediction interval")
        if not methods.method(self.method).random_effects or self.k < 2:
            return None
        if kind == "metafor":
            bounds = (float(self.pi_lb), float(self.pi_ub))
            return bounds if all(np.isfinite(bounds)) else None
        if self.k < 3:
            return None
        half = dist.t_quantile(0.5 + self.level / 2, self.k - 2) * np.sqrt(self.se**2 + self.tau2)
        return float(self.estimate - half), float(self.estimate + half)

    def take(self, order: Sequence[int]):
        """The same result with its studies in ``order`` (indices into the current
        order); the pooled statistics do not depend on the order and are kept."""
        order = np.asarray(order, dtype=int)
        changes = {name: np.asarray(getattr(self, name))[..., order] for name in self.PER_STUDY}
        for name in self.PER_STUDY_TUPLES:
            changes[name] = tuple(np.asarray(a)[..., order] for a in getattr(self, name))
        if self.studies is not None:
            changes["studies"] = tuple(self.studies[i] for i in order)
        return replace(self, **changes)

    # -- sensitivity views: each is a batch of refits on subsets of the studies ----
    def _refit(self, keep: np.ndarray) -> PooledResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _require_single(self, what: str) -> int:
        if self.batched:
            raise ValueError(f"{what} needs a single meta-analysis, not a batch")
        return int(np.asarray(self.yi).shape[-1])

    def leave_one_out(self) -> PooledResult:
        """Refit with each study left out in turn (row i omits study i).

        As metafor's ``leave1out``: same model, estimator, test and level.
        """
        k = self._require_single("leave-one-out")
        return self._refit(~np.eye(k, dtype=bool))

    def cumulative(self, order: list[int] | np.ndarray | None = None) -> PooledResult:
        """Refit adding studies one at a time in ``order`` (0-based indices).

        Row i holds the fit of the first i+1 studies of ``order``, as metafor's
        ``cumul``; the default order is the order of the data.
        """
        k = self._require_single("cumulative meta-analysis")
        order = np.arange(k) if order is None else np.asarray(order, dtype=int)
        if sorted(order.tolist()) != list(range(k)):
            raise ValueError(f"order must be a permutation of 0..{k - 1}, got {order.tolist()}")
        keep = np.zeros((k, k), dtype=bool)
        for i in range(k):
            keep[i, order[: i + 1]] = True
        return self._refit(keep)


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def squeeze(result_fields: dict, single: bool) -> dict:
    """Turn (1,)-shaped statistics into scalars (and (1, k) per-study arrays into (k,))."""
    if not single:
        return result_fields
    out = {}
    for name, value in result_fields.items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == 1:
            value = value[0]
            if isinstance(value, np.ndarray):
                out[name] = value
            else:
                out[name] = _plain(value)
        else:
            out[name] = value
    return out
