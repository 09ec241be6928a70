"""Methods and results text for a manuscript, written from the spec and the result.

``metaall methods ANALYSIS`` prints a methods paragraph (effect measure, model and
tau² estimator, CI method, zero-cell handling, heterogeneity statistics, prediction
interval, subgroup test, small-study tests, software) with a numbered reference for
each method, and one results sentence per pooled group with its numbers. Every word
comes from the same :class:`~metaall.analysis.AnalysisResult` the tables and figures
are drawn from, so the text cannot disagree with them.
"""

from __future__ import annotations

from metaall import methods
from metaall._version import __version__
from metaall.analysis import AnalysisResult, GroupResult
from metaall.formatting import fmt_num, fmt_p
from metaall.reports.records import proportion_rule
from metaall.reports.regression import regression_table

HETEROGENEITY = "Higgins & Thompson 2002, Stat Med 21:1539"
Q_PROFILE = "Viechtbauer 2007, Stat Med 26:37"
POSTERIOR_TAU = "Röver 2020, J Stat Softw 93(6)"
SUBGROUPS = "Borenstein & Higgins 2013, Prev Sci 14:134"
SMALL_STUDY = "Egger et al. 1997, BMJ 315:629; Begg & Mazumdar 1994, Biometrics 50:1088"
FEW_STUDIES = "Cochrane Handbook v6.4 §13.3.5.4"
ZERO_CELLS = "Cochrane Handbook v6.4 §10.4.4.2"
SOFTWARE = (
    "metaall (Python); numbers checked against R metafor 3.8-1 (Viechtbauer 2010, "
    "J Stat Softw 36(3))"
)
CORRECTION = {
    "only0": "to every cell of tables with a zero cell",
    "all": "to every cell of every table",
    "if0all": "to every cell of every table, as one table had a zero cell",
}


class _Citations:
    """Numbered references in order of first citation."""

    def __init__(self) -> None:
        self.sources: list[str] = []

    def __call__(self, source: str) -> str:
        if source not in self.sources:
            self.sources.append(source)
        return f"[{self.sources.index(source) + 1}]"


META_REGRESSION = "Thompson & Higgins 2002, Stat Med 21:1559; Viechtbauer 2010, J Stat Softw 36(3)"
PERMUTATION = "Higgins & Thompson 2004, Stat Med 23:1663"
MEDIANS = (
    "Luo et al. 2018, Stat Methods Med Res 27:1785; Wan et al. 2014, BMC Med Res Methodol "
    "14:135; Shi et al. 2020, Res Synth Methods 11:641"
)
BACK = {
    "PLN": "by exponentiation",
    "PLO": "by the inverse logit",
    "PAS": "by sin²",
    "PFT": "by Miller's inverse at the harmonic mean of the study sizes",
}


def _model_sentence(result: AnalysisResult, cite: _Citations) -> str:
    spec = result.spec
    measure = methods.measure(spec.measure)
    method = methods.method(spec.method)
    scale = f" on the {measure.scale} scale" if measure.scale != "identity" else ""
    noun = "Proportions" if measure.proportion else f"{measure.label.capitalize()}s"
    if measure.reference:
        noun += f" {cite(measure.reference)}"
    if method.family == methods.BAYES:
        prior = getattr(result.overall.fit, "prior", "") or "stated prior"
        return (
            f"{noun} ({measure.name}) were pooled{scale} in a Bayesian "
            f"random-effects (normal-normal) model {cite(method.reference)} with a "
            f"{prior.replace('; ', ' and a ')}; the posterior was computed by "
            "numerical integration, without sampling, and is summarised by its median and "
            f"central {spec.level:.0%} credible interval."
        )
    if method.family == methods.EXACT:
        return (
            f"{noun} ({measure.name}) were pooled with a "
            f"{method.label} {cite(method.reference)}, fitted by maximum likelihood; "
            f"{spec.level:.0%} confidence intervals are "
            + ("t-based with k-1 degrees of freedom." if spec.test == "knha" else "Wald intervals.")
        )
    if method.family == methods.COMMON:
        return (
            f"{noun} ({measure.name}) were pooled{scale} in a "
            f"common-effect model with {method.label} weights {cite(method.reference)}, "
            f"with {spec.level:.0%} Wald-type (z) confidence intervals."
        )
    estimator = f"{method.label} {cite(method.reference)}"
    test = methods.ci_method(spec.test)
    ci = (
        f"computed by the Hartung-Knapp-Sidik-Jonkman method {cite(test.reference)}"
        if test.name == "knha"
        else "Wald-type (z) intervals"
    )
    return (
        f"{noun} ({measure.name}) were pooled{scale} in a random-effects "
        f"model; the between-study variance tau² was estimated by {estimator}, and "
        f"{spec.level:.0%} confidence intervals were {ci}."
    )


