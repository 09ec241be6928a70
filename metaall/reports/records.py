"""An analysis result as plain records: the JSON document and the flat study table.

Numbers stay on the analysis scale (log RR/OR/HR, RD, logit proportions, ...) as in
metafor; NaN becomes None so the JSON is strict. Proportions also carry their
back-transformed values (0-1, :func:`metaall.effects.back_transform`) under
``proportion``. Text, CSV and Markdown renderings are built from these records, never
from a second computation.
"""

from __future__ import annotations

import math

import numpy as np

from metaall import distributions as dist
from metaall import methods
from metaall._version import __version__
from metaall.analysis import AnalysisResult, GroupResult, StudyRow
from metaall.analysis.means import arm_means
from metaall.data import COUNT_FIELDS, HR_FIELDS
from metaall.data.model import GENERIC_FIELDS, PROPORTION_FIELDS
from metaall.models import PooledResult
from metaall.models.result import STAT_FIELDS
from metaall.reports.regression import regression_record

KIND_NUMBERS = {
    methods.COUNTS: COUNT_FIELDS,
    methods.HAZARD_RATIOS: HR_FIELDS,
    methods.PROPORTIONS: PROPORTION_FIELDS,
    methods.MEANS: ("n_t", "n_c"),
    methods.GENERIC: (*GENERIC_FIELDS, "ci_level"),
}
"""The extracted numbers a study record repeats, by kind of evidence."""

POOLED_FIELDS = (*STAT_FIELDS, "k")


def clean(value):
    """JSON-safe scalar: NaN/inf → None, numpy scalars → Python numbers."""
    if value is None or isinstance(value, (str, bool)):
        return value
    number = float(value)
    if not math.isfinite(number):
        return None
    if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
        return int(value)
    return number


def pooled_record(fit: PooledResult | None) -> dict | None:
    if fit is None:
        return None
    fields = (*POOLED_FIELDS, *fit.REPORT_FIELDS)
    return {name: clean(getattr(fit, name)) for name in fields}


def _pair(pair) -> list | None:
    return None if pair is None else [clean(value) for value in pair]


def proportion_record(result: AnalysisResult, values, of) -> dict:
    """Back-transformed proportions (0-1) of ``values`` (name -> analysis-scale value)."""
    return {name: clean(result.display(value, of) / 100) for name, value in values.items()}


def group_pooled_record(group: GroupResult, result: AnalysisResult | None = None) -> dict | None:
    """A group's pooled statistics, its Q-profile intervals and its prediction interval
    (and, for proportions, the pooled proportion back-transformed)."""
    record = pooled_record(group.fit)
    if record is None:
        return None
    if result is not None and result.proportion and group.estimable:
        fit = group.fit
        values = {"estimate": fit.estimate, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub}
        if group.prediction is not None:
            values |= dict(zip(("pi_lb", "pi_ub"), group.prediction, strict=True))
        record["proportion"] = proportion_record(result, values, group)
    ci = group.heterogeneity
    record["heterogeneity_ci"] = (
        None
        if ci is None
        else {"level": ci.level, "tau2": _pair(ci.tau2), "I2": _pair(ci.I2), "H2": _pair(ci.H2)}
    )
    record["prediction_interval"] = _pair(group.prediction)
    record["absolute_effects"] = [
        {
            "control_risk": clean(a.control_risk),
            "source": a.source,
            "timepoint": a.timepoint or None,
            "risk": [clean(x) for x in a.risk],
            "risk_difference": [clean(x) for x in a.difference],
            "nnt": a.nnt,
        }
        for a in group.absolute
    ]
    return record


def _means(row: StudyRow) -> dict:
    """Each arm's mean and SD as pooled, and whether they were derived from a median."""
    out = {}
    for arm in ("t", "c"):
        a = arm_means(row.effect, arm)
        out |= {f"mean_{arm}": clean(a.mean), f"sd_{arm}": clean(a.sd)}
        out[f"derived_{arm}"] = a.derived
        if a.derived:
            for name in ("median", "q1", "q3", "min", "max"):
                out[f"{name}_{arm}"] = clean(getattr(row.effect, f"{name}_{arm}"))
    return out


