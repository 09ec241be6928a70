"""Required information size (RIS) of a meta-analysis: the total number of
participants a single trial would need, inflated for between-trial heterogeneity, as
the TSA program (Thorlund et al. 2011, *User manual for TSA*, Copenhagen Trial Unit,
§2) and R's RTSA ``ris()`` compute it.

Fixed-effect size (two equal arms; Wetterslev et al. 2008, J Clin Epidemiol 61:64):

    N_F = ⌈4·(z_{1-α/side} + z_{1-β})²·ν/θ²⌉,

* binary outcomes: θ = p_C - p_I and ν = p̄(1 - p̄), p̄ = (p_C + p_I)/2, with the
  intervention risk p_I = p_C·RR (RR = 1 - RRR) or logit⁻¹(logit p_C + ln OR);
* continuous outcomes: θ the mean difference and ν = SD².

Heterogeneity adjustment (Wetterslev, Thorlund, Brok & Gluud 2009, BMC Med Res
Methodol 9:86): N = ⌈N_F/(1 - H)⌉ with H the diversity D² or the inconsistency I²
(as fractions). N_F is rounded up before the adjustment, as RTSA does.

With a heterogeneity variance τ² instead (Kulinskaya & Wood 2014, Res Synth Methods
5:212; RTSA's ``minTrial``), K trials of equal size are needed where
K > τ²(z_{1-α/side} + z_{1-β})²/θ̃² (θ̃ the effect on the analysis scale: ln RR, ln OR
or the mean difference), each with ⌈2σ²/(θ̃²K/(z_{1-α/side} + z_{1-β})² - τ²)⌉
participants, σ² = 1/p_C + 1/p_I - 2 (RR), 1/p_C + 1/(1-p_C) + 1/p_I + 1/(1-p_I) (OR)
or SD² (mean difference); the size is K times that. The smallest K is used unless
``trials`` is given.

Diversity from data (Wetterslev et al. 2009, eq. 5): D² = (v_R - v_F)/v_R with
v_F = 1/Σ(1/vᵢ) and v_R = 1/Σ 1/(vᵢ + τ²) the variances of the common-effect and
random-effects pooled estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metaall import distributions as dist
from metaall.sequential.boundaries import check_alpha, check_side


@dataclass(frozen=True)
class InformationSize:
    """A required information size (see module docstring).

    ``participants``: the total to use (heterogeneity adjusted when asked);
    ``unadjusted``: the fixed-effect size N_F; ``adjustment``: the factor applied
    (1/(1 - D²), 1/(1 - I²), participants/N_F for τ², 1 without heterogeneity);
    ``heterogeneity``: ``'none'``, ``'D2'``, ``'I2'`` or ``'tau2'`` with its ``value``;
    ``trials``/``per_trial``: the τ² design (None otherwise); ``theta``/``variance``:
    the difference and the variance ν of the formula.
    """

    participants: int
    unadjusted: int
    adjustment: float
    heterogeneity: str
    value: float
    outcome: str
    theta: float
    variance: float
    alpha: float
    beta: float
    side: int
    control_risk: float | None
    intervention_risk: float | None
    trials: int | None
    per_trial: int | None
    description: str


def _z_sum(alpha: float, beta: float, side: int) -> float:
    return dist.norm_quantile(1 - alpha / side) + dist.norm_quantile(1 - beta)


def _fraction(value, name: str) -> float:
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be a fraction in [0, 1) (e.g. 0.25 for 25%), got {value}")
    return value


def _effect(control_risk, rr, rrr, odds_ratio, mean_difference, sd):
    """(outcome, θ, ν, θ̃, σ², p_C, p_I) of the anticipated effect."""
    given = {
        k: v
        for k, v in dict(
            rr=rr, rrr=rrr, odds_ratio=odds_ratio, mean_difference=mean_difference
        ).items()
        if v is not None
    }
    if len(given) != 1:
        shown = ", ".join(given) if given else "none"
        raise ValueError(
            "give exactly one anticipated effect: rr, rrr, odds_ratio or mean_difference "
            f"(got {shown})"
        )
    if mean_difference is not None:
        if control_risk is not None:
            raise ValueError("control_risk applies to binary outcomes, not to a mean difference")
        md = float(mean_difference)
        if sd is None:
            raise ValueError("a mean difference needs sd (the outcome's standard deviation)")
        sd = float(sd)
        if not (math.isfinite(md) and md != 0):
            raise ValueError(f"mean_difference must be a non-zero number, got {md}")
        if not (math.isfinite(sd) and sd > 0):
            raise ValueError(f"sd must be positive, got {sd}")
        return "MD", md, sd**2, md, sd**2, None, None
    if sd is not None:
        raise ValueError("sd applies to a mean difference, not to a binary outcome")
    if control_risk is None:
        raise ValueError("a binary outcome needs control_risk (the control-group event risk)")
    pc = float(control_risk)
    if not 0 < pc < 1:
        raise ValueError(f"control_risk must be between 0 and 1, got {pc}")
    if rrr is not None:
        rrr = float(rrr)
        if not rrr < 1:
            raise ValueError(f"rrr must be below 1 (rr = 1 - rrr must be positive), got {rrr}")
        rr = 1 - rrr
    if rr is not None:
        rr = float(rr)
        if not (math.isfinite(rr) and rr > 0):
            raise ValueError(f"rr must be positive, got {rr}")
        outcome, log_effect, pi = "RR", math.log(rr), pc * rr
        if not 0 < pi < 1:
            raise ValueError(f"rr = {rr:g} with control_risk = {pc:g} gives a risk of {pi:g}")
        sigma2 = 1 / pc + 1 / pi - 2
    else:
        ratio = float(odds_ratio)
        if not (math.isfinite(ratio) and ratio > 0):
            raise ValueError(f"odds_ratio must be positive, got {ratio}")
        outcome, log_effect = "OR", math.log(ratio)
        pi = 1 / (1 + math.exp(-(math.log(pc / (1 - pc)) + log_effect)))
        sigma2 = 1 / pi + 1 / pc + 1 / (1 - pi) + 1 / (1 - pc)
    if pi == pc:
        raise ValueError(f"an {outcome} of 1 means no effect: no information size exists")
    p_bar = (pc + pi) / 2
    return outcome, pc - pi, p_bar * (1 - p_bar), log_effect, sigma2, pc, pi


def _tau2_design(tau2, trials, zs, log_effect, sigma2) -> tuple[int, int]:
    """Kulinskaya & Wood's number of trials and participants per trial."""
    k_star = tau2 * zs**2 / log_effect**2
    k_min = math.floor(k_star) + 1
    if trials is None:
        trials = k_min
    elif int(trials) != trials or trials < k_min:
        raise ValueError(
            f"trials must be a whole number of at least {k_min} for tau2 = {tau2:g}, got {trials}"
        )
    trials = int(trials)
    per_trial = math.ceil(2 * sigma2 / (log_effect**2 * trials / zs**2 - tau2))
    return trials, per_trial


