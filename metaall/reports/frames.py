"""pandas views of results, for notebooks (pandas is imported only here, when asked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaall.data import COUNT_FIELDS
from metaall.reports.records import table_rows

if TYPE_CHECKING:
    import pandas as pd

    from metaall.analysis import AnalysisResult


def to_frame(result: AnalysisResult) -> pd.DataFrame:
    """One row per study and per pooled line (subgroups, overall), as ``metaall pool
    --format records`` writes them; estimates on the analysis scale (``result.display``
    turns one into what readers see: exp for ratios); counts as integers."""
    import pandas as pd

    frame = pd.DataFrame.from_records(table_rows(result))
    # counts stay whole numbers (pandas' nullable integers: pooled rows have none)
    for name in (*COUNT_FIELDS, "year", "k", "Q_df"):
        if name in frame:
            frame[name] = frame[name].astype("Int64")
    return frame
