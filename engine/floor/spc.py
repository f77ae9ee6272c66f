"""Shewhart control charts and process capability: pure arithmetic, no database.

Charts: individuals and moving range (``i-mr``), subgroup means with ranges (``xbar-r``) or
standard deviations (``xbar-s``), fraction (``p``) and number (``np``) nonconforming, defects
(``c``) and defects per unit (``u``). Limits are three sigma, computed from a baseline (phase I)
or from given standard values; formulas and constants as in D. C. Montgomery, *Introduction to
Statistical Quality Control*, 7th ed., Wiley 2013, chapters 6–7 and Appendix VI.

The range-based constants (d2, d3, A2, D3, D4) are transcribed from that appendix; c4 is exact
(a ratio of Gamma functions) and so are the constants that follow from it, which the appendix
rounds to three places: A3 = 3/(c4·√n), B3 = max(0, 1 − 3·√(1 − c4²)/c4),
B4 = 1 + 3·√(1 − c4²)/c4.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from dsl.model import SpcChart
from engine.floor.spc_rules import RULES, RuleState

ChartKind = Literal["i-mr", "xbar-r", "xbar-s", "p", "np", "c", "u"]
CHART_KINDS: tuple[str, ...] = get_args(ChartKind)
VARIABLE_CHARTS = frozenset({"i-mr", "xbar-r", "xbar-s"})
MAX_SUBGROUP = 25

_TABLE: dict[int, tuple[float, float, float, float, float]] = {
    2: (1.128, 0.853, 1.880, 0.000, 3.267), 3: (1.693, 0.888, 1.023, 0.000, 2.574),
    4: (2.059, 0.880, 0.729, 0.000, 2.282), 5: (2.326, 0.864, 0.577, 0.000, 2.114),
    6: (2.534, 0.848, 0.483, 0.000, 2.004), 7: (2.704, 0.833, 0.419, 0.076, 1.924),
    8: (2.847, 0.820, 0.373, 0.136, 1.864), 9: (2.970, 0.808, 0.337, 0.184, 1.816),
    10: (3.078, 0.797, 0.308, 0.223, 1.777), 11: (3.173, 0.787, 0.285, 0.256, 1.744),
    12: (3.258, 0.778, 0.266, 0.283, 1.717), 13: (3.336, 0.770, 0.249, 0.307, 1.693),
    14: (3.407, 0.763, 0.235, 0.328, 1.672), 15: (3.472, 0.756, 0.223, 0.347, 1.653),
    16: (3.532, 0.750, 0.212, 0.363, 1.637), 17: (3.588, 0.744, 0.203, 0.378, 1.622),
    18: (3.640, 0.739, 0.194, 0.391, 1.608), 19: (3.689, 0.734, 0.187, 0.403, 1.597),
    20: (3.735, 0.729, 0.180, 0.415, 1.585), 21: (3.778, 0.724, 0.173, 0.425, 1.575),
    22: (3.819, 0.720, 0.167, 0.434, 1.566), 23: (3.858, 0.716, 0.162, 0.443, 1.557),
    24: (3.895, 0.712, 0.157, 0.451, 1.548), 25: (3.931, 0.708, 0.153, 0.459, 1.541),
}  # fmt: skip
"""n → (d2, d3, A2, D3, D4): Montgomery, Appendix VI, "Factors for constructing variables
control charts" (the same values as ASTM STP 15D)."""


def _row(n: int) -> tuple[float, float, float, float, float]:
    if n not in _TABLE:
        raise ValueError(f"subgroup size must be 2 to {MAX_SUBGROUP}, not {n}")
    return _TABLE[n]


def d2(n: int) -> float:
    """Mean of the relative range of n normal values: σ̂ = R̄/d2."""
    return _row(n)[0]


def d3(n: int) -> float:
    """Standard deviation of the relative range of n normal values."""
    return _row(n)[1]


def a2(n: int) -> float:
    """x̄ chart limits from R̄: x̄̄ ± A2·R̄."""
    return _row(n)[2]


