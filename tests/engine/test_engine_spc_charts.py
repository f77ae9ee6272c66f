"""Control charts and capability against published textbook examples.

Sources (limits are published to the precision the book prints them; each assertion allows
exactly that rounding):
- Montgomery, D. C., *Introduction to Statistical Quality Control*, 7th ed., Wiley 2013
  ("Montgomery"): Example 6.1 with Tables 6.3 and 6.4 (piston-ring inside diameter, x̄ and R),
  Example 6.3 (the same data, x̄ and s), Example 6.5 (mortgage loan processing cost,
  individuals and moving range), Example 7.1 (orange-juice cans, p chart, and the np chart of
  the same data in section 7.2), Example 7.3 (printed circuit boards, c chart), Example 7.5
  (personal computers, u chart), Appendix VI (control chart constants).
- The piston-ring data is also the ``pistonrings`` data set of the R package qcc (Scrucca).
"""

from __future__ import annotations

import math

import pytest

from engine.floor.spc import (
    Sample,
    a2,
    a3,
    analyse,
    b3,
    b4,
    baseline_from,
    c4,
    capability,
    d2,
    d3,
    d3_factor,
    d4_factor,
    dispersion_limits,
    given_baseline,
    limits,
)

WESTERN_ELECTRIC = ["we1", "we2", "we3", "we4"]

# Montgomery Table 6.3: 25 phase-I samples of five piston-ring diameters (mm), sample by sample.
PISTON_RINGS = [
    (74.030, 74.002, 74.019, 73.992, 74.008), (73.995, 73.992, 74.001, 74.011, 74.004),
    (73.988, 74.024, 74.021, 74.005, 74.002), (74.002, 73.996, 73.993, 74.015, 74.009),
    (73.992, 74.007, 74.015, 73.989, 74.014), (74.009, 73.994, 73.997, 73.985, 73.993),
    (73.995, 74.006, 73.994, 74.000, 74.005), (73.985, 74.003, 73.993, 74.015, 73.988),
    (74.008, 73.995, 74.009, 74.005, 74.004), (73.998, 74.000, 73.990, 74.007, 73.995),
    (73.994, 73.998, 73.994, 73.995, 73.990), (74.004, 74.000, 74.007, 74.000, 73.996),
    (73.983, 74.002, 73.998, 73.997, 74.012), (74.006, 73.967, 73.994, 74.000, 73.984),
    (74.012, 74.014, 73.998, 73.999, 74.007), (74.000, 73.984, 74.005, 73.998, 73.996),
    (73.994, 74.012, 73.986, 74.005, 74.007), (74.006, 74.010, 74.018, 74.003, 74.000),
    (73.984, 74.002, 74.003, 74.005, 73.997), (74.000, 74.010, 74.013, 74.020, 74.003),
    (73.982, 74.001, 74.015, 74.005, 73.996), (74.004, 73.999, 73.990, 74.006, 74.009),
    (74.010, 73.989, 73.990, 74.009, 74.014), (74.015, 74.008, 73.993, 74.000, 74.010),
    (73.982, 73.984, 73.995, 74.017, 74.013),
]  # fmt: skip
# Montgomery Table 6.4: 15 phase-II samples (numbers 26 to 40).
PISTON_RINGS_PHASE_2 = [
    (74.012, 74.015, 74.030, 73.986, 74.000), (73.995, 74.010, 73.990, 74.015, 74.001),
    (73.987, 73.999, 73.985, 74.000, 73.990), (74.008, 74.010, 74.003, 73.991, 74.006),
    (74.003, 74.000, 74.001, 73.986, 73.997), (73.994, 74.003, 74.015, 74.020, 74.004),
    (74.008, 74.002, 74.018, 73.995, 74.005), (74.001, 74.004, 73.990, 73.996, 73.998),
    (74.015, 74.000, 74.016, 74.025, 74.000), (74.030, 74.005, 74.000, 74.016, 74.012),
    (74.001, 73.990, 73.995, 74.010, 74.024), (74.015, 74.020, 74.024, 74.005, 74.019),
    (74.035, 74.010, 74.012, 74.015, 74.026), (74.017, 74.013, 74.036, 74.025, 74.026),
    (74.010, 74.005, 74.029, 74.000, 74.020),
]  # fmt: skip
# Montgomery Example 6.5: weekly mortgage loan processing cost, 20 weeks.
LOAN_COSTS = [310, 288, 297, 298, 307, 303, 294, 297, 308, 306,
              294, 299, 297, 299, 314, 295, 293, 306, 301, 304]  # fmt: skip
# Montgomery Example 7.1: nonconforming cans in 30 samples of n = 50.
JUICE_CANS = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22,
              8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]  # fmt: skip
# Montgomery Example 7.3: nonconformities in 26 samples of 100 printed circuit boards.
CIRCUIT_BOARDS = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16,
                  19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19, 17, 15]  # fmt: skip
