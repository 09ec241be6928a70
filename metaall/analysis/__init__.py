"""Running analyses: the middle layer between the evidence base and the reports.

* :mod:`~metaall.analysis.run`: a spec on the extractions → an
  :class:`~metaall.analysis.result.AnalysisResult` (effect sizes, pooled groups, the
  test for subgroup differences, the studies left out and why);
* :mod:`~metaall.analysis.bias` and :mod:`~metaall.analysis.sensitivity`: small-study
  tests and sensitivity views of such a result; :mod:`~metaall.analysis.sequential`
  its trial sequential analysis;
* :mod:`~metaall.analysis.project`: a review folder and its named analyses
  (``metaall.Project``), the Python face of the command line.
"""

from metaall.analysis.project import Project, UnknownAnalysis
from metaall.analysis.result import (
    AnalysisResult,
    Excluded,
    GroupResult,
    StudyRow,
    SubgroupTest,
)
from metaall.analysis.run import (
    OverlapAlternative,
    available_subgroups,
    overlap_alternatives,
    overlap_members,
    run_analysis,
    with_options,
)
from metaall.analysis.sequential import SequentialAnalysis, tsa_of

__all__ = [
    "AnalysisResult",
    "Excluded",
    "GroupResult",
    "OverlapAlternative",
    "Project",
    "SequentialAnalysis",
    "StudyRow",
    "SubgroupTest",
    "UnknownAnalysis",
    "available_subgroups",
    "overlap_alternatives",
    "overlap_members",
    "run_analysis",
    "tsa_of",
    "with_options",
]
