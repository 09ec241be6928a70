"""Pool an ad-hoc table column by column: ``metaall pool --data``.

The same run as :func:`metaall.analysis.run.run_analysis` (effect sizes, the spec's
model per subgroup and overall, the test between subgroups), on the columns of an
:class:`~metaall.data.adhoc.AdhocTable`: effect sizes of counts, proportions and hazard
ratios are computed at once (those of means and generic effects study by study), the
fit takes the arrays, and the result's study rows are
:class:`~metaall.analysis.result.StudyRows`, made one at a time only where a report
reads them. A million rows pool in a few seconds and a few hundred MB.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from metaall import methods
from metaall.analysis.result import AnalysisResult, Excluded, StudyRows
from metaall.analysis.run import _usable, check_subgroup, pool_studies
from metaall.data import AnalysisSpec, Effect, Study, Vocabulary
from metaall.data.adhoc import AdhocTable
from metaall.data.model import DEFAULT_CI_LEVEL


class _Source:
    """The rows of a table as lazy study rows read them (:class:`RowSource`)."""

    def __init__(self, table: AdhocTable) -> None:
        self.table = table

    def item(self, i: int) -> tuple[Effect, Study, str]:
        effect, study = self.table.row(i)
        return effect, study, effect.population

    def column(self, name: str) -> np.ndarray:
        return self.table.column(name)


class TableStudies:
    """:class:`~metaall.analysis.run.Studies` of an ad-hoc table: the rows at ``index``."""

    def __init__(self, table: AdhocTable, index: np.ndarray) -> None:
        self.table, self.index = table, index
        studies = table.texts("study")
        every = len(index) == len(table)  # all rows, in file order
        self.names = studies if every else [studies[i] for i in index.tolist()]

    def __len__(self) -> int:
        return len(self.index)

    def numbers(self, name: str) -> np.ndarray:
        values = self.table.column(name)[self.index]
        if name == "ci_level":  # as the effect rows hold it
            return np.where(np.isnan(values), DEFAULT_CI_LEVEL, values)
        return values

    def effect(self, i: int) -> Effect:
        return self.table.row(int(self.index[i]))[0]

    def years(self) -> np.ndarray:
        return self.numbers("year")

    def groups(self) -> np.ndarray:
        return np.array(self.table.texts("group"), dtype=object)[self.index]

    def subset(self, keep: np.ndarray) -> TableStudies:
        return TableStudies(self.table, self.index[keep])

    def rows(self, order: np.ndarray, yi, vi, weights, notes) -> StudyRows:
        arrays = (
            self.index,
            yi,
            vi,
            np.asarray(weights, dtype=float),
            np.array(notes, dtype=object),
        )
        if (order != np.arange(len(order))).any():  # file order needs no copies
            arrays = tuple(a[order] for a in arrays)
        return StudyRows(_Source(self.table), *arrays)


def _unusable(spec: AnalysisSpec, table: AdhocTable) -> np.ndarray:
    """Rows the spec's measure cannot use (e.g. a hazard ratio with neither CI nor
    p-value, a generic effect on the other scale): a mask."""
    column = table.column
    if table.kind == methods.HAZARD_RATIOS:
        has_se = ~np.isnan(column("hr_lower")) | ~np.isnan(column("p_value"))
        return np.isnan(column("hr")) | ~has_se
    if table.kind == methods.GENERIC:
        ratio = np.array(table.texts("effect_scale")) == "ratio"
        return ratio != methods.measure(spec.measure).ratio
    return np.zeros(len(table), dtype=bool)


def run_table(spec: AnalysisSpec, table: AdhocTable, subgroup: str | None = None) -> AnalysisResult:
    """Pool ``table`` by ``spec`` (see :func:`metaall.data.adhoc.adhoc_spec`), as
    :func:`~metaall.analysis.run.run_analysis` pools a project's rows: every study
    enters once, in file order; rows the measure cannot use are listed as not included."""
    groups = np.array(table.texts("group"), dtype=object)
    if subgroup is not None:
        check_subgroup(spec, subgroup, [g for g in dict.fromkeys(groups.tolist()) if g])
    inside = np.ones(len(table), dtype=bool) if subgroup is None else groups == subgroup
    unusable = _unusable(spec, table)
    excluded = []
    for i in np.flatnonzero(inside & unusable).tolist():
        effect, study = table.row(i)
        excluded.append(Excluded(effect, study, _usable(spec, effect)))
    studies = TableStudies(table, np.flatnonzero(inside & ~unusable))
    return pool_studies(spec, studies, subgroup, excluded, Vocabulary(MappingProxyType({})))