# Montgomery Example 7.5: total nonconformities in 20 samples of n = 5 computers.
COMPUTERS = [10, 12, 8, 14, 10, 16, 11, 7, 10, 15, 9, 5, 7, 11, 12, 6, 8, 10, 7, 5]


def _subgroups(rows: list[tuple[float, ...]]) -> list[Sample]:
    return [Sample(values=row) for row in rows]


def _beyond_limits(evaluated: list, first: int = 1) -> list[int]:  # type: ignore[type-arg]
    """Sample numbers whose location point broke the beyond-the-limits rule."""
    return [
        number
        for number, point in enumerate(evaluated, first)
        if any(s.rule == "we1" and s.chart == "location" for s in point.signals)
    ]


def test_xbar_r_piston_rings_trial_limits_match_example_6_1() -> None:
    baseline = baseline_from("xbar-r", _subgroups(PISTON_RINGS), 5)
    location, ranges = limits(baseline), dispersion_limits(baseline)
    assert ranges is not None
    assert baseline.center == pytest.approx(74.001, abs=5e-4)
    assert baseline.spread == pytest.approx(0.023, abs=5e-4)
    assert (location.lcl, location.ucl) == pytest.approx((73.988, 74.014), abs=1e-3)
    assert (ranges.lcl, ranges.ucl) == pytest.approx((0.0, 0.049), abs=5e-4)
    assert baseline.points == 25
    evaluated = analyse(baseline, _subgroups(PISTON_RINGS), WESTERN_ELECTRIC)
    assert not any(p.signals for p in evaluated), "Montgomery: the process is in control"


def test_xbar_r_phase_2_signals_samples_37_to_39_as_in_example_6_1() -> None:
    baseline = baseline_from("xbar-r", _subgroups(PISTON_RINGS), 5)
    phase_2 = analyse(baseline, _subgroups(PISTON_RINGS_PHASE_2), WESTERN_ELECTRIC)
    assert _beyond_limits(phase_2, first=26) == [37, 38, 39]
    assert not any(s.chart == "dispersion" for p in phase_2 for s in p.signals)


def test_xbar_s_piston_rings_match_example_6_3() -> None:
    baseline = baseline_from("xbar-s", _subgroups(PISTON_RINGS), 5)
    location, deviations = limits(baseline), dispersion_limits(baseline)
    assert deviations is not None
    assert baseline.spread == pytest.approx(0.0094, abs=5e-5)
    assert (location.lcl, location.ucl) == pytest.approx((73.988, 74.014), abs=1e-3)
    assert (deviations.lcl, deviations.ucl) == pytest.approx((0.0, 0.0196), abs=1e-4)
    phase_2 = analyse(baseline, _subgroups(PISTON_RINGS_PHASE_2), WESTERN_ELECTRIC)
    assert _beyond_limits(phase_2, first=26) == [37, 38, 39]


def test_capability_of_piston_rings_matches_montgomery() -> None:
    """σ̂ = R̄/d2 = 0.023/2.326 = 0.0099 and Cp = 0.10/(6 · 0.0099) = 1.68 for the
    specification 74.000 ± 0.05 mm (Montgomery, section 6.2.1, "estimating process
    capability"); Pp uses the sample standard deviation of all 125 values."""
    baseline = baseline_from("xbar-r", _subgroups(PISTON_RINGS), 5)
    values = [v for row in PISTON_RINGS for v in row]
    result = capability(baseline, values, 73.95, 74.05)
    assert result.sigma_within == pytest.approx(0.0099, abs=1.5e-4)
    assert result.cp == pytest.approx(1.68, abs=0.015)
    assert result.cpk == pytest.approx((74.05 - 74.001176) / (3 * result.sigma_within))
    overall = result.sigma_overall
    assert overall is not None
    assert result.pp == pytest.approx(0.10 / (6 * overall))
    assert result.ppk == pytest.approx((74.05 - 74.001176) / (3 * overall))
    assert result.points == 125


def test_capability_of_a_one_sided_specification_has_no_cp() -> None:
    baseline = baseline_from("xbar-r", _subgroups(PISTON_RINGS), 5)
    values = [v for row in PISTON_RINGS for v in row]
    result = capability(baseline, values, None, 74.05)
    assert (result.cp, result.pp) == (None, None)
    assert result.cpk == pytest.approx((74.05 - 74.001176) / (3 * result.sigma_within))


def test_individuals_and_moving_range_match_example_6_5() -> None:
    samples = [Sample(values=(float(v),)) for v in LOAN_COSTS]
    baseline = baseline_from("i-mr", samples)
    location, moving = limits(baseline), dispersion_limits(baseline)
    assert moving is not None
    assert baseline.center == pytest.approx(300.5)
    assert baseline.spread == pytest.approx(7.79, abs=5e-3)
    assert (location.lcl, location.ucl) == pytest.approx((279.78, 321.22), abs=5e-3)
    assert (moving.lcl, moving.ucl) == pytest.approx((0.0, 25.45), abs=5e-3)
    assert not any(p.signals for p in analyse(baseline, samples, WESTERN_ELECTRIC))


