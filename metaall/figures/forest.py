"""Forest plot of an analysis result, in the layout of RevMan and R meta.

One row per study (events/total per arm, or log HR and SE; weight; effect and CI as
text and as a square sized by weight), per subgroup a diamond with "Total events",
prediction interval, heterogeneity and test for overall effect, then the same for all
studies and the test for subgroup differences (the overall block is drawn only when
there are subgroups to compare; Cochrane Handbook v6.4 §10.11.3). Every number is the
one ``metaall pool`` prints (same result object, same formatting functions). With the
studies' risk-of-bias assessments, RevMan's traffic-light columns follow the graph
(ROBINS-I domains D1-D7 and overall; :mod:`metaall.figures.rob`). The spec's caution,
if any, is printed under a total that pools several subgroups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from matplotlib.figure import Figure

from metaall import distributions as dist
from metaall import methods
from metaall.analysis import AnalysisResult, GroupResult, StudyRow
from metaall.data.model import StudyRiskOfBias
from metaall.figures.panel import (
    GAP,
    Column,
    Mark,
    Panel,
    Row,
    TooNarrow,
    draw_panel,
    minimum_width_mm,
)
from metaall.figures.rob import LOOKS, rob_cells, rob_columns, rob_legend
from metaall.figures.scale import symmetric_scale
from metaall.figures.settings import (
    DEFAULT_FONT_SIZE,
    SMALLEST_FONT_SIZE,
    WIDTHS_MM,
    FigureSettings,
    figure_settings,
)
from metaall.figures.style import Style, get_style, num

NOTE_MARKS = "*†‡§¶"
ROOMY = 1.1  # a forest with traffic lights: this much wider than the least width
ARMS = ("t", "c")


COLUMNS = ("counts", "weight", "effect")
"""Column sets a forest plot can show beside the study labels and the graph: the data
per arm (events/total, or log HR and SE), the weight, the effect with its CI as text."""


COMPACT_GAP = 0.6  # between columns of the single-column layout (em)


def compact(style: Style) -> Style:
    """The style for a single journal column: each arm's events and total in one "n/N"
    column (RevMan's four count columns become two) and the effect heading without the
    method (the model is stated under the plot)."""
    return replace(
        style,
        study_header="Study",
        split_counts=False,
        counts_group="",
        count_header="{arm}\nn/N",
        method_in_header=False,
    )


def _columns(
    result: AnalysisResult, style: Style, shown: tuple[str, ...] = COLUMNS
) -> tuple[tuple[Column, ...], tuple[Column, ...]]:
    spec = result.spec
    data: list[Column] = []
    if "counts" not in shown:
        pass
    elif not spec.counts:
        if style.split_counts:  # RevMan's generic inverse-variance columns
            data = [Column("log", "log[Hazard Ratio]"), Column("se", "SE")]
    else:
        for arm, label in zip(ARMS, spec.arm_labels, strict=True):
            if style.split_counts:
                data += [
                    Column(f"events_{arm}", "Events", group=label),
                    Column(f"total_{arm}", "Total", group=label),
                ]
            else:
                header = style.count_header.format(arm=label)
                data.append(Column(f"counts_{arm}", header, group=style.counts_group))
    end = {
        "weight": Column("weight", style.weight_header),
        "effect": Column(
            "effect", style.effect_header(spec.measure, spec.method, spec.level), "left"
        ),
    }
    end = {key: col for key, col in end.items() if key in shown}
    left = [Column("study", style.study_header, "left"), *data]
    left += [col for key, col in end.items() if key not in style.right]
    return tuple(left), tuple(end[key] for key in style.right if key in end)


def _per_arm(prefix: str, values: tuple) -> dict[str, str]:
    return {f"{prefix}_{arm}": str(value) for arm, value in zip(ARMS, values, strict=True)}


def _count_cells(style: Style, events: tuple[int, int], totals: tuple[int, int]) -> dict:
    """Events and totals per arm: RevMan's two columns each, or "events/total"."""
    if style.split_counts:
        return _per_arm("events", events) | _per_arm("total", totals)
    return _per_arm("counts", tuple(f"{e}/{n}" for e, n in zip(events, totals, strict=True)))


class _Builder:
    """Turns an analysis result into the rows of a forest plot."""

    def __init__(
        self,
        result: AnalysisResult,
        style: Style,
        rob: Mapping[str, StudyRiskOfBias] | None = None,
        shrinkage: bool = False,
    ):
        self.result = result
        self.style = style
        self.rob = rob
        self.shrinkage = shrinkage
        self.counts = result.spec.counts
        self.z = float(dist.norm_quantile(0.5 + result.spec.level / 2))
        estimable = [r.weight for r in result.overall.rows if r.estimable]
        self.max_weight = max(estimable, default=0.0) or 1.0
        notes = [r.note for r in result.overall.rows if r.note and r.estimable]
        self.marks = {
            note: NOTE_MARKS[i % len(NOTE_MARKS)] for i, note in enumerate(dict.fromkeys(notes))
        }

    def study(self, row: StudyRow, group: GroupResult) -> Row:
        e, d, style = row.effect, self.result.display, self.style
        mark = f"\u00a0{self.marks[row.note]}" if row.note in self.marks and row.estimable else ""
        cells = {"study": row.label + mark}
        if self.rob is not None:
            cells |= rob_cells(self.rob.get(row.study.study))
        if self.counts:
            cells |= _count_cells(style, (e.events_t, e.events_c), (e.n_t, e.n_c))
        elif style.split_counts and row.estimable:
            cells |= {"log": num(row.yi, 4), "se": num(math.sqrt(row.vi), 4)}
        if not row.estimable:
            return Row(cells | {"effect": "Not estimable"})
        half = self.z * math.sqrt(row.vi)
        lo, hi = row.yi - half, row.yi + half
        cells |= {"weight": style.weight(row.weight), "effect": style.ci(d(row.yi), d(lo), d(hi))}
        area = row.weight / self.max_weight
        shrunken = group.shrunken.get(row.effect.study) if self.shrinkage else None
        shrunken = tuple(d(x) for x in shrunken) if shrunken else None
        mark = Mark("square", d(row.yi), d(lo), d(hi), area, whole=False, shrunken=shrunken)
        return Row(cells, mark=mark)

    def pooled(self, group: GroupResult, total: bool) -> list[Row]:
        """The pooled row and the lines under it."""
        style, spec, d = self.style, self.result.spec, self.result.display
        fit = group.fit
        entry = methods.method(spec.method)
        cells = {"study": style.pooled_label(total, spec.level, entry.interval)}
        events = totals = ()
        if self.counts:
            events = tuple(sum(getattr(r.effect, f"events_{a}") for r in group.rows) for a in ARMS)
            totals = tuple(sum(getattr(r.effect, f"n_{a}") for r in group.rows) for a in ARMS)
            split = style.split_counts  # RevMan: totals here, events on their own row
            cells |= _per_arm("total", totals) if split else _count_cells(style, events, totals)
        if not group.estimable:
            return [Row(cells | {"effect": "Not estimable"}, bold=True)]
        cells |= {
            "weight": style.weight(group.total_weight),
            "effect": style.ci(d(fit.estimate), d(fit.ci_lb), d(fit.ci_ub)),
        }
        rows = [
            Row(
                cells,
                bold=True,
                mark=Mark(
                    "diamond",
                    d(fit.estimate),
                    d(fit.ci_lb),
                    d(fit.ci_ub),
                    whole=total or fit.k > 1,  # one study: that study's own interval
                ),
            )
        ]
        if self.counts and style.split_counts:
            rows.append(Row({"study": "Total events"} | _per_arm("events", events)))
        if group.prediction is not None:
            lo, hi = (d(x) for x in group.prediction)
            mark = Mark("interval", d(fit.estimate), lo, hi)
            label = "Prediction interval"
            if entry.family == methods.BAYES:
                label = "Predictive interval"
            elif spec.prediction_interval == "higgins":
                label += " (t, k−2 df)"
            rows.append(Row({"study": label, "effect": style.bounds(lo, hi)}, mark=mark))
        rows.append(Row(line=style.heterogeneity_line(fit, group.heterogeneity)))
        rows.append(Row(line=style.overall_line(fit, spec.measure, self.result.ratio)))
        return rows

    def heading(self, tag: str, first: bool) -> Row:
        """A subgroup's heading: its description from the vocabulary, else its tag."""
        text = self.result.descriptions.get(tag, tag)
        return Row(line=text, bold=True, space_before=0.0 if first else 0.35)

    def rows(self) -> list[Row]:
        result = self.result
        if not result.groups:
            tag = result.restricted_to
            heading = [self.heading(tag, True)] if tag else []
            studies = [self.study(r, result.overall) for r in result.overall.rows]
            return [*heading, *studies, *self.pooled(result.overall, True)]
        rows: list[Row] = []
        for i, group in enumerate(result.groups):
            rows.append(self.heading(group.name, i == 0))
            rows += [self.study(r, group) for r in group.rows]
            rows += self.pooled(group, total=False)
        total = self.pooled(result.overall, total=True)
        rows.append(Row(total[0].cells, bold=True, mark=total[0].mark, space_before=0.35))
        rows += total[1:]
        if result.difference is not None:
            line = self.style.subgroup_line(result.difference, result.not_compared)
            rows.append(Row(line=line))
        return rows

    def notes(self) -> list[str]:
        style, spec = self.style, self.result.spec
        notes = [f"{mark} {note}" for note, mark in self.marks.items()]
        fit = self.result.overall.fit
        if fit is not None:
            model = fit.model.replace("tau²", style.tau)
            if methods.method(spec.method).family == methods.BAYES:
                notes.append(f"Model: {model}; {fit.prior}; {spec.level:.0%} CrI: central.")
                if self.shrinkage:
                    notes.append(
                        "Grey, open circles: each study's shrunken estimate, the posterior "
                        f"median of its own effect with its {spec.level:.0%} CrI (Röver 2020)."
                    )
            else:
                ci = methods.ci_method(spec.test).description
                notes.append(f"Model: {model}; {spec.level:.0%} CI: {ci}.")
        reasons: dict[str, list[str]] = {}
        for x in self.result.excluded:
            reasons.setdefault(x.reason, []).append(x.study.label)
        notes += [f"Not included ({why}): {'; '.join(labels)}." for why, labels in reasons.items()]
        if self.result.groups and spec.caution:
            notes.append(f"Caution: {spec.caution}")
        if self.rob is not None:
            notes += self.rob_notes()
        return notes

    def rob_notes(self) -> list[str]:
        """The traffic lights' legend (the judgements shown), and studies without one."""
        rows = self.result.overall.rows
        shown = {j for r in rows for j in rob_cells(self.rob.get(r.study.study)).values()}
        notes = rob_legend([j for j in LOOKS if j in shown])
        missing = [r.label for r in rows if r.study.study not in self.rob]
        if missing:
            notes.append(f"No risk-of-bias assessment: {'; '.join(missing)}.")
        return notes


def _scale_values(rows: list[Row]) -> list[float]:
    """What the axis must hold: every point estimate, the total's interval and every
    pooled or prediction interval of more than one study. Study intervals, and the
    diamond of a subgroup of one study (that study's interval), may run past it."""
    values = []
    for row in rows:
        m = row.mark
        if m is not None:
            values += [m.est, m.lo, m.hi] if m.whole else [m.est]
    return values


def forest_panel(
    result: AnalysisResult,
    style: str | Style = "revman",
    columns: tuple[str, ...] = COLUMNS,
    gap: float = GAP,
    rob: Mapping[str, StudyRiskOfBias] | None = None,
    shrinkage: bool = False,
) -> Panel:
    """The rows, columns and axis of the forest plot of ``result`` (see :func:`forest_plot`)."""
    if not result.overall.rows:
        raise ValueError(f"analysis '{result.spec.name}' has no study to plot")
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown column {unknown[0]!r}; choose from {', '.join(COLUMNS)}")
    chosen = get_style(style) if isinstance(style, str) else style
    if shrinkage and not result.overall.shrunken:
        raise ValueError("shrunken estimates need the Bayesian model (--method bayes)")
    builder = _Builder(result, chosen, rob, shrinkage)
    rows = builder.rows()
    left, right = _columns(result, chosen, columns)
    if rob is not None:
        right = (*right, *rob_columns())
    spec = result.spec
    favours = tuple(chosen.spell(label) for label in spec.favours)
    notes = builder.notes()
    if "weight" not in columns:
        notes.insert(0, "Square areas are proportional to the studies' weights.")
    return Panel(
        left=left,
        right=right,
        rows=tuple(rows),
        scale=symmetric_scale(_scale_values(rows), result.ratio),
        graph_header=chosen.effect_header(spec.measure, spec.method, spec.level),
        favours=favours,
        notes=tuple(notes),
        gap=gap,
        dots=LOOKS if rob is not None else {},
    )


def forest_plot(
    result: AnalysisResult,
    settings: FigureSettings | None = None,
    columns: tuple[str, ...] | None = None,
    rob: Mapping[str, StudyRiskOfBias] | None = None,
    shrinkage: bool = False,
    **options,
) -> Figure:
    """Forest plot of ``result`` (from :func:`metaall.analysis.run_analysis`).

    ``settings`` (or keyword ``options`` of :class:`FigureSettings`): ``style``
    ``revman``, ``jama`` or ``bmj`` (see :mod:`metaall.figures.style`); ``width``
    ``single`` (85 mm), ``double`` (175 mm, the default) or mm; the height follows from the
    rows. Subgroups are headed by their vocabulary descriptions (``result.descriptions``,
    else the tag). Studies appear in the order of the result (the spec's ``order``:
    spec, year, weight or effect). ``rob`` (study -> ROBINS-I assessment, e.g.
    ``Extractions.risk_of_bias``) adds the traffic-light columns and their legend;
    without a chosen width the figure is then as wide as they need (at least double).
    ``shrinkage`` (Bayesian results) draws each study's shrunken estimate under its own,
    as R bayesmeta's forest plot does (Röver 2020, J Stat Softw 93(6), §2.5).

    ``columns`` chooses what stands beside the labels (:data:`COLUMNS`). Left open, the
    style's full layout is drawn where it fits; in a narrower figure (one journal column)
    each arm's counts merge into one "events/total" column and, if still needed, the
    weight column gives way (the squares' areas show the weights), and text at the
    default 7 pt gives way to 6 pt, the smallest most journals accept. ``ValueError``
    naming what would make it fit when even that does not.
    """
    look = figure_settings(settings, **options)
    chosen = look.journal
    if rob is not None and look.width is None:  # as wide as the traffic lights need
        panel = forest_panel(result, chosen, tuple(columns or COLUMNS), GAP, rob, shrinkage)
        need = math.ceil(ROOMY * minimum_width_mm(panel, look))
        look = figure_settings(look, width=max(WIDTHS_MM["double"], need))
    if columns is not None:
        attempts = [(chosen, tuple(columns), look)]
    else:
        small = [look]  # the default size gives way to the smallest journals accept
        if look.font_size == DEFAULT_FONT_SIZE:
            small.append(replace(look, font_size=SMALLEST_FONT_SIZE))
        attempts = [(chosen, COLUMNS, look), (compact(chosen), COLUMNS, look)]
        attempts += [(compact(chosen), ("counts", "effect"), size) for size in small]
    for style, shown, size in attempts:
        gap = GAP if style is chosen else COMPACT_GAP
        try:
            panel = forest_panel(result, style, shown, gap, rob, shrinkage)
            return draw_panel(panel, size, "double")
        except TooNarrow as exc:
            narrow = exc
    smallest = min(size.font_size for _, _, size in attempts)
    hints = [
        f"--font-size {SMALLEST_FONT_SIZE:g}" if smallest > SMALLEST_FONT_SIZE else "",
        "--columns effect",
        "a wider --width",
    ]
    raise ValueError(f"{narrow}; to fit, try {', '.join(h for h in hints if h)}")
