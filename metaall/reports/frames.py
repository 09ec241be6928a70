"""pandas views of results, for notebooks (pandas is imported only here, when asked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaall.reports.records import table_rows

if TYPE_CHECKING:
    import pandas as pd

    from metaall.analysis import AnalysisResult


def to_frame(result: AnalysisResult) -> pd.DataFrame:
    """One row per study and per pooled line (subgroups, overall), as ``metaall pool
    --format csv`` writes them; estimates on the analysis scale."""
    import pandas as pd

    return pd.DataFrame.from_records(table_rows(result))