def test_p_chart_matches_example_7_1_with_samples_15_and_23_out() -> None:
    samples = [Sample(count=c, size=50) for c in JUICE_CANS]
    baseline = baseline_from("p", samples)
    placed = limits(baseline, 50)
    assert (placed.center, placed.lcl, placed.ucl) == pytest.approx(
        (0.2313, 0.0524, 0.4102), abs=5e-5
    )
    assert _beyond_limits(analyse(baseline, samples, WESTERN_ELECTRIC)) == [15, 23]


def test_np_chart_of_the_same_cans_matches_section_7_2() -> None:
    samples = [Sample(count=c, size=50) for c in JUICE_CANS]
    baseline = baseline_from("np", samples)
    placed = limits(baseline, 50)
    assert (placed.center, placed.lcl, placed.ucl) == pytest.approx((11.57, 2.62, 20.51), abs=5e-3)
    assert _beyond_limits(analyse(baseline, samples, WESTERN_ELECTRIC)) == [15, 23]


def test_p_chart_limits_widen_for_a_smaller_sample() -> None:
    baseline = given_baseline("p", center=0.1)
    assert limits(baseline, 100).ucl == pytest.approx(0.19)
    assert limits(baseline, 25).ucl == pytest.approx(0.28)
    assert limits(baseline, 25).lcl == 0.0


def test_c_chart_matches_example_7_3_with_samples_6_and_20_out() -> None:
    samples = [Sample(count=c) for c in CIRCUIT_BOARDS]
    baseline = baseline_from("c", samples)
    placed = limits(baseline)
    # The book works from c̄ rounded to 19.85: 19.85 ± 3·√19.85; unrounded, 33.211 and 6.481.
    assert (placed.center, placed.lcl, placed.ucl) == pytest.approx((19.85, 6.48, 33.22), abs=1e-2)
    assert _beyond_limits(analyse(baseline, samples, WESTERN_ELECTRIC)) == [6, 20]


def test_u_chart_matches_example_7_5_in_control() -> None:
    samples = [Sample(count=c, size=5) for c in COMPUTERS]
    baseline = baseline_from("u", samples)
    placed = limits(baseline, 5)
    assert (placed.center, placed.lcl, placed.ucl) == pytest.approx((1.93, 0.07, 3.79), abs=5e-3)
    assert _beyond_limits(analyse(baseline, samples, WESTERN_ELECTRIC)) == []


def test_given_standard_values_set_the_limits() -> None:
    """Montgomery section 6.2.1, "control limits when standards are given": μ ± 3σ/√n."""
    baseline = given_baseline("xbar-r", center=74.0, sigma=0.01, subgroup=5)
    placed, ranges = limits(baseline), dispersion_limits(baseline)
    assert ranges is not None
    assert (placed.lcl, placed.ucl) == pytest.approx((74.0 - 0.0134, 74.0 + 0.0134), abs=1e-4)
    assert ranges.ucl == pytest.approx(4.918 * 0.01, abs=1e-4)  # D2 = 4.918 for n = 5


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


@pytest.mark.parametrize("n", range(2, 26))
def test_range_constants_agree_with_their_definitions(n: int) -> None:
    """The transcribed d2 equals E[range of n standard normals] (integrated here), and A2, D3,
    D4 follow from d2 and d3 within the table's rounding."""
    step = 0.005
    grid = [-9 + i * step for i in range(int(18 / step) + 1)]
    mean_range = step * sum(1 - _normal_cdf(x) ** n - (1 - _normal_cdf(x)) ** n for x in grid)
    assert d2(n) == pytest.approx(mean_range, abs=6e-4)
    assert a2(n) == pytest.approx(3 / (mean_range * math.sqrt(n)), abs=1.5e-3)
    assert d3_factor(n) == pytest.approx(max(0.0, 1 - 3 * d3(n) / d2(n)), abs=2e-3)
    assert d4_factor(n) == pytest.approx(1 + 3 * d3(n) / d2(n), abs=2e-3)


@pytest.mark.parametrize(
    ("n", "published_c4", "published_a3", "published_b3", "published_b4"),
    [
        (2, 0.7979, 2.659, 0.000, 3.267),
        (5, 0.9400, 1.427, 0.000, 2.089),
        (6, 0.9515, 1.287, 0.030, 1.970),
        (10, 0.9727, 0.975, 0.284, 1.716),
        (25, 0.9896, 0.606, 0.565, 1.435),
    ],
)
def test_standard_deviation_constants_match_appendix_vi(
    n: int, published_c4: float, published_a3: float, published_b3: float, published_b4: float
) -> None:
    assert c4(n) == pytest.approx(published_c4, abs=5e-5)
    assert (a3(n), b3(n), b4(n)) == pytest.approx(
        (published_a3, published_b3, published_b4), abs=5e-4
    )


def test_a_subgroup_size_outside_the_table_is_refused() -> None:
    with pytest.raises(ValueError, match="subgroup size must be 2 to 25, not 26"):
        d2(26)
