"""Trial sequential analysis: required information size, Lan-DeMets boundaries by
recursive numerical integration, and the monitoring of a cumulative meta-analysis
(the Copenhagen Trial Unit's TSA program; R's RTSA).

Importing this package does not import scipy; the boundary computations import it
on first use.
"""

from metaall.sequential.boundaries import Boundaries, sequential_boundaries
from metaall.sequential.information import (
    InformationSize,
    diversity,
    required_information_size,
)
from metaall.sequential.spending import SPENDING, cumulative_spending
from metaall.sequential.tsa import TSAResult, trial_sequential_analysis

__all__ = [
    "SPENDING",
    "Boundaries",
    "InformationSize",
    "TSAResult",
    "cumulative_spending",
    "diversity",
    "required_information_size",
    "sequential_boundaries",
    "trial_sequential_analysis",
]