def study_record(
    row: StudyRow,
    kind: str | bool,
    result: AnalysisResult | None = None,
    group: GroupResult | None = None,
) -> dict:
    """One study's record: the extracted numbers of its kind of evidence (``kind``;
    True/False are the counts/hazard-ratio kinds), its effect size and provenance; for
    proportions (with ``result``) the back-transformed proportion; with the Bayesian
    model of ``group`` also its shrunken estimate (``shrunken_median``, ``shrunken_lb``,
    ``shrunken_ub``; analysis scale)."""
    if isinstance(kind, bool):
        kind = methods.COUNTS if kind else methods.HAZARD_RATIOS
    e = row.effect
    record = {"study": e.study, "label": row.label, "year": row.study.year, "group": row.group}
    record.update({name: clean(getattr(e, name)) for name in KIND_NUMBERS[kind]})
    if kind == methods.MEANS:
        record.update(_means(row))
    record.update(
        yi=clean(row.yi),
        vi=clean(row.vi),
        weight=clean(row.weight) if row.estimable else None,
        estimable=row.estimable,
        note=row.note,
        source=e.source,
        location=e.location,
        source_row=e.source_row,
        derivation=e.derivation,
    )
    if kind == methods.MEANS and (row.effect.from_median("t") or row.effect.from_median("c")):
        record["derivation"] = "; ".join(p for p in (e.derivation, row.note) if p)
    if result is not None and result.proportion and row.estimable:
        half = dist.z_critical(result.spec.level) * math.sqrt(row.vi)
        values = {"estimate": row.yi, "ci_lb": row.yi - half, "ci_ub": row.yi + half}
        record["proportion"] = proportion_record(result, values, row)
    shrunken = group.shrunken.get(e.study) if group is not None else None
    if shrunken is not None:
        for name, value in zip(("median", "lb", "ub"), shrunken, strict=True):
            record[f"shrunken_{name}"] = clean(value)
    return record


def _group_record(group: GroupResult, result: AnalysisResult) -> dict:
    return {
        "name": group.name,
        "studies": [r.effect.study for r in group.rows],
        "pooled": group_pooled_record(group, result),
        **(
            {"shrunken": {k: [clean(x) for x in v] for k, v in group.shrunken.items()}}
            if group.shrunken
            else {}
        ),
        "weight": clean(group.total_weight),
    }


def method_details(result: AnalysisResult) -> dict:
    """Everything needed to reproduce the numbers elsewhere (R metafor, R meta, RevMan)."""
    spec = result.spec
    fit = result.overall.fit
    method = methods.method(spec.method)
    measure = methods.measure(spec.measure)
    details = {
        "measure": f"{measure.label} ({spec.measure})",
        "scale": _scale_words(measure),
        "model": fit.model if fit is not None else None,
        "tau2_estimator": method.label if method.tau2_estimator else None,
        "algorithm": str(getattr(fit, "algorithm", "")) or None,
        "ci_method": _interval_method(spec, method),
        "level": spec.level,
        "prediction_interval": _prediction_method(spec.prediction_interval, method),
        "I2": "from tau² (metafor)" if fit is not None and fit.i2_source == "tau2" else "from Q",
        "priors": getattr(fit, "prior", "") or None,
        "weights": None
        if method.family in methods.INVERSE_VARIANCE
        else "display only: 1/(vi + tau²), normalised (the model has no study weights)",
        "not in the model": ", ".join(getattr(fit, "dropped", ())) or None,
        "metaall_version": __version__,
    }
    if spec.single_arm:
        z = spec.zero_cells
        rule = proportion_rule(z.add, z.to)
        if method.tables:
            rule += (
                "; the model pools the raw counts, the correction only touches the study "
                "proportions shown"
            )
        details["zero_cells"] = {"add": z.add, "to": z.to, "drop00": False, "rule": rule}
    if result.regression is not None:
        details["meta-regression"] = f"moderators {result.regression.coding}"
        if spec.permutations is not None:
            details["meta-regression"] += (
                f"; permutation test of {spec.permutations} permutations (exact when there "
                f"are no more distinct ones; seed {spec.seed}), metafor permutest"
            )
    if spec.counts:
        z = spec.zero_cells
        details["zero_cells"] = {
            "add": z.add,
            "to": z.to,
            "drop00": z.drop00,
            "rule": zero_cell_rule(z.add, z.to, z.drop00)
            + (
                "; the model pools the raw counts, the correction only touches the study "
                "effects shown"
                if method.tables
                else ""
            ),
        }
    if fit is not None and fit.REPORT_FIELDS:
        details["model_statistics"] = "; ".join(
            f"{name} = {_short(getattr(fit, name))}"
            for name in fit.REPORT_FIELDS
            if getattr(fit, name) is not None  # e.g. sigma2 outside UM.RS
        )
    return details


