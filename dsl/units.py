"""Units of measure: parse unit text, convert to and from SI, name dimensions.

A unit is a dimension vector over (length, mass, time, current, temperature) with a factor and an
offset to SI: ``si = value * factor + offset``. Offsets exist only for °C and °F, which are
absolute temperatures (``20 °C`` is 293.15 K); ``delta_degC`` and ``delta_degF`` (pint's names)
are temperature differences of their size, without an offset. Compound units are products
(``N·m``) and quotients (``mm/s``, ``L/min``, ``/min``) of named units, with optional exponents
(``m3``, ``m²``, ``s^-2``). Unit names are case-sensitive: ``mohm`` is a milliohm, ``Mohm`` a
megaohm.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from dsl.diagnostics import did_you_mean

Dims = tuple[int, int, int, int, int]

_NONE: Dims = (0, 0, 0, 0, 0)
_LENGTH: Dims = (1, 0, 0, 0, 0)
_MASS: Dims = (0, 1, 0, 0, 0)
_TIME: Dims = (0, 0, 1, 0, 0)
_CURRENT: Dims = (0, 0, 0, 1, 0)
_TEMPERATURE: Dims = (0, 0, 0, 0, 1)
_RATE: Dims = (0, 0, -1, 0, 0)
_FORCE: Dims = (1, 1, -2, 0, 0)
_TORQUE: Dims = (2, 1, -2, 0, 0)
_PRESSURE: Dims = (-1, 1, -2, 0, 0)
_VOLTAGE: Dims = (2, 1, -3, -1, 0)
_RESISTANCE: Dims = (2, 1, -3, -2, 0)
_VOLUME: Dims = (3, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Unit:
    """A parsed unit: ``si = value * factor + offset``.

    ``percent`` and ``delta`` count the powers of ``%`` and of temperature-difference units in
    it (``%/min`` has percent 1, ``delta_degC/s`` has delta 1), as pint keeps them apart.
    """

    text: str
    dims: Dims
    factor: float
    offset: float = 0.0
    percent: int = 0
    delta: int = 0

    @property
    def is_percent(self) -> bool:
        """True for ``%``, which rules keep apart from plain numbers."""
        return self.text == "%"


def _named(
    dims: Dims, factor: float, *names: str, offset: float = 0.0, percent: int = 0, delta: int = 0
) -> dict[str, Unit]:
    return {name: Unit(name, dims, factor, offset, percent, delta) for name in names}


_PSI = 6894.757293168361
_FAHRENHEIT = 5.0 / 9.0

UNITS: dict[str, Unit] = {
    **_named(_LENGTH, 1.0, "m"),
    **_named(_LENGTH, 1e-3, "mm"),
    **_named(_LENGTH, 1e-2, "cm"),
    **_named(_LENGTH, 1e3, "km"),
    **_named(_LENGTH, 1e-6, "µm", "um"),
    **_named(_LENGTH, 0.0254, "in"),
    **_named(_MASS, 1.0, "kg"),
    **_named(_MASS, 1e-3, "g"),
    **_named(_MASS, 1e-6, "mg"),
    **_named(_MASS, 1e3, "t"),
    **_named(_MASS, 0.45359237, "lb"),
    **_named(_TIME, 1.0, "s"),
    **_named(_TIME, 1e-3, "ms"),
    **_named(_TIME, 60.0, "min"),
    **_named(_TIME, 3600.0, "h"),
    **_named(_TIME, 86400.0, "d"),
    **_named(_RATE, 1.0, "Hz"),
    **_named(_RATE, 1.0 / 60.0, "rpm"),
    **_named(_FORCE, 1.0, "N"),
    **_named(_FORCE, 1e3, "kN"),
    **_named(_TORQUE, 1.0, "Nm", "N·m"),
    **_named(_PRESSURE, 1.0, "Pa"),
    **_named(_PRESSURE, 1e3, "kPa"),
    **_named(_PRESSURE, 1e6, "MPa"),
    **_named(_PRESSURE, 1e5, "bar"),
    **_named(_PRESSURE, 1e2, "mbar"),
    **_named(_PRESSURE, _PSI, "psi"),
    **_named(_TEMPERATURE, 1.0, "K"),
    **_named(_TEMPERATURE, 1.0, "°C", "degC", offset=273.15),
    **_named(_TEMPERATURE, _FAHRENHEIT, "°F", "degF", offset=273.15 - 32.0 * _FAHRENHEIT),
    **_named(_TEMPERATURE, 1.0, "delta_degC", delta=1),
    **_named(_TEMPERATURE, _FAHRENHEIT, "delta_degF", delta=1),
    **_named(_VOLTAGE, 1.0, "V"),
    **_named(_VOLTAGE, 1e-3, "mV"),
    **_named(_VOLTAGE, 1e3, "kV"),
    **_named(_CURRENT, 1.0, "A"),
    **_named(_CURRENT, 1e-3, "mA"),
    **_named(_RESISTANCE, 1.0, "ohm", "Ω"),
    **_named(_RESISTANCE, 1e-3, "mohm", "mΩ"),
    **_named(_RESISTANCE, 1e3, "kohm", "kΩ"),
    **_named(_RESISTANCE, 1e6, "Mohm", "MΩ"),
    **_named(_VOLUME, 1e-3, "L"),
    **_named(_VOLUME, 1e-6, "mL"),
    **_named(_VOLUME, 1.0, "m3", "m³"),
    **_named(_NONE, 0.01, "%", percent=1),
    **_named(_NONE, 1.0, "pcs"),
}

_DIMENSION_NAMES: dict[Dims, str] = {
    _NONE: "dimensionless",
    _LENGTH: "length",
    _MASS: "mass",
    _TIME: "time",
    _CURRENT: "current",
    _TEMPERATURE: "temperature",
    _RATE: "rate",
    _FORCE: "force",
    _TORQUE: "torque",
    _PRESSURE: "pressure",
    _VOLTAGE: "voltage",
    _RESISTANCE: "resistance",
    _VOLUME: "volume",
    (2, 0, 0, 0, 0): "area",
    (1, 0, -1, 0, 0): "speed",
    (1, 0, -2, 0, 0): "acceleration",
    (3, 0, -1, 0, 0): "volume flow",
    (0, 1, -1, 0, 0): "mass flow",
    (2, 1, -3, 0, 0): "power",
    (0, 0, -1, 0, 1): "temperature rate",
    (-1, 1, -3, 0, 0): "pressure rate",
}

_BASE_SYMBOLS = ("m", "kg", "s", "A", "K")
_ATOM = re.compile(r"^(?P<base>.+?)(?:\^(?P<power>-?\d+)|(?P<digit>[23²³]))?$")
_SUPERSCRIPT = {"2": 2, "3": 3, "²": 2, "³": 3}


class UnknownUnit(ValueError):
    """A unit text that is not in the table; the message carries a did-you-mean."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.suggestion = did_you_mean(text, UNITS)
        message = f"unknown unit '{text}'"
        super().__init__(f"{message}; {self.suggestion}" if self.suggestion else message)


