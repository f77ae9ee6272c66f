"""Units: parsing, conversion to and from SI, dimensions and formatting."""

from __future__ import annotations

import math

import pytest

from dsl.units import (
    UnknownUnit,
    dimension_name,
    format_quantity,
    from_si,
    parse_unit,
    same_dimension,
    to_si,
)


@pytest.mark.parametrize(
    ("value", "unit", "si"),
    [
        (60, "kPa", 60_000.0),
        (0.7, "bar", 70_000.0),
        (1, "psi", 6894.757293168361),
        (5, "MPa", 5e6),
        (250, "mbar", 25_000.0),
        (0.5, "mm", 0.0005),
        (1, "in", 0.0254),
        (3, "km", 3000.0),
        (12, "µm", 12e-6),
        (12, "um", 12e-6),
        (20, "°C", 293.15),
        (20, "degC", 293.15),
        (32, "°F", 273.15),
        (212, "degF", 373.15),
        (300, "K", 300.0),
        (10, "delta_degC", 10.0),
        (18, "delta_degF", 10.0),
        (-12, "°C", 261.15),
        (60, "/min", 1.0),
        (120, "rpm", 2.0),
        (50, "Hz", 50.0),
        (7200, "/h", 2.0),
        (95, "%", 0.95),
        (30, "d", 2_592_000.0),
        (90, "min", 5400.0),
        (250, "ms", 0.25),
        (12, "mm/s", 0.012),
        (6, "L/min", 1e-4),
        (3.6, "kg/h", 0.001),
        (2, "t", 2000.0),
        (1, "lb", 0.45359237),
        (1.5, "kN", 1500.0),
        (4, "N·m", 4.0),
        (4, "Nm", 4.0),
        (5, "mohm", 0.005),
        (5, "mΩ", 0.005),
        (100, "Mohm", 1e8),
        (100, "MΩ", 1e8),
        (2, "kohm", 2000.0),
        (2, "Ω", 2.0),
        (230, "mV", 0.23),
        (20, "mA", 0.02),
        (500, "mL", 5e-4),
        (2, "m3", 2.0),
        (3, "m²", 3.0),
        (4, "pcs", 4.0),
        (7, None, 7.0),
    ],
)
def test_to_si_and_back(value: float, unit: str | None, si: float) -> None:
    assert to_si(value, unit) == pytest.approx(si, rel=1e-12)
    assert from_si(to_si(value, unit), unit) == pytest.approx(value, rel=1e-12)


def test_milliohm_and_megaohm_differ_by_case() -> None:
    assert to_si(1, "Mohm") / to_si(1, "mohm") == pytest.approx(1e9)


def test_a_tolerance_in_any_temperature_unit_is_a_difference() -> None:
    assert same_dimension("delta_degC", "°C", as_difference=True)
    assert same_dimension("°F", "°C", as_difference=True)
    assert not same_dimension("bar", "°C", as_difference=True)


def test_kpa_and_bar_compare_in_si() -> None:
    assert to_si(60, "kPa") < to_si(0.7, "bar")


@pytest.mark.parametrize(
    ("unit", "name"),
    [
        ("bar", "pressure"),
        ("psi", "pressure"),
        ("N", "force"),
        ("N·m", "torque"),
        ("Nm", "torque"),
        ("mm", "length"),
        ("kg", "mass"),
        ("d", "time"),
        ("/min", "rate"),
        ("rpm", "rate"),
        ("°C", "temperature"),
        ("delta_degF", "temperature difference"),
        ("delta_degC/min", "temperature rate"),
        ("V", "voltage"),
        ("mA", "current"),
        ("mohm", "resistance"),
        ("L", "volume"),
        ("mm/s", "speed"),
        ("L/min", "volume flow"),
        ("kg/h", "mass flow"),
        ("%", "percent"),
        ("pcs", "dimensionless"),
        (None, "dimensionless"),
        ("kg·m/s^3", "m·kg/s^3"),
    ],
)
def test_dimension_names(unit: str | None, name: str) -> None:
    assert dimension_name(unit) == name


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("kPa", "bar", True),
        ("psi", "MPa", True),
        ("mm", "in", True),
        ("°F", "K", True),
        ("delta_degC", "°C", False),
        ("°F", "delta_degC", False),
        ("delta_degF", "K", True),
        ("N", "bar", False),
        ("N·m", "N", False),
        ("mm/s", "m/min", True),
        ("Hz", "/min", True),
        ("%", None, True),
        ("pcs", None, True),
        ("s", "Hz", False),
    ],
)
def test_same_dimension(a: str | None, b: str | None, same: bool) -> None:
    assert same_dimension(a, b) is same


@pytest.mark.parametrize("text", ["bra", "MOhm", "mm/", "/", "", "°C2", "m/°X", "N··m"])
def test_unknown_units_do_not_parse(text: str) -> None:
    assert parse_unit(text) is None


def test_unknown_unit_error_suggests_a_known_one() -> None:
    with pytest.raises(UnknownUnit) as raised:
        to_si(1, "MOhm")
    assert str(raised.value) == "unknown unit 'MOhm'; did you mean 'Mohm'?"
    with pytest.raises(UnknownUnit) as raised:
        from_si(1, "zorkmid")
    assert str(raised.value) == "unknown unit 'zorkmid'"


@pytest.mark.parametrize(
    ("si", "unit", "text"),
    [
        (7.24e6, "bar", "72.4 bar"),
        (1200.0, "N", "1200 N"),
        (293.15, "°C", "20 °C"),
        (0.95, "%", "95 %"),
        (0.005, "mohm", "5 mohm"),
        (1.5e6, "Pa", "1500000 Pa"),
        (1.23e-5, "m", "0.0000123 m"),
        (0.1 + 0.2, None, "0.3"),
        (-0.0, None, "0"),
        (math.inf, None, "inf"),
    ],
)
def test_format_quantity(si: float, unit: str | None, text: str) -> None:
    assert format_quantity(si, unit) == text
