"""Per-study effect sizes for every kind of evidence, and their back-transformation.

* :mod:`~metaall.effects.counts`: 2×2 tables (RR, OR, RD, Peto OR);
* :mod:`~metaall.effects.proportions`: single-arm proportions (PR, PLN, PLO, PAS, PFT);
* :mod:`~metaall.effects.continuous`: group means (MD, SMD, ROM);
* :mod:`~metaall.effects.hazard`: log hazard ratios from a reported HR;
* :mod:`~metaall.effects.generic`: an effect with its SE or CI (generic inverse variance);
* :mod:`~metaall.effects.medians`: means and SDs derived from medians;
* :mod:`~metaall.effects.transform`: back to the display scale;
* :mod:`~metaall.effects.escalc`: :func:`effect_sizes`, one entry point by measure.
"""

from metaall.effects.base import CORRECTION_TARGETS, EffectSizes
from metaall.effects.continuous import CONTINUOUS_MEASURES, hedges_correction
from metaall.effects.counts import COUNT_MEASURES, peto_terms, validate_counts
from metaall.effects.escalc import MEASURES, effect_sizes
from metaall.effects.generic import generic_effects
from metaall.effects.hazard import hr_from_ci, hr_from_p
from metaall.effects.medians import DerivedMeanSD, mean_sd_from_median
from metaall.effects.proportions import PROPORTION_MEASURES
from metaall.effects.transform import back_transform

__all__ = [
    "CONTINUOUS_MEASURES",
    "CORRECTION_TARGETS",
    "COUNT_MEASURES",
    "MEASURES",
    "PROPORTION_MEASURES",
    "DerivedMeanSD",
    "EffectSizes",
    "back_transform",
    "effect_sizes",
    "generic_effects",
    "hedges_correction",
    "hr_from_ci",
    "hr_from_p",
    "mean_sd_from_median",
    "peto_terms",
    "validate_counts",
]
