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

from matplotlib.figure import Figure

from metaall import distributions as dist
from metaall.analysis import AnalysisResult, GroupResult, StudyRow
from metaall.data.model import StudyRiskOfBias
from metaall.figures.panel import Column, Mark, Panel, Row, draw_panel, minimum_width_mm
from metaall.figures.rob import LOOKS, rob_cells, rob_columns, rob_legend
from metaall.figures.scale import symmetric_scale
from metaall.figures.settings import WIDTHS_MM, FigureSettings, figure_settings
from metaall.figures.style import Style, get_style, num

NOTE_MARKS = "*†‡§¶"
ROOMY = 1.1  # a forest with traffic lights: this much wider than the least width
ARMS = ("t", "c")


def _columns(result: AnalysisResult, style: Style) -> tuple[tuple[Column, ...], tuple[Column, ...]]:
    spec = result.spec
    data: list[Column] = []
    if not spec.counts:
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
    left = [Column("study", style.study_header, "left"), *data]
    left += [col for key, col in end.items() if key not in style.right]
    return tuple(left), tuple(end[key] for key in style.right)


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
    ):
        self.result = result
        self.style = style
        self.rob = rob
        self.counts = result.spec.counts
        self.z = float(dist.norm_quantile(0.5 + result.spec.level / 2))
        estimable = [r.weight for r in result.overall.rows if r.estimable]
        self.max_weight = max(estimable, default=0.0) or 1.0
        notes = [r.note for r in result.overall.rows if r.note and r.estimable]
        self.marks = {
            note: NOTE_MARKS[i % len(NOTE_MARKS)] for i, note in enumerate(dict.fromkeys(notes))
        }

    def study(self, row: StudyRow) -> Row:
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
        return Row(cells, mark=Mark("square", d(row.yi), d(lo), d(hi), area, whole=False))

    def pooled(self, group: GroupResult, total: bool) -> list[Row]:
        """The pooled row and the lines under it."""
        style, spec, d = self.style, self.result.spec, self.result.display
        fit = group.fit
        cells = {"study": style.pooled_label(total, spec.level)}
        events = totals = ()
        if self.counts:
            events = tuple(sum(getattr(r.effect, f"events_{a}") for r in group.rows) for a in ARMS)
            totals = tuple(sum(getattr(r.effect, f"n_{a}") for r in group.rows) for a in ARMS)
            split = style.split_counts  # RevMan: totals here, events on their own row
            cells |= _per_arm("total", totals) if split else _count_cells(style, events, totals)
        if fit is None:
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
        if spec.prediction_interval and fit.k > 1 and math.isfinite(fit.pi_lb):
            lo, hi = d(fit.pi_lb), d(fit.pi_ub)
            mark = Mark("interval", d(fit.estimate), lo, hi)
            rows.append(
                Row({"study": "Prediction interval", "effect": style.bounds(lo, hi)}, mark=mark)
            )
        rows.append(Row(line=style.heterogeneity_line(fit)))
        rows.append(Row(line=style.overall_line(fit)))
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
            studies = [self.study(r) for r in result.overall.rows]
            return [*heading, *studies, *self.pooled(result.overall, True)]
        rows: list[Row] = []
        for i, group in enumerate(result.groups):
            rows.append(self.heading(group.name, i == 0))
            rows += [self.study(r) for r in group.rows]
            rows += self.pooled(group, total=False)
        total = self.pooled(result.overall, total=True)
        rows.append(Row(total[0].cells, bold=True, mark=total[0].mark, space_before=0.35))
        rows += total[1:]
        if result.difference is not None:
            rows.append(Row(line=self.style.subgroup_line(result.difference)))
        return rows

    def notes(self) -> list[str]:
        style, spec = self.style, self.result.spec
        notes = [f"{mark} {note}" for note, mark in self.marks.items()]
        fit = self.result.overall.fit
        if fit is not None:
            ci = "Hartung-Knapp (t)" if spec.test == "knha" else "Wald (z)"
            model = fit.model.replace("tau²", style.tau)
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
    style: str = "revman",
    rob: Mapping[str, StudyRiskOfBias] | None = None,
) -> Panel:
    """The rows, columns and axis of the forest plot of ``result`` (see :func:`forest_plot`)."""
    if not result.overall.rows:
        raise ValueError(f"analysis '{result.spec.name}' has no study to plot")
    chosen = get_style(style)
    builder = _Builder(result, chosen, rob)
    rows = builder.rows()
    left, right = _columns(result, chosen)
    if rob is not None:
        right = (*right, *rob_columns())
    spec = result.spec
    favours = tuple(chosen.spell(label) for label in spec.favours)
    return Panel(
        left=left,
        right=right,
        rows=tuple(rows),
        scale=symmetric_scale(_scale_values(rows), result.ratio),
        graph_header=chosen.effect_header(spec.measure, spec.method, spec.level),
        favours=favours,
        notes=tuple(builder.notes()),
        dots=LOOKS if rob is not None else {},
    )


def forest_plot(
    result: AnalysisResult,
    settings: FigureSettings | None = None,
    rob: Mapping[str, StudyRiskOfBias] | None = None,
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
    ``ValueError`` when the columns cannot fit the width.
    """
    look = figure_settings(settings, **options)
    panel = forest_panel(result, look.style, rob)
    if rob is not None and look.width is None:  # as wide as the traffic lights need
        need = math.ceil(ROOMY * minimum_width_mm(panel, look))
        look = figure_settings(look, width=max(WIDTHS_MM["double"], need))
    return draw_panel(panel, look, "double")
