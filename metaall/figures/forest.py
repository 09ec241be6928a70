"""Forest plot of an analysis result, in the layout of RevMan and R meta.

One row per study (events/total per arm; events/total of the single arm of a
proportion; mean, SD and total per arm; or the log ratio (or difference) and its SE;
weight; effect and CI as text and as a square sized by weight), per subgroup a
diamond with "Total events",
prediction interval, heterogeneity and test for overall effect, then the same for all
studies and the test for subgroup differences (the overall block is drawn only when
there are subgroups to compare; Cochrane Handbook v6.4 §10.11.3). Every number is the
one ``metaall pool`` prints (same result object, same formatting functions). With the
studies' risk-of-bias assessments, RevMan's traffic-light columns follow the graph
(ROBINS-I domains D1-D7 and overall; :mod:`metaall.figures.rob`). The spec's caution,
if any, is printed under a total that pools several subgroups.

Proportions (single-arm rates: R meta's ``forest.metaprop`` layout) are shown
back-transformed on a linear axis from 0 to 100%, with the pooled proportion and its
CI, a dashed line at the overall pooled proportion, no line of no effect, no
"favours" labels and no test for an overall effect; the note under the plot names the
transformation they were pooled on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from matplotlib.figure import Figure

from metaall import distributions as dist
from metaall import methods
from metaall.analysis import AnalysisResult, GroupResult, StudyRow
from metaall.analysis.means import arm_means
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
from metaall.figures.scale import percent_scale, symmetric_scale
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


def effect_header(result: AnalysisResult, style: Style) -> str:
    """The effect column's heading: the measure and method; for proportions
    "Proportion (%)" (the transformation is named in the notes)."""
    spec = result.spec
    header = style.effect_header(spec.measure, spec.method, spec.level)
    if result.proportion:
        return "Proportion (%)\n" + header.partition("\n")[2]
    return header


def _arms(result: AnalysisResult) -> tuple[str, ...]:
    """The arms with data columns: t and c, or t alone for a single-arm proportion."""
    return ARMS[:1] if result.proportion else ARMS


def _mean_columns(result: AnalysisResult, style: Style) -> list[Column]:
    """RevMan's Mean, SD and Total per arm, or one "mean (SD) N" column per arm."""
    data = []
    for arm, label in zip(ARMS, result.spec.arm_labels, strict=True):
        if style.split_counts:
            data += [
                Column(f"mean_{arm}", "Mean", group=label),
                Column(f"sd_{arm}", "SD", group=label),
                Column(f"total_{arm}", "Total", group=label),
            ]
        else:
            data.append(Column(f"means_{arm}", f"{label}\nMean (SD) N", group=style.counts_group))
    return data


def _columns(
    result: AnalysisResult, style: Style, shown: tuple[str, ...] = COLUMNS
) -> tuple[tuple[Column, ...], tuple[Column, ...]]:
    spec = result.spec
    data: list[Column] = []
    measure = result.measure
    if "counts" not in shown:
        pass
    elif spec.data_kind == methods.MEANS:
        data = _mean_columns(result, style)
    elif not spec.counts and not spec.single_arm:
        if style.split_counts:  # RevMan's generic inverse-variance columns
            name = f"log[{measure.title}]" if measure.log_scale else measure.title
            data = [Column("log", name), Column("se", "SE")]
    else:
        for arm, label in zip(_arms(result), spec.arm_labels, strict=False):
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
        "effect": Column("effect", effect_header(result, style), "left"),
    }
    end = {key: col for key, col in end.items() if key in shown}
    left = [Column("study", style.study_header, "left"), *data]
    left += [col for key, col in end.items() if key not in style.right]
    return tuple(left), tuple(end[key] for key in style.right if key in end)


def _per_arm(prefix: str, values: tuple) -> dict[str, str]:
    arms = ARMS[: len(values)]  # one value: the single arm of a proportion
    return {f"{prefix}_{arm}": str(value) for arm, value in zip(arms, values, strict=True)}


def _count_cells(style: Style, events: tuple[int, ...], totals: tuple[int, ...]) -> dict:
    """Events and totals per arm: RevMan's two columns each, or "events/total"."""
    if style.split_counts:
        return _per_arm("events", events) | _per_arm("total", totals)
    return _per_arm("counts", tuple(f"{e}/{n}" for e, n in zip(events, totals, strict=True)))


