"""Risk of bias per study: ``extractions/risk_of_bias.csv``, loaded and validated.

The tool is ROBINS-I (Sterne et al. 2016, BMJ 355:i4919), made for non-randomised
comparisons of interventions such as transplanted vs not transplanted patients. One
row is one judgement of one study in one domain (the seven of
:data:`~metaall.data.model.ROB_DOMAINS`, or ``overall``): ``judgement`` (low,
moderate, serious, critical, no_information), a one-line ``support`` and where it
comes from (``source`` document, ``location`` in it). The file is optional; when it
is there every row is checked, and each failure is a
:class:`~metaall.data.errors.DataError` ``path:row: field: message``:

* the study is in studies.csv; domain and judgement are known words; support, source
  and location are filled; a study has each domain once, and all seven plus overall;
* the overall judgement follows ROBINS-I's rule (Sterne et al. 2016, Table 2,
  "Interpretation of domain-level and overall risk of bias judgements"): at least as
  severe as the most severe domain, ``low`` only when every domain is low, and
  ``no_information`` only when no domain is serious or critical.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from metaall.data.csvfile import read_csv
from metaall.data.errors import DataError
from metaall.data.model import (
    NO_INFORMATION,
    ROB_COLUMNS,
    ROB_DOMAINS,
    ROB_JUDGEMENTS,
    ROB_OVERALL,
    ROB_SEVERITY,
    Judgement,
    Study,
    StudyRiskOfBias,
)
from metaall.data.rows import RowReader

RISK_OF_BIAS_FILE = "risk_of_bias.csv"
DOMAINS = (*ROB_DOMAINS, ROB_OVERALL)


def _judgement(row: RowReader, studies: Mapping[str, Study]) -> Judgement:
    sid = row.text("study", required=True)
    if sid and sid not in studies:
        row.fail("study", f"unknown study '{sid}' (not in studies.csv)")
    return Judgement(
        study=sid,
        domain=row.choice("domain", DOMAINS, required=True),
        judgement=row.choice("judgement", ROB_JUDGEMENTS, required=True),
        support=row.text("support", required=True),
        source=row.text("source", required=True),
        location=row.text("location", required=True),
        path=row.path,
        line=row.record.line,
    )


def _overall_problem(judgements: Mapping[str, Judgement]) -> str:
    """Why the overall judgement breaks ROBINS-I's rule ('' when it does not)."""
    overall = judgements[ROB_OVERALL].judgement
    rated = {d: judgements[d].judgement for d in ROB_DOMAINS}
    severe = {d: j for d, j in rated.items() if j in ROB_SEVERITY}
    worst = max(severe, key=lambda d: ROB_SEVERITY.index(severe[d]), default=None)
    if overall == NO_INFORMATION:
        if worst is not None and severe[worst] in ("serious", "critical"):
            return f"overall '{overall}' although {worst} is '{severe[worst]}'"
        return ""
    if worst is not None and ROB_SEVERITY.index(overall) < ROB_SEVERITY.index(severe[worst]):
        return f"overall '{overall}' is less severe than {worst} '{severe[worst]}'"
    if overall == "low" and any(j != "low" for j in rated.values()):
        other = next(d for d, j in rated.items() if j != "low")
        return f"overall 'low' although {other} is '{rated[other]}'"
    return ""


RULE = "ROBINS-I: overall at least the most severe domain, low only if every domain is low"


def load_risk_of_bias(
    path: Path, studies: Mapping[str, Study], errors: list[DataError]
) -> dict[str, StudyRiskOfBias]:
    """The assessments in ``path`` by study (empty when there is no such file); every
    problem is appended to ``errors``."""
    if not path.exists():
        return {}
    try:
        records = read_csv(path, ROB_COLUMNS)
    except DataError as exc:
        errors.append(exc)
        return {}
    found: dict[str, dict[str, Judgement]] = {}
    for record in records:
        row = RowReader(str(path), record, errors)
        judgement = _judgement(row, studies)
        if not row.ok("study", "domain", "judgement") or not judgement.study:
            continue
        seen = found.setdefault(judgement.study, {})
        if judgement.domain in seen:
            first = seen[judgement.domain].line
            message = f"duplicate judgement of {judgement.study} in {judgement.domain}"
            row.fail("domain", f"{message}; first at row {first}")
        else:
            seen[judgement.domain] = judgement
    assessed = {}
    for sid, judgements in found.items():
        missing = [d for d in DOMAINS if d not in judgements]
        first = min(j.line for j in judgements.values())
        if missing:
            message = f"{sid} has no judgement for: {', '.join(missing)} (ROBINS-I needs all)"
            errors.append(DataError(str(path), first, "domain", message))
            continue
        problem = _overall_problem(judgements)
        if problem:
            overall = judgements[ROB_OVERALL]
            errors.append(DataError(str(path), overall.line, "judgement", f"{problem} ({RULE})"))
            continue
        ordered = {d: judgements[d] for d in DOMAINS}
        assessed[sid] = StudyRiskOfBias(sid, MappingProxyType(ordered))
    return assessed
