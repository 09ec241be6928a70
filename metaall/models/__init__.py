"""Models: pooling, tau² estimators, heterogeneity intervals, subgroup tests,
exact-likelihood GLMMs, the Bayesian model with its priors, and meta-regression."""

from metaall.models.bayes import BayesResult, fit_bayes
from metaall.models.blockwise import fit_blocks
from metaall.models.fit import FitResult, fit
from metaall.models.glmm import GLMMResult, fit_glmm
from metaall.models.mantel_haenszel import CountsResult, fit_mh, fit_peto
from metaall.models.metareg import MetaRegressionResult, meta_regression
from metaall.models.permutation import PermutationResult, permutation_test
from metaall.models.priors import (
    HalfCauchy,
    HalfNormal,
    HalfT,
    Jeffreys,
    LogNormalTau2,
    TauPrior,
    UniformTau,
    turner_prior,
)
from metaall.models.qprofile import HeterogeneityCI, qprofile
from metaall.models.result import PooledResult
from metaall.models.subgroups import SubgroupResult, subgroups

__all__ = [
    "BayesResult",
    "CountsResult",
    "FitResult",
    "GLMMResult",
    "HalfCauchy",
    "HalfNormal",
    "HalfT",
    "HeterogeneityCI",
    "Jeffreys",
    "LogNormalTau2",
    "MetaRegressionResult",
    "PermutationResult",
    "PooledResult",
    "SubgroupResult",
    "TauPrior",
    "UniformTau",
    "fit",
    "fit_bayes",
    "fit_blocks",
    "fit_glmm",
    "fit_mh",
    "fit_peto",
    "meta_regression",
    "permutation_test",
    "qprofile",
    "subgroups",
    "turner_prior",
]
