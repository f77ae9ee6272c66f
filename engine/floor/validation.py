"""Checking the data an operator enters against the operation's ``collect`` fields.

Each value is checked for type, required, limits and choices (a photo is the SHA-256 of a stored
photo, which the completion checks is stored); a number sent in another unit of
the same dimension (``units={"length": "in"}``) is converted to the field's unit first; numbers
must be finite, and text obeys :mod:`engine.infra.limits` (newlines only in text fields). Every
problem is reported at once, each naming its field and saying how to put it right.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dsl import env as keys
from dsl.diagnostics import did_you_mean
from dsl.model import DataField, Operation
from dsl.units import dimension_name, from_si, parse_unit, same_dimension, to_si
from engine.errors import Invalid
from engine.infra.limits import TEXT_MAX, problem

Value = float | int | str | bool | dt.date

FILE_TYPES = {"photo": "take the photo first", "attachment": "attach the file first"}
"""Fields whose value is the SHA-256 of a stored file, with what to do when it is missing."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with one field."""

    field: str
    message: str


class InvalidData(Invalid):
    """Entered data with one or more problems; ``problems`` lists each with its field."""

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        super().__init__("; ".join(p.message for p in problems), field=problems[0].field)
        self.problems = problems

    def to_json(self) -> dict[str, object]:
        return {
            **super().to_json(),
            "problems": [{"field": p.field, "message": p.message} for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class FieldValue:
    """An accepted value: ``value`` in the field's own unit, ``rule_value`` as rules see it."""

    field: DataField
    value: Value
    rule_value: float | str | bool

    @property
    def number(self) -> float | None:
        """The value as a number, for numeric fields."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            return None
        return float(self.value)

    @property
    def text(self) -> str:
        """The value as text, as people read it."""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, dt.date):
            return self.value.isoformat()
        if isinstance(self.value, float):
            return f"{self.value:g}"
        return str(self.value)


def _with_unit(number: float, unit: str | None) -> str:
    return f"{number:g} {unit}" if unit else f"{number:g}"


def _number(field: DataField, raw: object, unit: str | None) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"{field.name}: expected a number, got {raw!r}")
    if isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw.strip().replace(",", "."))
        except ValueError:
            raise ValueError(
                f"{field.name}: '{raw}' is not a number; enter digits like 1.55"
            ) from None
    else:
        raise ValueError(f"{field.name}: expected a number, got {raw!r}")
    if not math.isfinite(number):
        raise ValueError(f"{field.name}: '{raw}' is not a finite number")
    if unit and unit != field.unit:
        if not field.unit:
            raise ValueError(f"{field.name}: takes a plain number without a unit, not '{unit}'")
        if parse_unit(unit) is None:
            raise ValueError(f"{field.name}: unknown unit '{unit}'; enter it in {field.unit}")
        if not same_dimension(unit, field.unit):
            raise ValueError(
                f"{field.name}: '{unit}' measures {dimension_name(unit)}, not "
                f"{dimension_name(field.unit)}; enter it in {field.unit}"
            )
        number = from_si(to_si(number, unit), field.unit)
    return number


def _limits(field: DataField, number: float) -> None:
    if field.low is not None and number < field.low:
        raise ValueError(
            f"{field.name}: {_with_unit(number, field.unit)} is below the minimum "
            f"{_with_unit(field.low, field.unit)}"
        )
    if field.high is not None and number > field.high:
        raise ValueError(
            f"{field.name}: {_with_unit(number, field.unit)} is above the maximum "
            f"{_with_unit(field.high, field.unit)}"
        )


def _accept(field: DataField, raw: object, unit: str | None) -> FieldValue:
    """Check one present value; raises ValueError with the user-facing message."""
    if isinstance(raw, str):
        found = problem(raw, TEXT_MAX, multiline=field.type == "text")
        if found is not None:
            raise ValueError(f"{field.name}: the value {found}")
    if field.type == "number":
        number = _number(field, raw, unit)
        _limits(field, number)
        return FieldValue(field, number, to_si(number, field.unit) if field.unit else number)
    if field.type == "integer":
        number = _number(field, raw, unit)
        if not number.is_integer():
            raise ValueError(f"{field.name}: {number:g} is not a whole number")
        _limits(field, number)
        si = to_si(number, field.unit) if field.unit else number
        return FieldValue(field, int(number), si)
    if field.type == "bool":
        if isinstance(raw, bool):
            return FieldValue(field, raw, raw)
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return FieldValue(field, text in _TRUE, text in _TRUE)
        raise ValueError(f"{field.name}: '{raw}' is not yes or no; enter true or false")
    if field.type == "date":
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            day = raw
        else:
            try:
                day = dt.date.fromisoformat(str(raw).strip())
            except ValueError:
                raise ValueError(
                    f"{field.name}: '{raw}' is not a date; enter it as YYYY-MM-DD"
                ) from None
        return FieldValue(field, day, keys.date_value(day))
    if not isinstance(raw, str):
        raise ValueError(f"{field.name}: expected text, got {raw!r}")
    text = raw.strip()
    if field.type in FILE_TYPES and not _SHA256.fullmatch(text):
        raise ValueError(
            f"{field.name}: {FILE_TYPES[field.type]}; the value is the stored file's SHA-256 "
            "(64 hex digits)"
        )
    if field.type == "choice" and text not in field.choices:
        hint = did_you_mean(text, field.choices)
        options = ", ".join(field.choices)
        raise ValueError(
            f"{field.name}: '{text}' is not one of {options}" + (f"; {hint}" if hint else "")
        )
    return FieldValue(field, text, text)


def _missing(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def validate(
    operation: Operation,
    entered: Mapping[str, Any],
    units: Mapping[str, str] | None = None,
) -> tuple[FieldValue, ...]:
    """The accepted values of ``entered`` (fields left empty are omitted), or InvalidData."""
    units = units or {}
    problems: list[FieldProblem] = []
    names = [f.name for f in operation.fields]
    for name in list(entered) + [u for u in units if u not in entered]:
        if operation.field(name) is None:
            hint = did_you_mean(name, names)
            known = ", ".join(names) if names else "none"
            problems.append(
                FieldProblem(
                    name,
                    f"{name}: operation '{operation.id}' collects no such field"
                    + (f"; {hint}" if hint else f" (it collects: {known})"),
                )
            )
    accepted: list[FieldValue] = []
    for field in operation.fields:
        raw = entered.get(field.name)
        if _missing(raw):
            if field.required:
                what = f"a value in {field.unit}" if field.unit else "a value"
                problems.append(FieldProblem(field.name, f"{field.name}: required; enter {what}"))
            continue
        try:
            accepted.append(_accept(field, raw, units.get(field.name)))
        except ValueError as error:
            problems.append(FieldProblem(field.name, str(error)))
    if problems:
        raise InvalidData(tuple(problems))
    return tuple(accepted)
