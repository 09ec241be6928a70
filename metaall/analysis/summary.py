"""The outcomes of a summary-of-findings table: which results, and their certainty.

``findings(project, ["relapse:mrd_neg", "os"])`` runs each named analysis (or one of
its subgroups: ``ANALYSIS:SUBGROUP``), every analysis of the project when none is
named, and rates the certainty of each pooled result
(:func:`metaall.analysis.certainty.certainty`) with the project's ROBINS-I assessments
and the reviewer's judgements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from metaall.analysis.certainty import Certainty, certainty
from metaall.analysis.project import Project
from metaall.analysis.result import AnalysisResult, GroupResult
from metaall.analysis.run import run_analysis
from metaall.data.errors import DataError
from metaall.data.grade import GRADE_FILE, load_judgements


@dataclass(frozen=True)
class Finding:
    """One row of the table: an outcome's pooled result and its certainty."""

    outcome: str
    result: AnalysisResult
    group: GroupResult
    certainty: Certainty


def findings(
    project: Project,
    outcomes: Sequence[str] = (),
    judgements: Mapping[str, Mapping] | None = None,
) -> list[Finding]:
    """The findings of ``outcomes`` (``ANALYSIS`` or ``ANALYSIS:SUBGROUP``; default: every
    comparative analysis with a pooled estimate, not single-arm proportions);
    ``judgements`` maps an outcome's name to the reviewer's domain judgements (default:
    the project's ``grade.yaml``)."""
    data, specs = project.load()
    if judgements is None:
        judgements = load_judgements(project.root / GRADE_FILE)
    for name in judgements:
        analysis = name.partition(":")[0]
        if analysis not in specs:
            raise DataError(project.root / GRADE_FILE, 0, name, f"no analysis '{analysis}'")
    names = list(outcomes) or list(specs)
    out = []
    for name in names:
        analysis, _, subgroup = name.partition(":")
        if analysis not in specs:
            known = ", ".join(specs)
            raise ValueError(f"no analysis '{analysis}' in {project.analyses_dir}; known: {known}")
        if specs[analysis].single_arm:  # a rate, not a comparison: no relative effect
            if outcomes:
                raise ValueError(
                    f"'{name}' pools single-arm proportions: a summary-of-findings row "
                    "compares an intervention with a comparator"
                )
            continue
        result = run_analysis(specs[analysis], data, subgroup or None)
        if not result.overall.estimable:
            if outcomes:
                raise ValueError(f"'{name}' has no pooled estimate to summarise")
            continue
        title = result.spec.title or analysis
        label = f"{title} ({subgroup})" if subgroup else title
        given = (judgements or {}).get(name)
        rated = certainty(result, data.risk_of_bias, given)
        out.append(Finding(label, result, result.overall, rated))
    return out
