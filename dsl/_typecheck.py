"""Type- and unit-check a parsed expression against a scope; produce a typed, folded tree.

Every name is resolved to an environment key (see :mod:`dsl.env`), every quantity literal is
converted to SI, constant sub-expressions are folded, and every mistake found is reported (not
just the first). The result feeds :mod:`dsl._compiler`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from dsl import _parser as syntax
from dsl import env
from dsl.diagnostics import did_you_mean
from dsl.scope import Kind, Scope, Symbol
from dsl.units import (
    Dims,
    Unit,
    UnknownUnit,
    difference_unit,
    dims_name,
    format_number,
    parse_unit,
)

_NO_DIMS: Dims = (0, 0, 0, 0, 0)
_TIME_DIMS: Dims = (0, 0, 1, 0, 0)
_TEMPERATURE_DIMS: Dims = (0, 0, 0, 0, 1)

Temperature = Literal["absolute", "difference"]


@dataclass(frozen=True, slots=True)
class Type:
    """A value's kind; numbers also carry a dimension, the unit they are shown in, and (as
    pint does) the powers of ``%`` and of temperature-difference units they hold."""

    kind: Kind
    dims: Dims = _NO_DIMS
    unit: str | None = None
    percent: int = 0
    delta: int = 0

    @property
    def is_plain(self) -> bool:
        return self.kind == "number" and self.unit is None and self.dims == _NO_DIMS

    @property
    def is_percent(self) -> bool:
        return self.kind == "number" and self.dims == _NO_DIMS and self.percent == 1

    @property
    def is_ordered(self) -> bool:
        return self.kind in ("number", "date", "datetime")

    @property
    def offset(self) -> float:
        """The SI offset of the unit it is shown in: non-zero for °C and °F only."""
        unit = parse_unit(self.unit) if self.unit else None
        return unit.offset if unit is not None else 0.0

    @property
    def temperature(self) -> Temperature | None:
        """``absolute`` for a temperature in °C or °F, ``difference`` for a temperature
        difference, None for anything else (kelvin may stand for either)."""
        if self.kind != "number" or self.dims != _TEMPERATURE_DIMS:
            return None
        if self.offset:
            return "absolute"
        return "difference" if self.delta else None

    def describe(self, article: bool = False) -> str:
        """How messages name this type: ``pressure (bar)``, ``a plain number``, ``text``."""
        if self.kind == "number":
            if self.is_plain:
                return "a plain number"
            name = dims_name(self.dims)
            if self.is_percent:
                name = "percent"
            elif self.temperature == "difference":
                name = "temperature difference"
            text = f"{name} ({self.unit})" if self.unit else name
            return f"{_article(name)} {text}" if article else text
        return {
            "bool": "true or false",
            "string": "text",
            "date": "a date",
            "datetime": "a date and time",
        }[self.kind]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


BOOL = Type("bool")
STRING = Type("string")
DATE = Type("date")
DATETIME = Type("datetime")
PLAIN = Type("number")


# ---------------------------------------------------------------- the typed tree


@dataclass(frozen=True, slots=True, eq=False)
class Expr:
    """A checked expression; ``start``/``end`` are offsets into the source."""

    type: Type
    start: int
    end: int


@dataclass(frozen=True, slots=True, eq=False)
class Const(Expr):
    value: Any


@dataclass(frozen=True, slots=True, eq=False)
class Read(Expr):
    """A value read from the environment; ``name`` is how the rule wrote it."""

    key: str
    name: str
    choices: frozenset[str] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Has(Expr):
    """``member in env[key]``: ``operator.qualified("x")`` and ``operator.has_role("x")``."""

    member: str
    key: str
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class NotExpr(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False)
class LogicExpr(Expr):
    op: str
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False)
class CompareExpr(Expr):
    left: Expr
    op: str
    right: Expr


@dataclass(frozen=True, slots=True, eq=False)
class BetweenExpr(Expr):
    value: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True, slots=True, eq=False)
class MemberExpr(Expr):
    value: Expr
    items: frozenset[Any]
    negated: bool


@dataclass(frozen=True, slots=True, eq=False)
class ArithExpr(Expr):
    left: Expr
    op: str
    right: Expr


@dataclass(frozen=True, slots=True, eq=False)
class NegExpr(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False)
class CallExpr(Expr):
    """``abs``, ``min`` or ``max``."""

    function: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False)
class RoundExpr(Expr):
    """``round(x, digits)`` in the unit x is shown in (factor and offset of that unit)."""

    operand: Expr
    digits: int
    factor: float
    offset: float


def round_in(value: float, digits: int, factor: float, offset: float) -> float:
    """Round an SI value to ``digits`` decimals of its display unit."""
    return round((value - offset) / factor, digits) * factor + offset


def equal(a: float, b: float) -> bool:
    """``a == b`` for numbers in SI: within a relative 1e-9 (absolute 1e-12), so that
    ``10 % + 5 % == 15 %`` holds; two whole numbers are equal only when they are the same."""
    if a == b:
        return True
    if float(a).is_integer() and float(b).is_integer():
        return False
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def is_member(value: float, items: frozenset[float]) -> bool:
    """``value in items`` for numbers, with :func:`equal`."""
    return value in items or any(equal(value, item) for item in items)


@dataclass(frozen=True, slots=True)
class Problem:
    """A type error at source offsets ``start``..``end``."""

    start: int
    end: int
    message: str
    hint: str | None = None


# ---------------------------------------------------------------- names a rule can read

_EQUIPMENT_STATES = frozenset({"running", "idle", "down", "setup"})
_QUALITIES = frozenset({"good", "bad", "stale"})


@dataclass(frozen=True, slots=True)
class _Builtin:
    owner: str
    key: str
    type: Type
    choices: frozenset[str] | None = None
    counterpart: str | None = None


_BUILTINS: dict[str, _Builtin] = {
    "operator.id": _Builtin("operator", "operator.id", STRING),
    "equipment.name": _Builtin("equipment", "equipment.name", STRING),
    "equipment.state": _Builtin("equipment", "equipment.state", STRING, _EQUIPMENT_STATES),
    "equipment.calibration_due": _Builtin("equipment", "equipment.calibration_due", DATE),
    "equipment.maintenance_due": _Builtin("equipment", "equipment.maintenance_due", DATE),
    "unit.serial": _Builtin("unit", "item.id", STRING, counterpart="lot.number"),
    "unit.rework_count": _Builtin("unit", "item.rework_count", PLAIN, None, "lot.rework_count"),
    "lot.number": _Builtin("lot", "item.id", STRING, counterpart="unit.serial"),
    "lot.quantity": _Builtin("lot", "item.quantity", PLAIN),
    "lot.rework_count": _Builtin("lot", "item.rework_count", PLAIN, None, "unit.rework_count"),
}
_MEMBERSHIP_CALLS = {
    "operator.qualified": ("qualification", "operator.qualifications"),
    "operator.has_role": ("role", "operator.roles"),
}
_FUNCTIONS = ("abs", "min", "max", "round")
_NUMERIC_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}
_STATE_RULE_HINT = "equipment state rules may read only tags, today and now"

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
_VERB = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


def check(
    tree: syntax.Node, source: str, scope: Scope, kind: Kind, unit: str | None
) -> Expr | list[Problem]:
    """The typed tree of ``tree``, or every problem found in it."""
    checker = _Checker(source, scope)
    typed = checker.expr(tree)
    if typed is not None:
        checker.expect(typed, kind, unit)
    if checker.problems:
        return checker.problems
    assert typed is not None
    return typed


class _Checker:
    """Walks the syntax tree once; returns None for a sub-tree with errors (already reported)."""

    def __init__(self, source: str, scope: Scope) -> None:
        self.source = source
        self.scope = scope
        self.problems: list[Problem] = []

    def fail(self, node: _Located, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(node.start, node.end, message, hint))

    def text(self, node: _Located) -> str:
        return self.source[node.start : node.end]

    # ------------------------------------------------------------ the whole expression

    def expect(self, typed: Expr, kind: Kind, unit: str | None) -> None:
        if kind == "bool":
            if typed.type.kind != "bool":
                self.fail(
                    typed,
                    "a condition must be true or false, but this is "
                    f"{typed.type.describe(article=True)}",
                    _comparison_hint(typed.type),
                )
            return
        wanted = _quantity_type(unit) if kind == "number" else Type(kind)
        if wanted is None:
            self.fail(typed, f"the target has an unknown unit '{unit}'")
        elif not _same_type(wanted, typed.type):
            hint = _temperature_hint(wanted, typed)
            if isinstance(typed, Const) and typed.type.is_plain and wanted.unit:
                hint = f"write {format_number(typed.value)} {wanted.unit}"
            self.fail(
                typed,
                f"the value must be {wanted.describe(article=True)}, "
                f"but this is {typed.type.describe(article=True)}",
                hint,
            )

    # ------------------------------------------------------------ dispatch

    def expr(self, node: syntax.Node) -> Expr | None:
        if isinstance(node, syntax.Number):
            return self.number(node)
        if isinstance(node, syntax.String):
            return Const(STRING, node.start, node.end, node.value)
        if isinstance(node, syntax.Boolean):
            return Const(BOOL, node.start, node.end, node.value)
        if isinstance(node, syntax.Date):
            return Const(DATE, node.start, node.end, env.date_value(node.value))
        if isinstance(node, syntax.Name):
            return self.name(node)
        if isinstance(node, syntax.Call):
            return self.call(node)
        if isinstance(node, syntax.Negate):
            return self.negate(node)
        if isinstance(node, syntax.Not):
            return self.not_(node)
        if isinstance(node, syntax.Logic):
            return self.logic(node)
        if isinstance(node, syntax.Arithmetic):
            return self.arithmetic(node)
        if isinstance(node, syntax.Comparison):
            return self.comparison(node)
        if isinstance(node, syntax.Between):
            return self.between(node)
        if isinstance(node, syntax.Membership):
            return self.membership(node)
        raise AssertionError(f"unexpected syntax node {node!r}")

    def exprs(self, nodes: Sequence[syntax.Node]) -> list[Expr] | None:
        """Check every node (to report every error); None if any had an error."""
        typed = [self.expr(node) for node in nodes]
        return None if any(t is None for t in typed) else [t for t in typed if t is not None]

    # ------------------------------------------------------------ literals and names

    def number(self, node: syntax.Number) -> Expr | None:
        if node.unit is None:
            return Const(PLAIN, node.start, node.end, node.value)
        unit = parse_unit(node.unit)
        if unit is None:
            self.problems.append(
                Problem(node.unit_start, node.end, str(UnknownUnit(node.unit)), None)
            )
            return None
        value = node.value * unit.factor + unit.offset
        return Const(_unit_type(unit), node.start, node.end, value)

    def name(self, node: syntax.Name) -> Expr | None:
        dotted = node.dotted
        scope = self.scope
        if dotted == "today":
            return Read(DATE, node.start, node.end, env.TODAY, "today")
        if dotted == "now":
            return Read(DATETIME, node.start, node.end, env.NOW, "now")
        symbol = scope.tags.get(dotted)
        if symbol is not None:
            return self.symbol(node, symbol, env.tag_key(dotted))
        device_tag = ".".join(node.parts[:2])
        if len(node.parts) == 3 and device_tag in scope.tags:
            return self.tag_property(node, device_tag, node.parts[2])
        symbol = scope.fields.get(dotted)
        if symbol is not None:
            return self.symbol(node, symbol, symbol.key)
        later = scope.later_fields.get(dotted)
        if later is not None:
            self.fail(
                node,
                f"field '{dotted}' is collected later, at operation '{later.operation}'",
                "only fields of earlier operations can be read here; check it in a gate",
            )
            return None
        builtin = _BUILTINS.get(dotted)
        if builtin is not None:
            return self.builtin(node, dotted, builtin)
        if dotted in _MEMBERSHIP_CALLS:
            what = _MEMBERSHIP_CALLS[dotted][0]
            self.fail(node, f"'{dotted}' needs a {what}", f'write {dotted}("NAME")')
            return None
        self.unknown_name(node)
        return None

    def symbol(self, node: syntax.Name, symbol: Symbol, key: str) -> Expr | None:
        if symbol.kind != "number":
            return Read(Type(symbol.kind), node.start, node.end, key, node.dotted)
        found = _quantity_type(symbol.unit)
        if found is None:
            self.fail(node, f"'{node.dotted}' has an unknown unit '{symbol.unit}'")
            return None
        return Read(found, node.start, node.end, key, node.dotted)

    def tag_property(self, node: syntax.Name, tag: str, prop: str) -> Expr | None:
        if prop == "age":
            age = Type("number", _TIME_DIMS, "s")
            return Read(age, node.start, node.end, env.tag_age_key(tag), node.dotted)
        if prop == "quality":
            key = env.tag_quality_key(tag)
            return Read(STRING, node.start, node.end, key, node.dotted, _QUALITIES)
        suggestion = did_you_mean(prop, ("age", "quality"))
        self.fail(
            node,
            f"unknown tag property '{prop}' of '{tag}'" + (f"; {suggestion}" if suggestion else ""),
            "a tag has 'age' and 'quality'",
        )
        return None

    def builtin(self, node: syntax.Name, dotted: str, builtin: _Builtin) -> Expr | None:
        scope = self.scope
        if builtin.owner == "operator" and not scope.operator:
            self.fail(node, f"'{dotted}' cannot be used here", _STATE_RULE_HINT)
            return None
        if builtin.owner == "equipment" and not scope.equipment:
            if not scope.operator:
                self.fail(node, f"'{dotted}' cannot be used here", _STATE_RULE_HINT)
            else:
                self.fail(
                    node,
                    f"'{dotted}' cannot be used here: this operation has no equipment",
                    "add 'equipment: NAME' to the operation",
                )
            return None
        if builtin.owner in ("unit", "lot") and scope.item != builtin.owner:
            if scope.item is None:
                self.fail(node, f"'{dotted}' cannot be used here", _STATE_RULE_HINT)
                return None
            tracking = "lot-tracked" if scope.item == "lot" else "serialized"
            hint = f"use {builtin.counterpart}" if builtin.counterpart else None
            self.fail(node, f"'{dotted}' cannot be used here: this product is {tracking}", hint)
            return None
        return Read(builtin.type, node.start, node.end, builtin.key, dotted, builtin.choices)

    def unknown_name(self, node: syntax.Name) -> None:
        dotted = node.dotted
        scope = self.scope
        head = node.parts[0]
        if len(node.parts) > 1 and any(t.startswith(head + ".") for t in scope.tags):
            what, choices = "tag", list(scope.tags)
        elif len(node.parts) > 1 and any(
            f.startswith(head + ".") for f in (*scope.fields, *scope.later_fields)
        ):
            what, choices = "field", [*scope.fields, *scope.later_fields]
        else:
            what, choices = "name", self.readable_names()
        suggestion = did_you_mean(dotted, choices)
        message = f"unknown {what} '{dotted}'" + (f"; {suggestion}" if suggestion else "")
        self.fail(node, message)

    def readable_names(self) -> list[str]:
        scope = self.scope
        names = ["today", "now", *scope.tags, *scope.fields, *scope.later_fields]
        for dotted, builtin in _BUILTINS.items():
            if (
                (builtin.owner == "operator" and scope.operator)
                or (builtin.owner == "equipment" and scope.equipment)
                or builtin.owner == scope.item
            ):
                names.append(dotted)
        return names

    # ------------------------------------------------------------ calls

    def call(self, node: syntax.Call) -> Expr | None:
        name = node.function.dotted
        if name in _MEMBERSHIP_CALLS:
            return self.membership_call(node, name)
        args = self.exprs(node.args)
        if name not in _FUNCTIONS:
            if len(node.function.parts) > 1 or self.is_readable(node.function):
                self.fail(node.function, f"'{name}' is not a function")
            else:
                suggestion = did_you_mean(name, _FUNCTIONS)
                self.fail(
                    node.function,
                    f"unknown function '{name}'" + (f"; {suggestion}" if suggestion else ""),
                    "the functions are abs, min, max and round",
                )
            return None
        if args is None:
            return None
        if name == "round":
            return self.round_call(node, args)
        return self.numeric_call(node, name, args)

    def is_readable(self, name: syntax.Name) -> bool:
        return name.dotted in self.readable_names()

    def membership_call(self, node: syntax.Call, name: str) -> Expr | None:
        what, key = _MEMBERSHIP_CALLS[name]
        if not self.scope.operator:
            self.fail(node, f"'{name}' cannot be used here", _STATE_RULE_HINT)
            return None
        if len(node.args) != 1 or not isinstance(node.args[0], syntax.String):
            self.fail(
                node,
                f"{name} takes one {what} name in quotes",
                f'write {name}("NAME")',
            )
            return None
        argument = node.args[0]
        declared = self.scope.qualifications if what == "qualification" else self.scope.roles
        if argument.value not in declared:
            suggestion = did_you_mean(argument.value, declared)
            message = f"unknown {what} '{argument.value}'"
            hint = None if suggestion else f"declare it under '{what}s:'"
            self.fail(argument, message + (f"; {suggestion}" if suggestion else ""), hint)
            return None
        return Has(BOOL, node.start, node.end, argument.value, key, key)

    def round_call(self, node: syntax.Call, args: list[Expr]) -> Expr | None:
        if len(args) not in (1, 2):
            self.fail(node, f"round takes 1 or 2 values, not {len(args)}", "write round(x, digits)")
            return None
        value = args[0]
        if value.type.kind != "number":
            self.fail(value, f"round needs a number, but this is {value.type.describe(True)}")
            return None
        digits = 0
        if len(args) == 2:
            given = args[1]
            if not (
                isinstance(given, Const) and given.type.is_plain and given.value == int(given.value)
            ):
                self.fail(given, "the digits of round must be a whole number such as 1 or 2")
                return None
            digits = int(given.value)
            if not 0 <= digits <= 12:
                self.fail(given, "the digits of round must be between 0 and 12")
                return None
        unit = parse_unit(value.type.unit) if value.type.unit else None
        factor, offset = (unit.factor, unit.offset) if unit else (1.0, 0.0)
        if isinstance(value, Const):
            rounded = round_in(value.value, digits, factor, offset)
            return Const(value.type, node.start, node.end, rounded)
        return RoundExpr(value.type, node.start, node.end, value, digits, factor, offset)

    def numeric_call(self, node: syntax.Call, name: str, args: list[Expr]) -> Expr | None:
        if name == "abs" and len(args) != 1:
            self.fail(node, f"abs takes one value, not {len(args)}")
            return None
        if name != "abs" and len(args) < 2:
            self.fail(node, f"{name} needs at least two values", f"write {name}(a, b)")
            return None
        first = args[0]
        allowed = ("number",) if name == "abs" else ("number", "date", "datetime")
        ok = True
        for arg in args:
            if arg.type.kind not in allowed:
                self.fail(arg, f"{name} needs numbers, but this is {arg.type.describe(True)}")
                ok = False
            elif arg is not first and not _same_type(first.type, arg.type):
                self.fail(
                    arg,
                    f"cannot take the {name} of {first.type.describe()} and {arg.type.describe()}",
                )
                ok = False
        if not ok:
            return None
        if name == "abs":
            # °C and °F take the absolute value of their number, as pint does: abs(-12 °C) = 12 °C
            offset = first.type.offset
            moved = _shifted(first, -offset)
            if isinstance(moved, Const):
                result: Expr = Const(first.type, node.start, node.end, abs(moved.value))
            else:
                result = CallExpr(first.type, node.start, node.end, name, (moved,))
            return _shifted(result, offset)
        # the result is one of the values: a temperature or a difference if any of them is
        kind = next((a.type for a in args if a.type.temperature), first.type)
        function = _NUMERIC_FUNCTIONS[name]
        if all(isinstance(a, Const) for a in args):
            return Const(kind, node.start, node.end, function(*(_value(a) for a in args)))
        return CallExpr(kind, node.start, node.end, name, tuple(args))

    # ------------------------------------------------------------ logic

    def not_(self, node: syntax.Not) -> Expr | None:
        operand = self.expr(node.operand)
        if operand is None:
            return None
        if operand.type.kind != "bool":
            self.fail(
                operand,
                f"'not' needs true or false, but this is {operand.type.describe(True)}",
                _comparison_hint(operand.type),
            )
            return None
        if isinstance(operand, Const):
            return Const(BOOL, node.start, node.end, not operand.value)
        return NotExpr(BOOL, node.start, node.end, operand)

    def logic(self, node: syntax.Logic) -> Expr | None:
        operands = self.exprs(node.operands)
        if operands is None:
            return None
        ok = True
        for operand in operands:
            if operand.type.kind != "bool":
                self.fail(
                    operand,
                    f"'{node.op}' needs true or false on each side, but this is "
                    f"{operand.type.describe(True)}",
                    _comparison_hint(operand.type),
                )
                ok = False
        if not ok:
            return None
        if all(isinstance(o, Const) for o in operands):
            values = [_value(o) for o in operands]
            folded = all(values) if node.op == "and" else any(values)
            return Const(BOOL, node.start, node.end, folded)
        return LogicExpr(BOOL, node.start, node.end, node.op, tuple(operands))

    # ------------------------------------------------------------ comparisons

    def comparison(self, node: syntax.Comparison) -> Expr | None:
        if node.more:
            op, op_start, _ = node.more[0]
            self.problems.append(
                Problem(
                    op_start,
                    op_start + len(op),
                    "comparisons cannot be chained",
                    "write 'x between a and b' for a range, or join comparisons with 'and'",
                )
            )
            self.exprs([node.left, node.right, *(right for _, _, right in node.more)])
            return None
        typed = self.exprs([node.left, node.right])
        if typed is None:
            return None
        left, right = typed
        if not self.comparable(node, left, right, node.op):
            return None
        if isinstance(left, Const) and isinstance(right, Const):
            return Const(BOOL, node.start, node.end, _compared(left, node.op, right))
        return CompareExpr(BOOL, node.start, node.end, left, node.op, right)

    def comparable(self, node: _Located, left: Expr, right: Expr, op: str) -> bool:
        """Report why ``left op right`` is not allowed; True when it is."""
        a, b = left.type, right.type
        if a.kind in ("bool", "string") and op not in ("==", "!="):
            self.fail(
                node,
                f"cannot order {a.describe()}: use == or != with {a.describe()}",
            )
            return False
        if _same_type(a, b):
            return self.known_choice(left, right) and self.known_choice(right, left)
        blamed: _Located = node
        if isinstance(right, Const) and not isinstance(left, Const):
            blamed = right
        elif isinstance(left, Const) and not isinstance(right, Const):
            blamed = left
        self.fail(
            blamed,
            f"cannot compare {a.describe()} with {b.describe()}",
            _mismatch_hint(left, right),
        )
        return False

    def known_choice(self, read: Expr, other: Expr) -> bool:
        """``equipment.state == "dwn"``: a string constant the name can never have."""
        if not (isinstance(read, Read) and read.choices and isinstance(other, Const)):
            return True
        if other.value in read.choices:
            return True
        suggestion = did_you_mean(other.value, read.choices)
        self.fail(
            other,
            f"'{other.value}' is not a possible value of {read.name}"
            + (f"; {suggestion}" if suggestion else ""),
            "it is one of " + ", ".join(sorted(read.choices)),
        )
        return False

    def between(self, node: syntax.Between) -> Expr | None:
        typed = self.exprs([node.value, node.low, node.high])
        if typed is None:
            return None
        value, low, high = typed
        if not value.type.is_ordered:
            self.fail(
                value,
                f"'between' needs a number or a date, but this is {value.type.describe(True)}",
            )
            return None
        if not (
            self.comparable(node, value, low, "<=") and self.comparable(node, value, high, "<=")
        ):
            return None
        if isinstance(low, Const) and isinstance(high, Const) and low.value > high.value:
            self.fail(
                node,
                f"empty range: {self.text(low)} is above {self.text(high)}",
                "write the smaller bound first",
            )
            return None
        if isinstance(value, Const) and isinstance(low, Const) and isinstance(high, Const):
            return Const(BOOL, node.start, node.end, low.value <= value.value <= high.value)
        return BetweenExpr(BOOL, node.start, node.end, value, low, high)

    def membership(self, node: syntax.Membership) -> Expr | None:
        value = self.expr(node.value)
        items = self.exprs(node.items)
        if value is None or items is None:
            return None
        word = "not in" if node.negated else "in"
        if not items:
            self.problems.append(
                Problem(
                    node.list_start,
                    node.list_end,
                    "the list is empty",
                    "list the values to look for",
                )
            )
            return None
        ok = True
        for item in items:
            if not isinstance(item, Const):
                self.fail(
                    item, f"the values after '{word}' must be constants", "compare with == instead"
                )
                ok = False
            elif not self.comparable(item, value, item, "=="):
                ok = False
        if not ok:
            return None
        constants = frozenset(_value(i) for i in items)
        if isinstance(value, Const):
            found = (
                is_member(value.value, constants)
                if value.type.kind == "number"
                else value.value in constants
            )
            return Const(BOOL, node.start, node.end, found != node.negated)
        return MemberExpr(BOOL, node.start, node.end, value, constants, node.negated)

    # ------------------------------------------------------------ arithmetic

    def negate(self, node: syntax.Negate) -> Expr | None:
        if isinstance(node.operand, syntax.Number):
            # -12 °C is the quantity -12 in °C, not the negation of 285.15 K.
            literal = node.operand
            return self.number(replace(literal, start=node.start, value=-literal.value))
        operand = self.expr(node.operand)
        if operand is None:
            return None
        if operand.type.kind != "number":
            self.fail(node, f"cannot negate {operand.type.describe(True)}")
            return None
        # °C and °F negate their number, as pint does: -(20 °C + 5 K) is -25 °C
        offset = operand.type.offset
        moved = _shifted(operand, -offset)
        if isinstance(moved, Const):
            negated: Expr = Const(operand.type, node.start, node.end, -moved.value)
        else:
            negated = NegExpr(operand.type, node.start, node.end, moved)
        return _shifted(negated, offset)

    def arithmetic(self, node: syntax.Arithmetic) -> Expr | None:
        typed = self.exprs([node.first, *(operand for _, operand in node.rest)])
        if typed is None:
            return None
        result = typed[0]
        for (op, _), right in zip(node.rest, typed[1:], strict=True):
            combined = self.arith_type(result, op, right)
            if combined is None:
                return None
            start, end = node.first.start, right.end
            if op == "/" and isinstance(right, Const) and right.value == 0:
                self.fail(right, "division by zero")
                return None
            if isinstance(result, Const) and isinstance(right, Const):
                result = Const(combined, start, end, _ARITH[op](result.value, right.value))
            else:
                result = ArithExpr(combined, start, end, result, op, right)
        return result

    def arith_type(self, left: Expr, op: str, right: Expr) -> Type | None:
        a, b = left.type, right.type
        span = _Span(left.start, right.end)
        if op in ("*", "/"):
            for side in (left, right):
                if side.type.kind != "number":
                    self.fail(side, f"cannot {_VERB[op]} {side.type.describe(True)}")
                    return None
                if side.type.temperature == "absolute":
                    self.fail(
                        side,
                        f"cannot {_VERB[op]} an absolute temperature ({side.type.unit})",
                        "only temperature differences can be multiplied or divided, such as "
                        "`10 delta_degC` or `10 K`",
                    )
                    return None
            return _product_type(a, op, b)
        times = {"date", "datetime"}
        if a.kind in times or b.kind in times:
            return self.date_arith(span, left, op, right)
        for side in (left, right):
            if side.type.kind != "number":
                self.fail(side, f"cannot {_VERB[op]} {side.type.describe(True)}")
                return None
        if not _addable(a, b):
            joined = "and" if op == "+" else "from"
            first, second = (a, b) if op == "+" else (b, a)
            self.fail(
                span,
                f"cannot {_VERB[op]} {first.describe()} {joined} {second.describe()}",
                _mismatch_hint(left, right),
            )
            return None
        if a.temperature or b.temperature:
            return self.temperature_sum(span, left, op, right)
        return a

    def temperature_sum(self, span: _Span, left: Expr, op: str, right: Expr) -> Type | None:
        """``+``/``-`` with a temperature in °C/°F or a temperature difference, as in pint, except
        that a kelvin constant next to a °C/°F temperature is a difference (``t - 2 K``)."""
        a, b = left.type, right.type
        if a.temperature == b.temperature == "absolute":
            if op == "-":
                return _difference(a)
            constant = right if isinstance(right, Const) else left
            hint = _difference_hint(constant)
            if not isinstance(constant, Const):
                hint += "; to average two temperatures write a + (b - a) / 2"
            self.fail(span, f"cannot add two absolute temperatures ({a.unit} + {b.unit})", hint)
            return None
        if "absolute" in (a.temperature, b.temperature):
            absolute, other = (left, right) if a.temperature == "absolute" else (right, left)
            if other.type.temperature is None and not isinstance(other, Const):
                # a value read in kelvin is a temperature, not a difference
                if op == "+":
                    self.fail(
                        span,
                        f"cannot add two absolute temperatures ({a.unit} + {b.unit})",
                        "a tag or field in K is an absolute temperature; " + _difference_hint(None),
                    )
                    return None
                return _difference(absolute.type)
            if op == "-" and absolute is right:
                if a.temperature == "difference":
                    self.fail(
                        span,
                        f"cannot subtract an absolute temperature ({b.unit}) from a temperature "
                        "difference",
                        "write the temperature first: a temperature minus a difference is a "
                        "temperature",
                    )
                    return None
                return _difference(b)
            return absolute.type
        return a if a.temperature == "difference" else b

    def date_arith(self, span: _Span, left: Expr, op: str, right: Expr) -> Type | None:
        a, b = left.type, right.type
        duration = Type("number", _TIME_DIMS, "d")
        if a.kind in ("date", "datetime") and b.kind == "number" and b.dims == _TIME_DIMS:
            return a
        if (
            op == "+"
            and b.kind in ("date", "datetime")
            and a.kind == "number"
            and a.dims == _TIME_DIMS
        ):
            return b
        if op == "-" and a.kind == b.kind:
            return duration if a.kind == "date" else Type("number", _TIME_DIMS, "h")
        if {a.kind, b.kind} == {"date", "datetime"}:
            self.fail(
                span,
                f"cannot {_VERB[op]} a date and a date and time",
                "use today with dates and now with instants",
            )
        elif a.kind == b.kind:
            self.fail(
                span,
                f"cannot add {a.describe()} to {b.describe()}",
                "subtract them to get a duration, or add a duration such as 30 d",
            )
        else:
            date, other = (a, b) if a.kind in ("date", "datetime") else (b, a)
            verb, preposition = ("add", "to") if op == "+" else ("subtract", "from")
            self.fail(
                span,
                f"cannot {verb} {other.describe()} {preposition} {date.describe()}",
                "add or subtract a duration such as 30 d",
            )
        return None


class _Located(Protocol):
    """Anything with source offsets: syntax nodes, typed nodes, spans."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int