def required_information_size(
    control_risk: float | None = None,
    rr: float | None = None,
    alpha: float = 0.05,
    beta: float = 0.2,
    side: int = 2,
    i2: float | None = None,
    d2: float | None = None,
    tau2: float | None = None,
    *,
    rrr: float | None = None,
    odds_ratio: float | None = None,
    mean_difference: float | None = None,
    sd: float | None = None,
    trials: int | None = None,
) -> InformationSize:
    """Required information size (total participants) for the anticipated effect.

    Binary outcomes: ``control_risk`` with ``rr``, ``rrr`` (= 1 - RR) or
    ``odds_ratio``; continuous outcomes: ``mean_difference`` with ``sd``. At most one
    of ``d2``/``i2`` (fractions) or ``tau2`` adjusts for heterogeneity; ``trials`` sets
    the number of trials of the τ² design. Formulas and sources: module docstring;
    the same numbers as RTSA's ``ris()`` (``NF``, ``NR_D2``, ``NR_I2``, ``NR_tau``).
    """
    alpha = check_alpha(alpha)
    beta = check_alpha(beta, "beta")
    side = check_side(side)
    outcome, theta, nu, log_effect, sigma2, pc, pi = _effect(
        control_risk, rr, rrr, odds_ratio, mean_difference, sd
    )
    zs = _z_sum(alpha, beta, side)
    fixed = math.ceil(4 * zs**2 * nu / theta**2)
    het = {k: v for k, v in dict(D2=d2, I2=i2, tau2=tau2).items() if v is not None}
    if len(het) > 1:
        raise ValueError(f"give at most one of d2, i2 and tau2, got {', '.join(het)}")
    if trials is not None and tau2 is None:
        raise ValueError("trials applies to the tau2 adjustment only")
    n_trials = per_trial = None
    if not het:
        kind, value, total, factor = "none", 0.0, fixed, 1.0
    elif tau2 is not None:
        kind, value = "tau2", float(tau2)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"tau2 must be a non-negative number, got {tau2}")
        n_trials, per_trial = _tau2_design(value, trials, zs, log_effect, sigma2)
        total = n_trials * per_trial
        factor = total / fixed
    else:
        kind = next(iter(het))
        value = _fraction(het[kind], kind.lower())
        factor = 1 / (1 - value)
        total = math.ceil(fixed * factor)
    effect = {
        "RR": f"a risk ratio of {pi / pc:.4g}" if pc else "",
        "OR": f"an odds ratio of {math.exp(log_effect):.4g}",
        "MD": f"a mean difference of {theta:g} (SD {math.sqrt(nu):g})",
    }[outcome]
    risk = f", control-group risk {100 * pc:.3g}%" if pc is not None else ""
    sides = "two-sided" if side == 2 else "one-sided"
    if kind == "tau2":
        adjust = f"τ² = {value:g}: {n_trials} trials of {per_trial:,} participants"
    else:
        adjust = {
            "none": "no heterogeneity adjustment",
            "D2": f"× {factor:.4g} for diversity D² = {value:.4g}",
            "I2": f"× {factor:.4g} for inconsistency I² = {value:.4g}",
        }[kind]
    description = (
        f"{total:,} participants to detect {effect} (α = {alpha:g} {sides}, power "
        f"{1 - beta:.0%}{risk}): {fixed:,} for a fixed-effect meta-analysis, {adjust}"
    )
    return InformationSize(
        participants=int(total),
        unadjusted=int(fixed),
        adjustment=float(factor),
        heterogeneity=kind,
        value=value,
        outcome=outcome,
        theta=float(theta),
        variance=float(nu),
        alpha=alpha,
        beta=beta,
        side=side,
        control_risk=pc,
        intervention_risk=pi,
        trials=n_trials,
        per_trial=per_trial,
        description=description,
    )