def d3_factor(n: int) -> float:
    """D3, the range chart's lower limit factor: D3·R̄."""
    return _row(n)[3]


def d4_factor(n: int) -> float:
    """D4, the range chart's upper limit factor: D4·R̄."""
    return _row(n)[4]


def c4(n: int) -> float:
    """E[s]/σ for n normal values: √(2/(n−1))·Γ(n/2)/Γ((n−1)/2)."""
    _row(n)
    return math.sqrt(2 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def a3(n: int) -> float:
    return 3 / (c4(n) * math.sqrt(n))


def b3(n: int) -> float:
    c = c4(n)
    return max(0.0, 1 - 3 * math.sqrt(1 - c * c) / c)


def b4(n: int) -> float:
    c = c4(n)
    return 1 + 3 * math.sqrt(1 - c * c) / c


@dataclass(frozen=True, slots=True)
class Sample:
    """One plotted point's raw material: the values of a subgroup (variables charts; one value
    for i-mr) or a count with the sample size it came from (attribute charts; ``size`` is the
    number inspected for p/np and the number of inspection units for u, 1 for c)."""

    values: tuple[float, ...] = ()
    count: float = 0.0
    size: float = 1.0


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the limits rest on: the process center (x̄̄, x̄, p̄, c̄ or ū) and, for variables
    charts, the within-subgroup spread (R̄, s̄ or MR̄) and its sigma; ``points`` subgroups."""

    chart: ChartKind
    subgroup: int
    center: float
    spread: float
    sigma: float
    points: int


@dataclass(frozen=True, slots=True)
class Limits:
    """Three-sigma limits of one chart at one point; ``sigma`` is one zone's width."""

    center: float
    lcl: float
    ucl: float
    sigma: float

    def z(self, value: float) -> float:
        """How many sigmas ``value`` lies from the center (±inf when sigma is 0)."""
        if self.sigma > 0:
            return (value - self.center) / self.sigma
        return 0.0 if value == self.center else math.copysign(math.inf, value - self.center)


def statistic(chart: ChartKind, sample: Sample) -> float:
    """The plotted value: the mean of the subgroup, the fraction or number nonconforming, the
    count of defects or the defects per unit."""
    if chart in VARIABLE_CHARTS:
        return math.fsum(sample.values) / len(sample.values)
    if chart in ("p", "u"):
        return sample.count / sample.size
    return sample.count


def dispersion(chart: ChartKind, sample: Sample, previous: Sample | None) -> float | None:
    """The second chart's value: the range or standard deviation of the subgroup, or the moving
    range of two individuals (None for the first one and for attribute charts)."""
    if chart == "xbar-r":
        return max(sample.values) - min(sample.values)
    if chart == "xbar-s":
        return statistics.stdev(sample.values)
    if chart == "i-mr" and previous is not None:
        return abs(sample.values[0] - previous.values[0])
    return None


def baseline_from(chart: ChartKind, samples: Sequence[Sample], subgroup: int = 1) -> Baseline:
    """Trial (phase I) limits from ``samples``: Montgomery eqs. 6.4–6.5 (x̄–R), 6.27–6.28 (x̄–s),
    6.33 (I–MR), 7.8 (p), 7.13 (np), 7.17 (c), 7.19 (u)."""
    if not samples:
        raise ValueError("a baseline needs at least one sample")
    if chart in VARIABLE_CHARTS:
        means = [statistic(chart, s) for s in samples]
        center = math.fsum(means) / len(means)
        if chart == "i-mr":
            ranges = [abs(b.values[0] - a.values[0]) for a, b in itertools.pairwise(samples)]
            spread = math.fsum(ranges) / len(ranges) if ranges else 0.0
            return Baseline(chart, 1, center, spread, spread / d2(2), len(samples))
        spreads = [dispersion(chart, s, None) or 0.0 for s in samples]
        spread = math.fsum(spreads) / len(spreads)
        factor = d2(subgroup) if chart == "xbar-r" else c4(subgroup)
        return Baseline(chart, subgroup, center, spread, spread / factor, len(samples))
    counts = math.fsum(s.count for s in samples)
    sizes = math.fsum(s.size for s in samples)
    center = counts / (len(samples) if chart == "c" else sizes)
    return Baseline(chart, subgroup, center, 0.0, 0.0, len(samples))


def given_baseline(
    chart: ChartKind, *, center: float, sigma: float = 0.0, subgroup: int = 1
) -> Baseline:
    """Limits from standard values: the process mean and sigma (variables charts), or p, c or
    u (attribute charts; np takes p)."""
    if chart == "xbar-r":
        spread = d2(subgroup) * sigma
    elif chart == "xbar-s":
        spread = c4(subgroup) * sigma
    elif chart == "i-mr":
        spread = d2(2) * sigma
    else:
        spread = 0.0
    return Baseline(chart, subgroup, center, spread, sigma, 0)


def limits(baseline: Baseline, size: float = 1.0) -> Limits:
    """The location (or attribute) chart's limits: x̄̄ ± A2·R̄, x̄̄ ± A3·s̄, x̄ ± 3·MR̄/d2,
    p̄ ± 3·√(p̄(1 − p̄)/n), n·p̄ ± 3·√(n·p̄(1 − p̄)), c̄ ± 3·√c̄, ū ± 3·√(ū/n). ``size`` is the
    point's sample size (p, np, u), whose limits widen as it shrinks. A lower limit below 0 on
    an attribute chart is 0, where it cannot be crossed."""
    chart, center, n = baseline.chart, baseline.center, baseline.subgroup
    if chart in VARIABLE_CHARTS:
        if chart == "xbar-r":
            width = a2(n) * baseline.spread
        elif chart == "xbar-s":
            width = a3(n) * baseline.spread
        else:
            width = 3 * baseline.spread / d2(2)
        return Limits(center, center - width, center + width, width / 3)
    if chart == "p":
        sigma = math.sqrt(center * (1 - center) / size)
    elif chart == "np":
        sigma = math.sqrt(size * center * (1 - center))
        center = size * center
    elif chart == "c":
        sigma = math.sqrt(center)
    else:
        sigma = math.sqrt(center / size)
    return Limits(center, max(0.0, center - 3 * sigma), center + 3 * sigma, sigma)


def dispersion_limits(baseline: Baseline) -> Limits | None:
    """The R, s or MR chart's limits (None for attribute charts): D3·R̄ and D4·R̄, B3·s̄ and
    B4·s̄, 0 and D4(2)·MR̄; a zone is a third of the distance to the upper limit."""
    chart, spread, n = baseline.chart, baseline.spread, baseline.subgroup
    if chart == "xbar-r":
        low, high = d3_factor(n), d4_factor(n)
    elif chart == "xbar-s":
        low, high = b3(n), b4(n)
    elif chart == "i-mr":
        low, high = 0.0, d4_factor(2)
    else:
        return None
    return Limits(spread, low * spread, high * spread, (high - 1) * spread / 3)


@dataclass(frozen=True, slots=True)
class Capability:
    """Cp and Cpk (within-subgroup sigma, the chart's estimate), Pp and Ppk (overall sample
    standard deviation), with the ``points`` (individual values) behind them. A one-sided
    specification has no Cp or Pp; None where a value cannot be computed."""

    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    mean: float
    sigma_within: float
    sigma_overall: float | None
    points: int


def _indices(
    mean: float, sigma: float | None, low: float | None, high: float | None
) -> tuple[float | None, float | None]:
    if not sigma:
        return None, None
    potential = (high - low) / (6 * sigma) if low is not None and high is not None else None
    sides = [(high - mean) / (3 * sigma)] if high is not None else []
    sides += [(mean - low) / (3 * sigma)] if low is not None else []
    return potential, min(sides) if sides else None


def capability(
    baseline: Baseline, values: Sequence[float], low: float | None, high: float | None
) -> Capability:
    """Process capability against the specification ``low``..``high`` (Montgomery §8.3):
    Cp = (USL − LSL)/6σ, Cpk = min(USL − μ, μ − LSL)/3σ, with σ the chart's within-subgroup
    estimate; Pp and Ppk the same with the overall standard deviation of ``values``."""
    mean = math.fsum(values) / len(values) if values else baseline.center
    overall = statistics.stdev(values) if len(values) > 1 else None
    cp, cpk = _indices(mean, baseline.sigma, low, high)
    pp, ppk = _indices(mean, overall, low, high)
    return Capability(cp, cpk, pp, ppk, mean, baseline.sigma, overall, len(values))


@dataclass(frozen=True, slots=True)
class Signal:
    """A rule broken at a point, on the location (or attribute) chart or the dispersion chart."""

    rule: str
    chart: Literal["location", "dispersion"]
    description: str


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One point placed on its chart: value, limits, distance in sigmas and the rules it broke;
    ``spread`` is its range, standard deviation or moving range (None if there is none)."""

    value: float
    limits: Limits
    z: float
    spread: float | None
    spread_limits: Limits | None
    signals: tuple[Signal, ...]


_BEYOND_LIMITS = ("we1", "nelson1")
_SPREAD_NAMES = {
    "i-mr": "the moving range",
    "xbar-r": "the subgroup range",
    "xbar-s": "the subgroup standard deviation",
}


def evaluate(
    state: RuleState,
    baseline: Baseline,
    sample: Sample,
    previous: Sample | None,
    rules: Sequence[str],
) -> Evaluated:
    """Place ``sample`` on the chart and check ``rules`` against it and the points ``state``
    remembers (which then takes the point in). The dispersion chart is checked for points
    beyond its limits when a beyond-the-limits rule is selected."""
    value = statistic(baseline.chart, sample)
    placed = limits(baseline, sample.size)
    z = placed.z(value)
    signals = [
        Signal(rule, "location", RULES[rule].description) for rule in state.fired(z, value, rules)
    ]
    spread = dispersion(baseline.chart, sample, previous)
    spread_limits = dispersion_limits(baseline)
    beyond = next((r for r in rules if r in _BEYOND_LIMITS), None)
    if (
        beyond is not None
        and spread is not None
        and spread_limits is not None
        and not spread_limits.lcl <= spread <= spread_limits.ucl
    ):
        described = f"{_SPREAD_NAMES[baseline.chart]} beyond its control limits"
        signals.append(Signal(beyond, "dispersion", described))
    return Evaluated(value, placed, z, spread, spread_limits, tuple(signals))


def analyse(baseline: Baseline, samples: Sequence[Sample], rules: Sequence[str]) -> list[Evaluated]:
    """Every sample placed on the chart of ``baseline`` and checked against ``rules``, in
    order."""
    state = RuleState()
    return [
        evaluate(state, baseline, sample, samples[i - 1] if i else None, rules)
        for i, sample in enumerate(samples)
    ]


def chart_key(routing: str, operation: str, chart: SpcChart) -> str:
    """The name a chart's records are kept under: ``routing/operation/source/kind``, and
    ``/n`` for subgroups of n, so that a new kind or subgroup size starts a new chart."""
    key = f"{routing}/{operation}/{chart.source}/{chart.chart}"
    return f"{key}/{chart.subgroup}" if chart.subgroup > 1 else key


def given(chart: SpcChart) -> Baseline | None:
    """The limits a chart declares (``limits: {center: ..., sigma: ...}``), or None when they
    come from a baseline."""
    if chart.center is None:
        return None
    return given_baseline(
        kind_of(chart), center=chart.center, sigma=chart.sigma or 0.0, subgroup=chart.subgroup
    )


def kind_of(chart: SpcChart) -> ChartKind:
    """The declared chart kind (the loader admits only :data:`CHART_KINDS`)."""
    if chart.chart not in CHART_KINDS:
        raise ValueError(f"unknown chart kind '{chart.chart}'")
    return chart.chart  # type: ignore[return-value]