def _value(expr: Expr) -> Any:
    assert isinstance(expr, Const)
    return expr.value


def _shifted(expr: Expr, by: float) -> Expr:
    """``expr + by``: moves a °C/°F value to the zero of its unit and back."""
    if not by:
        return expr
    if isinstance(expr, Const):
        return Const(expr.type, expr.start, expr.end, expr.value + by)
    return ArithExpr(
        expr.type, expr.start, expr.end, expr, "+", Const(PLAIN, expr.end, expr.end, by)
    )


def _compared(left: Const, op: str, right: Const) -> bool:
    if left.type.kind == "number" and op in ("==", "!="):
        return equal(left.value, right.value) == (op == "==")
    return _COMPARE[op](left.value, right.value)


def _unit_type(unit: Unit) -> Type:
    return Type("number", unit.dims, unit.text, unit.percent, unit.delta)


def _quantity_type(unit_text: str | None) -> Type | None:
    if not unit_text:
        return PLAIN
    unit = parse_unit(unit_text)
    return _unit_type(unit) if unit else None


def _difference(absolute: Type) -> Type:
    """The type of the difference of two temperatures, shown in ``delta_degC`` or ``delta_degF``."""
    assert absolute.unit is not None
    return Type("number", _TEMPERATURE_DIMS, difference_unit(absolute.unit), delta=1)


