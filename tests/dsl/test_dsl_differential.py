"""Compiled rules agree with a tree-walking reference interpreter on random expressions."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import reference_interpreter
from expression_helpers import day, span
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import _parser
from dsl.expressions import CONDITION, compile_expression
from dsl.scope import Scope, Symbol

SCOPE = Scope(
    tags=MappingProxyType(
        {
            "a.p": Symbol("tag:a.p", "number", "bar"),
            "a.q": Symbol("tag:a.q", "number", "kPa"),
            "a.n": Symbol("tag:a.n", "number"),
            "a.b": Symbol("tag:a.b", "bool"),
            "a.s": Symbol("tag:a.s", "string"),
        }
    ),
    fields=MappingProxyType(
        {
            "f": Symbol("field:op.f", "number", "bar"),
            "c": Symbol("field:op.c", "bool"),
        }
    ),
    operator=True,
    equipment=True,
    item="unit",
    qualifications=frozenset({"x", "y"}),
)

PRESSURE_LEAVES = st.sampled_from(
    ["a.p", "a.q", "f", "1 bar", "0.5 bar", "60 kPa", "2 psi", "0 bar"]
)
PLAIN_LEAVES = st.sampled_from(["a.n", "2", "0.5", "3", "unit.rework_count"])


def _pressure(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-"]), children).map(" ".join),
        st.tuples(children, st.sampled_from(["*", "/"]), PLAIN_LEAVES).map(" ".join),
        children.map(lambda x: f"-({x})"),
        children.map(lambda x: f"abs({x})"),
        st.tuples(children, children).map(lambda xy: f"{st_fn(xy)}({xy[0]}, {xy[1]})"),
        children.map(lambda x: f"({x})"),
    )


def st_fn(pair: tuple[str, str]) -> str:
    return "min" if len(pair[0]) % 2 else "max"


PRESSURES = st.recursive(PRESSURE_LEAVES, _pressure, max_leaves=6)
COMPARISON = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])

BOOL_LEAVES = st.one_of(
    st.sampled_from(
        [
            "a.b",
            "c",
            "true",
            "false",
            'a.s == "ok"',
            'a.s in ["ok", "burr"]',
            'a.s not in ["ok"]',
            'operator.qualified("x")',
            "equipment.calibration_due > today",
            "today + 30 d >= equipment.calibration_due",
            'equipment.state != "down"',
            "a.n > 1",
        ]
    ),
    st.tuples(PRESSURES, COMPARISON, PRESSURES).map(" ".join),
    st.tuples(PRESSURES, PRESSURES, PRESSURES).map(lambda t: f"{t[0]} between {t[1]} and {t[2]}"),
)


def _conditions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(" ".join),
        children.map(lambda x: f"not ({x})"),
        children.map(lambda x: f"({x})"),
    )


CONDITIONS = st.recursive(BOOL_LEAVES, _conditions, max_leaves=6)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(None), values, values, values)


ENVIRONMENTS = st.fixed_dictionaries(
    {
        "tag:a.p": _maybe(st.sampled_from([0.0, 1e5, 6e4, 2.5e5, -1e5])),
        "tag:a.q": _maybe(st.sampled_from([0.0, 6e4, 1e5, 13789.5])),
        "tag:a.n": _maybe(st.sampled_from([0.0, 1.0, 2.0, -3.0, 0.5])),
        "tag:a.b": _maybe(st.booleans()),
        "tag:a.s": _maybe(st.sampled_from(["ok", "burr", "other"])),
        "field:op.f": _maybe(st.sampled_from([0.0, 1e5, 5e4])),
        "field:op.c": _maybe(st.booleans()),
        "operator.qualifications": _maybe(st.sampled_from([frozenset(), frozenset({"x"})])),
        "equipment.calibration_due": _maybe(
            st.sampled_from([day("2026-05-01"), day("2026-06-30")])
        ),
        "equipment.state": _maybe(st.sampled_from(["running", "down"])),
        "item.rework_count": _maybe(st.sampled_from([0.0, 1.0, 2.0])),
        "today": _maybe(st.just(day("2026-05-04"))),
    }
).map(lambda values: {k: v for k, v in values.items() if v is not None})


@settings(max_examples=300, deadline=None)
@given(source=CONDITIONS, environments=st.lists(ENVIRONMENTS, min_size=1, max_size=5))
def test_compiled_equals_reference(source: str, environments: list[dict[str, Any]]) -> None:
    rule = compile_expression(source, span(), SCOPE, CONDITION)
    if isinstance(rule, list):
        # Generated expressions are well typed; only constant checks may refuse them.
        for diagnostic in rule:
            message = diagnostic.message
            assert message == "division by zero" or message.startswith("empty range"), source
        return
    tree = _parser.parse(source)
    assert isinstance(tree, _parser.Node)
    for values in environments:
        expected = reference_interpreter.outcome(tree, SCOPE, values)
        assert rule.evaluate(values) is expected, (source, values)
        assert rule.explain(values).outcome is expected