def _atom(text: str) -> tuple[Unit, int] | None:
    """One factor of a compound unit and its power, e.g. ``mm``, ``m3``, ``s^-2``."""
    named = UNITS.get(text)
    if named is not None:
        return named, 1
    match = _ATOM.match(text)
    if match is None:
        return None
    base = UNITS.get(match["base"])
    if base is None or base.offset:
        return None
    return base, int(match["power"]) if match["power"] else _SUPERSCRIPT[match["digit"] or "2"]


@lru_cache(maxsize=1024)
def parse_unit(text: str) -> Unit | None:
    """The unit written as ``text`` (``bar``, ``mm/s``, ``N·m``, ``/min``), or None if unknown."""
    text = text.strip()
    named = UNITS.get(text)
    if named is not None:
        return named
    parts = re.split(r"([·/])", text)
    if "" in parts[2::2] or parts == [""]:
        return None
    dims = [0, 0, 0, 0, 0]
    factor = 1.0
    percent = delta = 0
    sign = 1
    for index, part in enumerate(parts):
        if index % 2:
            sign = -1 if part == "/" else 1
            continue
        if not part:
            if index != 0:
                return None
            continue
        atom = _atom(part)
        if atom is None:
            return None
        base, power = atom
        power *= sign
        dims = [d + power * a for d, a in zip(dims, base.dims, strict=True)]
        factor *= base.factor**power
        percent += power * base.percent
        delta += power * base.delta
    return Unit(text, (dims[0], dims[1], dims[2], dims[3], dims[4]), factor, 0.0, percent, delta)


