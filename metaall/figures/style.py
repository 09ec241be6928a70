"""Journal styles of the forest plot: which columns, in which order, in which words.

Numbers are always formatted by :mod:`metaall.formatting` (``fmt_num``, ``fmt_p``),
with the digits of ``metaall pool`` (tau² 4, I² 1, Q, z and effects 2 decimals), so a
figure and the report agree to the last digit; a style only chooses the words, the
punctuation around the numbers and where each column goes.

* ``revman``: Cochrane RevMan (Review Manager 5 and RevMan Web) forest plots, which
  show per arm "Events" and "Total" under the arm's name, "Weight" in percent, the
  effect with its method ("Risk Ratio / IV, Random, 95% CI") as text and then as a
  graph; under each pooled row "Total events", "Heterogeneity: Tau² = …; Chi² = …,
  df = … (P = …); I² = …%" and "Test for overall effect: Z = … (P = …)"; "Test for
  subgroup differences"; intervals "0.60 [0.29, 1.25]"; "Favours" (Cochrane Handbook
  v6.4 §10.10.4 and the RevMan user guide, forest plots).
* ``jama``: AMA Manual of Style (11th ed.) as JAMA applies it: P without a leading zero
  (P = .32; §19.5: P cannot exceed 1), intervals "0.60 (0.29-1.25)" ("to" when a limit
  is negative), US spelling "Favors", "Source" as the first column heading, "No. of
  events/total" per arm, the effect text left of the graph and "Weight, %" right of it.
* ``bmj``: BMJ house style: intervals "0.60 (0.29 to 1.25)", "P=0.32" with no spaces,
  minimal capitals ("Risk ratio"), "Favours", "Test for heterogeneity: τ²=…, χ²=…,
  df=…, P=…, I²=…%"; events/total per arm, then the graph, then "Weight (%)" and the
  effect (the column order of the BMJ's redrawn forest plots, e.g. Goldenberg et al.
  2021, BMJ 372:m4743, figure 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from metaall import methods
from metaall.formatting import fmt_num, fmt_p

MINUS = "\u2212"


def num(value: float, digits: int = 2) -> str:
    """``fmt_num`` with a true minus sign (U+2212), as typesetters set negative numbers."""
    return fmt_num(value, digits).replace("-", MINUS)


@dataclass(frozen=True)
class Style:
    """Wording and layout of one journal's forest plots (see the module docstring)."""

    name: str
    study_header: str
    split_counts: bool  # RevMan: "Events" and "Total" columns per arm
    counts_group: str  # heading over both arms' columns ("" for none)
    count_header: str  # per arm, ``{arm}`` is the arm label
    weight_header: str
    weight_unit: str  # after each weight: "%" or ""
    right: tuple[str, ...]  # columns right of the graph: "weight", "effect"
    interval: str  # "{lo}" and "{hi}"
    eq: str  # around "=" and "<"
    p_join: str  # statistic, then its P value: "{stat} ({p})"
    sep: str  # between statistics on one line
    tau: str
    chi2: str
    heterogeneity: str
    favours: str  # the spelling of "Favours"
    subtotal: str  # "{level}" is the CI level, e.g. 95%
    total: str
    title_case: bool
    method_in_header: bool
    z: str  # the name of the z statistic
    header_bold: bool = True

    # -- numbers in words --------------------------------------------------------
    def p(self, p: float) -> str:
        """A P value: ``fmt_p``'s digits in the style's typography."""
        text = "P" + fmt_p(p)[1:]
        if self.eq == "=":
            text = text.replace(" ", "")
        if self.name == "jama":
            text = re.sub(r"(?<![\d.])0\.", ".", text)
        return text

    def p_value(self, p: float) -> str:
        """A P value without the "P =": ``0.32``, ``< 0.0001`` (for a column headed P)."""
        return self.p(p)[1:].lstrip(" =")

    def with_p(self, statistic: str, p: float) -> str:
        return self.p_join.format(stat=statistic, p=self.p(p))

    def stat(self, name: str, value: str) -> str:
        return f"{name}{self.eq}{value}"

    def bounds(self, lo: float, hi: float) -> str:
        """An interval of display values, e.g. ``[0.18, 0.57]``."""
        text = self.interval.format(lo=num(lo), hi=num(hi))
        if self.name == "jama" and (lo < 0 or hi < 0):
            text = text.replace(f"{num(lo)}-", f"{num(lo)} to ")
        return text

    def ci(self, est: float, lo: float, hi: float) -> str:
        """An estimate with its interval (display values), e.g. ``0.60 [0.29, 1.25]``."""
        return f"{num(est)} {self.bounds(lo, hi)}"

    def weight(self, percent: float) -> str:
        return f"{fmt_num(percent, 1)}{self.weight_unit}"

    def spell(self, text: str) -> str:
        """ "Favours"/"Favors" in the style's spelling."""
        return re.sub(r"\bFavou?rs\b", self.favours, text)

    # -- headings ----------------------------------------------------------------
    def measure_name(self, measure: str) -> str:
        m = methods.measure(measure)
        return m.title if self.title_case else m.label.capitalize()

    def method(self, method: str, level: float) -> str:
        """RevMan's method line, e.g. ``IV, Random, 95% CI``."""
        entry = methods.method(method)
        model = "Random" if entry.random_effects else "Fixed"
        abbreviation, ci = entry.abbreviation, entry.interval
        if self.title_case:
            return f"{abbreviation}, {model}, {level:.0%} {ci}"
        return f"{abbreviation}, {model.lower()} ({level:.0%} {ci})"

    def effect_header(self, measure: str, method: str, level: float) -> str:
        name = self.measure_name(measure)
        if self.method_in_header:
            return f"{name}\n{self.method(method, level)}"
        return f"{name}\n({level:.0%} {methods.method(method).interval})"

    def pooled_label(self, total: bool, level: float, interval: str = "CI") -> str:
        """ "Subtotal (95% CI)", "Total (95% CrI)" or the style's own words."""
        return (self.total if total else self.subtotal).format(level=f"{level:.0%} {interval}")

    # -- statistics lines --------------------------------------------------------
    def heterogeneity_line(self, fit, ci=None) -> str:
        """Heterogeneity of a pooled result (``fit``: a PooledResult), with the
        Q-profile intervals ``ci`` (a HeterogeneityCI) for tau² and I² when given."""
        if fit.k <= 1:
            return f"{self.heterogeneity}: {'N' if self.title_case else 'n'}ot applicable"
        random = methods.method(fit.method).random_effects
        tau = self.stat(self.tau, num(fit.tau2, 4)) if random else ""
        i2 = self.stat("I²", num(fit.I2, 1)) + "%"
        if ci is not None:
            tau += " " + self.interval.format(lo=num(ci.tau2[0], 4), hi=num(ci.tau2[1], 4))
            i2 += " " + self.interval.format(lo=f"{num(ci.I2[0], 1)}%", hi=f"{num(ci.I2[1], 1)}%")
        q = f"{self.stat(self.chi2, num(fit.Q))}, {self.stat('df', str(fit.Q_df))}"
        parts = [tau, self.with_p(q, fit.Q_pval), i2]
        return f"{self.heterogeneity}: " + self.sep.join(p for p in parts if p)

    def overall_line(self, fit, measure: str = "", ratio: bool = True) -> str:
        """Test for the overall (pooled) effect: z, or t(df) under Hartung-Knapp; for
        the Bayesian model the posterior probability of an effect below no effect."""
        if methods.method(fit.method).family == methods.BAYES:
            below = fit.prob_mu_below(0.0)
            name = f"P({measure} < {1 if ratio else 0})"
            return f"Posterior probability: {self.stat(name, f'{below:.4f}')}"
        name = f"t({int(fit.k) - 1})" if fit.test == "knha" and fit.k > 1 else self.z
        return "Test for overall effect: " + self.with_p(self.stat(name, num(fit.zval)), fit.pval)

    def subgroup_line(self, difference, left_out: tuple[str, ...] = ()) -> str:
        """Test for subgroup differences (Q between the separately pooled subgroups),
        naming subgroups without an estimate, which it leaves out."""
        q = f"{self.stat(self.chi2, num(difference.Q))}, {self.stat('df', str(difference.df))}"
        line = "Test for subgroup differences: " + self.with_p(q, difference.pval)
        if left_out:
            line += f"{self.sep}not estimable, left out: {', '.join(left_out)}"
        return line


