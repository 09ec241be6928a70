"""One entry point for every kind of per-study effect size, as metafor's ``escalc``:
the measure decides which data it takes.

* 2×2 counts ``ai, n1i, ci, n2i``: ``RR``, ``OR``, ``RD``, ``PETO``
  (:mod:`metaall.effects.counts`);
* single-arm proportions ``xi, ni``: ``PR``, ``PLN``, ``PLO``, ``PAS``, ``PFT``
  (:mod:`metaall.effects.proportions`);
* group means ``m1i, sd1i, n1i, m2i, sd2i, n2i``: ``MD``, ``SMD``, ``ROM``
  (:mod:`metaall.effects.continuous`).
"""

from __future__ import annotations

from collections.abc import Sequence

from metaall.effects.base import EffectSizes
from metaall.effects.continuous import CONTINUOUS_MEASURES, continuous_effects
from metaall.effects.counts import COUNT_MEASURES, count_effects
from metaall.effects.proportions import PROPORTION_MEASURES, proportion_effects

MEASURES = (*COUNT_MEASURES, *PROPORTION_MEASURES, *CONTINUOUS_MEASURES)
_DATA = {
    **dict.fromkeys(COUNT_MEASURES, ("ai", "n1i", "ci", "n2i")),
    **dict.fromkeys(PROPORTION_MEASURES, ("xi", "ni")),
    **dict.fromkeys(CONTINUOUS_MEASURES, ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")),
}


def effect_sizes(
    ai=None,
    n1i=None,
    ci=None,
    n2i=None,
    measure: str = "RR",
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    studies: Sequence[str] | None = None,
    *,
    xi=None,
    ni=None,
    m1i=None,
    sd1i=None,
    m2i=None,
    sd2i=None,
) -> EffectSizes:
    """Per-study effects ``yi`` and sampling variances ``vi`` for ``measure``.

    Counts: ``effect_sizes(ai, n1i, ci, n2i, "OR")``; proportions:
    ``effect_sizes(measure="PLO", xi=..., ni=...)``; means:
    ``effect_sizes(measure="SMD", m1i=..., sd1i=..., n1i=..., m2i=..., sd2i=..., n2i=...)``.
    ``add=None`` is metafor's default continuity correction (½; 0 for ``PAS``/``PFT``);
    ``add``/``to`` apply to counts and proportions, ``drop00`` to counts. Arrays may
    be 1-D (studies) or 2-D (data sets × studies, NaN for absent studies). Raises
    ``ValueError`` naming the study for invalid data, and for data the measure does
    not take.
    """
    measure = measure.upper()
    if measure not in _DATA:
        raise ValueError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    given = dict(ai=ai, n1i=n1i, ci=ci, n2i=n2i, xi=xi, ni=ni, m1i=m1i, sd1i=sd1i)
    given.update(m2i=m2i, sd2i=sd2i)
    needed = _DATA[measure]
    missing = [key for key in needed if given[key] is None]
    extra = [key for key, val in given.items() if val is not None and key not in needed]
    if missing or extra:
        problem = f"missing {', '.join(missing)}" if missing else f"not {', '.join(extra)}"
        raise ValueError(f"measure {measure} takes {', '.join(needed)} ({problem})")
    if measure in CONTINUOUS_MEASURES and (add is not None or to != "only0"):
        raise ValueError(f"add/to (continuity correction) do not apply to measure {measure}")
    if measure not in COUNT_MEASURES and drop00:
        raise ValueError(f"drop00 applies to 2×2 counts, not to measure {measure}")
    if measure in PROPORTION_MEASURES:
        return proportion_effects(xi, ni, measure, add, to, studies)
    if measure in CONTINUOUS_MEASURES:
        return continuous_effects(m1i, sd1i, n1i, m2i, sd2i, n2i, measure, studies)
    add = 0.5 if add is None else add
    return count_effects(ai, n1i, ci, n2i, measure, add, to, drop00, studies)
