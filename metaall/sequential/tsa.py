"""Trial sequential analysis (TSA) of a chronological series of trials: is the
evidence of a cumulative meta-analysis firm, futile, or how many more participants
does it need? (Wetterslev, Thorlund, Brok & Gluud 2008, J Clin Epidemiol 61:64;
Thorlund et al. 2011, *User manual for TSA*, Copenhagen Trial Unit; Wetterslev,
Jakobsen & Gluud 2017, BMC Med Res Methodol 17:39; R's RTSA.)

1. The cumulative meta-analysis after each trial (:mod:`metaall.sequential.cumulative`)
   gives the cumulative z and the accrued participants nⱼ.
2. The required information size (RIS) is given, or computed by
   :func:`required_information_size` from the anticipated effect, with the control
   risk defaulting to the pooled control-arm risk Σcᵢ/Σn2ᵢ and, for random-effects
   models, adjusted by the diversity D² of the final meta-analysis (the TSA program's
   DARIS; ``adjust='I2'`` uses I² = (Q - df)/Q, ``'none'`` nothing).
3. Information fractions tⱼ = nⱼ/RIS. A trial is a look when it adds more than 1% of
   the RIS (RTSA's rule: it compares each trial with the one before it, so several
   small trials in a row make no look).
   The first trial reaching the RIS is the final look at t = 1 (a previous look within
   1% of the RIS is dropped); later trials are not monitored (as RTSA's analysis).
   Without power adjustment (the TSA program's choice) the information at t = 1 is the
   RIS itself (the boundaries' ``inflation`` is 1). With ``power_adjusted`` (RTSA's
   default) the RIS is multiplied by the inflation R of the sequential design at those
   looks (the information at which it has power 1 - β, or at which its futility and
   monitoring boundaries meet), the fractions become nⱼ/(R·RIS), and the 1% rule still
   counts in units of the unadjusted RIS, as in RTSA.
4. Lan-DeMets α-spending boundaries at the looks (final look at t = 1 added when the RIS
   is not reached) by :func:`sequential_boundaries`, with optional β-spending futility
   boundaries.
5. The first look (in time) whose z lies beyond a monitoring boundary decides: benefit
   or harm by the direction (``benefit='lower'``, the default, for adverse outcomes
   such as mortality: effects below the null, RR < 1 or a negative difference, favour
   the intervention); inside the futility wedge (or, one-sided, beyond the futility
   boundary): futility. Reaching the RIS without crossing is also futility: an effect as
   large as anticipated is then unlikely. Otherwise the result is inconclusive and
   RIS - n participants are still needed.
6. The TSA-adjusted confidence interval at each look is estimate ± bₖ·se with bₖ the
   α boundary at that look (RTSA's ``TSAadjCI``); ``adjusted_ci`` is the one at the
   last look.

One-sided tests (``side=1``) test benefit only: the boundaries are placed in the
direction of benefit (e.g. ``lower`` when ``benefit='lower'``) and the futility
boundary on the other side of it. Boundaries are on the z scale of the data:
``upper`` is crossed by z > upper, ``lower`` by z < lower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from metaall.sequential.boundaries import Boundaries, check_side, sequential_boundaries
from metaall.sequential.cumulative import Cumulative, cumulative
from metaall.sequential.information import (
    InformationSize,
    diversity,
    required_information_size,
)

MIN_STEP = 0.01  # a look's trial must add more than 1% of the RIS
ADJUSTMENTS = ("D2", "I2", "none")
RATIO_MEASURES = ("RR", "OR", "HR", "PETO")


@dataclass(frozen=True)
class TSAResult:
    """Trial sequential analysis (module docstring); per-trial arrays in trial order.

    Per trial: ``participants``, ``included`` (pooled), ``accrued`` participants,
    ``timing`` (accrued/RIS), the cumulative ``estimate`` (analysis scale: log for
    ratios), ``se``, ``zval``, ``ci_lb``/``ci_ub``; ``look`` (1, 2, ... or 0 when the
    trial is not a look), and at looks the boundaries ``upper``, ``lower``,
    ``futility_upper``, ``futility_lower``, the cumulative ``alpha_spent`` per side and
    the TSA-adjusted interval ``adjusted_ci_lb``/``adjusted_ci_ub`` (NaN elsewhere);
    ``status`` in words. ``boundaries`` holds every look including an added final look
    at the RIS. ``conclusion`` is ``'benefit'``, ``'harm'``, ``'futility'`` or
    ``'inconclusive'``, ``decided_at`` the index of the deciding trial, ``verdict``
    the sentence; ``more_participants`` = RIS - accrued (0 once reached). ``ris`` is
    the information size the fractions refer to: the RIS times ``inflation`` (1 unless
    power adjusted); ``information_size`` the RIS computed here (None when given).
    """

    studies: tuple[str, ...]
    participants: np.ndarray
    included: np.ndarray
    accrued: np.ndarray
    timing: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    look: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    futility_upper: np.ndarray
    futility_lower: np.ndarray
    alpha_spent: np.ndarray
    adjusted_ci_lb: np.ndarray
    adjusted_ci_ub: np.ndarray
    status: tuple[str, ...]
    boundaries: Boundaries
    ris: int
    information_size: InformationSize | None
    inflation: float
    diversity: float
    inconsistency: float
    reached: bool
    conclusion: str
    decided_at: int | None
    verdict: str
    more_participants: int
    adjusted_ci: tuple[float, float]
    measure: str
    method: str
    level: float
    alpha: float
    beta: float | None
    side: int
    spending: str
    futility: str | None
    benefit: str
    notes: tuple[str, ...] = field(default=())

    @property
    def log_scale(self) -> bool:
        """True when estimates are logs of ratios (exponentiate to report them)."""
        return self.measure.upper() in RATIO_MEASURES

    def boundary_curve(self) -> dict[str, np.ndarray]:
        """The boundaries at every look, final look at the RIS included, on the data's z
        scale (for a TSA figure): ``participants`` (x), ``upper``, ``lower``,
        ``futility_upper``, ``futility_lower`` (NaN where none) and ``capped``."""
        curve = _oriented(self.boundaries, self.benefit)
        return {
            "participants": self.boundaries.timing * self.ris,
            **curve,
            "capped": self.boundaries.capped,
        }

    def rows(self) -> list[dict]:
        """One record per trial, in chronological order."""
        out = []
        for j, name in enumerate(self.studies):
            out.append(
                {
                    "trial": name,
                    "participants": float(self.participants[j]),
                    "included": bool(self.included[j]),
                    "accrued": float(self.accrued[j]),
                    "timing": float(self.timing[j]),
                    "estimate": float(self.estimate[j]),
                    "se": float(self.se[j]),
                    "zval": float(self.zval[j]),
                    "ci_lb": float(self.ci_lb[j]),
                    "ci_ub": float(self.ci_ub[j]),
                    "look": int(self.look[j]),
                    "upper": float(self.upper[j]),
                    "lower": float(self.lower[j]),
                    "futility_upper": float(self.futility_upper[j]),
                    "futility_lower": float(self.futility_lower[j]),
                    "alpha_spent": float(self.alpha_spent[j]),
                    "adjusted_ci_lb": float(self.adjusted_ci_lb[j]),
                    "adjusted_ci_ub": float(self.adjusted_ci_ub[j]),
                    "status": self.status[j],
                }
            )
        return out


def _check_ris(ris) -> tuple[int, InformationSize | None]:
    if isinstance(ris, InformationSize):
        return ris.participants, ris
    value = float(ris)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"ris must be a positive number of participants, got {ris}")
    return int(np.ceil(value)), None


def _heterogeneity(cum: Cumulative, method: str) -> tuple[float, float]:
    """Diversity D² (with the final τ², DerSimonian-Laird for common-effect models) and
    inconsistency I² = max(0, (Q - df)/Q) of the final meta-analysis, as fractions."""
    y, v = cum.yi[cum.included], cum.vi[cum.included]
    last = np.flatnonzero(cum.included)[-1]
    random = method not in ("FE", "MH")
    d2 = diversity(y, v, cum.tau2[last] if random else None) if y.size > 1 else 0.0
    q, df = cum.Q[last], cum.Q_df[last]
    i2 = float(max(0.0, (q - df) / q)) if df > 0 and q > 0 else 0.0
    return d2, i2


def _required(cum, adjust, alpha, beta, side, effect, d2, i2) -> InformationSize:
    effect = {k: v for k, v in effect.items() if v is not None}
    binary = any(k in effect for k in ("rr", "rrr", "odds_ratio"))
    if binary and effect.get("control_risk") is None:
        if cum.control_risk is None:
            raise ValueError("give control_risk (no 2×2 counts to estimate it from)")
        effect["control_risk"] = cum.control_risk
    het = {"D2": {"d2": d2}, "I2": {"i2": i2}, "none": {}}[adjust]
    return required_information_size(alpha=alpha, beta=beta, side=side, **het, **effect)


def _looks(
    cum: Cumulative, ris: float, min_step: float = MIN_STEP
) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
    """Look number per trial (0: none), the looks' fractions of ``ris``, statuses, and
    whether ``ris`` is reached.

    RTSA's rule: a pooled trial is a look when the information so far exceeds
    ``min_step`` and the trial itself adds more than that (the first trial past it
    always does).
    """
    k = cum.participants.size
    status = [""] * k
    timing: list[float] = []
    owners: list[int] = []
    reached = False
    previous = 0.0
    for j in range(k):
        t = cum.accrued[j] / ris
        if not cum.included[j]:
            status[j] = "not pooled (no events, or only events, in both arms)"
            continue
        step, previous = t - previous, t
        if reached:
            status[j] = "after the required information size: not monitored"
        elif t >= 1:
            if timing and 1 - timing[-1] <= min_step:
                status[owners[-1]] = "within 1% of the required information size: not a look"
                timing.pop()
                owners.pop()
            timing.append(1.0)
            owners.append(j)
            reached = True
            status[j] = "reaches the required information size: final look"
        elif t > min_step and (step > min_step or not timing):
            timing.append(float(t))
            owners.append(j)
            status[j] = "look"
        else:
            status[j] = "adds 1% of the required information size or less: not a look"
    look = np.zeros(k, dtype=int)
    look[owners] = np.arange(1, len(owners) + 1)
    return look, np.asarray(timing), status, reached


def _crossing(z: float, k: int, b: Boundaries, benefit: str) -> str | None:
    """Which boundary z crosses at look k (data orientation): a conclusion or None."""
    up, lo = b.upper[k], b.lower[k]
    if b.side == 2:
        if z > up:
            return "benefit" if benefit == "higher" else "harm"
        if z < lo:
            return "benefit" if benefit == "lower" else "harm"
        fu, fl = b.futility_upper[k], b.futility_lower[k]
        if np.isfinite(fu) and fl < z < fu:
            return "futility"
        return None
    zb = z if benefit == "higher" else -z
    if zb > up:
        return "benefit"
    if np.isfinite(b.futility_lower[k]) and zb < b.futility_lower[k]:
        return "futility"
    return None


def _oriented(b: Boundaries, benefit: str) -> dict[str, np.ndarray]:
    """Boundaries on the data's z scale (one-sided tests point towards benefit)."""
    if b.side == 2 or benefit == "higher":
        return {
            "upper": b.upper,
            "lower": b.lower,
            "futility_upper": b.futility_upper,
            "futility_lower": b.futility_lower,
        }
    return {
        "upper": -b.lower,
        "lower": -b.upper,
        "futility_upper": -b.futility_lower,
        "futility_lower": -b.futility_upper,
    }