_DIFFERENCE_UNITS = {
    "°C": "delta_degC",
    "degC": "delta_degC",
    "°F": "delta_degF",
    "degF": "delta_degF",
}


def difference_unit(text: str) -> str:
    """The unit of a difference of two temperatures in ``text``: ``°C`` → ``delta_degC``."""
    return _DIFFERENCE_UNITS[text]


def require_unit(text: str) -> Unit:
    """The unit written as ``text``; :class:`UnknownUnit` if there is none."""
    unit = parse_unit(text)
    if unit is None:
        raise UnknownUnit(text)
    return unit


def to_si(value: float, unit_text: str | None) -> float:
    """``value`` given in ``unit_text`` (None or "" for a plain number), in SI."""
    if not unit_text:
        return float(value)
    unit = require_unit(unit_text)
    return value * unit.factor + unit.offset


def from_si(value: float, unit_text: str | None) -> float:
    """An SI ``value`` expressed in ``unit_text`` (None or "" for a plain number)."""
    if not unit_text:
        return float(value)
    unit = require_unit(unit_text)
    return (value - unit.offset) / unit.factor


def format_number(value: float) -> str:
    """A number as people write it: ``72.4``, ``1200``, ``0.0015``, at most 6 significant digits."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.6g}"
    if "e" in text and 1e-6 <= abs(value) < 1e15:
        text = f"{float(text):.15f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_quantity(si_value: float, unit_text: str | None) -> str:
    """An SI value shown in ``unit_text``, e.g. ``format_quantity(7.24e6, "bar") == "72.4 bar"``."""
    number = format_number(from_si(si_value, unit_text))
    return f"{number} {unit_text}" if unit_text else number


def _as_unit(unit: Unit | str | None) -> Unit:
    if isinstance(unit, Unit):
        return unit
    return require_unit(unit) if unit else Unit("", _NONE, 1.0)


def same_dimension(
    a: Unit | str | None, b: Unit | str | None, *, as_difference: bool = False
) -> bool:
    """True when quantities in ``a`` and ``b`` can be compared (None or "" is dimensionless).

    An absolute temperature (°C, °F) and a temperature difference (``delta_degC``) cannot,
    unless ``as_difference`` says both stand for differences (a tolerance, whatever its unit).
    """
    first, second = _as_unit(a), _as_unit(b)
    if first.dims != second.dims:
        return False
    mixed = (first.offset and second.delta) or (second.offset and first.delta)
    return as_difference or not mixed


def dims_name(dims: Dims) -> str:
    """The name of a dimension vector: ``pressure``, ``speed``, or SI units such as ``kg·m/s³``."""
    name = _DIMENSION_NAMES.get(dims)
    if name is not None:
        return name
    up = [_power(s, p) for s, p in zip(_BASE_SYMBOLS, dims, strict=True) if p > 0]
    down = [_power(s, -p) for s, p in zip(_BASE_SYMBOLS, dims, strict=True) if p < 0]
    return "·".join(up or ["1"]) + ("/" + "·".join(down) if down else "")


def _power(symbol: str, power: int) -> str:
    return symbol if power == 1 else f"{symbol}^{power}"


def dimension_name(unit: Unit | str | None) -> str:
    """What a unit measures: ``dimension_name("bar") == "pressure"``; ``%`` is ``percent``,
    ``delta_degC`` a ``temperature difference``."""
    parsed = _as_unit(unit)
    if parsed.is_percent:
        return "percent"
    if parsed.delta and parsed.dims == _TEMPERATURE:
        return "temperature difference"
    return dims_name(parsed.dims)


def known_units() -> tuple[str, ...]:
    """Every named unit, for documentation and suggestions."""
    return tuple(UNITS)
