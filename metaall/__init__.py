"""metaall: meta-analysis of clinical evidence on acute lymphoblastic leukemia.

The numeric API (effect sizes, models) imports only numpy and scipy; plotting and
pandas are imported by the commands that need them.
"""

from metaall._version import __version__
from metaall.effects import EffectSizes, effect_sizes, hr_from_ci, hr_from_p
from metaall.models import (
    CountsResult,
    FitResult,
    HeterogeneityCI,
    PooledResult,
    SubgroupResult,
    fit,
    fit_mh,
    fit_peto,
    subgroups,
)

__all__ = [
    "CountsResult",
    "EffectSizes",
    "FitResult",
    "HeterogeneityCI",
    "PooledResult",
    "SubgroupResult",
    "__version__",
    "effect_sizes",
    "fit",
    "fit_mh",
    "fit_peto",
    "hr_from_ci",
    "hr_from_p",
    "subgroups",
]
