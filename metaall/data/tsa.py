"""Trial sequential analysis parameters: the ``tsa:`` mapping of an analysis spec, also
built from ``metaall tsa``'s options.

.. code-block:: yaml

    tsa:
      rrr: 0.25                  # the anticipated effect: exactly one of rr, rrr, or
      control_risk: 0.5          # default: the pooled control-arm risk of the trials
      alpha: 0.05                # default 0.05
      beta: 0.2                  # default 0.2 (power 80%)
      side: 2                    # default 2 (two-sided)
      heterogeneity: d2          # d2, i2 or none; default d2 (random effects), none (common effect)
      spending: obrien-fleming   # or pocock
      futility: none             # or a β-spending function: obrien-fleming, pocock
      benefit: lower             # lower or higher; default: the anticipated effect's direction

Every value is checked when the spec is read (a :class:`~metaall.data.DataError` naming
the file, the line and ``tsa.<key>``); a key left out keeps its default, which
:mod:`metaall.analysis.sequential` applies. The numbers these parameters feed are those
of :func:`metaall.sequential.trial_sequential_analysis` (Wetterslev et al. 2008, J Clin
Epidemiol 61:64; the TSA program's and R RTSA's settings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metaall.data.yamlfile import YamlFile

EFFECT_KEYS = {"rr": "rr", "rrr": "rrr", "or": "odds_ratio"}
"""Spec key -> field of the anticipated effect."""
TSA_KEYS = (
    *EFFECT_KEYS,
    "control_risk",
    "alpha",
    "beta",
    "side",
    "heterogeneity",
    "spending",
    "futility",
    "benefit",
)
HETEROGENEITY = ("d2", "i2", "none")
BENEFIT = ("lower", "higher")
NO_FUTILITY = "none"


@dataclass(frozen=True)
class TSASettings:
    """Parameters of a trial sequential analysis; None: not given (the default applies).

    ``rr``, ``rrr`` or ``odds_ratio``: the anticipated intervention effect (one of
    them); ``control_risk``: the control-group risk; ``alpha``/``beta``/``side``: the
    error rates and sides; ``heterogeneity``: the adjustment of the required
    information size (``d2``, ``i2``, ``none``); ``spending``: the α-spending function;
    ``futility``: the β-spending function of futility boundaries (``none``: none);
    ``benefit``: the direction of effects that favour the intervention.
    """

    rr: float | None = None
    rrr: float | None = None
    odds_ratio: float | None = None
    control_risk: float | None = None
    alpha: float | None = None
    beta: float | None = None
    side: int | None = None
    heterogeneity: str | None = None
    spending: str | None = None
    futility: str | None = None
    benefit: str | None = None

    @property
    def effect(self) -> dict[str, float]:
        """The anticipated effect given, as keyword arguments (``rr=0.8``)."""
        return {
            name: getattr(self, name)
            for name in EFFECT_KEYS.values()
            if getattr(self, name) is not None
        }

    def updated(self, **changes) -> TSASettings:
        """These settings with the ``changes`` that are not None; an anticipated effect
        among them replaces this one's (``rr`` given on the command line overrides the
        spec's ``rrr``)."""
        given = {k: v for k, v in changes.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown TSA setting(s): {', '.join(sorted(unknown))}")
        if any(k in EFFECT_KEYS.values() for k in given):
            given = {**dict.fromkeys(EFFECT_KEYS.values()), **given}
        return replace(self, **given)


def spending_name(value: object, what: str) -> str:
    """The canonical name of a spending function (metaall.sequential's vocabulary)."""
    from metaall.sequential.spending import check_spending  # numpy only; no scipy

    return check_spending(str(value), what)


def _ratio(spec: YamlFile, key: str, value: object) -> float:
    number = spec.number(key, value, 0, math.inf, False)
    if number == 1:
        raise spec.error(key, "a ratio of 1 is no effect: no information size exists")
    return number


def _futility(spec: YamlFile, value: object) -> str:
    if value in (None, False) or str(value).lower() == NO_FUTILITY:
        return NO_FUTILITY
    try:
        return spending_name(value, "futility")
    except ValueError as exc:
        raise spec.error("tsa.futility", f"{exc} (or none)") from None


def read_tsa(spec: YamlFile, value: object) -> TSASettings:
    """The ``tsa:`` mapping of a spec, every key checked (module docstring)."""
    if not isinstance(value, dict):
        raise spec.error("tsa", f"expected a mapping of {', '.join(TSA_KEYS)}")
    for key in value:
        if key not in TSA_KEYS:
            raise spec.error(f"tsa.{key}", f"unknown key; allowed: {', '.join(TSA_KEYS)}")
    effects = [key for key in EFFECT_KEYS if key in value]
    if len(effects) != 1:
        where = f"tsa.{effects[1]}" if effects else "tsa"
        got = f" (got {', '.join(effects)})" if effects else ""
        raise spec.error(where, f"give exactly one anticipated effect: rr, rrr or or{got}")
    (name,) = effects
    key = f"tsa.{name}"
    if name == "rrr":
        effect = spec.number(key, value[name], 0, 1, False)
    else:
        effect = _ratio(spec, key, value[name])
    out: dict[str, object] = {EFFECT_KEYS[name]: effect}
    if "control_risk" in value:
        risk = spec.number("tsa.control_risk", value["control_risk"], 0, 1, False)
        if name == "rr" and effect * risk >= 1:
            raise spec.error(key, f"rr = {effect:g} with control_risk = {risk:g} is a risk >= 1")
        out["control_risk"] = risk
    for rate in ("alpha", "beta"):
        if rate in value:
            out[rate] = spec.number(f"tsa.{rate}", value[rate], 0, 1, False)
    if "side" in value:
        side = value["side"]
        if isinstance(side, bool) or side not in (1, 2):
            raise spec.error("tsa.side", f"expected 1 (one-sided) or 2 (two-sided), got {side!r}")
        out["side"] = int(side)
    if "heterogeneity" in value:
        choice = str(value["heterogeneity"]).lower()
        out["heterogeneity"] = spec.choice("tsa.heterogeneity", choice, HETEROGENEITY)
    if "spending" in value:
        try:
            out["spending"] = spending_name(value["spending"], "spending")
        except ValueError as exc:
            raise spec.error("tsa.spending", str(exc)) from None
    if "futility" in value:
        out["futility"] = _futility(spec, value["futility"])
    if "benefit" in value:
        out["benefit"] = spec.choice("tsa.benefit", value["benefit"], BENEFIT)
    return TSASettings(**out)