def methods_paragraph(result: AnalysisResult, cite: _Citations | None = None) -> tuple[str, list]:
    """The methods paragraph of ``result`` and its numbered references."""
    cite = cite or _Citations()
    spec = result.spec
    method = methods.method(spec.method)
    parts = [_model_sentence(result, cite)]
    measure = methods.measure(spec.measure)
    if measure.proportion and measure.name in BACK:
        parts.append(f"Pooled proportions were back-transformed {BACK[measure.name]}.")
    if spec.single_arm and spec.zero_cells.add > 0 and spec.zero_cells.to != "none":
        rule = proportion_rule(spec.zero_cells.add, spec.zero_cells.to).replace(
            " added", " was added"
        )
        if method.tables:
            rule += (
                f" to compute the study proportions shown; the {method.name} used the raw counts"
            )
        parts.append(f"For proportions, {rule} {cite(ZERO_CELLS)}.")
    if spec.data_kind == methods.MEANS and any(
        r.effect.from_median(arm) for r in result.overall.rows for arm in ("t", "c")
    ):
        parts.append(
            "Means and standard deviations reported as medians with quartiles or ranges "
            f"were estimated {cite(MEDIANS)}."
        )
    if spec.counts:
        z = spec.zero_cells
        words = []
        if z.to != "none" and z.add > 0:
            use = "the per-study effects shown" if method.tables else "the per-study effects"
            words.append(f"{z.add:g} was added {CORRECTION[z.to]} to compute {use}")
        if z.drop00:
            words.append("tables with no events (or only events) in both arms were not estimable")
        if method.tables:
            words.append(f"the {method.label} model used the raw counts")
        if words:
            parts.append(f"For 2×2 tables, {'; '.join(words)} {cite(ZERO_CELLS)}.")
    heterogeneity = f"Heterogeneity was described by Cochran's Q, I² and H² {cite(HETEROGENEITY)}"
    if method.family == methods.BAYES:
        heterogeneity += (
            f", with the posterior median and credible interval of tau {cite(POSTERIOR_TAU)}"
        )
    elif method.tau2_estimator:  # the GLMMs have no Q-profile intervals
        heterogeneity += f", with Q-profile confidence intervals for tau² and I² {cite(Q_PROFILE)}"
    parts.append(heterogeneity + ".")
    if method.random_effects and spec.prediction_interval:
        if method.family == methods.BAYES:
            parts.append("A new study's effect is summarised by the posterior predictive interval.")
        else:
            entry = methods.PREDICTION_INTERVALS[spec.prediction_interval]
            parts.append(
                f"Prediction intervals were computed as {entry.label} {cite(entry.reference)}."
            )
    if spec.subgroup_by and result.groups:
        parts.append(
            f"Subgroups defined by {spec.subgroup_by} were pooled separately and compared with "
            f"the test for subgroup differences {cite(SUBGROUPS)}."
        )
    if result.regression is not None:
        sentence = (
            f"Study-level moderators ({result.regression.coding}) were examined by "
            f"meta-regression with the same model {cite(META_REGRESSION)}"
        )
        if spec.permutations is not None:
            sentence += (
                f" and tested by permutation ({spec.permutations} permutations, or all "
                f"distinct ones where fewer) {cite(PERMUTATION)}"
            )
        parts.append(sentence + ".")
    parts.append(
        f"Small-study effects were to be assessed with Egger's and Begg's tests "
        f"{cite(SMALL_STUDY)} only with at least 10 studies {cite(FEW_STUDIES)}."
    )
    parts.append(f"Analyses used metaall {__version__} {cite(SOFTWARE)}.")
    return " ".join(parts), cite.sources


