"""The evidence base and the analysis specs: loading and validation (stdlib + PyYAML).

The row model (:mod:`~metaall.data.model`), the rules every row obeys
(:mod:`~metaall.data.rows`), the loaders of ``extractions/`` and of ad-hoc files, and
the analysis specs of ``analyses/``.

>>> from metaall.data import load_extractions, load_specs
>>> data = load_extractions("extractions")
>>> specs = load_specs("analyses", data.vocabulary)
>>> effects = specs["relapse"].select(data)
"""

from metaall.data.csvfile import Record, read_csv
from metaall.data.errors import DataError
from metaall.data.extractions import load_extractions, validate_extractions
from metaall.data.model import (
    COUNT_FIELDS,
    EFFECT_COLUMNS,
    HR_FIELDS,
    STUDY_COLUMNS,
    TAGGED_FIELDS,
    VOCABULARY_COLUMNS,
    Effect,
    Extractions,
    Study,
    Vocabulary,
)
from metaall.data.specs import (
    AnalysisSpec,
    ZeroCells,
    check_specs_against,
    load_spec,
    load_specs,
    validate_specs,
)

__all__ = [
    "COUNT_FIELDS",
    "EFFECT_COLUMNS",
    "HR_FIELDS",
    "STUDY_COLUMNS",
    "TAGGED_FIELDS",
    "VOCABULARY_COLUMNS",
    "AnalysisSpec",
    "DataError",
    "Effect",
    "Extractions",
    "Record",
    "Study",
    "Vocabulary",
    "ZeroCells",
    "check_specs_against",
    "load_extractions",
    "load_spec",
    "load_specs",
    "read_csv",
    "validate_extractions",
    "validate_specs",
]
