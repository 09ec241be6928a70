"""Models: pooling, tau² estimators, heterogeneity intervals and subgroup tests."""

from metaall.models.fit import METHODS, TESTS, FitResult, fit
from metaall.models.mantel_haenszel import CountsResult, fit_mh, fit_peto
from metaall.models.qprofile import HeterogeneityCI, qprofile
from metaall.models.result import PooledResult
from metaall.models.subgroups import SubgroupResult, subgroups
from metaall.models.tau2 import TAU2_METHODS

__all__ = [
    "METHODS",
    "TAU2_METHODS",
    "TESTS",
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