def _effect(result: AnalysisResult, group: GroupResult) -> str:
    fit = group.fit
    interval = methods.method(fit.method).interval
    if result.proportion:
        est, lo, hi = (
            fmt_num(result.display(x, group), 1) for x in (fit.estimate, fit.ci_lb, fit.ci_ub)
        )
        return f"proportion {est}% ({result.spec.level:.0%} {interval} {lo}% to {hi}%)"
    d = result.display
    words = (
        f"{result.spec.measure} {fmt_num(d(fit.estimate))} "
        f"({result.spec.level:.0%} {interval} {fmt_num(d(fit.ci_lb))} to {fmt_num(d(fit.ci_ub))}"
    )
    if methods.method(fit.method).family == methods.BAYES:
        null = "1" if result.ratio else "0"
        below = fit.prob_mu_below(0.0)
        return words + f"; posterior probability of {result.spec.measure} < {null}: {below:.3f})"
    return words + f"; {fmt_p(fit.pval)})"


def results_sentence(result: AnalysisResult, group: GroupResult, name: str) -> str:
    """One sentence with the pooled numbers of ``group``."""
    if not group.estimable:
        return f"{name}: no pooled estimate could be computed."
    fit = group.fit
    arm_t, arm_c = result.spec.arm_labels
    counts = ""
    if result.spec.counts:
        events_t = sum(r.effect.events_t for r in group.rows)
        n_t = sum(r.effect.n_t for r in group.rows)
        events_c = sum(r.effect.events_c for r in group.rows)
        n_c = sum(r.effect.n_c for r in group.rows)
        counts = f" ({events_t}/{n_t} vs {events_c}/{n_c} with the outcome)"
    arms = f"{arm_t} vs {arm_c}"
    if result.spec.single_arm:
        events = sum(r.effect.events for r in group.rows)
        counts = f" ({events}/{sum(r.effect.n for r in group.rows)} with the outcome)"
        arms = arm_t
    sentence = (
        f"{name}: {int(fit.k)} {'study' if fit.k == 1 else 'studies'}{counts}, "
        f"{arms}, {_effect(result, group)}"
    )
    if fit.k > 1:
        sentence += f"; tau² {fmt_num(fit.tau2, 3)}, I² {fmt_num(fit.I2, 0)}%"
        if group.prediction is not None:
            lo, hi = (fmt_num(result.display(x, group), result.digits) for x in group.prediction)
            kind = (
                "predictive" if methods.method(fit.method).family == methods.BAYES else "prediction"
            )
            sentence += f", {kind} interval {lo} to {hi}"
    return sentence + "."


def regression_sentences(result: AnalysisResult) -> list[str]:
    """The meta-regression's result: each moderator coefficient and the omnibus test."""
    table = regression_table(result)
    if table is None:
        return []
    reg = result.regression
    if reg.fit is None:
        return [f"Meta-regression not fitted: {reg.problem}."]
    fit = reg.fit
    words = []
    for j, name in enumerate(fit.names[1:], start=1):
        words.append(
            f"{name} {fmt_num(fit.beta[j], 3)} ({fit.level:.0%} CI {fmt_num(fit.ci_lb[j], 3)} "
            f"to {fmt_num(fit.ci_ub[j], 3)}; {fmt_p(fit.pval[j])})"
        )
    return [
        f"Meta-regression ({int(fit.k)} studies; coefficients on the {result.measure.scale} "
        f"scale): {'; '.join(words)}. {table.notes[0]}. {table.notes[1]}."
    ]


def methods_text(result: AnalysisResult) -> str:
    """The methods paragraph, one results sentence per group and the references."""
    paragraph, sources = methods_paragraph(result)
    groups = [(g, f"{g.name}") for g in result.groups]
    label = "All studies" if result.groups else (result.restricted_to or "All studies")
    groups.append((result.overall, label))
    out = [f"Methods ({result.spec.title or result.spec.name})", "", paragraph, "", "Results", ""]
    out += [results_sentence(result, group, name) for group, name in groups]
    if result.difference is not None:
        d = result.difference
        out.append(f"Test for subgroup differences: Q = {d.Q:.2f}, df = {d.df}, {fmt_p(d.pval)}.")
    if result.spec.caution and result.groups:
        out.append(f"Caution: {result.spec.caution}")
    out += regression_sentences(result)
    out += ["", "References", ""]
    out += [f"{i}. {source}" for i, source in enumerate(sources, start=1)]
    return "\n".join(out) + "\n"