REVMAN = Style(
    name="revman",
    study_header="Study or Subgroup",
    split_counts=True,
    counts_group="",
    count_header="{arm}",
    weight_header="Weight",
    weight_unit="%",
    right=(),
    interval="[{lo}, {hi}]",
    eq=" = ",
    p_join="{stat} ({p})",
    sep="; ",
    tau="Tau²",
    chi2="Chi²",
    heterogeneity="Heterogeneity",
    favours="Favours",
    subtotal="Subtotal ({level})",
    total="Total ({level})",
    title_case=True,
    method_in_header=True,
    z="Z",
)
STYLES = {
    "revman": REVMAN,
    "jama": replace(
        REVMAN,
        name="jama",
        study_header="Source",
        split_counts=False,
        counts_group="No. of events/total",
        weight_header="Weight, %",
        weight_unit="",
        right=("weight",),
        interval="({lo}-{hi})",
        p_join="{stat}; {p}",
        tau="τ²",
        chi2="Q",
        favours="Favors",
        subtotal="Subtotal",
        total="Overall",
        method_in_header=False,
        z="z",
    ),
    "bmj": replace(
        REVMAN,
        name="bmj",
        study_header="Study",
        split_counts=False,
        count_header="{arm}\nevents/total",
        weight_header="Weight\n(%)",
        weight_unit="",
        right=("weight", "effect"),
        interval="({lo} to {hi})",
        eq="=",
        p_join="{stat}, {p}",
        sep=", ",
        tau="τ²",
        chi2="χ²",
        heterogeneity="Test for heterogeneity",
        title_case=False,
        z="z",
    ),
}


def get_style(name: str) -> Style:
    """The style called ``name`` (revman, jama, bmj)."""
    try:
        return STYLES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown style {name!r}; use one of {', '.join(STYLES)}") from None
