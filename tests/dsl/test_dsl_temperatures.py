"""Temperatures on offset scales (°C, °F), temperature differences and kelvin, as pint has them."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import pytest
from expression_helpers import compiled, rendered

from dsl.expressions import Expect
from dsl.loader import LoadResult
from dsl.rules import Outcome
from dsl.scope import Scope, Symbol
from dsl.units import to_si

P, F = Outcome.PASS, Outcome.FAIL

SCOPE = Scope(
    tags=MappingProxyType(
        {
            "oven.t": Symbol("tag:oven.t", "number", "°C"),
            "oven.u": Symbol("tag:oven.u", "number", "°C"),
            "oven.rise": Symbol("tag:oven.rise", "number", "delta_degC"),
            "probe.f": Symbol("tag:probe.f", "number", "°F"),
            "probe.k": Symbol("tag:probe.k", "number", "K"),
        }
    )
)


def env(**values: tuple[float, str]) -> dict[str, float]:
    return {f"tag:{name.replace('_', '.')}": to_si(*value) for name, value in values.items()}


DIAGNOSTICS = [
    (
        "20 °C + 10 °C > 25 °C",
        """
r.yaml:3:10: error: cannot add two absolute temperatures (°C + °C)
    - check: 20 °C + 10 °C > 25 °C
             ^^^^^^^^^^^^^
  hint: write a temperature difference as `10 delta_degC` or `10 K`
""",
    ),
    (
        "oven.t + 5 °C > 60 °C",
        """
r.yaml:3:10: error: cannot add two absolute temperatures (°C + °C)
    - check: oven.t + 5 °C > 60 °C
             ^^^^^^^^^^^^^
  hint: write a temperature difference as `5 delta_degC` or `5 K`
""",
    ),
    (
        "oven.t + 9 °F > 60 °C",
        """
r.yaml:3:10: error: cannot add two absolute temperatures (°C + °F)
    - check: oven.t + 9 °F > 60 °C
             ^^^^^^^^^^^^^
  hint: write a temperature difference as `9 delta_degF` or `5 K`
""",
    ),
    (
        "abs(oven.t - oven.u) <= 2 °C",
        """
r.yaml:3:34: error: cannot compare temperature difference (delta_degC) with temperature (°C)
    - check: abs(oven.t - oven.u) <= 2 °C
                                     ^^^^
  hint: write a temperature difference as `2 delta_degC` or `2 K`
""",
    ),
    (
        "oven.rise between 1 °C and 2 K",
        """
r.yaml:3:28: error: cannot compare temperature difference (delta_degC) with temperature (°C)
    - check: oven.rise between 1 °C and 2 K
                               ^^^^
  hint: write a temperature difference as `1 delta_degC` or `1 K`
""",
    ),
    (
        "oven.t + probe.k > 60 °C",
        """
r.yaml:3:10: error: cannot add two absolute temperatures (°C + K)
    - check: oven.t + probe.k > 60 °C
             ^^^^^^^^^^^^^^^^
  hint: a tag or field in K is an absolute temperature; write a temperature difference as \
`10 delta_degC` or `10 K`
""",
    ),
    (
        "oven.rise - oven.t < 0 K",
        """
r.yaml:3:10: error: cannot subtract an absolute temperature (°C) from a temperature difference
    - check: oven.rise - oven.t < 0 K
             ^^^^^^^^^^^^^^^^^^
  hint: write the temperature first: a temperature minus a difference is a temperature
""",
    ),
    (
        "oven.t * 2 > 60 °C",
        """
r.yaml:3:10: error: cannot multiply an absolute temperature (°C)
    - check: oven.t * 2 > 60 °C
             ^^^^^^
  hint: only temperature differences can be multiplied or divided, such as `10 delta_degC` \
or `10 K`
""",
    ),
    (
        "(oven.t + oven.u) / 2 > 60 °C",
        """
r.yaml:3:11: error: cannot add two absolute temperatures (°C + °C)
    - check: (oven.t + oven.u) / 2 > 60 °C
              ^^^^^^^^^^^^^^^
  hint: write a temperature difference as `10 delta_degC` or `10 K`; to average two \
