"""Models: pooling, tau² estimators, heterogeneity intervals and subgroup tests."""

from metaall.models.fit import FitResult, fit
from metaall.models.mantel_haenszel import CountsResult, fit_mh, fit_peto
from metaall.models.qprofile import HeterogeneityCI, qprofile
from metaall.models.result import PooledResult
from metaall.models.subgroups import SubgroupResult, subgroups

__all__ = [
    "CountsResult",
    "FitResult",
    "HeterogeneityCI",
    "PooledResult",
    "SubgroupResult",
    "fit",
    "fit_mh",
    "fit_peto",
    "qprofile",
    "subgroups",
]