def _addable(a: Type, b: Type) -> bool:
    """Whether values of ``a`` and ``b`` may be added or subtracted (temperatures aside)."""
    if a.kind != b.kind:
        return False
    if a.kind != "number":
        return True
    if a.dims != b.dims:
        return False
    return not ((a.is_percent and b.is_plain) or (b.is_percent and a.is_plain))


def _same_type(a: Type, b: Type) -> bool:
    """Whether values of ``a`` and ``b`` may be compared or listed together."""
    return _addable(a, b) and {a.temperature, b.temperature} != {"absolute", "difference"}


def _product_type(a: Type, op: str, b: Type) -> Type:
    sign = 1 if op == "*" else -1
    dims: Dims = tuple(x + sign * y for x, y in zip(a.dims, b.dims, strict=True))  # type: ignore[assignment]
    percent = a.percent + sign * b.percent
    unit: str | None
    if dims == _NO_DIMS:
        unit = {0: None, 1: "%"}.get(percent, f"%^{percent}")
    elif a.dims == _NO_DIMS:
        unit = b.unit if op == "*" else f"/{b.unit}"
    elif b.dims == _NO_DIMS:
        unit = a.unit
    else:
        unit = f"{a.unit}{'·' if op == '*' else '/'}{b.unit}"
    return Type("number", dims, unit, percent, a.delta + sign * b.delta)


