"""metaall: meta-analysis of clinical evidence on acute lymphoblastic leukemia.

The numeric API (effect sizes, models) imports only numpy and scipy; plotting and
pandas are imported by the commands that need them.
"""

from metaall._version import __version__
from metaall.analysis import Project
from metaall.diagnostics import (
    BaujatData,
    BeggResult,
    EggerResult,
    FewStudiesWarning,
    InfluenceResult,
    TrimFillResult,
    baujat,
    begg_test,
    egger_test,
    harbord_test,
    influence,
    peters_test,
    trim_and_fill,
)
from metaall.effects import (
    EffectSizes,
    back_transform,
    effect_sizes,
    generic_effects,
    hr_from_ci,
    hr_from_p,
    mean_sd_from_median,
)
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
from metaall.models.metareg import MetaRegressionResult, dummy_columns, meta_regression
from metaall.models.permutation import PermutationResult, permutation_test
from metaall.sequential import (
    Boundaries,
    InformationSize,
    TSAResult,
    diversity,
    required_information_size,
    sequential_boundaries,
    trial_sequential_analysis,
)

__all__ = [
    "BaujatData",
    "BeggResult",
    "Boundaries",
    "CountsResult",
    "EffectSizes",
    "EggerResult",
    "FewStudiesWarning",
    "FitResult",
    "HeterogeneityCI",
    "InfluenceResult",
    "InformationSize",
    "MetaRegressionResult",
    "PermutationResult",
    "PooledResult",
    "Project",
    "SubgroupResult",
    "TSAResult",
    "TrimFillResult",
    "__version__",
    "back_transform",
    "baujat",
    "begg_test",
    "diversity",
    "dummy_columns",
    "effect_sizes",
    "egger_test",
    "fit",
    "fit_mh",
    "fit_peto",
    "generic_effects",
    "harbord_test",
    "hr_from_ci",
    "hr_from_p",
    "influence",
    "mean_sd_from_median",
    "meta_regression",
    "permutation_test",
    "peters_test",
    "required_information_size",
    "sequential_boundaries",
    "subgroups",
    "trial_sequential_analysis",
    "trim_and_fill",
]
