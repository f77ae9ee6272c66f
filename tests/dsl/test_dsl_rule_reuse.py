"""A rule written again with the same meaning is compiled once and reused at its new place."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from dsl._reader import _moved
from dsl.diagnostics import Span
from dsl.loader import LoadResult

TWICE = """\
routing: widget
product: WIDGET
operations:
  - id: first
    interlocks:
      - require: press.pressure > 2 bar
  - id: second
    interlocks:
      - require:   press.pressure > 2 bar
    consume:
      - {part: BOLT, qty: 2}
      - {part: WIRE, qty: 0.5 m}
"""


def test_a_repeated_rule_is_reused_with_its_own_span(
    load_plant: Callable[..., LoadResult],
) -> None:
    plant = load_plant({"routings/widget.yaml": TWICE}).plant
    assert plant is not None
    first, second = (op.interlocks[-1].rule for op in plant.routings["widget"].operations)
    assert first.span == Span("plant/routings/widget.yaml", 6, 18, 6, 40)
    assert second.span == Span("plant/routings/widget.yaml", 9, 20, 9, 42)
    assert second.evaluate is first.evaluate
    assert (second.source, second.references) == (first.source, first.references)


def test_moving_a_rule_keeps_every_other_field(load_plant: Callable[..., LoadResult]) -> None:
    plant = load_plant().plant
    assert plant is not None
    rule = plant.routings["widget"].operations[0].gates[0].check
    span = Span("elsewhere.yaml", 7, 3, 7, 9)
    moved = _moved(rule, span)
    expected = dataclasses.replace(rule, span=span)
    for field in dataclasses.fields(rule):
        assert getattr(moved, field.name) == getattr(expected, field.name), field.name