def _scale_words(measure: methods.Measure) -> str:
    """The analysis scale, and for proportions how they are shown."""
    if not measure.proportion:
        return measure.scale
    if measure.name == "PFT":
        back = "Miller 1978's inverse at the harmonic mean of the study sizes (transf.ipft.hm)"
    else:
        back = {"PR": "as pooled", "PLN": "exp", "PLO": "inverse logit", "PAS": "sin²"}[
            measure.name
        ]
    return f"{measure.scale}; shown as proportions (%) back-transformed by {back}"


def proportion_rule(add: float, to: str) -> str:
    """The continuity correction of single-arm proportions, in words."""
    if to == "none" or add == 0:
        return "no continuity correction"
    where = {
        "only0": "of studies with no events or no non-events",
        "all": "of every study",
        "if0all": "of every study when any study has no events or no non-events",
    }[to]
    return f"{add:g} added to the events and non-events {where}"


def _short(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    return f"{float(value):.6g}"


def _interval_method(spec, method: methods.Method) -> str:
    if method.family == methods.BAYES:
        return "central posterior credible interval"
    if method.family == methods.EXACT and spec.test == "knha":
        return "t with k-1 df, se not rescaled (metafor rma.glmm test='t')"
    return methods.ci_method(spec.test).description


def _prediction_method(kind: str | None, method: methods.Method) -> str:
    if method.family == methods.BAYES:
        return "central posterior predictive interval"
    if not method.random_effects:
        return "none (common-effect model)"
    if kind is None:
        return "not shown"
    entry = methods.PREDICTION_INTERVALS[kind]
    return f"{entry.label} ({entry.reference})"


def zero_cell_rule(add: float, to: str, drop00: bool) -> str:
    where = {
        "only0": "to every cell of tables with a zero cell",
        "all": "to every cell of every table",
        "if0all": "to every cell of every table when any table has a zero cell",
        "none": "nowhere",
    }[to]
    text = f"{add:g} added {where}" if to != "none" else "no continuity correction"
    dropped = "; tables with no events in either arm are not estimable" if drop00 else ""
    return text + dropped


def analysis_record(result: AnalysisResult) -> dict:
    """The JSON document of ``metaall pool``."""
    spec = result.spec
    rows = result.overall.rows
    record = {
        "analysis": spec.name,
        "title": spec.title,
        "subgroup": result.restricted_to,
        "comparison": spec.comparison,
        "outcome": spec.outcome,
        "measure": spec.measure,
        "method": spec.method,
        "test": spec.test,
        "level": spec.level,
        "studies": [study_record(r, spec.data_kind, result, result.overall) for r in rows],
        "pooled": group_pooled_record(result.overall, result),
        "subgroups": [_group_record(g, result) for g in result.groups],
        "subgroup_differences": None,
        "excluded": [
            {
                "study": x.effect.study,
                "label": x.study.label,
                "group": x.effect.population,
                "reason": x.reason,
                "source": x.effect.source,
                "location": x.effect.location,
                "source_row": x.effect.source_row,
            }
            for x in result.excluded
        ],
        "caution": result.spec.caution or None if result.groups else None,
        "method_details": method_details(result),
    }
    if result.regression is not None:
        record["meta_regression"] = regression_record(result)
    if result.difference is not None:
        d = result.difference
        record["subgroup_differences"] = {
            "Q_between": clean(d.Q),
            "df": d.df,
            "pval": clean(d.pval),
            "QM_common_tau2": clean(d.QM_common_tau2),
            "QM_common_tau2_pval": clean(d.QM_common_tau2_pval),
        }
    return record


def _flat(record: dict) -> dict:
    """A record with its nested mappings as prefixed columns (``proportion_estimate``)."""
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out |= {f"{key}_{inner}": v for inner, v in value.items()}
        else:
            out[key] = value
    return out


def table_rows(result: AnalysisResult) -> list[dict]:
    """One flat row per study and per pooled line (subgroups, overall): CSV/Markdown."""
    kind = result.spec.data_kind
    rows: list[dict] = []

    def pooled_line(group: GroupResult, kind: str) -> dict:
        record = group_pooled_record(group, result) if result.proportion else None
        proportion = (
            {"proportion": record["proportion"]} if record and "proportion" in record else {}
        )
        pooled = pooled_record(group.fit) or {}
        return {"row": kind, "study": "", "group": group.name, **pooled, **_flat(proportion)}

    for group in result.groups or (result.overall,):
        rows += [
            {"row": "study", **_flat(study_record(r, kind, result, group))} for r in group.rows
        ]
        rows.append(pooled_line(group, "subgroup" if result.groups else "overall"))
    if result.groups:
        rows.append(pooled_line(result.overall, "overall"))
    return rows
