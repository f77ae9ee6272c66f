"""Unit arithmetic agrees with pint on random expressions, offset temperatures included.

pint is the oracle: Ferrule accepts an expression exactly when pint can evaluate it, and then
answers the comparison as pint does. Where the plant language is deliberately stricter or
differs, the oracle says so in one place each (see :func:`_sum` and :func:`_compare`):

- a kelvin quantity next to a °C/°F temperature in ``+``/``-`` is a difference (``t + 2 K``);
  pint refuses ``t + 2 K`` and reads ``t - 2 K`` as the difference of two temperatures;
- kelvin minus a °C/°F temperature, and a difference plus or minus kelvin, are differences
  (pint calls both kelvin);
- a difference minus an absolute temperature is refused (pint answers a temperature);
- a difference is never compared with an absolute temperature (pint compares them in K);
- percent and plain numbers are never added, subtracted or compared (pint converts);
- ``==`` between different dimensions is refused, like ``<`` (pint answers false).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import pint
from expression_helpers import span
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dsl import _parser
from dsl.expressions import CONDITION, compile_expression
from dsl.rules import Outcome
from dsl.scope import Scope

UNITS = {
    "m": "m",
    "mm": "mm",
    "s": "s",
    "min": "min",
    "bar": "bar",
    "kPa": "kPa",
    "N": "N",
    "°C": "degC",
    "°F": "degF",
    "K": "K",
    "delta_degC": "delta_degC",
    "%": "percent",
    "": "dimensionless",
}
FAMILIES = [
    ("°C", "°F", "K", "delta_degC", "", "%"),
    ("m", "mm", "s", "min", "", "%"),
    ("bar", "kPa", "N", "mm", ""),
    tuple(UNITS),
]
"""Each expression takes its units from one of these, so that most of them make sense."""
NUMBERS = [0.5, 1.5, 2, 3, 7, 10, 12.5, 20, 37, 100, -12, -40]
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
REGISTRY: pint.UnitRegistry[float] = pint.UnitRegistry()
Q = REGISTRY.Quantity
EMPTY = Scope(tags={})

Tree = tuple[Any, ...]


def _literal(pair: tuple[float, str]) -> Tree:
    return ("literal", *pair)


def _compound(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.just("binary"), st.sampled_from("+-*/"), children, children),
        st.tuples(st.just("abs"), children),
        st.tuples(st.just("negate"), children),
    )


def _comparisons(units: tuple[str, ...]) -> st.SearchStrategy[tuple[Tree, str, Tree]]:
    literals = st.tuples(st.sampled_from(NUMBERS), st.sampled_from(units)).map(_literal)
    quantities = st.recursive(literals, _compound, max_leaves=4)
    return st.tuples(quantities, st.sampled_from(list(COMPARISONS)), quantities)


EXPRESSIONS = st.sampled_from(FAMILIES).flatmap(_comparisons)


def text(tree: Tree) -> str:
    """The rule text of a generated quantity."""
    kind = tree[0]
    if kind == "literal":
        return f"{tree[1]:g} {tree[2]}".strip()
    if kind == "binary":
        return f"({text(tree[2])} {tree[1]} {text(tree[3])})"
    return f"abs({text(tree[1])})" if kind == "abs" else f"-({text(tree[1])})"


class Refused(Exception):
    """The oracle's answer for an expression the plant language must refuse."""


def _exponents(quantity: Any) -> dict[str, float]:
    return dict(quantity.unit_items())


def _role(quantity: Any) -> str | None:
    """absolute (°C, °F), difference (delta units), kelvin (other temperatures) or None."""
    units = _exponents(quantity)
    if any(name in units for name in ("degree_Celsius", "degree_Fahrenheit")):
        return "absolute"
    if sum(power for name, power in units.items() if name.startswith("delta_")):
        return "difference"
    return "kelvin" if quantity.dimensionality == {"[temperature]": 1} else None


def _number_kind(quantity: Any) -> str | None:
    """percent, plain, or None (dimensional, or a power of percent other than 0 and 1)."""
    if not quantity.dimensionless:
        return None
    return {0: "plain", 1: "percent"}.get(int(_exponents(quantity).get("percent", 0)))


def _as_difference(quantity: Any) -> Any:
    return Q(quantity.to("kelvin").magnitude, "delta_degC")


def _sum(op: str, left: Any, right: Any) -> Any:
    roles = (_role(left), _role(right))
    if {_number_kind(left), _number_kind(right)} == {"percent", "plain"}:
        raise Refused
    if roles == ("difference", "absolute") and op == "-":
        raise Refused
    if roles == ("absolute", "kelvin"):
        right = _as_difference(right)
    if roles == ("kelvin", "absolute") and op == "+":
        left = _as_difference(left)
    result = (left + right) if op == "+" else (left - right)
    becomes_difference = "difference" in roles or roles == ("kelvin", "absolute")
    return _as_difference(result) if becomes_difference and _role(result) == "kelvin" else result


def value(tree: Tree) -> Any:
    """The pint quantity of a generated tree; :class:`Refused` where Ferrule must refuse."""
    kind = tree[0]
    try:
        if kind == "literal":
            return Q(tree[1], UNITS[tree[2]])
        if kind == "abs":
            return abs(value(tree[1]))
        if kind == "negate":
            return -value(tree[1])
        op, left, right = tree[1], value(tree[2]), value(tree[3])
        if op in "+-":
            return _sum(op, left, right)
        if op == "/":
            assume(abs(right.to_root_units().magnitude) > 1e-9)
        return left * right if op == "*" else left / right
    except (pint.DimensionalityError, pint.OffsetUnitCalculusError) as refused:
        raise Refused from refused


def _compare(op: str, left: Any, right: Any) -> bool | None:
    """pint's answer; None when the two sides are too close for floating point to decide, except
    that sides equal but for rounding are equal (``==`` allows for it)."""
    if {_role(left), _role(right)} == {"absolute", "difference"}:
        raise Refused
    if {_number_kind(left), _number_kind(right)} == {"percent", "plain"}:
        raise Refused
    if left.dimensionality != right.dimensionality:
        raise Refused
    # in base units, as pint orders quantities (its == takes 0 °C for 0 K)
    a, b = left.to_root_units().magnitude, right.to_root_units().magnitude
    if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15):
        return {"==": True, "!=": False}.get(op)
    return None if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) else COMPARISONS[op](a, b)


def oracle(left: Tree, op: str, right: Tree) -> bool | Refused | None:
    try:
        return _compare(op, value(left), value(right))
    except Refused as refused:
        return refused


@settings(max_examples=200, deadline=None, derandomize=True)
@given(expression=EXPRESSIONS)
def test_units_agree_with_pint(expression: tuple[Tree, str, Tree]) -> None:
    left, op, right = expression
    source = f"{text(left)} {op} {text(right)}"
    assert isinstance(_parser.parse(source), _parser.Node), source
    expected = oracle(left, op, right)
    rule = compile_expression(source, span(), EMPTY, CONDITION)
    if isinstance(expected, Refused):
        assert isinstance(rule, list), f"{source} is accepted, but pint refuses it"
        return
    assert not isinstance(rule, list), (source, [d.message for d in rule])
    if expected is not None:
        assert rule.evaluate({}) is (Outcome.PASS if expected else Outcome.FAIL), source