def diversity(yi, vi, tau2: float | None = None) -> float:
    """Diversity D² = (v_R - v_F)/v_R (Wetterslev et al. 2009), as a fraction.

    ``tau2`` defaults to the DerSimonian-Laird estimate (the TSA program's and RTSA's).
    ``yi`` is only needed for that estimate.
    """
    v = np.atleast_1d(np.asarray(vi, dtype=float))
    y = np.atleast_1d(np.asarray(yi, dtype=float))
    if v.ndim != 1 or v.size == 0 or y.shape != v.shape:
        raise ValueError(
            f"yi and vi must be 1-D arrays of the same length, got {y.shape}, {v.shape}"
        )
    bad = ~(np.isfinite(v) & (v > 0)) | ~np.isfinite(y)
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"study {j + 1}: yi must be finite and vi positive (yi={y[j]}, vi={v[j]})")
    if tau2 is None:
        from metaall.models.fit import fit

        tau2 = float(fit(y, v, method="DL").tau2)
    tau2 = float(tau2)
    if not (math.isfinite(tau2) and tau2 >= 0):
        raise ValueError(f"tau2 must be a non-negative number, got {tau2}")
    v_fixed = 1 / np.sum(1 / v)
    v_random = 1 / np.sum(1 / (v + tau2))
    return float((v_random - v_fixed) / v_random)
