"""The evidence base and the analysis specs: loading and validation (stdlib + PyYAML).

>>> from metaall.data import load_extractions, load_specs
>>> data = load_extractions("extractions")
>>> specs = load_specs("analyses", data.vocabulary)
>>> effects = data.for_spec(specs["relapse"])
"""

from metaall.data.csvfile import Record, read_csv
from metaall.data.errors import DataError
from metaall.data.extractions import (
    EFFECT_COLUMNS,
    STUDY_COLUMNS,
    TAGGED_FIELDS,
    VOCABULARY_COLUMNS,
    Effect,
    Extractions,
    Study,
    Vocabulary,
    load_extractions,
    validate_extractions,
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
    "EFFECT_COLUMNS",
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
