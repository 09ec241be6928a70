"""GRADE certainty of the evidence for one pooled result: five domains, each suggested
from the data where the data can speak and overridden by the reviewer's judgement.

Certainty starts high (GRADE with ROBINS-I, whose judgements already carry the
weaknesses of non-randomised studies: Schünemann et al. 2019, J Clin Epidemiol
111:105) and is rated down one level for a serious and two for a very serious concern
(Guyatt et al. 2011, J Clin Epidemiol 64:383, the GRADE series):

* risk of bias: from the ROBINS-I overall judgements of the pooled studies, weighted by
  their weight in the analysis: the judgement holding most of the weight; moderate →
  serious (−1), serious or critical → very serious (−2), as Schünemann et al. 2019
  map ROBINS-I onto GRADE (critical: such studies should not be pooled at all);
* inconsistency (Guyatt et al. 2011, JCE 64:1294): serious when I² > 50% or when the
  prediction interval crosses no effect while the confidence interval does not;
* imprecision (Guyatt et al. 2011, JCE 64:1283): one level when the participants pooled
  fall short of the optimal information size (a 25% relative risk reduction at the
  pooled control risk, α 0.05, power 80%: :func:`metaall.sequential.required_information_size`),
  one when the confidence interval crosses no effect; two when both;
* publication bias (Guyatt et al. 2011, JCE 64:1277): with 10 or more studies, serious
  when Egger's test gives p < 0.10; with fewer it cannot be assessed (Cochrane Handbook
  v6.4 §13.3.5.4) and is not rated down;
* indirectness: the reviewer's judgement only (the data cannot tell).

A judgement given by the reviewer (``grade.yaml``) replaces the suggestion; the
footnote then gives the reviewer's reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from metaall.analysis.result import AnalysisResult, GroupResult
from metaall.data.grade import GRADE_DOMAINS, GRADE_LEVELS

DOMAINS = GRADE_DOMAINS
LEVELS = GRADE_LEVELS
CERTAINTY = ("very low", "low", "moderate", "high")
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
ROBINS_TO_GRADE = {
    "low": "not serious",
    "moderate": "serious",
    "serious": "very serious",
    "critical": "very serious",
}
OIS_RRR = 0.25  # GRADE's default relative risk reduction for the optimal information size


@dataclass(frozen=True)
class Rating:
    """One domain: the level (not serious, serious, very serious), why, and whether the
    reviewer set it (else it was suggested from the data)."""

    domain: str
    level: str
    reason: str
    by_reviewer: bool = False


@dataclass(frozen=True)
class Certainty:
    """The five domains and the resulting certainty (high to very low)."""

    ratings: tuple[Rating, ...]

    @property
    def level(self) -> str:
        down = sum(LEVELS.index(r.level) for r in self.ratings)
        return CERTAINTY[max(0, len(CERTAINTY) - 1 - down)]

    @property
    def symbols(self) -> str:
        return SYMBOLS[self.level]


def _weighted_judgement(result: AnalysisResult, group: GroupResult, assessments) -> Rating:
    weights: dict[str, float] = {}
    missing = []
    for row in group.rows:
        if not row.estimable:
            continue
        assessment = assessments.get(row.effect.study)
        if assessment is None:
            missing.append(row.label)
            continue
        judgement = assessment.overall
        weights[judgement] = weights.get(judgement, 0.0) + row.weight
    if not weights:
        return Rating("risk_of_bias", "not serious", "no risk-of-bias assessment: not rated")
    severity = list(ROBINS_TO_GRADE)  # a tie in weight goes to the more severe judgement
    judgement = max(weights, key=lambda j: (weights[j], severity.index(j) if j in severity else 0))
    share = 100 * weights[judgement] / sum(weights.values())
    reason = f"ROBINS-I overall '{judgement}' for studies carrying {share:.0f}% of the weight"
    if missing:
        reason += f"; not assessed: {', '.join(missing)}"
    return Rating("risk_of_bias", ROBINS_TO_GRADE.get(judgement, "serious"), reason)


def _inconsistency(result: AnalysisResult, group: GroupResult) -> Rating:
    fit = group.fit
    if fit.k < 2:
        return Rating("inconsistency", "not serious", "one study: not assessable")
    null = 0.0
    pi = group.prediction
    ci_excludes = fit.ci_lb > null or fit.ci_ub < null
    pi_crosses = pi is not None and pi[0] < null < pi[1]
    if fit.I2 > 50 or (ci_excludes and pi_crosses):
        why = f"I² = {fit.I2:.0f}%" + (
            "; prediction interval crosses no effect" if pi_crosses else ""
        )
        return Rating("inconsistency", "serious", why)
    return Rating("inconsistency", "not serious", f"I² = {fit.I2:.0f}%")


def _imprecision(result: AnalysisResult, group: GroupResult) -> Rating:
    fit = group.fit
    crosses = fit.ci_lb < 0 < fit.ci_ub
    reasons = []
    short = False
    rows = [r for r in group.rows if r.estimable]
    if result.spec.counts and group.absolute:
        from metaall.sequential import required_information_size

        participants = sum(r.effect.n_t + r.effect.n_c for r in rows)
        control = group.absolute[0].control_risk
        ois = required_information_size(control, rrr=OIS_RRR).participants
        short = participants < ois
        reasons.append(
            f"{participants} participants against an optimal information size of {ois} "
            f"(RRR {OIS_RRR:.0%}, control risk {control:.0%}, α 0.05, power 80%)"
        )
    else:
        reasons.append("optimal information size not computable (no participant counts)")
    if crosses:
        reasons.append("the confidence interval crosses no effect")
    level = LEVELS[min(2, short + crosses)]
    return Rating("imprecision", level, "; ".join(reasons))


def _publication_bias(result: AnalysisResult, group: GroupResult) -> Rating:
    k = int(group.fit.k)
    if k < 10:
        return Rating(
            "publication_bias",
            "not serious",
            f"not assessable with {k} studies (funnel tests need 10); undetected",
        )
    from metaall.analysis.bias import small_study_tests

    egger = small_study_tests(result).egger
    if egger is not None and egger.pval < 0.10:
        return Rating("publication_bias", "serious", f"Egger's test p = {egger.pval:.3f}")
    return Rating("publication_bias", "not serious", "no small-study effect detected")


def certainty(
    result: AnalysisResult,
    assessments: Mapping,
    judgements: Mapping[str, Mapping] | None = None,
    group: GroupResult | None = None,
) -> Certainty:
    """The GRADE certainty of ``group`` (default: the whole result). ``assessments``:
    study -> ROBINS-I assessment; ``judgements``: domain -> {"level", "reason"} set by the
    reviewer (they replace the suggestions)."""
    group = group or result.overall
    if not group.estimable:
        raise ValueError(f"analysis '{result.spec.name}' has no pooled estimate to rate")
    suggested = {
        "risk_of_bias": _weighted_judgement(result, group, assessments),
        "inconsistency": _inconsistency(result, group),
        "indirectness": Rating("indirectness", "not serious", "not rated by the reviewer"),
        "imprecision": _imprecision(result, group),
        "publication_bias": _publication_bias(result, group),
    }
    for domain, given in (judgements or {}).items():
        suggested[domain] = Rating(domain, given["level"], given.get("reason", ""), True)
    return Certainty(tuple(suggested[d] for d in DOMAINS))