def _mean_cells(style: Style, row: StudyRow) -> dict:
    """Mean, SD and total per arm (derived ones from the median as pooled)."""
    cells = {}
    for arm in ARMS:
        a = arm_means(row.effect, arm)
        mean, sd = f"{a.mean:.4g}", f"{a.sd:.4g}"
        if style.split_counts:
            cells |= {f"mean_{arm}": mean, f"sd_{arm}": sd, f"total_{arm}": str(a.n)}
        else:
            cells[f"means_{arm}"] = f"{mean} ({sd}) {a.n}"
    return cells


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
        self.counts = result.spec.counts or result.spec.single_arm
        self.kind = result.spec.data_kind
        self.arms = _arms(result)
        self.z = dist.z_critical(result.spec.level)
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
        if self.kind == methods.PROPORTIONS:
            cells |= _count_cells(style, (e.events,), (e.n,))
        elif self.counts:
            cells |= _count_cells(style, (e.events_t, e.events_c), (e.n_t, e.n_c))
        elif self.kind == methods.MEANS:
            cells |= _mean_cells(style, row)
        elif style.split_counts and row.estimable:
            cells |= {"log": num(row.yi, 4), "se": num(math.sqrt(row.vi), 4)}
        if not row.estimable:
            return Row(cells | {"effect": "Not estimable"})
        half = self.z * math.sqrt(row.vi)
        est, lo, hi = (d(x, row) for x in (row.yi, row.yi - half, row.yi + half))
        cells |= {"weight": style.weight(row.weight), "effect": self.ci(est, lo, hi)}
        area = row.weight / self.max_weight
        shrunken = group.shrunken.get(row.effect.study) if self.shrinkage else None
        shrunken = tuple(d(x, row) for x in shrunken) if shrunken else None
        mark = Mark("square", est, lo, hi, area, whole=False, shrunken=shrunken)
        return Row(cells, mark=mark)

    def totals(self, group: GroupResult) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Events and patients per arm of a group (the single arm of proportions)."""
        effects = [r.effect for r in group.rows]
        if self.kind == methods.PROPORTIONS:
            return (sum(e.events for e in effects),), (sum(e.n for e in effects),)
        events = tuple(sum(getattr(e, f"events_{a}") for e in effects) for a in ARMS)
        return events, tuple(sum(getattr(e, f"n_{a}") for e in effects) for a in ARMS)

    def ci(self, est: float, lo: float, hi: float) -> str:
        """An effect and its interval in the style; proportions in percent, 1 decimal."""
        if self.result.proportion:
            text = self.style.interval.format(lo=num(lo, 1), hi=num(hi, 1))
            return f"{num(est, 1)} {text}"
        return self.style.ci(est, lo, hi)

    def pooled(self, group: GroupResult, total: bool) -> list[Row]:
        """The pooled row and the lines under it."""
        style, spec, d = self.style, self.result.spec, self.result.display
        fit = group.fit
        entry = methods.method(spec.method)
        cells = {"study": style.pooled_label(total, spec.level, entry.interval)}
        events = totals = ()
        if self.counts:
            events, totals = self.totals(group)
            split = style.split_counts  # RevMan: totals here, events on their own row
            cells |= _per_arm("total", totals) if split else _count_cells(style, events, totals)
        elif self.kind == methods.MEANS:
            totals = tuple(sum(getattr(r.effect, f"n_{a}") for r in group.rows) for a in ARMS)
            keys = ("total", totals) if style.split_counts else ("means", totals)
            cells |= _per_arm(*keys)
        if not group.estimable:
            return [Row(cells | {"effect": "Not estimable"}, bold=True)]
        est, lo, hi = (d(x, group) for x in (fit.estimate, fit.ci_lb, fit.ci_ub))
        cells |= {"weight": style.weight(group.total_weight), "effect": self.ci(est, lo, hi)}
        whole = total or fit.k > 1  # one study: that study's own interval
        rows = [Row(cells, bold=True, mark=Mark("diamond", est, lo, hi, whole=whole))]
        if self.counts and style.split_counts:
            rows.append(Row({"study": "Total events"} | _per_arm("events", events)))
        if group.prediction is not None:
            lo, hi = (d(x, group) for x in group.prediction)
            mark = Mark("interval", est, lo, hi)
            label = "Prediction interval"
            if entry.family == methods.BAYES:
                label = "Predictive interval"
            elif spec.prediction_interval == "higgins":
                label += " (t, k−2 df)"
            digits = self.result.digits
            bounds = style.interval.format(lo=num(lo, digits), hi=num(hi, digits))
            rows.append(Row({"study": label, "effect": bounds}, mark=mark))
        rows.append(Row(line=style.heterogeneity_line(fit, group.heterogeneity)))
        if not self.result.proportion:  # a single-arm rate has no effect to test
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
        if self.result.proportion:
            notes.append(proportion_note(self.result))
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


BACK_TRANSFORMS = {
    "PR": "pooled as they are",
    "PLN": "pooled as log proportions and back-transformed by exp",
    "PLO": "pooled as logits and back-transformed by the inverse logit",
    "PAS": "pooled as arcsine square roots and back-transformed by sin²",
    "PFT": "pooled as Freeman-Tukey double arcsines and back-transformed by Miller's "
    "inverse at the harmonic mean of the study sizes (each study at its own size)",
}


def proportion_note(result: AnalysisResult) -> str:
    """How the proportions were pooled and back-transformed, and the dashed line."""
    return (
        f"Proportions (%) {BACK_TRANSFORMS[result.measure.name]}; dashed line: the "
        "pooled proportion of all studies."
    )


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
    scale = symmetric_scale(_scale_values(rows), result.ratio)
    reference = None
    if result.proportion:
        scale, favours = percent_scale(), None
        if result.overall.estimable:
            reference = result.display(result.overall.fit.estimate, result.overall)
    return Panel(
        left=left,
        right=right,
        rows=tuple(rows),
        scale=scale,
        graph_header=effect_header(result, chosen),
        favours=favours,
        notes=tuple(notes),
        gap=gap,
        dots=LOOKS if rob is not None else {},
        reference=reference,
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
        if result.spec.data_kind == methods.MEANS:  # two "mean (SD) N" columns are wide
            attempts += [(compact(chosen), ("effect",), size) for size in small]
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
