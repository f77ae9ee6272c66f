"""A deliberately simple tree-walking interpreter of the rule language, for differential tests.

It walks the syntax tree of :mod:`dsl._parser` directly (no type checker, no folding, no
``ast``), resolving names against a :class:`Scope` the plain way, and answers with the same
three-valued :class:`Outcome` as compiled rules.
"""

from __future__ import annotations

import math
from typing import Any

from dsl import _parser as syntax
from dsl import env
from dsl.rules import Env, Outcome
from dsl.scope import Scope
from dsl.units import to_si

_BUILTIN_KEYS = {
    "today": env.TODAY,
    "now": env.NOW,
    "operator.id": "operator.id",
    "equipment.name": "equipment.name",
    "equipment.state": "equipment.state",
    "equipment.calibration_due": "equipment.calibration_due",
    "equipment.maintenance_due": "equipment.maintenance_due",
    "unit.serial": "item.id",
    "lot.number": "item.id",
    "unit.rework_count": "item.rework_count",
    "lot.rework_count": "item.rework_count",
    "lot.quantity": "item.quantity",
}


class _Unavailable(Exception):
    pass


def outcome(tree: syntax.Node, scope: Scope, values: Env) -> Outcome:
    """Evaluate a condition's syntax tree over ``values``."""
    try:
        return Outcome.PASS if _Interpreter(scope, values).eval(tree) else Outcome.FAIL
    except (_Unavailable, ZeroDivisionError):
        return Outcome.UNKNOWN


class _Interpreter:
    def __init__(self, scope: Scope, values: Env) -> None:
        self.scope = scope
        self.values = values

    def read(self, key: str) -> Any:
        if key not in self.values:
            raise _Unavailable(key)
        return self.values[key]

    def key(self, dotted: str) -> str:
        if dotted in self.scope.tags:
            return env.tag_key(dotted)
        if dotted in self.scope.fields:
            return self.scope.fields[dotted].key
        if dotted.endswith(".age"):
            return env.tag_age_key(dotted.removesuffix(".age"))
        if dotted.endswith(".quality"):
            return env.tag_quality_key(dotted.removesuffix(".quality"))
        return _BUILTIN_KEYS[dotted]

    def eval(self, node: syntax.Node) -> Any:
        match node:
            case syntax.Number(value=value, unit=unit):
                return to_si(value, unit)
            case syntax.String(value=value) | syntax.Boolean(value=value):
                return value
            case syntax.Date(value=value):
                return env.date_value(value)
            case syntax.Name():
                return self.read(self.key(node.dotted))
            case syntax.Negate(operand=operand):
                return -self.eval(operand)
            case syntax.Not(operand=operand):
                return not self.eval(operand)
            case syntax.Logic(op="and", operands=operands):
                return all(self.eval(o) for o in operands)
            case syntax.Logic(op="or", operands=operands):
                return any(self.eval(o) for o in operands)
            case syntax.Arithmetic(first=first, rest=rest):
                result = self.eval(first)
                for op, operand in rest:
                    result = _arith(op, result, self.eval(operand))
                return result
            case syntax.Comparison(left=left, op=op, right=right):
                return _compare(op, self.eval(left), self.eval(right))
            case syntax.Between(value=value, low=low, high=high):
                low_value, x = self.eval(low), self.eval(value)
                return low_value <= x and x <= self.eval(high)
            case syntax.Membership(value=value, items=items, negated=negated):
                x = self.eval(value)
                return any(_equal(x, self.eval(i)) for i in items) != negated
            case syntax.Call(function=function, args=args):
                return self.call(function.dotted, args)
        raise NotImplementedError(repr(node))

    def call(self, name: str, args: tuple[syntax.Node, ...]) -> Any:
        if name == "operator.qualified":
            return self.eval(args[0]) in self.read("operator.qualifications")
        if name == "operator.has_role":
            return self.eval(args[0]) in self.read("operator.roles")
        values = [self.eval(a) for a in args]
        if name == "abs":
            return abs(values[0])
        if name == "min":
            return min(values)
        if name == "max":
            return max(values)
        raise NotImplementedError(name)


def _arith(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    return _equal(a, b) if op == "==" else not _equal(a, b)


def _equal(a: Any, b: Any) -> bool:
    """Numbers within a billionth of each other are equal, unless both are whole numbers."""
    if a == b:
        return True
    if not (isinstance(a, float | int) and isinstance(b, float | int)):
        return False
    whole = float(a).is_integer() and float(b).is_integer()
    return not whole and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
