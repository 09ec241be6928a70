"""The mean, SD and size of one arm of a means row, as an analysis pools them.

An arm gives its mean and SD, or its median with the quartiles and/or the range; the
latter are converted by :func:`metaall.effects.mean_sd_from_median` (means by Luo et
al. 2018, SDs by Wan et al. 2014 or Shi et al. 2020; Cochrane Handbook v6.4
§6.5.2.5), and the arm says how (``derivation``), so that reports flag the numbers as
derived and name the method.
"""

from __future__ import annotations

from dataclasses import dataclass

from metaall.data import Effect
from metaall.effects import mean_sd_from_median


@dataclass(frozen=True)
class ArmMeans:
    """One arm (``t`` or ``c``): its mean, SD and size; ``derivation`` is empty when
    the mean and SD are reported, else how they were derived from the median."""

    arm: str
    mean: float
    sd: float
    n: int
    derivation: str = ""

    @property
    def derived(self) -> bool:
        return bool(self.derivation)


def arm_means(effect: Effect, arm: str) -> ArmMeans:
    """The mean and SD of arm ``arm`` of a validated means row (ValueError naming the
    study when a median cannot be converted)."""
    n = getattr(effect, f"n_{arm}")
    if not effect.from_median(arm):
        return ArmMeans(arm, getattr(effect, f"mean_{arm}"), getattr(effect, f"sd_{arm}"), n)

    def value(name: str) -> float:
        number = getattr(effect, f"{name}_{arm}")
        return float("nan") if number is None else number

    derived = mean_sd_from_median(
        value("median"),
        value("q1"),
        value("q3"),
        value("min"),
        value("max"),
        n,
        studies=[effect.study],
    )
    words = f"mean and SD derived from the median ({derived.method})"
    return ArmMeans(arm, float(derived.mean), float(derived.sd), n, words)