temperatures write a + (b - a) / 2
""",
    ),
]


@pytest.mark.parametrize(("source", "expected"), DIAGNOSTICS)
def test_offset_temperature_diagnostics(source: str, expected: str) -> None:
    assert "\n".join(rendered(source, SCOPE)) == expected.strip("\n")


def test_a_difference_is_not_a_setpoint_for_a_temperature() -> None:
    assert rendered("2 °C", SCOPE, Expect("number", "delta_degC")) == [
        "r.yaml:3:10: error: the value must be a temperature difference (delta_degC), "
        "but this is a temperature (°C)\n"
        "    - check: 2 °C\n"
        "             ^^^^\n"
        "  hint: write a temperature difference as `2 delta_degC` or `2 K`"
    ]


@pytest.mark.parametrize(
    ("source", "values", "outcome"),
    [
        # an absolute temperature plus or minus a difference is an absolute temperature
        ("oven.t + 5 K > 60 °C", {"oven_t": (50, "°C")}, F),
        ("oven.t + 5 K > 60 °C", {"oven_t": (56, "°C")}, P),
        ("oven.t + 5 delta_degC > 54 °C", {"oven_t": (50, "°C")}, P),
        ("oven.t + 9 delta_degF < 55.5 °C", {"oven_t": (50, "°C")}, P),
        ("oven.t - 5 K < 46 °C", {"oven_t": (50, "°C")}, P),
        ("5 K + oven.t == 55 °C", {"oven_t": (50, "°C")}, P),
        ("oven.t + oven.rise >= 60 °C", {"oven_t": (50, "°C"), "oven_rise": (10, "K")}, P),
        # the difference of two absolute temperatures is a difference
        ("abs(oven.t - oven.u) <= 2 K", {"oven_t": (50, "°C"), "oven_u": (40, "°C")}, F),
        ("abs(oven.t - oven.u) <= 2 K", {"oven_t": (50, "°C"), "oven_u": (49, "°C")}, P),
        ("oven.u - oven.t <= -10 delta_degC", {"oven_t": (50, "°C"), "oven_u": (40, "°C")}, P),
        ("oven.t - oven.u == 18 delta_degF", {"oven_t": (50, "°C"), "oven_u": (40, "°C")}, P),
        ("probe.f - oven.t == 1 K", {"probe_f": (212, "°F"), "oven_t": (99, "°C")}, P),
        # a reading in K is absolute: subtracting it from a temperature gives a difference
        ("oven.t - probe.k < 0 K", {"oven_t": (20, "°C"), "probe_k": (300, "K")}, P),
        (
            "probe.k - oven.t between 6.8 K and 6.9 K",
            {"oven_t": (20, "°C"), "probe_k": (300, "K")},
            P,
        ),
        # abs and minus act on the number in its unit, as pint does
        ("abs(oven.t) <= 2 °C", {"oven_t": (-5, "°C")}, F),
        ("abs(oven.t) <= 2 °C", {"oven_t": (-1, "°C")}, P),
        ("-oven.t > 0 °C", {"oven_t": (-5, "°C")}, P),
        ("-probe.f == 40 °F", {"probe_f": (-40, "°F")}, P),
        # constants
        ("20 °C - 10 °C == 10 K", {}, P),
        ("-12 °C == 261.15 K", {}, P),
        ("-(12 °C) == -12 °C", {}, P),
        ("-(-12 °C) == 12 °C", {}, P),
        ("abs(-12 °C) == 12 °C", {}, P),
        ("300 K - 20 °C between 6.8 K and 6.9 K", {}, P),
        ("2 * (30 °C - 20 °C) == 20 K", {}, P),
        ("(30 °C - 20 °C) / 1 min == 10 K/min", {}, P),
    ],
)
def test_temperature_arithmetic(
    source: str, values: dict[str, tuple[float, str]], outcome: Outcome
) -> None:
    assert compiled(source, SCOPE).evaluate(env(**values)) is outcome


def test_a_difference_of_temperatures_reads_as_a_difference() -> None:
    rule = compiled("oven.t - oven.u", SCOPE, Expect("number", "delta_degC"))
    assert rule.value(env(oven_t=(50, "°C"), oven_u=(40, "°C"))) == pytest.approx(10.0)


VISUAL = "      visual: {type: choice, choices: [ok, scratch]}\n"


def test_a_field_in_celsius_takes_temperatures_as_limits(
    load_plant: Callable[..., LoadResult], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    field = "      temp: {type: number, unit: °C, min: 5 delta_degC, max: 90 °C}\n"
    result = load_plant(edit("routings/widget.yaml", VISUAL, VISUAL + field))
    assert result.render() == (
        "plant/routings/widget.yaml:26:45: error: field 'temp' is in °C (temperature), but its "
        "min is in delta_degC (temperature difference)\n"
        "          temp: {type: number, unit: °C, min: 5 delta_degC, max: 90 °C}\n"
        "                                                ^^^^^^^^^^"
    )


@pytest.mark.parametrize("tolerance", ["2 delta_degC", "2 K", "2 °C", "3.6 delta_degF"])
def test_a_setpoint_tolerance_is_a_difference_in_any_temperature_unit(
    load_plant: Callable[..., LoadResult],
    edit: Callable[[str, str, str], dict[str, str]],
    tolerance: str,
) -> None:
    files = edit("site.yaml", "unit: N, writable: true", "unit: °C, writable: true")
    files["routings/widget.yaml"] = files["routings/widget.yaml"].replace(
        "value: 100 N, tolerance: 2 N", f"value: 90 °C, tolerance: {tolerance}"
    )
    plant = load_plant(files).plant
    assert plant is not None
    (setpoint,) = plant.routings["widget"].operations[0].setpoints
    assert setpoint.tolerance == pytest.approx(2.0)