def _count(n: float) -> str:
    return f"{round(n):,}"


def _verdict(conclusion, decided, reached, last, names, more, total, accrued) -> tuple:
    """(conclusion, deciding trial, the verdict in words)."""
    if decided is None and reached:
        return (
            "futility",
            last,
            (
                f"futile (required information size reached at {names[last]} without "
                "crossing the monitoring boundary: an effect as large as anticipated is unlikely)"
            ),
        )
    if conclusion in ("benefit", "harm"):
        return (
            conclusion,
            decided,
            (f"firm evidence of {conclusion} (monitoring boundary crossed at {names[decided]})"),
        )
    if conclusion == "futility":
        return conclusion, decided, f"futile (futility boundary crossed at {names[decided]})"
    return (
        conclusion,
        decided,
        (
            f"inconclusive: {_count(more)} more participants needed (required information "
            f"size {_count(total)}, {_count(accrued)} accrued)"
        ),
    )


def trial_sequential_analysis(
    ai=None,
    n1i=None,
    ci=None,
    n2i=None,
    *,
    yi=None,
    vi=None,
    ni=None,
    measure: str = "RR",
    ris: int | InformationSize | None = None,
    control_risk: float | None = None,
    rr: float | None = None,
    rrr: float | None = None,
    odds_ratio: float | None = None,
    mean_difference: float | None = None,
    sd: float | None = None,
    adjust: str | None = None,
    method: str = "DL",
    alpha: float = 0.05,
    beta: float = 0.2,
    side: int = 2,
    spending: str = "obrien-fleming",
    futility: str | None = None,
    power_adjusted: bool = False,
    benefit: str = "lower",
    level: float = 0.95,
    studies: Sequence[str] | None = None,
    grid: int | None = None,
) -> TSAResult:
    """Trial sequential analysis of trials in chronological order (module docstring).

    Data: 2×2 counts ``ai``/``n1i`` (intervention events/participants) and
    ``ci``/``n2i`` (control), ``measure`` RR, OR or RD; or effects ``yi`` with
    variances ``vi`` and participants ``ni`` (``measure`` only labels them). The RIS is
    ``ris`` (participants or an :class:`InformationSize`) or computed from the
    anticipated effect (``rr``/``rrr``/``odds_ratio`` with ``control_risk``, or
    ``mean_difference`` with ``sd``) and ``adjust`` (``'D2'``, ``'I2'``, ``'none'``;
    default D² for random-effects ``method``, none for ``FE``/``MH``). ``method``: ``FE``,
    ``MH`` (counts) or a τ² estimator (random effects, Wald z). ``futility``: β-spending
    function of the futility boundaries (None: none). ``power_adjusted``: enlarge the
    RIS by the sequential design's inflation (RTSA's default ``power_adj``; the TSA
    program does not). ``benefit``: ``'lower'`` or ``'higher'``, the direction of
    effects that favour the intervention.
    """
    side = check_side(side)
    if benefit not in ("lower", "higher"):
        raise ValueError(f"benefit must be 'lower' or 'higher', got {benefit!r}")
    random = method not in ("FE", "MH")
    if adjust is None:
        adjust = "D2" if random else "none"
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"adjust must be 'D2', 'I2' or 'none', got {adjust!r}")
    names = dict(yi=yi, vi=vi, ni=ni, measure=measure, method=method, level=level)
    cum = cumulative(ai, n1i, ci, n2i, **names, studies=studies)
    effect = dict(
        control_risk=control_risk,
        rr=rr,
        rrr=rrr,
        odds_ratio=odds_ratio,
        mean_difference=mean_difference,
        sd=sd,
    )
    d2, i2 = _heterogeneity(cum, method)
    if ris is not None:
        given = [k for k, v in effect.items() if v is not None]
        if given:
            raise ValueError(f"give either ris or the anticipated effect, not both ({given})")
        fixed_ris, info = _check_ris(ris)
    else:
        info = _required(cum, adjust, alpha, beta, side, effect, d2, i2)
        fixed_ris = info.participants
    design = dict(alpha=alpha, side=side, spending=spending, beta=beta, futility=futility)
    if grid is not None:
        design["grid"] = grid
    inflation = 1.0
    if power_adjusted:
        # RTSA: the design at the looks of the unadjusted analysis gives the inflation
        _, timing, _, _ = _looks(cum, fixed_ris)
        if timing.size:
            inflation = sequential_boundaries(timing, **design).inflation
    look, timing, status, reached = _looks(cum, fixed_ris * inflation, MIN_STEP / inflation)
    if timing.size == 0:
        raise ValueError(
            "no look: the pooled trials hold less than 1% of the required information size "
            f"({_count(cum.accrued[-1])} of {_count(fixed_ris)} participants)"
        )
    bounds = sequential_boundaries(timing, **design, inflation=inflation)
    oriented = _oriented(bounds, benefit)
    k = cum.participants.size
    cols = {name: np.full(k, np.nan) for name in (*oriented, "alpha_spent", "adj_lb", "adj_ub")}
    conclusion, decided = "inconclusive", None
    for j in np.flatnonzero(look):
        m = look[j] - 1
        for name, values in oriented.items():
            cols[name][j] = values[m]
        cols["alpha_spent"][j] = bounds.alpha_spent[m]
        half = bounds.upper[m] * cum.se[j]
        cols["adj_lb"][j], cols["adj_ub"][j] = cum.estimate[j] - half, cum.estimate[j] + half
        if decided is None:
            crossed = _crossing(cum.zval[j], m, bounds, benefit)
            if crossed is not None:
                conclusion, decided = crossed, int(j)
    last = int(np.flatnonzero(look)[-1])
    total = int(np.ceil(fixed_ris * inflation - 1e-9))
    accrued = float(cum.accrued[np.flatnonzero(cum.included)[-1]])
    more = max(0, int(np.ceil(fixed_ris * inflation - accrued - 1e-9)))
    conclusion, decided, verdict = _verdict(
        conclusion, decided, reached, last, cum.studies, more, total, accrued
    )
    notes = [n for n in bounds.notes if not n.startswith("a final look")]
    if not reached:
        notes.append("the boundaries' last look is the required information size (t = 1)")
    if power_adjusted:
        notes.append(
            f"required information size {fixed_ris} × {inflation:.4f} for the sequential "
            "design's power (RTSA's power adjustment)"
        )
    return TSAResult(
        studies=cum.studies,
        participants=cum.participants,
        included=cum.included,
        accrued=cum.accrued,
        timing=cum.accrued / (fixed_ris * inflation),
        estimate=cum.estimate,
        se=cum.se,
        zval=cum.zval,
        ci_lb=cum.ci_lb,
        ci_ub=cum.ci_ub,
        look=look,
        upper=cols["upper"],
        lower=cols["lower"],
        futility_upper=cols["futility_upper"],
        futility_lower=cols["futility_lower"],
        alpha_spent=cols["alpha_spent"],
        adjusted_ci_lb=cols["adj_lb"],
        adjusted_ci_ub=cols["adj_ub"],
        status=tuple(status),
        boundaries=bounds,
        ris=total,
        information_size=info,
        inflation=inflation,
        diversity=d2,
        inconsistency=i2,
        reached=reached,
        conclusion=conclusion,
        decided_at=decided,
        verdict=verdict,
        more_participants=more,
        adjusted_ci=(float(cols["adj_lb"][last]), float(cols["adj_ub"][last])),
        measure=str(measure).upper(),
        method=method,
        level=float(level),
        alpha=bounds.alpha,
        beta=beta,
        side=side,
        spending=bounds.spending,
        futility=bounds.futility,
        benefit=benefit,
        notes=tuple(notes),
    )
