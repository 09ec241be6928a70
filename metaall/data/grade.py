"""The reviewer's GRADE judgements: ``grade.yaml`` in the review folder.

One entry per outcome of the summary-of-findings table (``ANALYSIS`` or
``ANALYSIS:SUBGROUP``), one key per GRADE domain the reviewer judges; a judgement
replaces the one metaall suggests from the data. A level alone, or a level with its
reason (the footnote)::

    relapse:mrd_neg:
      indirectness:
        level: serious
        reason: CD19 CAR-T products and conditioning differ from current practice
      publication_bias: not serious

Read like the specs (:class:`~metaall.data.yamlfile.YamlFile`): safe YAML, every
problem a ``DataError`` naming the file, the line and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from metaall.data.errors import DataError
from metaall.data.yamlfile import YamlFile

GRADE_FILE = "grade.yaml"
GRADE_DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
GRADE_LEVELS = ("not serious", "serious", "very serious")


def _judgement(file: YamlFile, key: str, value: object) -> Mapping[str, str]:
    if isinstance(value, str):
        return MappingProxyType({"level": file.choice(key, value, GRADE_LEVELS), "reason": ""})
    if not isinstance(value, dict):
        raise file.error(key, "expected a level (e.g. serious) or a mapping with level and reason")
    for name in value:
        if name not in ("level", "reason"):
            raise file.error(f"{key}.{name}", "unknown key; allowed: level, reason")
    if "level" not in value:
        raise file.error(key, "a judgement needs its level")
    level = file.choice(f"{key}.level", value["level"], GRADE_LEVELS)
    reason = file.text(f"{key}.reason", value["reason"]) if "reason" in value else ""
    return MappingProxyType({"level": level, "reason": reason})


def load_judgements(path: str | Path) -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """Outcome -> domain -> {level, reason}; empty when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return MappingProxyType({})
    file = YamlFile(path, "GRADE file")
    out = {}
    for outcome, domains in file.data.items():
        if not isinstance(outcome, str) or not outcome:
            raise DataError(file.path, 0, "outcome", "expected ANALYSIS or ANALYSIS:SUBGROUP")
        if not isinstance(domains, dict):
            raise file.error(outcome, "expected one judgement per GRADE domain")
        judged = {}
        for domain, value in domains.items():
            key = f"{outcome}.{domain}"
            file.choice(key, domain, GRADE_DOMAINS)
            judged[domain] = _judgement(file, key, value)
        out[outcome] = MappingProxyType(judged)
    return MappingProxyType(out)
