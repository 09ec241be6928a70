"""Diagnostics of a meta-analysis: small-study effects and influence.

* :mod:`metaall.diagnostics.bias`: Egger, Peters and Harbord regression tests, Begg's
  rank correlation test, trim-and-fill;
* :mod:`metaall.diagnostics.influence`: leave-one-out influence statistics and the
  Baujat plot coordinates (also as ``FitResult.influence()`` / ``.baujat()``).

Only numpy is imported here (``import metaall`` stays fast); scipy.stats, scipy.special
and statsmodels are imported by the tests that need them, when they run.
"""

from metaall.diagnostics.bias import (
    BeggResult,
    EggerResult,
    FewStudiesWarning,
    TrimFillResult,
    begg_test,
    egger_test,
    harbord_test,
    peters_test,
    trim_and_fill,
)
from metaall.diagnostics.influence import BaujatData, InfluenceResult, baujat, influence

__all__ = [
    "BaujatData",
    "BeggResult",
    "EggerResult",
    "FewStudiesWarning",
    "InfluenceResult",
    "TrimFillResult",
    "baujat",
    "begg_test",
    "egger_test",
    "harbord_test",
    "influence",
    "peters_test",
    "trim_and_fill",
]
