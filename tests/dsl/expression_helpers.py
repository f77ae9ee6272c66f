"""Scopes and helpers shared by the rule-expression tests (not fixtures: plain values)."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from typing import Any

from dsl import env
from dsl.diagnostics import Span
from dsl.expressions import CONDITION, Expect, compile_expression
from dsl.rules import CompiledRule
from dsl.scope import LaterField, Scope, Symbol
from dsl.units import to_si

PATH = "r.yaml"
LINE = 3
PREFIX = "- check: "

TAGS = {
    "press1.pressure": Symbol("tag:press1.pressure", "number", "bar"),
    "press1.fault": Symbol("tag:press1.fault", "bool"),
    "press1.mode": Symbol("tag:press1.mode", "number"),
    "press1.temperature": Symbol("tag:press1.temperature", "number", "°C"),
    "press1.recipe": Symbol("tag:press1.recipe", "string"),
    "tester.resistance": Symbol("tag:tester.resistance", "number", "mohm"),
    "cnc1.tool_life": Symbol("tag:cnc1.tool_life", "number", "%"),
    "cnc1.spindle": Symbol("tag:cnc1.spindle", "number", "rpm"),
}
FIELDS = {
    "pull_force": Symbol("field:crimp.pull_force", "number", "N"),
    "crimp_height": Symbol("field:crimp.crimp_height", "number", "mm"),
    "visual": Symbol("field:crimp.visual", "string"),
    "checked": Symbol("field:crimp.checked", "bool"),
    "cut.length": Symbol("field:cut.length", "number", "mm"),
    "cut.batch_date": Symbol("field:cut.batch_date", "date"),
}

GATE_SCOPE = Scope(
    tags=MappingProxyType(TAGS),
    fields=MappingProxyType(FIELDS),
    operator=True,
    equipment=True,
    item="unit",
    qualifications=frozenset({"crimping", "cutting", "testing"}),
    roles=frozenset({"operator", "quality"}),
    later_fields=MappingProxyType({"test.insulation": LaterField("test", "insulation")}),
)
INTERLOCK_SCOPE = Scope(
    tags=MappingProxyType(TAGS),
    fields=MappingProxyType({k: v for k, v in FIELDS.items() if k.startswith("cut.")}),
    operator=True,
    equipment=False,
    item="lot",
    qualifications=GATE_SCOPE.qualifications,
    roles=GATE_SCOPE.roles,
    later_fields=MappingProxyType(
        {
            "pull_force": LaterField("crimp", "pull_force"),
            "test.insulation": LaterField("test", "insulation"),
        }
    ),
)
STATE_SCOPE = Scope(tags=MappingProxyType(TAGS))


def span() -> Span:
    return Span.point(PATH, LINE, len(PREFIX) + 1)


def compiled(source: str, scope: Scope = GATE_SCOPE, expect: Expect = CONDITION) -> CompiledRule:
    """``source`` compiled; fails the test with the rendered diagnostics if it does not."""
    result = compile_expression(source, span(), scope, expect)
    if isinstance(result, list):
        raise AssertionError("\n".join(d.render(sources(source)) for d in result))
    return result


def rendered(source: str, scope: Scope = GATE_SCOPE, expect: Expect = CONDITION) -> list[str]:
    """Every diagnostic of ``source``, rendered compiler-style with its source line."""
    result = compile_expression(source, span(), scope, expect)
    assert isinstance(result, list), f"{source!r} compiled but should not"
    return [d.render(sources(source)) for d in result]


def sources(source: str) -> dict[str, str]:
    return {PATH: "\n" * (LINE - 1) + PREFIX + source + "\n"}


def day(text: str) -> float:
    return env.date_value(dt.date.fromisoformat(text))


def instant(text: str) -> float:
    return env.datetime_value(dt.datetime.fromisoformat(text))


def environment(**values: Any) -> dict[str, Any]:
    """A rule environment from readable keyword names (``press1_pressure=(72.4, "bar")``)."""
    result: dict[str, Any] = {}
    for name, value in values.items():
        key = _KEYS[name]
        result[key] = to_si(value[0], value[1]) if isinstance(value, tuple) else value
    return result


_KEYS = {
    "pressure": "tag:press1.pressure",
    "fault": "tag:press1.fault",
    "mode": "tag:press1.mode",
    "temperature": "tag:press1.temperature",
    "recipe": "tag:press1.recipe",
    "resistance": "tag:tester.resistance",
    "tool_life": "tag:cnc1.tool_life",
    "spindle": "tag:cnc1.spindle",
    "pressure_age": "tag:press1.pressure.age",
    "pressure_quality": "tag:press1.pressure.quality",
    "pull_force": "field:crimp.pull_force",
    "crimp_height": "field:crimp.crimp_height",
    "visual": "field:crimp.visual",
    "checked": "field:crimp.checked",
    "length": "field:cut.length",
    "batch_date": "field:cut.batch_date",
    "operator_id": "operator.id",
    "roles": "operator.roles",
    "qualifications": "operator.qualifications",
    "equipment_name": "equipment.name",
    "state": "equipment.state",
    "calibration_due": "equipment.calibration_due",
    "maintenance_due": "equipment.maintenance_due",
    "item_id": "item.id",
    "quantity": "item.quantity",
    "rework_count": "item.rework_count",
    "today": "today",
    "now": "now",
}
