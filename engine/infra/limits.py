"""What the engine accepts from outside, the same on SQLite and PostgreSQL, checked before the
database sees it.

- **Names and numbers** (users, items, work orders, lots, parts, operations, codes): at most
  :data:`NAME_MAX` characters (the size of the NAME columns), one line: no control character.
- **Texts** (reasons, descriptions, signature meanings, entered text): at most :data:`TEXT_MAX`
  characters; tab and newline (LF, or CR LF as browsers send it) are kept, every other control
  character is refused.
- Neither may hold an unpaired surrogate (it is not text and cannot be stored as UTF-8).
- **Quantities** taken, received or ordered: a finite number above zero.

Every check raises :class:`~engine.errors.Invalid` naming the field.
"""

from __future__ import annotations

import math
import re

from engine.errors import Invalid
from engine.records.tables import NAME

NAME_MAX = NAME
TEXT_MAX = 2_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # not \t \n \r
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def problem(value: str, limit: int, *, multiline: bool) -> str | None:
    """What is wrong with ``value`` as a predicate ("is 201 characters long; …"), or None."""
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit:,} are allowed"
    control = (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value)
    if control is not None:
        return (
            f"contains a control character (U+{ord(control.group()):04X}) at position "
            f"{control.start() + 1}; remove it"
        )
    surrogate = _SURROGATE.search(value)
    if surrogate is not None:
        return (
            f"contains an unpaired surrogate (U+{ord(surrogate.group()):04X}) at position "
            f"{surrogate.start() + 1}, which is not text; send valid UTF-8"
        )
    return None


def _check(values: dict[str, str | None], limit: int, *, multiline: bool) -> None:
    for field, value in values.items():
        if value is None:
            continue
        found = problem(value, limit, multiline=multiline)
        if found is not None:
            raise Invalid(f"The {field.replace('_', ' ')} {found}.", field=field)


def check_names(**values: str | None) -> None:
    """Each keyword's value as a name or number (None: not given); Invalid names the first bad
    one by its keyword: ``check_names(number=number)``."""
    _check(values, NAME_MAX, multiline=False)


def check_texts(**values: str | None) -> None:
    """Each keyword's value as a text (reason, description, meaning); see :func:`check_names`."""
    _check(values, TEXT_MAX, multiline=True)


def check_quantity(value: object, what: str, unit: str = "", *, field: str = "quantity") -> float:
    """``value`` as a float if it is a finite number above zero; else Invalid: "``what`` must be
    a number more than 0 ``unit``; got …"."""
    try:
        number = math.nan if isinstance(value, bool) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        zero = f"0 {unit}" if unit else "0"
        shown = f"{value:g}" if isinstance(value, int | float) else repr(value)
        raise Invalid(f"{what} must be a number more than {zero}; got {shown}.", field=field)
    return number