def _difference_hint(example: Expr | None) -> str:
    """How to write a temperature difference, with the number of ``example`` if it is a °C/°F
    constant."""
    number, unit, kelvin = 10.0, "delta_degC", 10.0
    if isinstance(example, Const) and example.type.temperature == "absolute":
        written = parse_unit(example.type.unit or "")
        assert written is not None
        number = (example.value - written.offset) / written.factor
        unit, kelvin = difference_unit(written.text), number * written.factor
    return (
        f"write a temperature difference as `{format_number(number)} {unit}` "
        f"or `{format_number(kelvin)} K`"
    )


def _temperature_hint(wanted: Type, found: Expr) -> str | None:
    """How to write ``found``, an absolute temperature, as the difference that is ``wanted``."""
    if wanted.temperature == "difference" and found.type.temperature == "absolute":
        return _difference_hint(found)
    return None


def _mismatch_hint(left: Expr, right: Expr) -> str | None:
    """``press1.pressure > 60``: suggest the unit the plain number needs."""
    if {left.type.kind, right.type.kind} == {"date", "datetime"}:
        return "compare dates with today and instants with now"
    temperature = _temperature_hint(left.type, right) or _temperature_hint(right.type, left)
    if temperature:
        return temperature
    for plain, other in ((left, right), (right, left)):
        if isinstance(plain, Const) and plain.type.is_plain and other.type.unit:
            return f"give the number a unit: {format_number(plain.value)} {other.type.unit}"
    return None


def _comparison_hint(found: Type) -> str | None:
    if found.kind == "number" and found.unit:
        return f"compare it with a limit, e.g. '> 10 {found.unit}'"
    if found.kind in ("string", "number", "date", "datetime"):
        return "compare it with a value using <, <=, >, >=, == or !="
    return None
